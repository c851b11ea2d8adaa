"""Writes plugins/module_utils/_load_scripts.py from the k6 scripts in this directory.

    .venv/bin/python files/k6/embed.py

Modules run on the target from a payload that carries module_utils only, not files/; so the
scripts travel inside module_utils. A unit test fails when the embedded copy and these files differ.
"""
from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(os.path.dirname(os.path.dirname(HERE)), "plugins", "module_utils", "_load", "scripts.py")
SCRIPTS = ("examday.js", "exam.js", "generic.js")

HEADER = '''# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k6 scripts of examday.ops.load, embedded (modules reach the target without files/).

GENERATED from files/k6/*.js by files/k6/embed.py: edit the .js files, then run it."""
from __future__ import annotations

SCRIPTS = {}
'''


def render() -> str:
    parts = [HEADER]
    for name in SCRIPTS:
        with open(os.path.join(HERE, name), encoding="utf-8") as fh:
            text = fh.read()
        if "'''" in text or "\\\n" in text:
            raise SystemExit(f"{name} contains ''' or a line-ending backslash, which cannot be embedded")
        parts.append(f"\nSCRIPTS[{name!r}] = r'''{text}'''\n")
    return "".join(parts)


def main() -> None:
    with open(TARGET, "w", encoding="utf-8") as fh:
        fh.write(render())
    print(f"wrote {os.path.relpath(TARGET)}")


if __name__ == "__main__":
    main()
