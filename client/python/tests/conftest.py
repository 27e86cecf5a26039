"""The server under test: the real attnr-server binary (ATTNR_SERVER_BIN)
with the shipped config (ATTNR_CONFIG), on ephemeral loopback ports for
gRPC and HTTP. One server for the whole session; a server that cannot start
fails every test (never skips them)."""
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = pathlib.Path(__file__).resolve().parents[3]
LICENSES = ["GPL-3", "GPL-2", "LGPL-3", "LGPL-2.1", "Apache-2.0", "MPL-2.0",
            "Artistic", "GFDL-1.3"]
# In GPL-3 section 6(b), inside the license bundle.
QUESTION = ("How long must a written offer to provide the Corresponding "
            "Source stay valid?")
ANSWER = "for at least three years"


def has_answer(text: str) -> bool:
    """Whether `text` states the answer: GPL-3 6(b), or the same term in
    GPL-2 3(c) and LGPL-2.1 6(c), whose lines break inside the phrase."""
    return ANSWER in " ".join(text.split())


class Server:
    def __init__(self, process, grpc_port, http_port, log):
        self.process = process
        self.target = f"127.0.0.1:{grpc_port}"
        self.http = f"http://127.0.0.1:{http_port}"
        self.log = log

    def log_text(self) -> str:
        return pathlib.Path(self.log).read_text(errors="replace")


def _read_port(path: pathlib.Path, process, log) -> int:
    deadline = time.time() + 120
    while time.time() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        if process.poll() is not None:
            raise RuntimeError("attnr-server exited at start:\n" +
                               pathlib.Path(log).read_text())
        time.sleep(0.05)
    raise RuntimeError("attnr-server did not start")


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("ATTNR_SERVER_BIN",
                            str(REPO / "build/bin/attnr-server"))
    config = os.environ.get("ATTNR_CONFIG",
                            str(REPO / "config/server.textproto"))
    work = pathlib.Path(tempfile.mkdtemp(prefix="attnr_py_"))
    log = work / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [binary, "--config", config, "--listen", "127.0.0.1:0",
             "--http_listen", "127.0.0.1:0", "--port_file",
             str(work / "port"), "--http_port_file", str(work / "http_port")],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        grpc_port = _read_port(work / "port", process, log)
        http_port = int((work / "http_port").read_text())
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.time() + 120
        while True:
            try:
                if health.Check(health_pb2.HealthCheckRequest(),
                                timeout=2).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if time.time() > deadline or process.poll() is not None:
                raise RuntimeError("attnr-server never became SERVING:\n" +
                                   log.read_text())
            time.sleep(0.05)
        channel.close()
        yield Server(process, grpc_port, http_port, str(log))
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, f"attnr-server exited with {code}:\n{log.read_text()}"


@pytest.fixture(scope="session")
def licenses() -> str:
    """Eight licence texts (~23k tokens) as one long document."""
    root = pathlib.Path("/usr/share/common-licenses")
    return "".join((root / name).read_text() for name in LICENSES)
