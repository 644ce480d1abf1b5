#!/usr/bin/env bash
# Build the Folio image with Podman from a base made here by debootstrap: no registry pulls.
#   sudo bash deploy/build-image.sh           # base (once), then localhost/folio:VERSION
#   sudo bash deploy/build-image.sh --smoke   # ... and the offline smoke run (deploy/smoke.sh)
# VERSION is pyproject.toml's. Environment:
#   FOLIO_IMAGE, FOLIO_BASE_IMAGE   tags (localhost/folio:VERSION, localhost/folio-base:bookworm)
#   FOLIO_ROOTFS, DEBIAN_MIRROR     debootstrap's folder and mirror
#   FOLIO_CA_BUNDLE                 CA bundle pip trusts in the build (the host's)
#   FOLIO_BUILD_NETWORK             network of the build's RUN steps (host: pip reaches PyPI)
#   PODMAN_OPTS, PODMAN_RUN_OPTS    podman's global options, and the containers' options.
# The defaults suit a root shell in a VM without systemd or CAP_SYS_RESOURCE: vfs storage,
# cgroupfs, runc (crun refuses hybrid cgroups) and ulimits below the shell's own. On an ordinary
# Linux host `PODMAN_OPTS= PODMAN_RUN_OPTS= bash deploy/build-image.sh` is enough.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)
IMAGE=${FOLIO_IMAGE:-localhost/folio:$VERSION}
BASE=${FOLIO_BASE_IMAGE:-localhost/folio-base:bookworm}
ROOTFS=${FOLIO_ROOTFS:-/var/tmp/folio-rootfs-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
read -r -a PODMAN <<<"podman ${PODMAN_OPTS---storage-driver vfs --cgroup-manager cgroupfs --runtime runc}"
read -r -a RUN_OPTS <<<"${PODMAN_RUN_OPTS---ulimit nofile=4096:4096 --ulimit nproc=4096:4096}"
SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1

for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || {
    echo "build-image: $tool not found (Debian: apt-get install podman debootstrap runc)" >&2
    exit 1
  }
done
[[ $(id -u) -eq 0 ]] || { echo "build-image: debootstrap and rootful podman need root" >&2; exit 1; }

if ! "${PODMAN[@]}" image exists "$BASE"; then
  if [[ ! -x "$ROOTFS/usr/bin/apt-get" ]]; then
    echo "build-image: debootstrap bookworm into $ROOTFS"
    rm -rf "$ROOTFS"
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR"
  fi
  # Leave no package lists, caches or host identity in the base (as the official image does).
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/tmp/*
  : >"$ROOTFS/etc/machine-id"
  echo "build-image: import $ROOTFS as $BASE"
  tar --numeric-owner -C "$ROOTFS" -c . |
    "${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' - "$BASE"
fi

echo "build-image: build $IMAGE"
# --format docker: the OCI format has no HEALTHCHECK.
"${PODMAN[@]}" build "${RUN_OPTS[@]}" --format docker --network "${FOLIO_BUILD_NETWORK:-host}" \
  --secret "id=ca-bundle,src=${FOLIO_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" \
  --build-arg "BASE_IMAGE=$BASE" --ignorefile deploy/Containerfile.dockerignore \
  -f deploy/Containerfile -t "$IMAGE" .

if ((SMOKE)); then
  echo "build-image: smoke-run $IMAGE (no network, read-only root)"
  "${PODMAN[@]}" run "${RUN_OPTS[@]}" --rm --no-healthcheck --network none --read-only --tmpfs /tmp \
    -v "$PWD/data/samples:/samples:ro" -v "$PWD/deploy/smoke.sh:/smoke.sh:ro" \
    --entrypoint /bin/sh "$IMAGE" /smoke.sh
fi
echo "build-image: ok ($IMAGE)"
