# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes plugins/module_utils/_report/md_template.py from the report templates in this directory
(report.md.j2, the rehearsal's and post-exam's; record.md.j2, the exam-day records'; lessons.md.j2, the
lessons-learned record's).

    .venv/bin/python files/templates/embed.py

Modules run from a payload that carries module_utils only, not files/ (the report runs on the
controller, but still from that payload); so the template travels inside module_utils. A unit test
fails when the embedded copy and this file differ.
"""
from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(os.path.dirname(os.path.dirname(HERE)), "plugins", "module_utils", "_report", "md_template.py")
SOURCES = {"TEMPLATE": "report.md.j2", "RECORD_TEMPLATE": "record.md.j2", "LESSONS_TEMPLATE": "lessons.md.j2"}

HEADER = '''# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in Jinja2 templates of report.md, embedded (modules reach their host without files/).

GENERATED from files/templates/report.md.j2, record.md.j2 and lessons.md.j2 by files/templates/embed.py:
edit the .j2 files, then run it."""
from __future__ import annotations

'''


def render() -> str:
    out = HEADER
    for name, source in SOURCES.items():
        with open(os.path.join(HERE, source), encoding="utf-8") as fh:
            text = fh.read()
        if "'''" in text or "\\\n" in text:
            raise SystemExit(f"{source} contains ''' or a line-ending backslash, which cannot be embedded")
        out += f"{name} = r'''{text}'''\n"
    return out


def main() -> None:
    with open(TARGET, "w", encoding="utf-8") as fh:
        fh.write(render())
    print(f"wrote {os.path.relpath(TARGET)}")


if __name__ == "__main__":
    main()
