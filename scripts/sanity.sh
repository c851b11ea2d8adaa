#!/usr/bin/env bash
# ansible-test sanity on a temporary ansible_collections/examday/ops copy of the tracked files.
# Sanity's own tools (pinned by ansible-test itself) live in a venv of their own, .venv-sanity, so
# the project's venv stays as pinned. (ansible-test --venv would fetch pip from a host that an
# air-gapped machine cannot reach.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
SANITY_VENV="$ROOT/.venv-sanity"
core="$(grep -E '^ansible-core==' "$ROOT/requirements.txt")"
if [[ ! -f "$SANITY_VENV/.stamp" || "$(cat "$SANITY_VENV/.stamp")" != "$core" ]]; then
  log "creating $SANITY_VENV ($core + ansible-test's sanity requirements)"
  python3 -m venv "$SANITY_VENV"
  "$SANITY_VENV/bin/pip" install --quiet --disable-pip-version-check "$core" 2>&1 | grep -v 'is ignored' || true
  rm -f "$SANITY_VENV/.requirements-installed"
fi
# ansible-test bootstraps pip in each test venv with a downloaded get-pip.py; offer our stand-in.
pip_version="$(grep -oP "^\s+pip='\K[0-9.]+" "$SANITY_VENV"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1 || true)"
if [[ -n "$pip_version" ]]; then
  cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  mkdir -p "$(dirname "$cache")"; cmp -s "$ROOT/scripts/get_pip_standin.py" "$cache" || cp "$ROOT/scripts/get_pip_standin.py" "$cache"
fi
if ! command -v shellcheck >/dev/null && [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
  if ! apt-get install -y -qq shellcheck >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null
  fi
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/examday/ops"
mkdir -p "$dest"
# Tracked and new (not ignored) files, as they are in the work tree; files deleted there are skipped.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | grep -zv '^collections/' \
  | tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$dest"
cd "$dest"
git init -q && git add -A >/dev/null
req=()
[[ -f "$SANITY_VENV/.requirements-installed" ]] || req=(--requirements)
PATH="$SANITY_VENV/bin:$PATH" "$SANITY_VENV/bin/ansible-test" sanity "${req[@]}" --python 3.11 --color no "$@" \
  2> >(grep -vE 'is ignored|━|Attempting uninstall|Found existing|Uninstalling' >&2)
touch "$SANITY_VENV/.requirements-installed"
echo "$core" > "$SANITY_VENV/.stamp"
