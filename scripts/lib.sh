# Shared by the project's shell entry points. Sourced, not executed.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV="${EXAMDAY_VENV:-$ROOT/.venv}"
LAB_STATE="${EXAMDAY_LAB_STATE:-$ROOT/.lab}"
LOCAL_BASE="examday/debian-base:bookworm"

log() { printf '[examday %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[examday] ERROR: %s\n' "$*" >&2; exit 1; }
