"""Every module's DOCUMENTATION, EXAMPLES and RETURN load as YAML, and RETURN is complete enough to
`register:` a result with confidence: every return value has a sample, every dict or list of
non-scalars says what it contains (recursively), samples have the documented type and show no key
the docs do not describe, and the examples use only the module's real options."""
from __future__ import annotations

import importlib
import os

import pytest
import yaml

from ansible_collections.examday.ops.plugins.module_utils import _thresholds

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "ansible_collections.examday.ops.plugins"
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if f.endswith(".py") and not f.startswith("_"))
SCALARS = {"str", "int", "float", "bool", "path", "raw", "bits", "bytes", "jsonarg", "json", "sid"}
TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "dict": dict, "list": list}
# Task keywords that sit beside the module in an example task.
TASK_KEYWORDS = {"name", "register", "async", "poll", "delegate_to", "when", "until", "retries", "delay", "loop", "loop_control",
                 "check_mode", "diff", "environment", "become", "tags", "no_log", "ignore_errors", "changed_when",
                 "failed_when", "run_once", "vars", "notify"}


def docs(module: str) -> tuple[dict, list, dict]:
    mod = importlib.import_module(f"{PACKAGE}.modules.{module}")
    return yaml.safe_load(mod.DOCUMENTATION), yaml.safe_load(mod.EXAMPLES), yaml.safe_load(mod.RETURN)


def fragment_options(name: str) -> dict:
    """The options of a doc fragment of this collection (examday.ops.<fragment>)."""
    assert name.startswith("examday.ops."), name
    mod = importlib.import_module(f"{PACKAGE}.doc_fragments.{name.split('.')[2]}")
    return yaml.safe_load(mod.ModuleDocFragment.DOCUMENTATION).get("options") or {}


def all_options(doc: dict) -> dict:
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        options.update(fragment_options(fragment))
    return options


def entries(ret: dict, path: str = ""):
    """(dotted path, entry) of every return value, nested ones included."""
    for key, entry in (ret or {}).items():
        yield f"{path}{key}", entry
        yield from entries(entry.get("contains") or {}, f"{path}{key}.")


def needs_contains(entry: dict) -> bool:
    return entry["type"] == "dict" or (entry["type"] == "list" and entry.get("elements") not in SCALARS)


def is_placeholder(key: str) -> bool:
    """A key that stands for any key of a dict keyed by name (a container, a metric, a check)."""
    return key.startswith("<") and key.endswith(">")


def undocumented_keys(sample, contains: dict, path: str) -> list[str]:
    """Keys of a sample that its entry's contains does not describe, recursively."""
    if not contains:
        return []
    if isinstance(sample, list):
        return [k for item in sample for k in undocumented_keys(item, contains, path + "[]")]
    if not isinstance(sample, dict):
        return []
    placeholder = next((k for k in contains if is_placeholder(k)), None)
    found = []
    for key, value in sample.items():
        entry = contains.get(key) or (contains[placeholder] if placeholder else None)
        if entry is None:
            found.append(f"{path}.{key}")
        else:
            found += undocumented_keys(value, entry.get("contains") or {}, f"{path}.{key}")
    return found


def test_every_module_is_checked():
    assert len(MODULES) >= 13


@pytest.mark.parametrize("module", MODULES)
def test_documentation_examples_and_return_load(module):
    doc, examples, ret = docs(module)
    assert doc["module"] == module
    assert isinstance(examples, list) and examples, "EXAMPLES is a list of tasks"
    assert isinstance(ret, dict) and ret, "RETURN documents the result"


@pytest.mark.parametrize("module", MODULES)
def test_every_return_value_has_a_sample(module):
    _doc, _examples, ret = docs(module)
    missing = [key for key, entry in ret.items() if "sample" not in entry]
    assert missing == [], f"{module}: return values without a sample"


@pytest.mark.parametrize("module", MODULES)
def test_every_dict_or_list_of_dicts_says_what_it_contains(module):
    _doc, _examples, ret = docs(module)
    missing = [path for path, entry in entries(ret) if needs_contains(entry) and not entry.get("contains")]
    assert missing == [], f"{module}: dict or list returns without contains"


@pytest.mark.parametrize("module", MODULES)
def test_return_descriptions_types_and_samples(module):
    _doc, _examples, ret = docs(module)
    for path, entry in entries(ret):
        description = entry.get("description")
        assert isinstance(description, (str, list)) and description, f"{module} {path}: no description"
        if isinstance(description, list):
            assert all(isinstance(d, str) for d in description), f"{module} {path}: description of non-strings"
        assert entry.get("type") in {"str", "int", "float", "bool", "dict", "list", "raw"}, \
            f"{module} {path}: type {entry.get('type')!r}"
        if entry.get("contains"):
            assert entry["type"] in ("dict", "list"), f"{module} {path}: contains on a {entry['type']}"
        if "sample" in entry and entry["sample"] is not None and entry["type"] in TYPES:
            sample = entry["sample"]
            assert isinstance(sample, TYPES[entry["type"]]) and not (
                entry["type"] in ("int", "float") and isinstance(sample, bool)), \
                f"{module} {path}: sample {sample!r} is not a {entry['type']}"
            if entry["type"] == "list" and entry.get("elements") in TYPES:
                kind = TYPES[entry["elements"]]
                assert all(isinstance(x, kind) for x in sample if x is not None), \
                    f"{module} {path}: sample elements are not {entry['elements']}"
        if "sample" in entry:
            assert undocumented_keys(entry["sample"], entry.get("contains") or {}, path) == [], \
                f"{module} {path}: the sample has keys the docs do not describe"


@pytest.mark.parametrize("module", MODULES)
def test_examples_use_real_option_names(module):
    doc, examples, _ret = docs(module)
    options = all_options(doc)

    def unknown(args: dict, opts: dict, where: str) -> list[str]:
        bad = []
        for key, value in args.items():
            if key not in opts:
                bad.append(f"{where}{key}")
            elif isinstance(value, dict) and opts[key].get("suboptions"):
                bad += unknown(value, opts[key]["suboptions"], f"{where}{key}.")
            elif isinstance(value, list) and opts[key].get("suboptions"):
                for item in value:
                    if isinstance(item, dict):
                        bad += unknown(item, opts[key]["suboptions"], f"{where}{key}[].")
        return bad

    for task in examples:
        fqcn = f"examday.ops.{module}"
        used = [k for k in task if k.startswith("examday.ops.") or k.startswith("ansible.builtin.")]
        assert len(used) == 1, f"{module}: a task names one module: {task.get('name')}"
        assert set(task) - set(used) <= TASK_KEYWORDS, f"{module}: unknown task keys in {task.get('name')}"
        if used[0] == fqcn:
            assert unknown(task[fqcn] or {}, options, "") == [], f"{module}: {task.get('name')}"


def test_exam_mode_examples_cover_every_mechanism():
    doc, examples, _ret = docs("exam_mode")
    shown = {t["examday.ops.exam_mode"].get("mechanism") for t in examples if "examday.ops.exam_mode" in t}
    assert set(doc["options"]["mechanism"]["choices"]) <= shown


def test_fault_examples_cover_every_fault():
    doc, examples, _ret = docs("fault")
    shown = {t["examday.ops.fault"].get("fault") for t in examples if "examday.ops.fault" in t}
    assert set(doc["options"]["fault"]["choices"]) <= shown


def test_fault_choices_in_the_docs_are_the_fault_plans():
    from ansible_collections.examday.ops.plugins.module_utils._fault_plan import FAULTS
    doc, _examples, _ret = docs("fault")
    assert doc["options"]["fault"]["choices"] == list(FAULTS)


def test_platform_profile_returns_the_profile_as_documented():
    """RETURN of platform_profile describes the profile's keys exactly (the spec is their one owner)."""
    from ansible_collections.examday.ops.plugins.module_utils._platform.spec import platform_argument_spec
    _doc, _examples, ret = docs("platform_profile")

    def differences(spec: dict, contains: dict, where: str) -> list[str]:
        if any(is_placeholder(k) for k in contains):
            return []
        out = [f"{where}{k} undocumented" for k in spec if k not in contains]
        out += [f"{where}{k} not in the profile" for k in contains if k not in spec]
        for key in set(spec) & set(contains):
            if spec[key].get("options"):
                out += differences(spec[key]["options"], contains[key].get("contains") or {}, f"{where}{key}.")
        return out

    spec = platform_argument_spec()["platform"]["options"]
    assert differences(spec, ret["platform"]["contains"], "platform.") == []


@pytest.mark.parametrize("module", MODULES)
def test_seealso_names_real_modules(module):
    doc, _examples, _ret = docs(module)
    for item in doc.get("seealso") or []:
        if "module" in item:
            name = item["module"]
            assert name.startswith("examday.ops.") and name.split(".")[2] in MODULES, name
            assert name != f"examday.ops.{module}"


def test_modules_that_take_the_platform_profile_point_to_platform_profile():
    for module in MODULES:
        doc, _examples, _ret = docs(module)
        linked = {item.get("module") for item in doc.get("seealso") or []}
        if "examday.ops.platform" in (doc.get("extends_documentation_fragment") or []) and module != "platform_profile":
            assert "examday.ops.platform_profile" in linked, module
            profile_doc, _e, _r = docs("platform_profile")
            assert f"examday.ops.{module}" in {i.get("module") for i in profile_doc.get("seealso") or []}, module


# Modules that work together and say so, both ways.
RELATED = [("exam_mode", "background_jobs"), ("fault", "canary"), ("load", "integrity_check"),
           ("integrity_check", "report"), ("load", "report")]


@pytest.mark.parametrize("pair", RELATED, ids="-".join)
def test_related_modules_point_to_each_other(pair):
    for a, b in (pair, pair[::-1]):
        doc, _examples, _ret = docs(a)
        assert f"examday.ops.{b}" in {item.get("module") for item in doc.get("seealso") or []}, f"{a} -> {b}"


# Modules whose `thresholds` return is the resolved examday_thresholds (load's is k6's expressions).
THRESHOLD_RETURNERS = [m for m in MODULES if "p95_ms" in (((docs(m)[2] or {}).get("thresholds") or {}).get("contains") or {})]


def test_the_modules_that_return_thresholds_are_known():
    assert {"platform_profile", "report"} <= set(THRESHOLD_RETURNERS), THRESHOLD_RETURNERS


@pytest.mark.parametrize("module", THRESHOLD_RETURNERS)
def test_returned_thresholds_are_documented_as_the_one_threshold_source_describes_them(module):
    """A module that returns the resolved thresholds documents each one with _thresholds.SPEC's own text,
    so the RETURN docs cannot drift from the one source."""
    contains = docs(module)[2]["thresholds"]["contains"]
    assert set(contains) == set(_thresholds.SPEC), module
    for key, (_default, _kind, text) in _thresholds.SPEC.items():
        assert " ".join(str(contains[key]["description"]).split()).rstrip(".") == " ".join(text.split()).rstrip("."), \
            (module, key)
