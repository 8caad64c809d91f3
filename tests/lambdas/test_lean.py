"""Lazy packages: the names a package re-exports are the ones its real `__init__` gives,
and only the submodules used are loaded. Each case runs in a fresh interpreter, since a
package already imported is (by design) left alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT

DATA_CLASSES = "aws_lambda_powertools.utilities.data_classes"
EVENT_HANDLER = "aws_lambda_powertools.event_handler"


def run(code: str):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def names_of(package: str, lazy: bool) -> dict[str, str]:
    """Every name the package's `__init__` binds, as `module.qualname` of what it is bound to."""
    return run(f"""
import json, sys
from weir.lambdas import lean
if {lazy}:
    lean.lazy_packages({package!r})
import importlib
pkg = importlib.import_module({package!r})
exports, _ = lean._read_init({package!r}, pkg.__spec__.origin)
def name(v):
    return getattr(v, "__module__", "?") + "." + getattr(v, "__qualname__", getattr(v, "__name__", repr(v)))
print(json.dumps({{n: name(getattr(pkg, n)) for n in sorted(exports)}}))
""")


@pytest.mark.parametrize("package", [DATA_CLASSES, EVENT_HANDLER])
def test_every_reexported_name_is_the_real_packages(package):
    lazy, real = names_of(package, True), names_of(package, False)
    assert len(real) > 10 and lazy == real


def test_a_name_loads_its_own_submodule_only():
    loaded = run(f"""
import json, sys
from weir.lambdas import lean
lean.lazy_packages({DATA_CLASSES!r})
from {DATA_CLASSES} import ALBEvent
from {DATA_CLASSES}.sqs_event import SQSEvent   # whose module imports S3Event from the package
print(json.dumps(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith({DATA_CLASSES!r} + "."))))
""")
    assert {"alb_event", "sqs_event", "s3_event"} <= set(loaded)
    assert "ses_event" not in loaded and "kafka_event" not in loaded


def test_a_name_shared_with_its_submodule_is_the_reexported_object():
    """`from .event_source import event_source`: the function, even when the submodule was
    imported first (importing a submodule binds it on the package)."""
    assert run(f"""
import json
from weir.lambdas import lean
lean.lazy_packages({DATA_CLASSES!r})
import {DATA_CLASSES}.event_source
from {DATA_CLASSES} import event_source
print(json.dumps(callable(event_source) and type(event_source).__name__))
""") == "function"


def test_names_the_init_defines_itself_run_it_and_unknown_names_fail():
    assert run(f"""
import json
from weir.lambdas import lean
lean.lazy_packages({DATA_CLASSES!r})
import {DATA_CLASSES} as pkg
try:
    pkg.no_such_name
    missing = "no error"
except AttributeError as e:
    missing = str(e)
print(json.dumps([missing, "ALBEvent" in pkg.__all__, pkg.SESEvent.__name__]))
""") == [f"module {DATA_CLASSES!r} has no attribute 'no_such_name'", True, "SESEvent"]


def test_an_imported_package_is_left_alone_and_a_module_is_refused():
    import aws_lambda_powertools.utilities.data_classes as pkg

    from weir.lambdas import lean

    before = sys.modules[DATA_CLASSES]
    lean.lazy_packages(DATA_CLASSES)
    assert sys.modules[DATA_CLASSES] is before is pkg
    assert "tabnanny" not in sys.modules  # a plain module, and one nothing imports
    for name in ("tabnanny", "weir_no_such_package"):
        with pytest.raises(ImportError, match="not an installed package"):
            lean.lazy_packages(name)
