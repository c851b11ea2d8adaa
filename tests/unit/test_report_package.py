"""The report package's structure: the gate registry is complete, the Markdown template can be the
user's own (and fails with one sentence when it cannot be used), the embedded template equals
files/templates/report.md.j2, and the submodules import each other without a cycle."""
from __future__ import annotations

import ast
import json
import os
import re
import shutil

import pytest
import yaml

from ansible_collections.examday.ops.plugins.module_utils._common import OpsError
from ansible_collections.examday.ops.plugins.module_utils._report import gates as gates_mod
from ansible_collections.examday.ops.plugins.module_utils._report.analysis import analyse_load
from ansible_collections.examday.ops.plugins.module_utils._report.evidence import load_evidence
from ansible_collections.examday.ops.plugins.module_utils._report.gates import (
    GATE_IDS, GATE_REGISTRY, GATES, GateInput, evaluate_gates, hard_gate,
)
from ansible_collections.examday.ops.plugins.module_utils._report.md_template import RECORD_TEMPLATE, TEMPLATE
from ansible_collections.examday.ops.plugins.module_utils._report.runner import run
from ansible_collections.examday.ops.plugins.module_utils._report.thresholds import DEFAULT_THRESHOLDS, resolve_thresholds
from tests.unit.test_report import healthy, write_dir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "plugins", "module_utils", "_report")
TEMPLATE_FILE = os.path.join(ROOT, "files", "templates", "report.md.j2")
META = {"api_url": "http://127.0.0.1:18080", "conducted_by": "unit test"}
RESULT_KEYS = {"id", "name", "passed", "value", "threshold", "unit", "rule", "evidence", "detail"}


# -- the gate registry -----------------------------------------------------------------------------

def empty_evidence_gates(tmp_path) -> dict:
    ev = load_evidence(str(tmp_path))
    return {g["id"]: g for g in evaluate_gates(ev, analyse_load(ev), resolve_thresholds({}), only=list(GATE_IDS))}


@pytest.mark.parametrize("entry", GATE_REGISTRY, ids=GATE_IDS)
def test_every_gate_entry_is_complete(entry, tmp_path):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", entry.id)
    assert entry.name.strip() and entry.name == entry.name.strip()
    rule = entry.rule_text(resolve_thresholds({}))
    assert rule.strip() and "{" not in rule and "}" not in rule
    assert entry.mitigation.strip() and entry.mitigation.endswith(".")
    assert callable(entry.evaluate)
    judged = empty_evidence_gates(tmp_path)[entry.id]
    assert set(judged) == RESULT_KEYS
    assert (judged["id"], judged["name"], judged["unit"]) == (entry.id, entry.name, entry.unit)
    assert judged["passed"] is None and judged["detail"].startswith("no evidence:")
    # a unit for every gate measured in numbers; only a yes/no gate (EXAM_MODE) has none
    assert isinstance(entry.unit, str) and (entry.unit or isinstance(judged["threshold"], bool))


def test_gate_ids_and_names_are_unique_and_in_report_order():
    ids = [g.id for g in GATE_REGISTRY]
    assert len(ids) == len(set(ids)) and len({g.name for g in GATE_REGISTRY}) == len(ids)
    assert list(GATE_IDS) == ids and list(GATES) == [(g.id, g.name) for g in GATE_REGISTRY]


def test_a_gate_id_cannot_be_registered_twice():
    before = len(gates_mod._REGISTERED)  # pylint: disable=protected-access
    with pytest.raises(ValueError, match="registered twice"):
        hard_gate(GATE_IDS[0], "again", "", "rule", "Mitigation.")(lambda gate, inp: {})
    assert len(gates_mod._REGISTERED) == before  # pylint: disable=protected-access


def test_the_rule_of_each_gate_follows_its_threshold(tmp_path):
    th = resolve_thresholds({"p95_ms": 250, "recovery_seconds": 12.5})
    ev = load_evidence(str(tmp_path))
    rules = {g["id"]: g["rule"] for g in evaluate_gates(ev, analyse_load(ev), th)}
    assert rules["latency_p95"] == "p95 < 250 ms in every scenario"
    assert rules["recovery"] == ("every fault undone; students (the canary) back within 12.5 s of its end, and "
                                 "interrupted at most 60 s (a fault may allow less)")
    inp = GateInput(ev, analyse_load(ev), th)
    assert all(g.evaluate(g, inp)["rule"] == g.rule_text(th) for g in GATE_REGISTRY)


def test_the_module_offers_exactly_the_registered_gates():
    from ansible_collections.examday.ops.plugins.modules import report as module
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["options"]["gates"]["choices"] == list(GATE_IDS)
    assert "examday.ops.thresholds" in doc["extends_documentation_fragment"]
    assert set(module.threshold_argument_spec()["thresholds"]["options"]) == set(DEFAULT_THRESHOLDS)


def test_a_failed_gate_brings_its_registered_mitigation_into_the_risk_register(tmp_path):
    files = healthy()
    files["metrics/metrics.json"]["db_pool"].update(pct_of_app_pool=95.0)
    run(write_dir(tmp_path, files), {}, META, False)
    md = (tmp_path / "report.md").read_text()
    assert dict((g.id, g.mitigation) for g in GATE_REGISTRY)["db_pool"] in md


# -- the Markdown template -------------------------------------------------------------------------

def test_embedded_template_matches_files_templates():
    with open(TEMPLATE_FILE, encoding="utf-8") as fh:
        assert TEMPLATE == fh.read(), "run .venv/bin/python files/templates/embed.py"
    with open(os.path.join(os.path.dirname(TEMPLATE_FILE), "record.md.j2"), encoding="utf-8") as fh:
        assert RECORD_TEMPLATE == fh.read(), "run .venv/bin/python files/templates/embed.py"


def test_a_copy_of_the_built_in_template_renders_the_same_report(tmp_path):
    evidence, other = tmp_path / "a", tmp_path / "b"
    run(write_dir(evidence, healthy()), {}, META, False)
    copy = tmp_path / "mine.md.j2"
    shutil.copyfile(TEMPLATE_FILE, copy)
    run(write_dir(other, healthy()), {}, META, False, template=str(copy))
    for name in ("report.md", "report.html", "report.xml"):
        assert (evidence / name).read_text() == (other / name).read_text().replace(str(other), str(evidence)), name


def test_a_user_template_renders_report_md_and_leaves_the_rest_alone(tmp_path):
    template = tmp_path / "short.md.j2"
    template.write_text("# {{ report.title | md }}: {{ report.verdict }}\n\n"
                        "{% for g in report.gates %}- {{ g.name }}: {{ g | result }} ({{ g.value | value(g.unit) }})\n"
                        "{% endfor %}\nRecovery: {{ view.gates.recovery.detail | md }}\n\n\n")
    evidence = tmp_path / "evidence"
    result = run(write_dir(evidence, healthy()), {}, META, False, template=str(template))
    md = (evidence / "report.md").read_text()
    assert md.startswith("# Exam-Day Rehearsal Report: GO\n\n- every phase ran to its end: PASS (0 problems)\n"
                         "- zero data loss: PASS (0 writes)\n")
    assert "- DB pool below limit: PASS (30 %)\n" in md
    assert md.endswith("Recovery: backend degraded: outage 0.00 s, back 0.00 s after its end; the platform said "
                       "ready after 1.75 s\n")
    assert result["verdict"] == "GO" and len(result["files"]) == 4
    assert '"verdict": "GO"' in (evidence / "report.json").read_text()


def one_sentence(msg: str) -> bool:
    return msg.endswith(".") and "\n" not in msg and msg.count(". ") == 0


@pytest.mark.parametrize("content, words", [
    (None, "does not exist"),
    ("{% if report.verdict %}unclosed", "is not valid Jinja2"),
    ("{{ report.verdict | no_such_filter }}", "is not valid Jinja2"),
    ("{{ report.no_such_key }}", "failed to render"),
    ("{{ report.gates[0].value / 0 }}", "failed to render"),
    ("{{ ''.__class__.__mro__ }}", "failed to render"),  # the sandbox refuses Python internals
    ("dir", "cannot be read"),
])
def test_a_template_that_cannot_be_used_fails_with_one_sentence_and_writes_nothing(tmp_path, content, words):
    template = tmp_path / "bad.md.j2"
    if content == "dir":
        template.mkdir()
    elif content is not None:
        template.write_text(content)
    evidence = write_dir(tmp_path / "evidence", healthy())
    with pytest.raises(OpsError) as err:
        run(evidence, {}, META, False, template=str(template))
    msg = err.value.msg
    assert words in msg and str(template) in msg and one_sentence(msg), msg
    assert not [n for n in os.listdir(evidence) if n.startswith("report.")]


@pytest.mark.parametrize("content, line", [
    ("# title\n\n{% for g in report.gates %}\n", 3),
    ("# title\n\n{{ report.title }}\n{{ report.verdict.no_such_attribute }}\n", 4),
])
def test_a_template_error_names_its_line(tmp_path, content, line):
    template = tmp_path / "bad.md.j2"
    template.write_text(content)
    with pytest.raises(OpsError, match=rf"\(line {line}\)\.$"):
        run(write_dir(tmp_path / "evidence", healthy()), {}, META, True, template=str(template))


def test_the_module_documents_the_template_option():
    from ansible_collections.examday.ops.plugins.modules import report as module
    doc = yaml.safe_load(module.DOCUMENTATION)
    option = doc["options"]["template"]
    assert option["type"] == "path" and "default" not in option and not option.get("required")
    assert any("jinja2" in r for r in doc["requirements"])


# -- the package's shape ---------------------------------------------------------------------------

def package_imports() -> dict[str, set[str]]:
    """Per submodule, the other submodules it imports (by full path, as the house style wants)."""
    graph = {}
    for name in sorted(os.listdir(PACKAGE)):
        if not name.endswith(".py") or name == "__init__.py":
            continue
        with open(os.path.join(PACKAGE, name), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{name}: relative import"
                module = node.module or ""
                assert module != "ansible_collections.examday.ops.plugins.module_utils._report", \
                    f"{name} imports the package itself, not a submodule"
                prefix = "ansible_collections.examday.ops.plugins.module_utils._report."
                if module.startswith(prefix):
                    deps.add(module[len(prefix):])
        graph[name[:-3]] = deps
    return graph


def test_submodules_import_each_other_without_a_cycle():
    graph = package_imports()
    assert set().union(*graph.values()) <= set(graph)
    done: list[str] = []
    while len(done) < len(graph):
        ready = [m for m, deps in graph.items() if m not in done and deps <= set(done)]
        assert ready, f"import cycle among {sorted(set(graph) - set(done))}"
        done += ready


def test_no_python_file_of_the_package_is_over_600_lines():
    """Code stays in files a reader can hold; md_template.py is the template's text, generated, not code."""
    for name in os.listdir(PACKAGE):
        if name.endswith(".py") and name != "md_template.py":
            with open(os.path.join(PACKAGE, name), encoding="utf-8") as fh:
                assert len(fh.readlines()) <= 600, name
    with open(os.path.join(PACKAGE, "md_template.py"), encoding="utf-8") as fh:
        assert "GENERATED from files/templates/report.md.j2" in fh.read()


def test_platform_status_is_judged_only_where_a_report_asks_for_it(tmp_path):
    """The opt-in gate of the records after an incident: health and readiness by body and the other
    platform_status checks, each failure named; never part of a rehearsal's default gates."""
    checks = [{"name": "health", "passed": True, "detail": "ok"},
              {"name": "ready", "passed": False, "detail": "status is 'degraded' (failing: redis)"},
              {"name": "services", "passed": True, "detail": "5 of 5 running"},
              {"name": "db_connections", "passed": None, "detail": "cannot connect to database exam_platform"}]
    (tmp_path / "status.json").write_text(json.dumps({"checks": checks}))
    ev = load_evidence(str(tmp_path))
    assert "platform_status" not in [g["id"] for g in evaluate_gates(ev, analyse_load(ev), resolve_thresholds({}))]
    (gate,) = evaluate_gates(ev, analyse_load(ev), resolve_thresholds({}), only=["platform_status"])
    assert gate["passed"] is False and gate["value"] == 1
    assert gate["detail"] == ("2 of 4 checks passed; ready: status is 'degraded' (failing: redis); db_connections not "
                              "measured (cannot connect to database exam_platform)")
    (tmp_path / "status.json").write_text(json.dumps({"checks": [c for c in checks if c["passed"] is not False]}))
    ev = load_evidence(str(tmp_path))
    (gate,) = evaluate_gates(ev, analyse_load(ev), resolve_thresholds({}), only=["platform_status"])
    assert gate["passed"] is None and gate["detail"].startswith("no evidence: 2 of 3 checks passed; db_connections")
    (tmp_path / "status.json").write_text(json.dumps({"checks": checks[:1]}))
    ev = load_evidence(str(tmp_path))
    (gate,) = evaluate_gates(ev, analyse_load(ev), resolve_thresholds({}), only=["platform_status"])
    assert gate["passed"] is True and gate["detail"] == "1 of 1 checks passed"


def test_the_record_layout_leads_with_what_failed_and_the_restart_steps(tmp_path):
    """The exam-day records (verify_recovery, emergency_restart) use the built-in record template: the
    verdict and what failed first, each step of an ordered restart, the logs' errors, next steps."""
    files = healthy()
    files["faults.json"][0]["details"] = {"order": ["postgres", "backend"], "services": [
        {"service": "postgres", "restart_s": 4.51, "healthy_after_s": 2.17},
        {"service": "backend", "restart_s": 2.99, "healthy_after_s": 2.19}]}
    files["run.json"]["problems"] = [{"phase": "metrics", "error": "docker logs of edge failed: no such container."}]
    files["status.json"] = {"checks": [{"name": "ready", "passed": False, "detail": "status is 'degraded'"}]}
    directory = write_dir(tmp_path / "ev", files)
    gates = ["run_complete", "recovery", "platform_status", "zero_data_loss"]
    result = run(directory, {}, dict(META, title="Emergency Restart"), False, gates, False, layout="record")
    with open(os.path.join(directory, "report.md"), encoding="utf-8") as fh:
        md = fh.read()
    assert md.startswith("# Emergency Restart\n\n**Verdict**: **NO-GO**: every phase ran to its end, platform healthy "
                         "by body\n")
    what_failed = md[md.index("## What failed"):md.index("## Gates")]
    assert "- **platform healthy by body**: 0 of 1 checks passed; ready: status is 'degraded'" in what_failed
    assert "- **metrics** did not run to its end: docker logs of edge failed: no such container." in what_failed
    assert "  - postgres: restarted in 4.51 s, healthy after 2.17 s\n  - backend: restarted in 2.99 s" in md
    assert "- platform healthy by body: Follow the runbook's Emergency Procedures" in md[md.index("## Next steps"):]
    assert [g["id"] for g in result["gates"]] == ["run_complete", "zero_data_loss", "recovery", "platform_status"]
    with pytest.raises(OpsError, match="layout must be one of rehearsal, record, not 'other'"):
        run(directory, {}, META, True, layout="other")
