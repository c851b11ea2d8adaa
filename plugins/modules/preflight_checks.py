#!/usr/bin/python
# Copyright: examday.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: preflight_checks
short_description: The pre-exam checklist's checks (backups, TLS, DNS, disk, rate limits, observability)
version_added: 0.1.0
description:
  - Read-only checks from the runbook's 24-hour checklist. Each gives pass or fail with its
    evidence. An item the inventory does not configure is reported as C(not configured), never
    as a pass. Unreachable items fail.
  - Backups, disk and rate limits are looked at on the target. Run the TLS, DNS and observability
    checks from where students come from (for example with C(delegate_to) set to C(localhost)).
author: examday.ops developers (@examday)
options:
  backups:
    description: Backup locations; the newest file matching each glob must be younger than its limit.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: A glob of backup files, for example C(/var/backups/exam_platform/*.sql.gz).
        type: str
        required: true
      max_age_hours:
        description: The newest backup must be younger than this.
        type: float
        default: 26
  tls:
    description: TLS endpoints whose certificates must be valid for more than I(min_days).
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Host to connect to.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 443
      server_name:
        description: SNI and the name to verify (default I(host)).
        type: str
      min_days:
        description: Days the certificate must still be valid.
        type: float
        default: 14
      ca_file:
        description: CA bundle to verify with (default the system's).
        type: path
  dns:
    description: Names that must resolve, to the expected addresses when given.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The name.
        type: str
        required: true
      expect:
        description: Addresses it must resolve to (all of them).
        type: list
        elements: str
        default: []
  disk:
    description: Paths whose filesystems need free space.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: A path on the filesystem.
        type: path
        required: true
      min_free_pct:
        description: Minimum free percentage.
        type: float
        default: 15
      min_free_gb:
        description: Minimum free gigabytes.
        type: float
        default: 2
  rate_limits:
    description: Rate-limit settings that must be configured in a service's containers (only these keys are read).
    type: dict
    suboptions:
      compose_project:
        description: Compose project.
        type: str
        default: exam_platform
      service:
        description: Service whose containers' environment is read.
        type: str
        default: backend
      env_keys:
        description: Variables that must be set to a positive number.
        type: list
        elements: str
        required: true
  http:
    description: Observability endpoints (metrics, Prometheus, Grafana, log aggregation) that must answer.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: A label.
        type: str
        required: true
      url:
        description: The URL.
        type: str
        required: true
      expect_status:
        description: Acceptable HTTP statuses.
        type: list
        elements: int
        default: [200]
      validate_certs:
        description: Verify TLS.
        type: bool
        default: true
  timeout:
    description: Seconds per network check.
    type: float
    default: 5
  report_unconfigured:
    description: Checks to list as C(not configured) when their option is empty.
    type: list
    elements: str
    default: []
requirements:
  - cryptography (TLS checks), docker CLI (rate_limits)
attributes:
  check_mode:
    description: Read-only, so it runs in check mode too.
    support: full
  diff_mode:
    description: Nothing changes.
    support: none
seealso:
  - module: examday.ops.platform_status
    description: Read-only status of the running platform, with pass/fail checks.
"""

EXAMPLES = r"""
- name: Checks on the Docker host
  examday.ops.preflight_checks:
    backups: [{path: /var/backups/exam_platform/*.sql.gz, max_age_hours: 26}]
    disk: [{path: /var/lib/docker, min_free_pct: 15}]
    rate_limits: {service: backend, env_keys: [RATE_LIMIT_LOGIN_PER_IP]}

- name: Checks from the students' side
  examday.ops.preflight_checks:
    tls: [{host: api.example.com, min_days: 14}]
    dns: [{name: api.example.com, expect: [203.0.113.10]}]
    http: [{name: prometheus, url: "https://prometheus.example.com/-/ready"}]
  delegate_to: localhost
"""

RETURN = r"""
checks:
  description:
    - One entry per item checked, in the order C(not configured) items, C(backup), C(tls), C(dns), C(disk), C(rate_limits)
      (one per container), C(observability).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The kind of check - C(backup), C(tls), C(dns), C(disk), C(rate_limits) or C(observability).
      type: str
      sample: disk
    item:
      description: What was checked (the glob, C(host:port), the name, the path, the container or the label); C(-) when not configured.
      type: str
      sample: /
    passed:
      description: Whether it passed; null when not configured.
      type: bool
      sample: true
    configured:
      description: False for an item the inventory does not configure (listed by I(report_unconfigured)).
      type: bool
      sample: true
    detail:
      description: The outcome in one sentence.
      type: str
      sample: 83.3 GB free (30.8%; limits 2 GB, 5%)
    evidence:
      description:
        - What it was judged on; null when there was nothing to judge (not configured, unreachable).
        - C(backup) - C(path) and C(age_hours) of the newest file. C(tls) - C(not_after) and C(days_left).
          C(dns) - C(addresses) and C(expected). C(disk) - C(free_bytes), C(total_bytes) and C(free_pct).
          C(rate_limits) - each variable's value by its name. C(observability) - C(url) and C(status).
      type: raw
      sample: {free_bytes: 83337560064, free_pct: 30.8, total_bytes: 270553174016}
  sample:
    - {name: backup, item: "-", passed: null, configured: false, evidence: null,
       detail: "not configured: set examday_preflight.backups in the inventory to check it"}
    - {name: disk, item: /, passed: true, configured: true, detail: "83.3 GB free (30.8%; limits 2 GB, 5%)",
       evidence: {free_bytes: 83337560064, free_pct: 30.8, total_bytes: 270553174016}}
    - {name: rate_limits, item: exam_platform-backend-1, passed: true, configured: true,
       detail: "RATE_LIMIT_LOGIN_PER_IP=5, RATE_LIMIT_LOGIN_PER_EMAIL=10",
       evidence: {RATE_LIMIT_LOGIN_PER_IP: "5", RATE_LIMIT_LOGIN_PER_EMAIL: "10"}}
    - {name: dns, item: localhost, passed: true, configured: true, detail: resolves to 127.0.0.1,
       evidence: {addresses: [127.0.0.1], expected: [127.0.0.1]}}
    - {name: observability, item: backend metrics, passed: true, configured: true,
       detail: "http://127.0.0.1:18080/metrics answered HTTP 200", evidence: {url: "http://127.0.0.1:18080/metrics", status: 200}}
verdict:
  description: The verdict over the checks.
  returned: always
  type: dict
  contains:
    passed:
      description: True when every configured item passed (an item not configured does not fail it).
      type: bool
    failed:
      description: The items that failed, as C(name:item).
      type: list
      elements: str
    not_measured:
      description: Configured items that could not be measured, as C(name:item).
      type: list
      elements: str
    not_configured:
      description: The kinds of check not configured.
      type: list
      elements: str
  sample: {passed: true, failed: [], not_measured: [], not_configured: [backup, tls]}
"""

import datetime
import glob
import os
import shutil
import socket
import ssl
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import open_url

from ansible_collections.examday.ops.plugins.module_utils import _docker_cli
from ansible_collections.examday.ops.plugins.module_utils import _preflight as pf
from ansible_collections.examday.ops.plugins.module_utils._common import OpsError, json_safe

try:
    from cryptography import x509
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False


def newest_backup(pattern: str):
    found = [(p, os.path.getmtime(p)) for p in glob.glob(pattern) if os.path.isfile(p)]
    return max(found, key=lambda x: x[1]) if found else None


def certificate_expiry(item: dict, timeout: float):
    """(not_after, error, verify_error) of the certificate served at host:port."""
    name = item.get("server_name") or item["host"]
    loose = ssl.create_default_context()
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((item["host"], item["port"]), timeout=timeout) as sock:
            with loose.wrap_socket(sock, server_hostname=name) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        return None, str(exc), None
    cert = x509.load_der_x509_certificate(der)
    not_after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    strict = ssl.create_default_context(cafile=item.get("ca_file"))
    verify_error = None
    try:
        with socket.create_connection((item["host"], item["port"]), timeout=timeout) as sock:
            with strict.wrap_socket(sock, server_hostname=name):
                pass
    except ssl.SSLCertVerificationError as exc:
        verify_error = exc.verify_message or str(exc)
    except (OSError, ssl.SSLError) as exc:
        verify_error = str(exc)
    return not_after, None, verify_error


def resolve(name: str):
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(name, None)}), None
    except socket.gaierror as exc:
        return None, str(exc)


def http_status(item: dict, timeout: float):
    from urllib.error import HTTPError
    try:
        resp = open_url(item["url"], method="GET", timeout=timeout, validate_certs=item["validate_certs"])
        return resp.status, None
    except HTTPError as exc:
        return exc.code, None
    except Exception as exc:  # URLError, timeout, connection refused: the item is unreachable
        return None, str(getattr(exc, "reason", exc))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "backups": {"type": "list", "elements": "dict", "default": [], "options": {
                "path": {"type": "str", "required": True},
                "max_age_hours": {"type": "float", "default": 26.0}}},
            "tls": {"type": "list", "elements": "dict", "default": [], "options": {
                "host": {"type": "str", "required": True},
                "port": {"type": "int", "default": 443},
                "server_name": {"type": "str"},
                "min_days": {"type": "float", "default": 14.0},
                "ca_file": {"type": "path"}}},
            "dns": {"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True},
                "expect": {"type": "list", "elements": "str", "default": []}}},
            "disk": {"type": "list", "elements": "dict", "default": [], "options": {
                "path": {"type": "path", "required": True},
                "min_free_pct": {"type": "float", "default": 15.0},
                "min_free_gb": {"type": "float", "default": 2.0}}},
            "rate_limits": {"type": "dict", "options": {
                "compose_project": {"type": "str", "default": "exam_platform"},
                "service": {"type": "str", "default": "backend"},
                "env_keys": {"type": "list", "elements": "str", "required": True, "no_log": False}}},
            "http": {"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True},
                "url": {"type": "str", "required": True},
                "expect_status": {"type": "list", "elements": "int", "default": [200]},
                "validate_certs": {"type": "bool", "default": True}}},
            "timeout": {"type": "float", "default": 5.0},
            "report_unconfigured": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["tls"] and not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    for b in p["backups"]:
        if b["max_age_hours"] <= 0:
            module.fail_json(msg=f"max_age_hours must be positive (backup {b['path']}).")
    checks = []
    check_names = {"backups": "backup", "tls": "tls", "dns": "dns", "disk": "disk", "rate_limits": "rate_limits",
                   "http": "observability"}
    for key in p["report_unconfigured"]:
        if key in check_names and not p.get(key):
            checks.append(pf.not_configured(check_names[key], f"examday_preflight.{key}"))
    now = time.time()
    for b in p["backups"]:
        checks.append(pf.backup_check(b["path"], newest_backup(b["path"]), now, b["max_age_hours"]))
    utcnow = datetime.datetime.now(datetime.timezone.utc)
    for t in p["tls"]:
        not_after, error, verify_error = certificate_expiry(t, p["timeout"])
        checks.append(pf.tls_check(f"{t['host']}:{t['port']}", not_after, error, utcnow, t["min_days"], verify_error))
    for d in p["dns"]:
        got, error = resolve(d["name"])
        checks.append(pf.dns_check(d["name"], got, error, d["expect"]))
    for d in p["disk"]:
        try:
            usage = shutil.disk_usage(d["path"])
            checks.append(pf.disk_check(d["path"], usage.total, usage.free, None, d["min_free_pct"], d["min_free_gb"]))
        except OSError as exc:
            checks.append(pf.disk_check(d["path"], None, None, str(exc), d["min_free_pct"], d["min_free_gb"]))
    rl = p["rate_limits"]
    if rl:
        try:
            running = _docker_cli.inspect_containers(module.run_command, rl["compose_project"], rl["service"],
                                                     all_states=False)
            if not running:
                raise OpsError(f"no running container of service {rl['service']} in {rl['compose_project']}.")
            for c in running:
                env = _docker_cli.container_env(c)
                checks.append(pf.rate_limit_check(c["Name"].lstrip("/"), {k: env.get(k) for k in rl["env_keys"]},
                                                  rl["env_keys"]))
        except OpsError as exc:
            checks.append(pf.result("rate_limits", rl["service"], False, exc.msg))
    for h in p["http"]:
        status, error = http_status(h, p["timeout"])
        checks.append(pf.http_check(h["name"], h["url"], status, error, h["expect_status"]))
    module.exit_json(changed=False, checks=json_safe(checks), verdict=pf.verdict(checks))


if __name__ == "__main__":
    main()
