# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""examday.ops.load: the plan of a k6 run (plan.py), the embedded k6 scripts (scripts.py, from
files/k6/), the cohort of synthetic students (cohort.py) and the run itself (manager.py)."""
