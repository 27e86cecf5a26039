#!/usr/bin/env bash
# Two (REPLICAS) attnr containers behind nginx's grpc_pass on 127.0.0.1,
# routed by document affinity: nginx hashes the x-attnr-document-digest
# header (the attnr client sends the SHA-256 of the first document), so
# every question about one document reaches the replica that has it cached.
#
#   docker/scale-out.sh up     start replicas + balancer; print the target
#   docker/scale-out.sh down   stop them
#   docker/scale-out.sh test   up, drive it, check routing and cache hits, down
#
# Ports: LB_PORT (default 50050) and the REPLICAS ports after it, all on
# 127.0.0.1; containers use the host network (no bridge addresses).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-attnr:latest}"
CLI="${CLI:-build/bin/attnr}"
REPLICAS="${REPLICAS:-2}"
LB_PORT="${LB_PORT:-50050}"
STATE="${STATE:-/tmp/attnr-scale-out}"

ensure_nginx() {
  command -v nginx >/dev/null && return
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO=sudo; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends nginx-light >/dev/null || \
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends nginx >/dev/null
}

up() {
  ensure_nginx
  mkdir -p "$STATE"
  local servers=""
  for i in $(seq 1 "$REPLICAS"); do
    local port=$((LB_PORT + i))
    docker rm -f "attnr-replica-$i" >/dev/null 2>&1 || true
    docker run -d --name "attnr-replica-$i" --network host \
      -e ATTNR_HEALTH_TARGET="127.0.0.1:$port" "$IMAGE" \
      --listen "127.0.0.1:$port" >/dev/null
    servers+="    server 127.0.0.1:$port;"$'\n'
  done
  cat > "$STATE/nginx.conf" <<CONF
worker_processes 1;
pid $STATE/nginx.pid;
error_log $STATE/error.log warn;
events { worker_connections 1024; }
http {
  log_format routed '\$status upstream=\$upstream_addr '
                    'digest=\$http_x_attnr_document_digest uri=\$uri';
  access_log $STATE/access.log routed;
  client_body_temp_path $STATE/body;
  proxy_temp_path $STATE/proxy;
  fastcgi_temp_path $STATE/fastcgi;
  uwsgi_temp_path $STATE/uwsgi;
  scgi_temp_path $STATE/scgi;
  # Long documents travel in one request.
  client_max_body_size 64m;
  upstream attnr {
    hash \$http_x_attnr_document_digest consistent;
$servers  }
  server {
    listen 127.0.0.1:$LB_PORT http2;
    location / {
      grpc_pass grpc://attnr;
      grpc_read_timeout 300s;
    }
  }
}
CONF
  : > "$STATE/access.log"
  nginx -t -c "$STATE/nginx.conf" -p "$STATE" 2>/dev/null
  nginx -c "$STATE/nginx.conf" -p "$STATE"
  for i in $(seq 1 "$REPLICAS"); do
    local port=$((LB_PORT + i))
    for _ in $(seq 1 600); do
      "$CLI" health --target "127.0.0.1:$port" --timeout 1 >/dev/null 2>&1 && break
      sleep 0.1
    done
    "$CLI" health --target "127.0.0.1:$port" --timeout 2 >/dev/null
  done
  echo "scale-out: $REPLICAS replicas behind nginx at 127.0.0.1:$LB_PORT"
}

down() {
  if [ -f "$STATE/nginx.pid" ]; then
    nginx -c "$STATE/nginx.conf" -p "$STATE" -s stop 2>/dev/null || true
  fi
  for i in $(seq 1 "$REPLICAS"); do
    docker rm -f "attnr-replica-$i" >/dev/null 2>&1 || true
  done
}

test_it() {
  trap 'status=$?; [ $status -ne 0 ] && tail -n 20 "$STATE/access.log" "$STATE/error.log" >&2; down; exit $status' EXIT
  up
  local target="127.0.0.1:$LB_PORT"
  local docs=(/usr/share/common-licenses/*)
  local out="$STATE/calls.jsonl"
  : > "$out"
  # Each document warmed (Prepare) and asked, then asked again: the second
  # question is a cache hit (no new encoder work) only on the replica that
  # warmed it.
  for doc in "${docs[@]}"; do
    [ -f "$doc" ] || continue
    for round in 1 2; do
      local warm=()
      [ "$round" = 1 ] && warm=(--prepare)
      "$CLI" retrieve --target "$target" --json --no-text --top-k 3 "${warm[@]}" \
        --doc "$doc" --query "What are the conditions for redistribution?" |
        python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"doc": sys.argv[1], "round": int(sys.argv[2]), "cache_hit": r["usage"].get("cache_hit", False), "passages": len(r["passages"])}))' "$doc" "$round" >> "$out"
    done
  done
  python3 - "$out" "$STATE/access.log" "$CLI" <<'PY'
import collections, hashlib, json, subprocess, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
log = [l.split() for l in open(sys.argv[2]) if "/attnr.v1.Retriever/" in l]
# Round 1 is Prepare + Retrieve, round 2 Retrieve.
assert len(log) == len(calls) * 3 // 2, (len(log), len(calls))
by_digest = collections.defaultdict(set)
for fields in log:
    kv = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
    assert fields[0] == "200", fields
    by_digest[kv["digest"]].add(kv["upstream"])
replicas = set().union(*by_digest.values())
for c in calls:
    digest = hashlib.sha256(open(c["doc"], "rb").read()).hexdigest()
    assert len(by_digest[digest]) == 1, (c["doc"], by_digest[digest])
    if c["round"] == 2:
        assert c["cache_hit"], c
second = [c for c in calls if c["round"] == 2]
assert len(replicas) >= 2, replicas
# The same question sent straight to a replica that did not warm the
# document is not a cache hit: the hits above are the affinity's.
# (Once per document: several license files are links to one text.)
misses, tried = 0, set()
for c in second:
    digest = hashlib.sha256(open(c["doc"], "rb").read()).hexdigest()
    if digest in tried:
        continue
    tried.add(digest)
    other = sorted(replicas - by_digest[digest])[0]
    r = json.loads(subprocess.run(
        [sys.argv[3], "retrieve", "--target", other, "--json", "--no-text",
         "--top-k", "3", "--doc", c["doc"], "--query",
         "What are the conditions for redistribution?"],
        check=True, capture_output=True, text=True).stdout)
    misses += not r["usage"].get("cache_hit", False)
assert misses == len(tried), (misses, len(tried))
print(f"scale-out: {len(log)} calls through nginx over {len(by_digest)} "
      f"documents; replicas answering: {sorted(replicas)}; each document "
      f"always on one replica; second question a cache hit "
      f"{sum(c['cache_hit'] for c in second)}/{len(second)}; the same "
      f"question on the other replica a miss {misses}/{len(tried)}")
PY
  echo "scale-out: test passed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  test) test_it ;;
  *) echo "usage: $0 up|down|test" >&2; exit 2 ;;
esac
