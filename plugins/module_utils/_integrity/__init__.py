# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""examday.ops.integrity_check: the read-only guard (guard.py), SQL written against the profile's
schema (schema.py), the checks as data (checks.py), reconciliation of recorded writes
(reconcile.py) and the run in one snapshot (manager.py)."""
