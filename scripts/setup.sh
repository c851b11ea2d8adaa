#!/usr/bin/env bash
# The one set-up path behind every README command. Idempotent: a second run checks and changes
# nothing. Steps: Python virtualenv with pinned dependencies, community.docker for the tests, Docker engine + Compose v2 (installed
# only when absent and we are root; the daemon started only when not running), lab images.
# Environment knobs: EXAMDAY_SKIP_IMAGES=1 (venv + engine only), LAB_BASE_IMAGE=<image> (base for
# the lab images; default: debian:bookworm-slim when present or pullable, else a local debootstrap).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

setup_venv() {
  local stamp="$VENV/.examday-requirements.sha256" want
  want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-runtime.txt" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "virtualenv up to date ($VENV)"
    return
  fi
  log "creating virtualenv $VENV with pinned dependencies"
  python3 -m venv "$VENV"
  # (grep drops warnings some pip configurations print for every missing local index folder)
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -r "$ROOT/requirements.txt" -c "$ROOT/constraints.txt" 2>&1 | { grep -v 'is ignored: it is neither' || true; }; then
    die "pip could not install the pinned dependencies (see above)."
  fi
  echo "$want" >"$stamp"
}

# community.docker, for its docker connection plugin: the tests reach load-generator containers as
# Ansible hosts through it. Galaxy is not reachable from every machine, PyPI is: the pinned `ansible`
# package carries the collection, and only that collection is taken out of it (hash-checked).
TEST_COLLECTIONS="$ROOT/build/collections"
ANSIBLE_WHEEL="ansible==12.3.0"
ANSIBLE_WHEEL_SHA256="cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414"
COMMUNITY_DOCKER_VERSION="4.8.5"
setup_test_collections() {
  local dest="$TEST_COLLECTIONS/ansible_collections/community/docker" tmp
  if [[ -f "$dest/MANIFEST.json" ]] && grep -q "\"version\": \"$COMMUNITY_DOCKER_VERSION\"" "$dest/MANIFEST.json"; then
    log "community.docker $COMMUNITY_DOCKER_VERSION up to date (tests' connection plugin)"
    return
  fi
  log "taking community.docker $COMMUNITY_DOCKER_VERSION out of the $ANSIBLE_WHEEL package (tests' connection plugin)"
  tmp="$(mktemp -d)"
  printf '%s --hash=sha256:%s\n' "$ANSIBLE_WHEEL" "$ANSIBLE_WHEEL_SHA256" >"$tmp/req.txt"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --require-hashes -r "$tmp/req.txt" \
    -d "$tmp" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
  [[ -n "$(ls "$tmp"/ansible-*.whl 2>/dev/null)" ]] || die "pip could not download $ANSIBLE_WHEEL (see above)."
  rm -rf "$dest"
  "$VENV/bin/python" - "$tmp"/ansible-*.whl "$TEST_COLLECTIONS" <<'PY'
import sys, zipfile
prefix = "ansible_collections/community/docker/"
with zipfile.ZipFile(sys.argv[1]) as whl:
    whl.extractall(sys.argv[2], [n for n in whl.namelist() if n.startswith(prefix)])
PY
  rm -rf "$tmp"
  grep -q "\"version\": \"$COMMUNITY_DOCKER_VERSION\"" "$dest/MANIFEST.json" \
    || die "the $ANSIBLE_WHEEL package did not carry community.docker $COMMUNITY_DOCKER_VERSION."
}

# The URI of the Debian mirror apt already uses for bookworm (deb822 or one-line format).
debian_mirror() {
  local uri
  uri="$(awk '
    /^URIs:/ {u=$2} /^Suites:/ && /bookworm( |$)/ && u != "" && u !~ /security/ {print u; exit}
    /^deb / && $3 == "bookworm" && $2 !~ /security/ {print $2; exit}
    /^deb \[/ { for (i=1;i<=NF;i++) if ($i=="bookworm" && $(i-1) !~ /security/) {print $(i-1); exit} }
  ' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)"
  [[ -n "$uri" ]] || die "cannot find the Debian bookworm mirror in apt's sources; configure apt first."
  echo "$uri"
}

install_docker() {
  [[ $EUID -eq 0 ]] || die "Docker engine or Compose v2 is missing and this is not root: install Docker CE with the compose plugin, then re-run."
  command -v apt-get >/dev/null || die "Docker is missing and this is not a Debian-like system: install Docker CE with the compose plugin, then re-run."
  local mirror
  mirror="$(debian_mirror)"
  log "installing Docker engine + Compose v2 from Debian trixie (pinned low) via $mirror"
  cat >/etc/apt/sources.list.d/examday-trixie.sources <<EOF
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >/etc/apt/preferences.d/examday-trixie <<EOF
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
  apt-get update -qq
  apt-get install -y -qq -t trixie docker.io docker-compose >/dev/null
}

start_dockerd() {
  [[ $EUID -eq 0 ]] || die "the Docker daemon is not running and this is not root: start Docker, then re-run."
  log "starting dockerd (no systemd here); log: /var/log/examday-dockerd.log"
  setsid dockerd >/var/log/examday-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  die "dockerd did not answer within 60 s; see /var/log/examday-dockerd.log."
}

setup_docker() {
  if ! command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
    install_docker
  elif ! docker compose version >/dev/null 2>&1; then
    install_docker
  fi
  docker info >/dev/null 2>&1 || start_dockerd
  local api
  api="$(docker version --format '{{.Server.APIVersion}}')"
  # the lab's health checks use start_interval (API 1.44, Docker Engine 25)
  [[ "$(printf '%s\n' 1.44 "$api" | sort -V | head -1)" == 1.44 ]] \
    || die "the lab needs Docker Engine 25 or newer (API 1.44); this engine speaks API $api."
  log "docker engine $(docker version --format '{{.Server.Version}}'), $(docker compose version --short | sed 's/^/compose /')"
}

# Picks (and if needed makes) the base image for the lab: a build argument, so users with a
# registry use debian:bookworm-slim and air-gapped machines a local debootstrap.
base_image() {
  if [[ -n "${LAB_BASE_IMAGE:-}" ]]; then echo "$LAB_BASE_IMAGE"; return; fi
  if docker image inspect debian:bookworm-slim >/dev/null 2>&1; then echo debian:bookworm-slim; return; fi
  if docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then echo "$LOCAL_BASE"; return; fi
  if timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then echo debian:bookworm-slim; return; fi
  [[ $EUID -eq 0 ]] || die "no registry is reachable and debootstrap needs root: set LAB_BASE_IMAGE to a local Debian bookworm image."
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  local dir mirror
  dir="$(mktemp -d)"
  mirror="$(debian_mirror)"
  log "no registry reachable: bootstrapping $LOCAL_BASE from $mirror" >&2
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >/dev/null
  tar -C "$dir" -c . | docker import - "$LOCAL_BASE" >/dev/null
  rm -rf "$dir"
  echo "$LOCAL_BASE"
}

setup_images() {
  local base tag
  base="$(base_image)"
  # The tag is a hash of everything that goes into the image plus the base image id, so an
  # unchanged lab is never rebuilt and a changed one always is.
  tag="$( (docker image inspect --format '{{.Id}}' "$base"; cd "$ROOT/lab/image" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12)"
  mkdir -p "$LAB_STATE"
  if ! docker image inspect "examday/lab:$tag" >/dev/null 2>&1; then
    log "building lab image examday/lab:$tag FROM $base"
    docker build -q --build-arg "BASE_IMAGE=$base" -t "examday/lab:$tag" "$ROOT/lab/image" >/dev/null
  else
    log "lab image examday/lab:$tag up to date"
  fi
  printf 'LAB_IMAGE=examday/lab:%s\n' "$tag" >"$LAB_STATE/image.env.tmp"
  mv "$LAB_STATE/image.env.tmp" "$LAB_STATE/image.env"
}

main() {
  local t0=$SECONDS
  setup_venv
  setup_test_collections
  setup_docker
  [[ "${EXAMDAY_SKIP_IMAGES:-0}" == 1 ]] || setup_images
  log "set-up done in $((SECONDS - t0)) s"
}

main "$@"
