#!/usr/bin/env bash
# Idempotent machine set-up for fldeploy on Debian/Ubuntu: system packages, a running Docker engine,
# the Compose v2 plugin, the project venv and (for tests) a cached Debian base image.
# Usage: scripts/setup.sh [--local-base] [--test]
#   --local-base  also build the local Debian base image (fldeploy-local/debian:bookworm) with debootstrap, for
#                 hosts that cannot pull images (`fldeploy up --build-local` builds on it)
#   --test        the test extras, the local base image and Chromium
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${FLDEPLOY_VENV:-$root/.venv}
cache=${FLDEPLOY_CACHE:-$root/.cache}
want_test=0; want_base=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; want_base=1 ;;
    --local-base) want_base=1 ;;
    *) echo "usage: $0 [--local-base] [--test]" >&2; exit 2 ;;
  esac
done
say() { printf '[setup] %s\n' "$*" >&2; }
sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v socat >/dev/null || need_pkgs+=(socat)
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v lsof >/dev/null || need_pkgs+=(lsof)
if [ $want_base = 1 ]; then
  command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing ${need_pkgs[*]}"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: /var/log/fldeploy-dockerd.log)"
  $sudo_ sh -c 'nohup dockerd >/var/log/fldeploy-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { say "dockerd did not start; see /var/log/fldeploy-dockerd.log"; exit 5; }
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating venv $venv"
  python3 -m venv "$venv"
fi
extras="foundry,demo,compose"; [ $want_test = 1 ] && extras="foundry,demo,compose,dev"
stamp="$venv/.fldeploy-installed-$extras-$(sha1sum "$root/pyproject.toml" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  say "installing fldeploy[$extras] into $venv"
  "$venv/bin/pip" install -q -e "$root[$extras]" 2>&1 | grep -v "^WARNING: Location" || true
  "$venv/bin/python" -c "import fldeploy" && touch "$stamp"
fi
# An editable install compiles nothing, and with PYTHONDONTWRITEBYTECODE set (as on CI machines) Python never
# writes bytecode: every command would compile fldeploy's ~80 modules first (~25 ms of `fldeploy ports`).
# compileall writes it explicitly, as pip does for an installed wheel; a stale file is recompiled next time.
"$venv/bin/python" -m compileall -q "$root/src/fldeploy" >/dev/null || true

if ! docker compose version >/dev/null 2>&1; then
  bin=$("$venv/bin/python" -c "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))")
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sf "$bin" "$HOME/.docker/cli-plugins/docker-compose"
  say "linked Compose v2 plugin: $(docker compose version --short)"
fi

if [ $want_test = 1 ]; then
  # tmux: the terminal a test reads `fldeploy up`'s progress board from
  command -v tmux >/dev/null || {
    say "installing tmux"; DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq tmux >/dev/null; }
  command -v chromium >/dev/null || {
    say "installing chromium"; DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null; }
  # npm vendors ONNX Runtime Web for the in-browser demo (npm pack, pinned version)
  command -v npm >/dev/null || {
    say "installing npm"; DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq npm >/dev/null; }
  # kubectl renders the Kubernetes base offline (`kubectl kustomize`); the machine image ships it, and Debian's
  # kubernetes-client is too old for the base (`secretGenerator` envs): say so instead of installing it
  command -v kubectl >/dev/null || say "kubectl (1.21 or later) is missing: tests/integration/test_kubernetes_render.py needs it"
  # Podman (tests/integration/test_podman.py runs its own API service); catatonit is its init for `init: true`
  command -v podman >/dev/null && command -v catatonit >/dev/null || {
    say "installing podman, catatonit"
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq podman catatonit >/dev/null; }
fi
if [ $want_base = 1 ]; then
  base=fldeploy-local/debian:bookworm
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    tarball="$cache/debian-bookworm-minbase.tar"
    if [ ! -f "$tarball" ]; then
      say "building the Debian base rootfs with debootstrap (~45 s, cached in $tarball)"
      rootfs=$(mktemp -d)
      $sudo_ debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,socat \
        bookworm "$rootfs" >/dev/null
      mkdir -p "$cache"; $sudo_ tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
      $sudo_ rm -rf "$rootfs"
    fi
    say "importing $base"
    docker import "$tarball" "$base" >/dev/null
  fi
fi
say "ready: $venv/bin/fldeploy"
