#!/usr/bin/python3
"""Probes a built attnr-server the way a hostile or careless client would and
prints what it costs: oversized documents, cancelled and expired calls,
concurrent first calls for one document, a very long document asked twice,
the drain on SIGTERM, and the smaller input defects. Used to give the
before/after figures of bounded work (bench/results/BOUNDED_WORK.md); run it
against two builds to compare them:

  /usr/bin/python3 bench/probe_bounded_work.py --server build/bin/attnr-server

Requests are sent as bytes (the API's wire-compatible mirror,
server/proto/attnr/server/raw_text.proto), so the probes can send invalid
UTF-8 too. The configs are this release's (grouped settings); a build
before 0.5 needs its own copy of this script.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import server_config, service  # noqa: E402


def load_stubs(out_dir):
    """Generates the Python stubs of proto/ with Debian's protoc."""
    def protoc(include, proto):
        subprocess.run(
            ["protoc", "-I", include, f"--python_out={out_dir}",
             f"--grpc_out={out_dir}",
             "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", proto],
            check=True)

    for proto in ["attnr/v1/retriever.proto", "attnr/v1/config.proto"]:
        protoc(os.path.join(ROOT, "proto"), proto)
    protoc(os.path.join(ROOT, "server/proto"), "attnr/server/raw_text.proto")
    # The health proto's own path (grpc/health/v1) would shadow the grpc
    # package: compile it as a top-level module.
    health_dir = os.path.join(out_dir, "health_proto")
    os.makedirs(health_dir)
    with open(os.path.join(ROOT, "proto/grpc/health/v1/health.proto")) as f:
        text = f.read()
    with open(os.path.join(health_dir, "health.proto"), "w") as f:
        f.write(text)
    protoc(health_dir, "health.proto")
    sys.path.insert(0, out_dir)
    from attnr.v1 import retriever_pb2, retriever_pb2_grpc
    return retriever_pb2, retriever_pb2_grpc


class RawRetrieve:
    """A RetrieveRequest whose text fields are bytes (any bytes, invalid
    UTF-8 too): the typed request's options and the raw mirror's text,
    serialized one after the other (a protobuf message merges)."""

    def __init__(self, pb, raw_pb, text, query):
        self.typed = pb.RetrieveRequest()
        self.raw = raw_pb.RetrieveRequest(query=query)
        self.raw.documents.add(text=text)
        self.options = self.typed.options
        self.documents = self.raw.documents

    def serialize(self):
        return self.typed.SerializeToString() + self.raw.SerializeToString()


def fresh_document(words):
    """About `words` tokens that no earlier call sent."""
    head = f"Document {time.time_ns()}.\n\n"
    sentence = "The committee reviewed the figures and the garden was green. "
    paragraphs = []
    for i in range(0, words, 200):
        paragraphs.append(sentence * 20)
    return (head + "\n\n".join(paragraphs)).encode()


def start_server(binary, config, tmp):
    """The real server (harness service.Server) with `config`'s settings."""
    path = os.path.join(tmp, f"probe-{time.time_ns()}.textproto")
    with open(path, "w") as f:
        f.write(config)
    return service.Server(os.path.dirname(os.path.dirname(binary)), path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default=os.path.join(ROOT, "build/bin/attnr-server"))
    parser.add_argument("--dense_model", default="all-minilm-l6-v2",
                        help="the neural view whose work the probes bound")
    parser.add_argument("--cache_bytes", type=int, default=0,
                        help="cache budget for the long-document probe "
                             "(default: config/server.textproto's)")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="attnr-probe-")
    pb, pb_grpc = load_stubs(tmp)
    import health_pb2
    import health_pb2_grpc
    from attnr.server import raw_text_pb2 as raw_pb

    # Settings merge: a group named twice is one group.
    model = f'views {{ dense {{ model: "{args.dense_model}" }} }}\n'
    wide = ("transport { max_message_bytes: 83886080 }\n"
            "limits { max_document_bytes: 83886080 "
            "max_request_bytes: 83886080 }\n")

    def stub(server):
        channel = grpc.insecure_channel(
            server.target,
            options=[("grpc.max_send_message_length", 100 << 20),
                     ("grpc.max_receive_message_length", 100 << 20)])
        retrieve = channel.unary_unary(
            "/attnr.v1.Retriever/Retrieve",
            request_serializer=RawRetrieve.serialize,
            response_deserializer=pb.RetrieveResponse.FromString)
        typed = pb_grpc.RetrieverStub(channel)
        return (types.SimpleNamespace(Retrieve=retrieve, Score=typed.Score),
                health_pb2_grpc.HealthStub(channel))

    def request(text, query="what did the committee review", views=()):
        r = RawRetrieve(pb, raw_pb, text,
                        query.encode() if isinstance(query, str) else query)
        r.options.views.extend(views)
        return r

    def call(s, req, timeout=120):
        start = time.time()
        try:
            resp = s.Retrieve(req, timeout=timeout)
            return "OK", "", (time.time() - start) * 1000, resp
        except grpc.RpcError as e:
            return e.code().name, e.details(), (time.time() - start) * 1000, None

    def want(name):
        return not args.only or name in args.only.split(",")

    # 1. Oversized documents, one at a time and four at once.
    if want("oversize"):
        server = start_server(args.server, wide, tmp)
        s, _ = stub(server)
        call(s, request(b"warm up"))
        base = server.peak_rss_mb()
        size = (64 << 20) - (64 << 10)
        for unit in [b"a ", b"!\n"]:
            code, msg, ms, _ = call(s, request(unit * (size // 2)))
            print(f"oversize {unit!r} x {size} B: {code} in {ms:.0f} ms, "
                  f"peak RSS +{server.peak_rss_mb() - base:.0f} MB ({msg[:90]})")
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            call(s, request(b"a " * (size // 2))))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"oversize 4 x 'a ' at once: {[r[0] for r in results]}, "
              f"peak RSS {server.peak_rss_mb():.0f} MB (base {base:.0f} MB)")
        server.stop()

    # 2. A client that gives up after 50 ms; 16 calls cancelled after 1 s.
    if want("cancel"):
        server = start_server(args.server, model +
                              "admission { max_concurrent_requests: 1 }\n"
                              "limits { max_document_tokens: 200000 }\n", tmp)
        s, _ = stub(server)
        doc = fresh_document(70000)
        code, _, _, _ = call(s, request(doc), timeout=0.05)
        gave_up = time.time()
        code2, _, _, _ = call(s, request(b"The committee met.", views=[1]))
        print(f"cancel: client gave up after 50 ms ({code}); a cheap call "
              f"then answered after {(time.time() - gave_up) * 1000:.0f} ms ({code2})")
        futures = [s.Retrieve.future(request(fresh_document(30000)), timeout=120)
                   for _ in range(16)]
        time.sleep(1)
        for f in futures:
            f.cancel()
        cancelled = time.time()
        code3, _, _, _ = call(s, request(b"The committee met.", views=[1]))
        print(f"cancel: 16 calls cancelled after 1 s; a cheap call then "
              f"answered after {(time.time() - cancelled) * 1000:.0f} ms ({code3})")
        time.sleep(0.5)
        log = open(server.log_path).read()
        print(f"cancel: access log lines status=OK {log.count('status=OK')}, "
              f"status=CANCELLED {log.count('status=CANCELLED')}, "
              f"DEADLINE_EXCEEDED {log.count('status=DEADLINE_EXCEEDED')}")
        server.stop()

    # 3. Eight concurrent first calls for one document; a 149k-token
    # document asked twice.
    if want("flight"):
        cache = args.cache_bytes
        if not cache:
            cache = server_config.load(os.path.join(
                ROOT, "config/server.textproto")).get("cache.bytes")
        server = start_server(args.server, model +
                              "limits { max_document_tokens: 250000 "
                              "max_request_tokens: 500000 }\n"
                              f"cache {{ bytes: {cache} }}\n", tmp)
        s, _ = stub(server)
        doc = fresh_document(35000)
        one = call(s, request(fresh_document(35000)))[2]
        results = []
        threads = [threading.Thread(target=lambda: results.append(call(s, request(doc))))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        encoded = [getattr(r[3].usage, "encoded_tokens", 0) if r[3] else 0 for r in results]
        print(f"single-flight: one encode {one:.0f} ms; 8 concurrent first calls: "
              f"slowest {max(r[2] for r in results):.0f} ms, codes "
              f"{sorted(set(r[0] for r in results))}, encoded_tokens {encoded}")
        big = fresh_document(149000)
        first = call(s, request(big))
        second = call(s, request(big))
        tokens = first[3].usage.document_tokens if first[3] else 0
        print(f"cache_bytes {cache}: {tokens}-token document: first {first[0]} {first[2]:.0f} ms, second "
              f"{second[0]} {second[2]:.0f} ms (cache_hit "
              f"{second[3].usage.cache_hit if second[3] else None}); peak RSS "
              f"{server.peak_rss_mb():.0f} MB")
        server.stop()

    # 4. Drain: 10 s configured, long calls running.
    if want("drain"):
        server = start_server(args.server, model +
                              "admission { drain_seconds: 2 "
                              "max_concurrent_requests: 1 }\n", tmp)
        s, h = stub(server)
        futures = [s.Retrieve.future(request(fresh_document(60000)), timeout=120)
                   for _ in range(6)]
        time.sleep(0.5)
        start = time.time()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        try:
            health = health_pb2.HealthCheckResponse.ServingStatus.Name(
                h.Check(health_pb2.HealthCheckRequest(), timeout=1).status)
        except grpc.RpcError as e:
            health = e.code().name
        code = server.proc.wait()
        print(f"drain (drain_seconds 2, 6 long calls): exit code {code} after "
              f"{time.time() - start:.2f} s; health during drain: {health}")
        for f in futures:
            f.cancel()
        server.log.close()
        server = start_server(args.server, model +
                              "admission { drain_seconds: 60 "
                              "max_concurrent_requests: 1 }\n", tmp)
        s, _ = stub(server)
        futures = [s.Retrieve.future(request(fresh_document(60000)), timeout=120)
                   for _ in range(3)]
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        start = time.time()
        server.proc.send_signal(signal.SIGINT)
        try:
            code = server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = "still running after 30 s"
            server.proc.kill()
        print(f"second signal: exit code {code} after {time.time() - start:.2f} s")
        for f in futures:
            f.cancel()
        server.log.close()

    # 5. The smaller defects.
    if want("small"):
        server = start_server(args.server,
                              "admission { max_concurrent_requests: 1 }\n" +
                              wide, tmp)
        s, _ = stub(server)
        print("invalid UTF-8 query:", call(s, request(b"ok", query=b"bad \xff q"))[:2])
        r = request(b"fine text")
        r.documents[0].id = b"id\xff"
        print("invalid UTF-8 id:", call(s, r)[:2])
        r = request("\ufeffCommittee minutes follow.\n\nOther text.".encode(),
                    query="committee")
        r.options.explain = True
        bom = call(s, r)
        print("BOM: top passage starts at byte",
              bom[3].passages[0].range.start_byte if bom[3] and bom[3].passages else None,
              "matched", list(bom[3].passages[0].breakdown.matched_terms) if bom[3] and bom[3].passages else None,
              bom[:2])
        r = request(b"The committee reviewed the figures. " * 200, query="committee")
        r.documents[0].id = b"i" * (1 << 20)
        code, msg, ms, resp = call(s, r)
        print(f"1 MB id: {code} {msg[:80]} response "
              f"{len(resp.SerializeToString()) if resp else 0} bytes")
        print("whitespace-only document:", call(s, request(b"   \n\t  "))[:2])
        sr = pb.ScoreRequest(query="committee")
        sr.passages.add(text="The committee.")
        sr.context.text = ""
        try:
            s.Score(sr, timeout=10)
            print("empty Score context: OK")
        except grpc.RpcError as e:
            print("empty Score context:", e.code().name, e.details())
        server.stop()
        server = start_server(args.server, model +
                              "admission { max_concurrent_requests: 1 }\n", tmp)
        s, _ = stub(server)
        futures = [s.Retrieve.future(request(fresh_document(5000)), timeout=60)
                   for _ in range(300)]
        time.sleep(2)
        threads = server.threads()
        for f in futures:
            f.cancel()
        print(f"300 calls at once: server threads {threads}")
        server.stop()


if __name__ == "__main__":
    main()
