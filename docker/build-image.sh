#!/usr/bin/env bash
# Builds attnr:latest from docker/Dockerfile (context: the repository root).
# On a machine without a running Docker daemon it starts one (installing
# Debian's docker.io when missing; root needed), with --bridge=none: every
# container here runs with --network host and is reached on 127.0.0.1.
# Where the Debian base images cannot be pulled (no registry reachable) they
# are made with debootstrap from the machine's Debian mirror and imported.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-attnr:latest}"
SUITE=bookworm
# The legacy builder: Debian's docker.io has no buildx.
export DOCKER_BUILDKIT=0

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

debian_mirror() {
  local uri
  uri=$(grep -hs -m1 '^URIs:' /etc/apt/sources.list.d/*.sources |
        awk '{print $2}' | head -n1)
  if [ -z "$uri" ]; then
    uri=$(grep -hs -m1 '^deb ' /etc/apt/sources.list | awk '{print $2}' |
          head -n1)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# debian:bookworm and debian:bookworm-slim: pulled, or else one minbase
# root file system imported under both names.
ensure_bases() {
  local missing=()
  for tag in "debian:$SUITE" "debian:$SUITE-slim"; do
    docker image inspect "$tag" >/dev/null 2>&1 && continue
    if timeout 60 docker pull -q "$tag" >/dev/null 2>&1; then continue; fi
    missing+=("$tag")
  done
  [ ${#missing[@]} -eq 0 ] && return
  if ! command -v debootstrap >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends debootstrap
  fi
  local root
  root=$(mktemp -d /tmp/attnr-rootfs.XXXXXX)
  local mirror
  mirror=$(debian_mirror)
  echo "docker: no registry; debootstrap $SUITE (minbase) from $mirror"
  as_root debootstrap --variant=minbase "$SUITE" "$root" "$mirror" \
    >/tmp/attnr-debootstrap.log 2>&1 || {
      echo "docker: debootstrap failed; see /tmp/attnr-debootstrap.log" >&2
      exit 1
    }
  as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  for tag in "${missing[@]}"; do
    as_root tar -C "$root" -c . | docker import - "$tag" >/dev/null
    echo "docker: imported $tag"
  done
  as_root rm -rf "$root"
}

bash docker/ensure-daemon.sh
ensure_bases
# The models and LibTorch, fetched (once, into their caches) and verified
# here, then staged in the build context; the build verifies them again.
python3 scripts/fetch-models.py --stage docker/.models
python3 scripts/fetch-libtorch.py --stage docker/.libtorch
start=$(date +%s)
docker build --network host --force-rm -f docker/Dockerfile -t "$IMAGE" .
end=$(date +%s)
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "docker: built $IMAGE in $((end - start)) s; size $((size / 1000000)) MB"
