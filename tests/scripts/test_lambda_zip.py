"""The Lambda bundle: built for Python 3.12 arm64, with everything its code imports and none
of the local-only or infra packages. arm64 wheels cannot be imported on this machine, so the
check reads the zip's contents: every import in its `weir` modules must be in the zip, in the
standard library, or provided by the Lambda runtime (boto3, botocore)."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDED_BY_LAMBDA = {"boto3", "botocore"}
NEVER = ("boto3/", "botocore/", "uvicorn/", "click/", "rich/", "pulumi", "aws_cdk/", "constructs/", "moto/",
         "aws_xray_sdk/", "weir/cli.py", "weir/http/server.py", "weir/jobs/", "weir/wiring/serve.py")


@pytest.fixture(scope="module")
def built(tmp_path_factory, built_ui) -> tuple[Path, str]:
    """The zip and what the build printed on stderr."""
    out = tmp_path_factory.mktemp("zip") / "lambda.zip"
    ui = [] if built_ui[0] is not None else ["--without-ui"]
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "lambda_zip.py"), "--out", str(out), *ui],
                         check=True, timeout=300, stderr=subprocess.PIPE, text=True)
    return out, run.stderr


@pytest.fixture(scope="module")
def bundle(built) -> zipfile.ZipFile:
    with zipfile.ZipFile(built[0]) as zf:
        yield zf


def test_the_build_prints_no_error_line(built):
    """A successful build must not print pip's `ERROR:` (a dependency conflict with this venv)."""
    assert [line for line in built[1].splitlines() if line.startswith("ERROR")] == []


def top_level(names: list[str]) -> set[str]:
    tops = set()
    for name in names:
        first = name.split("/")[0]
        tops.add(first[:-3] if first.endswith(".py") else first)
        if first.endswith(".so"):
            tops.add(first.split(".")[0])
    return tops


def imports(source: str) -> set[str]:
    """Top-level modules imported, except inside `try: ... except ImportError` (optional)."""
    tree = ast.parse(source)
    optional: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_bundle_holds_the_functions_and_arm64_py312_dependencies(bundle):
    names = bundle.namelist()
    for needed in ("weir/lambdas/api.py", "weir/lambdas/stream.py", "weir/lambdas/alerts.py",
                   "weir/lambdas/exporter.py", "weir/lambdas/file_indexer.py", "weir/lambdas/s3_events.py",
                   "weir/wiring/api.py", "weir/wiring/stream.py", "weir/wiring/alerts.py", "weir/wiring/exporter.py",
                   "weir/wiring/file_indexer.py", "weir/backends/aws/alerts.py", "weir/http/app.py",
                   "weir/http/routes/metrics.py", "weir/http/routes/formats.py", "weir/wire/otlp/decode.py",
                   "weir/backends/aws/metrics.py", "aws_lambda_powertools/__init__.py", "msgspec/__init__.py",
                   "weir/http/routes/prometheus.py", "weir/promql/engine.py", "numpy/__init__.py",
                   "promql_parser/__init__.py"):
        assert needed in names
    natives = [n for n in names if n.endswith(".so") or ".so." in n.rsplit("/", 1)[-1]]
    assert natives
    for n in natives:  # every shared object is an ELF for AArch64 (e_machine 183)
        head = bundle.read(n)[:20]
        assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 183, n
    # Python extensions say their ABI; libraries a wheel vendors (numpy.libs/) need not
    extensions = [n for n in natives if n.endswith(".so") and ".libs/" not in n]
    assert all("cpython-312-aarch64-linux-gnu" in n or n.endswith(".abi3.so") for n in extensions), extensions
    # abi3 extensions (protobuf's) name no architecture: their wheels' tags must say arm64
    tags = [bundle.read(n).decode() for n in names if n.endswith(".dist-info/WHEEL")]
    if any(n.endswith(".abi3.so") for n in natives):
        abi3_tags = [t for t in tags if "abi3" in t]
        assert abi3_tags and all("aarch64" in t for t in abi3_tags), abi3_tags


def test_the_bundle_leaves_out_the_runtime_and_local_only_packages(bundle):
    bad = [n for n in bundle.namelist() if n.startswith(NEVER)]
    assert bad == []


def test_every_import_of_the_bundled_code_is_satisfied(bundle):
    names = bundle.namelist()
    available = top_level(names) | set(sys.stdlib_module_names) | PROVIDED_BY_LAMBDA
    missing = {}
    for name in names:
        if name.startswith("weir/") and name.endswith(".py"):
            lacking = imports(bundle.read(name).decode()) - available
            if lacking:
                missing[name] = sorted(lacking)
    assert missing == {}
    # and the check can fail: a module importing something absent is caught
    assert imports("import click\ntry:\n    import aws_xray_sdk\nexcept ImportError:\n    pass\n") == {"click"}


def test_the_bundle_carries_python312_bytecode_when_a_312_interpreter_is_here(bundle):
    """/var/task is read-only: without .pyc files every cold start compiles from source."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import lambda_zip
    finally:
        sys.path.pop(0)
    if lambda_zip.python312() is None:
        pytest.skip("no CPython 3.12 on this machine: the bundle ships sources only")
    names = set(bundle.namelist())
    for module in ("weir/lambdas/api", "weir/http/app", "aws_lambda_powertools/logging/logger"):
        head, _, tail = module.rpartition("/")
        pyc = f"{head}/__pycache__/{tail}.cpython-312.pyc"
        assert pyc in names
        flags = int.from_bytes(bundle.read(pyc)[4:8], "little")
        assert flags == 0b01  # hash-based, not checked against the (unknown) file times


def test_the_bundle_carries_the_web_ui_build_and_not_its_source(bundle, built_ui):
    dist, why = built_ui
    if dist is None:
        pytest.skip(why)
    names = set(bundle.namelist())
    built = {"weir/ui/dist/" + p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file()}
    assert "weir/ui/dist/index.html" in built and any(n.endswith(".js") for n in built)
    assert built <= names
    assert not [n for n in names if n.startswith("weir/ui/web/")]


def test_without_a_build_the_script_stops_and_says_how(tmp_path):
    import shutil

    fake_root = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", fake_root / "scripts")
    (fake_root / "src" / "weir").mkdir(parents=True)
    proc = subprocess.run([sys.executable, str(fake_root / "scripts" / "lambda_zip.py"), "--out", str(tmp_path / "z")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "make ui" in proc.stderr
