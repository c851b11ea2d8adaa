# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence contract: every evidence file name and key (names.py) and the acks format
(acks.py), defined once and imported by every writer and reader (docs/evidence.md)."""
