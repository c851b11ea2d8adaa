# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Options of modules that talk to the platform API; the spec is
    # plugins/module_utils/_platform/api.py:api_argument_spec().
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the platform API, for example C(https://api.example.com) or the lab's C(http://127.0.0.1:18080).
        Every call's path is the platform profile's (I(platform.api.calls)).
    type: str
    required: true
  timeout:
    description: Seconds to wait for each HTTP response.
    type: float
    default: 10.0
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
"""
