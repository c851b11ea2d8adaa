# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exit code of `./examday rehearse`: 0 GO, 3 NO-GO (the run's report says why), 2 a broken run
(no report written since the run started: refused by validation, or crashed before the verdict).

    python scripts/verdict_exit.py <ansible-playbook rc> <run start, epoch s> <reports dir>

ansible-playbook itself exits 2 for a NO-GO and for a crash alike; the report tells them apart."""
from __future__ import annotations

import glob
import json
import os
import sys

GO, BROKEN, NO_GO = 0, 2, 3


def verdict_exit(rc: int, started: float, reports: str) -> int:
    made = [p for p in glob.glob(os.path.join(reports, "rehearsal-*", "report.json")) if os.path.getmtime(p) >= started]
    if not made:
        return BROKEN if rc else GO
    with open(max(made, key=os.path.getmtime), encoding="utf-8") as fh:
        verdict = json.load(fh).get("verdict")
    if verdict == "GO" and rc == 0:
        return GO
    return NO_GO if verdict in ("GO", "NO-GO") else BROKEN


if __name__ == "__main__":
    print(verdict_exit(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]))
