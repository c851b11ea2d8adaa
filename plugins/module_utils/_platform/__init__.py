# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform profile: every fact about the operated platform, validated, with PLATFORM.md's
values as defaults (spec.py), read by every module (profile.py), and the API client and probes
that it drives (api.py, probes.py)."""
