"""Stand-in for get-pip.py, for ansible-test on machines that cannot reach its download host.

ansible-test runs this file as __main__ inside a fresh venv of its own with pip-install arguments
(for example "pip==24.2 --no-setuptools --no-wheel"). It installs the pip bundled with the
standard library (ensurepip), then lets that pip install the requested packages from the index.

ansible-test runs pip with PIP_CONFIG_FILE=/dev/null (no pip.conf is read) and passes no CA
variables, so on a machine whose HTTPS goes through a TLS-inspecting proxy pip would not trust
the index. The system CA bundle is therefore appended to the bundle of the pip in this venv
(only ansible-test's throwaway venvs run this file)."""
import glob
import os
import ssl
import subprocess
import sys
import sysconfig

ensurepip = __import__("ensurepip")


def trust_system_cas() -> None:
    candidates = (ssl.get_default_verify_paths().openssl_cafile, "/etc/ssl/certs/ca-certificates.crt")
    system_ca = next((p for p in candidates if p and os.path.exists(p)), None)
    if system_ca is None:
        return
    with open(system_ca, encoding="ascii", errors="ignore") as src:
        extra = src.read()
    pattern = os.path.join(sysconfig.get_paths()["purelib"], "pip", "_vendor", "certifi", "cacert.pem")
    for bundle in glob.glob(pattern):
        with open(bundle, encoding="ascii", errors="ignore") as fh:
            if extra.strip() in fh.read():
                continue
        with open(bundle, "a", encoding="ascii") as dst:
            dst.write("\n" + extra)


ensurepip.bootstrap(upgrade=True, default_pip=True)
trust_system_cas()
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
rc = subprocess.call([sys.executable, "-m", "pip", "install", *args])
trust_system_cas()
sys.exit(rc)
