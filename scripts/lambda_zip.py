"""Build the Lambda bundle: `src/weir` plus its runtime dependencies for Python 3.12 on arm64.

    python scripts/lambda_zip.py [--out build/lambda.zip]

What goes in: the `weir` package (without the local-only front: the CLI and the uvicorn
server) and, as manylinux aarch64 wheels for CPython 3.12, msgspec, aws-lambda-powertools,
opentelemetry-proto, numpy and promql-parser with their own dependencies, at the versions
installed here.
The web UI's build (`src/weir/ui/dist`, from `make ui`) goes in too, so the `api` function
serves `/ui/` as `weir serve` does; without a build the script stops and says so, unless
`--without-ui` is given. The UI's source and its node_modules stay out.
What stays out: boto3/botocore (the Lambda runtime has them), uvicorn, click, rich, the
infra extras (pulumi, aws-cdk-lib), and the X-Ray SDK (tracing is off without it, see
`weir.lambdas.runtime.make_tracer`). The zip is reproducible: sorted entries, fixed times.

Lambda's /var/task is read-only, so Python cannot cache bytecode there: without .pyc files
in the bundle every cold start compiles all of Weir and Powertools from source. When a
CPython 3.12 is found (env WEIR_PYTHON312, `python3.12`, or a pyenv 3.12), everything is
precompiled with it (unchecked-hash pycs, valid whatever the file times); otherwise the
build says so and ships sources only.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# opentelemetry-proto (with protobuf) serves OTLP/protobuf ingest; it is imported on the
# first protobuf request only, so it costs the cold start nothing.
# numpy and promql-parser serve PromQL (`weir.promql`), imported on the first query only.
# cramjam: snappy for Prometheus remote write and read.
RUNTIME_DEPS = ("msgspec", "aws-lambda-powertools", "opentelemetry-proto", "numpy", "promql-parser", "cramjam")
# Dependencies of those pinned to the installed version as well: left free, pip picks the
# newest protobuf, which other packages of this environment (pulumi) do not accept, and
# prints an `ERROR:` about the conflict although the build succeeds.
PINNED_TOO = ("protobuf",)
# Modules of `weir` that only the local front uses: they import click, rich, uvicorn and
# watchfiles, or run `weir serve`'s threads and local adapters. A path ending in "/"
# excludes a whole package.
LOCAL_ONLY = ("weir/cli.py", "weir/__main__.py", "weir/http/server.py", "weir/http/protocol.py", "weir/commands/",
              "weir/backends/folder/watcher.py", "weir/jobs/", "weir/wiring/serve.py", "weir/wiring/local.py",
              "weir/ui/web/")
UI_DIST = "weir/ui/dist"
# manylinux_2_28 too: numpy >= 2.3 ships no manylinux2014 arm64 wheel, and Lambda's Python
# 3.12 runtime (Amazon Linux 2023, glibc 2.34) runs 2_28 wheels; recent cramjam releases
# publish aarch64 wheels only for 2_28.
PLATFORM = ("--platform", "manylinux2014_aarch64", "--platform", "manylinux_2_28_aarch64", "--only-binary=:all:",
            "--python-version", "3.12", "--implementation", "cp")
_EPOCH = (2020, 1, 1, 0, 0, 0)


def python312() -> str | None:
    candidates = [os.environ.get("WEIR_PYTHON312"), shutil.which("python3.12"),
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
                                 capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if out.stdout.strip() == "True":
            return exe
    return None


def weir_files(src: Path) -> list[str]:
    """What of src/weir goes in: Python modules and the UI's build (the UI's source folder,
    with its node_modules, is never walked)."""
    found = []
    for dirpath, dirs, files in os.walk(src / "weir"):
        rel_dir = Path(dirpath).relative_to(src).as_posix()
        dirs[:] = [d for d in dirs if d != "__pycache__" and not f"{rel_dir}/{d}/".startswith(LOCAL_ONLY)]
        in_ui = rel_dir == UI_DIST or rel_dir.startswith(UI_DIST + "/")
        for name in files:
            rel = f"{rel_dir}/{name}"
            if (name.endswith(".py") or in_ui) and not rel.startswith(LOCAL_ONLY):
                found.append(rel)
    return sorted(found)


def build(out: Path, *, ui: bool = True) -> Path:
    src = ROOT / "src"
    if ui and not (src / UI_DIST / "index.html").is_file():
        raise SystemExit(f"the web UI is not built ({UI_DIST} is missing): run `make ui` first, "
                         "or pass --without-ui for a bundle whose /ui/ says how to build it")
    with tempfile.TemporaryDirectory(prefix="weir-lambda-") as tmp:
        target = Path(tmp)
        pins = [f"{name}=={version(name)}" for name in RUNTIME_DEPS + PINNED_TOO]
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PLATFORM,
             "--target", str(target), *pins],
            check=True,
        )
        for rel in weir_files(src):
            if not ui and rel.startswith(UI_DIST + "/"):
                continue
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, target / rel)
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache)
        exe = python312()
        if exe:
            subprocess.run([exe, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                            "-s", str(target), "-p", "/var/task", str(target)], check=True)
        else:
            print("no CPython 3.12 found: the bundle ships sources only (slower cold starts)", file=sys.stderr)
        files: dict[str, Path] = {}
        for path in target.rglob("*"):
            rel = path.relative_to(target).as_posix()
            if path.is_file() and not rel.startswith("bin/"):
                files[rel] = path
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for rel in sorted(files):
                info = zipfile.ZipInfo(rel, _EPOCH)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[rel].read_bytes())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "lambda.zip")
    ap.add_argument("--without-ui", action="store_true", help="leave the web UI's build out (its /ui/ then says so)")
    args = ap.parse_args()
    out = build(args.out, ui=not args.without_ui)
    with zipfile.ZipFile(out) as zf:
        n = len(zf.namelist())
    print(f"{out}: {n} files, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
