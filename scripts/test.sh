#!/usr/bin/env bash
# Everything CI runs, after ./examday has done the set-up: ansible-test sanity, ansible-lint
# (production profile), the Molecule scenario, then pytest last, so its summary closes the output
# (unit tests on recorded real outputs, integration tests against the lab on the real engine).
# Extra arguments go to pytest (e.g. ./examday test -k exam_mode).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
cd "$ROOT"
export PATH="$VENV/bin:$PATH" NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0

step() {
  local name="$1" t0=$SECONDS
  shift
  log "== $name"
  "$@"
  log "== $name: passed in $((SECONDS - t0)) s"
}

step "ansible-test sanity" bash scripts/sanity.sh
step "ansible-lint --profile production" ansible-lint --profile production
molecule_scenario() { molecule test -s "$1" 2>&1 | grep -v 'is ignored'; return "${PIPESTATUS[0]}"; }
step "molecule test -s lab (deploy the lab: converge, idempotence, verify)" molecule_scenario lab
step "molecule test -s default (the freeze role: converge, idempotence, verify, unfreeze)" molecule_scenario default
log "== pytest: unit + integration (the lab and lab-b on the real Docker engine, in two workers)"
exec pytest tests -n 2 --dist loadgroup --durations=20 "$@"
