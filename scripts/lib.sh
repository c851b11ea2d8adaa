# Shared by the project's shell entry points. Sourced, not executed.
# shellcheck shell=bash
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV="${EXAMDAY_VENV:-$ROOT/.venv}"
LAB_STATE="${EXAMDAY_LAB_STATE:-$ROOT/.lab}"
LOCAL_BASE="examday/debian-base:bookworm"

log() { printf '[examday %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[examday] ERROR: %s\n' "$*" >&2; exit 1; }
