"""What goes into the file_indexer bundle: the Lambda-side dependencies, nothing local."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.infra.conftest import ROOT


def test_bundle_requirements_are_project_dependencies(files_check):
    sys.path.insert(0, str(files_check.HERE))
    try:
        from weir_files import bundling
    finally:
        sys.path.remove(str(files_check.HERE))
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert set(bundling.LAMBDA_REQUIREMENTS) <= set(deps)
    cmd = bundling.pip_command("/out")
    assert cmd[cmd.index("--platform") + 1] == "manylinux2014_aarch64"
    assert cmd[cmd.index("--python-version") + 1] == "3.12" and "--only-binary=:all:" in cmd


def test_the_lambda_module_imports_without_local_only_packages():
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'uvicorn', 'click', 'rich', 'watchfiles', 'httptools', 'uvloop', 'moto'}:\n"
        "            raise ImportError(f'{name} is not in the Lambda bundle')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import weir.lambdas.file_indexer\n"
    )
    proc = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
