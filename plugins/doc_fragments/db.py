# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # The spec is plugins/module_utils/_db.py:db_argument_spec().
    DOCUMENTATION = r"""
options:
  db:
    description: The platform's PostgreSQL database. Needs psycopg 3 on the target.
    type: dict
    default: {}
    suboptions:
      host:
        description: Host; when empty, the address of I(container) on its Docker network, else C(127.0.0.1).
        type: str
      port:
        description: Port.
        type: int
        default: 5432
      name:
        description: Database.
        type: str
        default: exam_platform
      user:
        description: User.
        type: str
        default: exam_user
      password:
        description: Password.
        type: str
      container:
        description: PostgreSQL container whose address to use when I(host) is empty.
        type: str
      network:
        description: Docker network of I(container) (default the first one it has).
        type: str
      connect_timeout:
        description: Seconds to wait for a connection.
        type: int
        default: 5
"""

    # The spec is plugins/module_utils/_db.py:pool_argument_spec().
    POOL = r"""
options:
  pool:
    description: The app's pool per process, and how many processes hold one (replicas x workers).
    type: dict
    default: {}
    suboptions:
      pool_size:
        description: SQLAlchemy-style pool_size.
        type: int
        default: 10
      max_overflow:
        description: max_overflow.
        type: int
        default: 10
      processes:
        description: Processes with a pool each.
        type: int
        default: 1
"""
