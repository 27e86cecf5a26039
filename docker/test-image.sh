#!/usr/bin/env bash
# make docker-test: builds attnr:latest, runs it (host network, a free
# 127.0.0.1 port), calls it from the host with the CLI and checks the
# answers: health, Retrieve and Score on a real long document (the license
# texts every Debian system ships, one after the other: ~40k tokens), ranges
# that slice the document exactly,
# a bad request refused with its status, the HTTP gateway (/health and
# /v1/rerank with curl), the image's own HEALTHCHECK.
# Removes the container it started, also after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-attnr:latest}"
CLI="${CLI:-build/bin/attnr}"
NAME="attnr-test-$$"
DOC="/tmp/$NAME-licenses.txt"
cat /usr/share/common-licenses/{GPL-3,GPL-2,LGPL-3,LGPL-2.1,Apache-2.0,MPL-2.0,Artistic,GFDL-1.3} > "$DOC"

bash docker/build-image.sh
[ -x "$CLI" ] || { echo "docker-test: $CLI missing (make build)" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TARGET="127.0.0.1:$PORT"
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HTTP="http://127.0.0.1:$HTTP_PORT"
cleanup() {
  status=$?
  if [ $status -ne 0 ]; then
    echo "docker-test: FAILED; container log:" >&2
    docker logs "$NAME" 2>&1 | tail -n 40 >&2 || true
  fi
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  rm -f "$DOC"
  exit $status
}
trap cleanup EXIT

start_ns=$(date +%s%N)
docker run -d --name "$NAME" --network host \
  -e ATTNR_HEALTH_TARGET="$TARGET" "$IMAGE" --listen "$TARGET" \
  --http_listen "127.0.0.1:$HTTP_PORT" >/dev/null
for _ in $(seq 1 600); do
  "$CLI" health --target "$TARGET" --timeout 1 >/dev/null 2>&1 && break
  if [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
    echo "docker-test: the container exited" >&2
    exit 1
  fi
  sleep 0.1
done
"$CLI" health --target "$TARGET" --timeout 2
serving_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
echo "docker-test: container start to SERVING: ${serving_ms} ms"

info=$("$CLI" info --target "$TARGET" --json)
echo "$info" | python3 -c '
import json, sys
info = json.load(sys.stdin)
views = info["default_views"]
assert "SCORING_VIEW_DENSE" in views, views
models = [m["name"] for m in info.get("models", [])]
print("docker-test: model", info["name"], info["version"], "default views", views, "models", models)'

# Retrieve: the top passages must hold the answer, each range slicing the
# document exactly (code points).
"$CLI" retrieve --target "$TARGET" --json --top-k 3 --doc "$DOC" \
  --query "How long must a written offer to provide the Corresponding Source stay valid?" \
  > /tmp/attnr-docker-retrieve.json
python3 - "$DOC" /tmp/attnr-docker-retrieve.json <<'PY'
import json, sys
doc = open(sys.argv[1], encoding="utf-8").read()
r = json.load(open(sys.argv[2]))
ps = r["passages"]
assert ps, "no passages"
for p in ps:
    g = p["range"]
    assert doc[g["start_char"]:g["end_char"]] == p["text"], "range does not slice the document"
    assert doc.encode()[g["start_byte"]:g["end_byte"]].decode() == p["text"]
assert any("three years" in p["text"] for p in ps), [p["text"][:80] for p in ps]
print(f"docker-test: Retrieve OK ({r['usage']['document_tokens']} document tokens, "
      f"top passage at chars {ps[0]['range']['start_char']}-{ps[0]['range']['end_char']})")
PY

# Score: a range of the document that answers beats one that does not.
answer=$(python3 -c '
import sys
doc = open(sys.argv[1], encoding="utf-8").read()
i = doc.index("valid for at least three years")
print(f"{i - 200}:{i + 200}")' "$DOC")
"$CLI" score --target "$TARGET" --json --context "$DOC" \
  --query "How long must a written offer to provide the Corresponding Source stay valid?" \
  --char-range "$answer" --char-range 0:400 > /tmp/attnr-docker-score.json
python3 - /tmp/attnr-docker-score.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["scores"]
assert len(s) == 2 and s[0]["score"] > s[1]["score"], s
print(f"docker-test: Score OK ({s[0]['score']:.4f} > {s[1]['score']:.4f})")
PY

# A bad request: refused with INVALID_ARGUMENT naming the field.
if "$CLI" retrieve --target "$TARGET" --doc "$DOC" --query "offer" \
    --max-passage-tokens 100000 2>/tmp/attnr-docker-bad.txt >/dev/null; then
  echo "docker-test: an oversized max_passage_tokens was accepted" >&2
  exit 1
fi
grep -q "INVALID_ARGUMENT" /tmp/attnr-docker-bad.txt
grep -q "max_passage_tokens" /tmp/attnr-docker-bad.txt
echo "docker-test: bad request refused: $(head -c 200 /tmp/attnr-docker-bad.txt)"

# The HTTP gateway: health, and a Cohere-shaped rerank whose best result
# is the answer.
curl -sSf "$HTTP/health" | grep -q '"SERVING"'
curl -sSf -X POST "$HTTP/v1/rerank" -H 'Content-Type: application/json' -d '{
  "query": "How long must a written offer to provide the Corresponding Source stay valid?",
  "documents": ["The museum opens at nine.",
                "The offer must be valid for at least three years."],
  "top_n": 1}' > /tmp/attnr-docker-rerank.json
python3 - /tmp/attnr-docker-rerank.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert [x["index"] for x in r["results"]] == [1], r
print(f"docker-test: HTTP /v1/rerank OK ({r['results'][0]['relevance_score']:.4f})")
PY

# The playground page, served from the binary.
# (Saved first: grep -q would stop reading early and fail curl, error 23.)
curl -sSf -o /tmp/attnr-docker-page.html "$HTTP/"
grep -q '<title>attnr playground</title>' /tmp/attnr-docker-page.html
curl -sSf -o /tmp/attnr-docker-page.js "$HTTP/playground.js"
grep -q 'EXPLAIN_SENTENCES' /tmp/attnr-docker-page.js
echo "docker-test: playground page served at $HTTP/"

# The image's HEALTHCHECK reports healthy.
for _ in $(seq 1 90); do
  health=$(docker inspect -f '{{.State.Health.Status}}' "$NAME")
  [ "$health" = healthy ] && break
  sleep 1
done
[ "$health" = healthy ] || { echo "docker-test: HEALTHCHECK says $health" >&2; exit 1; }
echo "docker-test: HEALTHCHECK healthy"
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "docker-test: passed (image $((size / 1000000)) MB)"
