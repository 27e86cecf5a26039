#!/usr/bin/env bash
# Makes sure a Docker daemon answers: a running one is used as is; else
# Debian's docker.io is installed when dockerd is missing and dockerd is
# started as root with --bridge=none (containers here use the host network
# and are reached on 127.0.0.1 only). Exits 1 saying why when it cannot.
set -uo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

docker info >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  echo "no Docker daemon, and starting one needs root" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  echo "docker: installing Debian's docker.io"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
    as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends docker.io >/dev/null ||
    { echo "could not install docker.io" >&2; exit 1; }
fi
echo "docker: starting dockerd --bridge=none (log /tmp/attnr-dockerd.log)"
as_root sh -c 'nohup dockerd --bridge=none --iptables=false \
  >/tmp/attnr-dockerd.log 2>&1 &'
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not start: $(tail -n 3 /tmp/attnr-dockerd.log 2>/dev/null)" >&2
exit 1
