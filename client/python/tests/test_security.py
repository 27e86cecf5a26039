"""TLS and token auth through the Python client and its framework
integrations: a server of its own with a self-signed certificate (made by
openssl here) and a tokens file."""
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import pytest

import attnr
from attnr.langchain import AttnrRetriever as LangChainRetriever
from conftest import REPO

TOKEN = "python-test-token-0123456789"
TEXT = ("The espresso grinder must be descaled every fourteen days.\n\n"
        "The museum opens at nine on weekdays.\n")


@pytest.fixture(scope="module")
def secure():
    work = pathlib.Path(tempfile.mkdtemp(prefix="attnr_py_tls_"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
         "1", "-subj", "/CN=localhost", "-addext",
         "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout",
         str(work / "key.pem"), "-out", str(work / "cert.pem")],
        check=True, capture_output=True)
    (work / "tokens.txt").write_text(f"python:{TOKEN}\n")
    # No pretrained model: BM25 only, starts at once.
    (work / "server.textproto").write_text(
        f'transport {{\n'
        f'  auth {{ tokens_file: "{work}/tokens.txt" }}\n'
        f'  tls {{ cert_file: "{work}/cert.pem" key_file: "{work}/key.pem" }}\n'
        f'}}\n')
    binary = os.environ.get("ATTNR_SERVER_BIN",
                            str(REPO / "build/bin/attnr-server"))
    log = open(work / "server.log", "w")
    process = subprocess.Popen(
        [binary, "--config", str(work / "server.textproto"), "--listen",
         "127.0.0.1:0", "--port_file", str(work / "port")],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while not (work / "port").exists() or \
                not (work / "port").read_text().strip():
            assert process.poll() is None, (work / "server.log").read_text()
            assert time.time() < deadline
            time.sleep(0.05)
        target = "localhost:" + (work / "port").read_text().strip()
        roots = (work / "cert.pem").read_bytes()
        with attnr.Retriever(target, root_certificates=roots) as r:
            while True:
                try:
                    if r.health(timeout=2) == "SERVING":
                        break
                except attnr.AttnrError:
                    pass
                assert time.time() < deadline
                time.sleep(0.05)
        yield target, roots
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_token_and_tls(secure):
    target, roots = secure
    with attnr.Retriever(target, token=TOKEN,
                         root_certificates=roots) as client:
        result = client.retrieve("espresso grinder", TEXT, top_k=1)
    assert "espresso" in result.passages[0].text
    for token in (None, "wrong"):
        with attnr.Retriever(target, token=token,
                             root_certificates=roots) as client:
            assert client.health() == "SERVING"  # Health stays open.
            with pytest.raises(attnr.AttnrError) as error:
                client.retrieve("espresso grinder", TEXT)
        assert error.value.code == "UNAUTHENTICATED"
        assert error.value.message.startswith("authorization: ")


@pytest.mark.asyncio
async def test_async_client_and_langchain_with_token(secure):
    target, roots = secure
    async with attnr.AsyncRetriever(target, token=TOKEN,
                                    root_certificates=roots) as client:
        result = await client.retrieve("museum", TEXT, top_k=1)
    assert "museum" in result.passages[0].text
    retriever = LangChainRetriever(target=target, documents=[TEXT], top_k=1,
                                   token=TOKEN, root_certificates=roots)
    docs = retriever.invoke("espresso")
    assert "espresso" in docs[0].page_content


def test_plaintext_client_cannot_reach_a_tls_server(secure):
    target, _ = secure
    with attnr.Retriever(target, token=TOKEN, timeout=3) as client:
        with pytest.raises(attnr.AttnrError) as error:
            client.retrieve("espresso", TEXT)
    assert error.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
