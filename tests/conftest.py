"""Makes examday.ops importable as ansible_collections.examday.ops from this checkout, and the lab's
Python package importable as examlab."""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, "collections"), os.path.join(ROOT, "lab", "image")):
    if path not in sys.path:
        sys.path.insert(0, path)
