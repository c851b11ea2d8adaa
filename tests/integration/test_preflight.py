"""The pre-exam checklist: the playbook on the lab, and each kind of check on real inputs."""
from __future__ import annotations

import datetime
import glob
import json
import os
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.conftest import ROOT


def test_preflight_passes_on_the_lab_and_says_what_is_not_configured(lab):
    for service in ("postgres", "redis", "backend", "worker", "traefik"):  # the state this test needs
        lab.wait_healthy(service)
    before = set(glob.glob(os.path.join(ROOT, "reports", "preflight-lab-[0-9]*.json")))
    proc = lab.playbook("preflight.yml")
    assert "PREFLIGHT PASSED (not configured: backup, tls)." in proc.stdout
    (new,) = set(glob.glob(os.path.join(ROOT, "reports", "preflight-lab-[0-9]*.json"))) - before
    with open(new, encoding="utf-8") as fh:
        record = json.load(fh)
    names = {(c["name"], c["passed"]) for c in record["checks"]}
    assert {("services", True), ("resource_limits", True), ("health", True), ("ready", True), ("edge", True), ("dns", True),
            ("disk", True), ("rate_limits", True), ("observability", True), ("backup", None), ("tls", None)} <= names
    assert record["not_configured"] == ["backup", "tls"]


def test_preflight_fails_and_names_a_stopped_service(lab):
    (worker,) = lab.containers("worker")
    worker.stop(timeout=10)
    try:
        proc = lab.playbook("preflight.yml", check=False)
    finally:
        worker.start()
    assert proc.returncode != 0
    assert "PREFLIGHT FAILED: services: exam_platform_worker: exited" in proc.stdout


def test_backup_age_is_judged_on_the_newest_file(lab, tmp_path):
    old, new = tmp_path / "db-1.sql.gz", tmp_path / "db-2.sql.gz"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    now = time.time()
    os.utime(old, (now - 80 * 3600, now - 80 * 3600))
    os.utime(new, (now - 30 * 3600, now - 30 * 3600))
    rc, out = lab.module("preflight_checks", {"backups": [{"path": str(tmp_path / "*.sql.gz"), "max_age_hours": 26}]})
    assert rc == 0 and out["verdict"]["passed"] is False
    (check,) = out["checks"]
    assert check["evidence"]["path"] == str(new) and 29.9 < check["evidence"]["age_hours"] < 30.1
    os.utime(new, (now - 3600, now - 3600))
    rc, out = lab.module("preflight_checks", {"backups": [{"path": str(tmp_path / "*.sql.gz"), "max_age_hours": 26}]})
    assert out["verdict"]["passed"] is True
    rc, out = lab.module("preflight_checks", {"backups": [{"path": str(tmp_path / "none-*.dump")}]})
    assert out["checks"][0]["detail"].startswith("no backup found at")


@pytest.fixture
def tls_server(tmp_path):
    """A TLS server on 127.0.0.1 with a self-signed certificate valid for 10 more days."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    stop = threading.Event()

    def serve():
        deadline = time.monotonic() + 120  # bounded: the server ends by itself
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _addr = listener.accept()
            except socket.timeout:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], str(cert_file)
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_tls_certificate_days_left_and_verification(lab, tls_server):
    port, ca_file = tls_server
    item = {"host": "127.0.0.1", "port": port, "server_name": "localhost", "ca_file": ca_file}
    rc, out = lab.module("preflight_checks", {"tls": [{**item, "min_days": 5}]})
    (check,) = out["checks"]
    assert check["passed"] is True and 9 < check["evidence"]["days_left"] < 10.01
    rc, out = lab.module("preflight_checks", {"tls": [{**item, "min_days": 30}]})
    assert out["checks"][0]["passed"] is False and "limit 30" in out["checks"][0]["detail"]
    untrusted = {"host": "127.0.0.1", "port": port, "server_name": "localhost", "min_days": 5}
    rc, out = lab.module("preflight_checks", {"tls": [untrusted]})
    assert out["checks"][0]["passed"] is False and "does not verify" in out["checks"][0]["detail"]


def test_unreachable_and_unresolvable_items_fail(lab):
    rc, out = lab.module("preflight_checks", {"http": [{"name": "prometheus", "url": "http://127.0.0.1:9/-/ready"}],
                                              "dns": [{"name": "no-such-host.examday.invalid"}],
                                              "tls": [{"host": "127.0.0.1", "port": 9}]})
    assert rc == 0 and out["verdict"]["passed"] is False
    details = {c["name"]: c["detail"] for c in out["checks"]}
    assert details["observability"].startswith("http://127.0.0.1:9/-/ready unreachable")
    assert details["dns"].startswith("does not resolve")
    assert details["tls"].startswith("no certificate")
