#!/usr/bin/env bash
# Everything CI runs, after ./examday has done the set-up: ansible-test sanity and ansible-lint
# (production profile), which need no Docker and run in the background beside the Molecule
# scenarios, then pytest (unit tests on recorded real outputs, integration tests against the lab on
# the real engine). The background steps' output is printed when they end, and every step's result
# closes the output. Extra arguments go to pytest (e.g. ./examday test -k exam_mode).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
cd "$ROOT"
export PATH="$VENV/bin:$PATH" NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0

results=()
failed=0
step() {
  local name="$1" t0=$SECONDS
  shift
  log "== $name"
  if "$@"; then
    results+=("$name: passed in $((SECONDS - t0)) s")
  else
    results+=("$name: FAILED after $((SECONDS - t0)) s")
    failed=1
  fi
  log "== ${results[-1]}"
}

# A background step: its output goes to a log of its own (printed whole when it is collected) and
# its exit status to a file, so that a failure is never lost.
logs="$(mktemp -d)"
background=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  local job
  for job in "${background[@]}"; do kill "$job" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap cleanup EXIT
start() {
  local n="${#background[@]}" name="$1"
  shift
  printf '%s' "$name" >"$logs/$n.name"
  ( t0=$SECONDS; rc=0; "$@" >"$logs/$n.log" 2>&1 || rc=$?; echo "$rc $((SECONDS - t0))" >"$logs/$n.rc" ) &
  background+=("$!")
  log "== $name (in the background)"
}
collect() {
  local n name rc secs
  for n in "${!background[@]}"; do
    wait "${background[$n]}" || true
    name="$(cat "$logs/$n.name")"
    read -r rc secs <"$logs/$n.rc" || { rc=1; secs=0; }
    log "== $name: its output"
    cat "$logs/$n.log"
    if [[ "$rc" == 0 ]]; then results+=("$name: passed in $secs s"); else results+=("$name: FAILED (exit $rc) after $secs s"); failed=1; fi
    log "== ${results[-1]}"
  done
  background=()
}

start "ansible-test sanity" bash scripts/sanity.sh
start "ansible-lint --profile production" ansible-lint --profile production
# shellcheck disable=SC2317  # called through step
molecule_scenario() { molecule test -s "$1" 2>&1 | grep -v 'is ignored'; return "${PIPESTATUS[0]}"; }
step "molecule test -s lab (deploy the lab: converge, idempotence, verify)" molecule_scenario lab
step "molecule test -s default (the freeze role: converge, idempotence, verify, unfreeze)" molecule_scenario default
collect
step "pytest: unit + integration (the lab, two copies of it and lab-b on the real Docker engine, in three workers)" \
  pytest tests -n 3 --dist loadgroup --durations=25 "$@"
log "== every step:"
printf '   %s\n' "${results[@]}"
exit "$failed"
