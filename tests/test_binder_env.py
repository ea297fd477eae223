"""Binder installs `.binder/requirements.txt` (= requirements.txt) and nothing else: is that enough?

A venv is built from `.binder/requirements.txt` alone (no system site-packages, no test requirements),
and every chapter notebook is executed in it, with that venv's own Jupyter and kernel (its imports are
also tried one by one first, so a failure names the missing package). Building the venv takes a few minutes, so it is kept in `_build/binder-env/` and rebuilt only
when a requirements file, pyproject.toml or the Python version changes.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / ".binder"
ENV_DIR = ROOT / "_build" / "binder-env"


def notebooks() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def import_statements(notebook: Path) -> list[str]:
    """Every ``import``/``from ... import`` in the notebook's code cells, as source lines."""
    from IPython.core.inputtransformer2 import TransformerManager  # turns %magics into Python

    transformer = TransformerManager()
    statements = []
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = transformer.transform_cell("".join(cell["source"]))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                line = ast.unparse(node)
                if line not in statements:
                    statements.append(line)
    return statements


def _stamp() -> str:
    files = [BINDER / "requirements.txt", ROOT / "requirements.txt", ROOT / "book" / "requirements.lock",
             ROOT / "pyproject.toml"]
    digest = hashlib.sha256(sys.version.encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _clean_env() -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def binder_python() -> Path:
    """The python of a venv made from .binder/requirements.txt only (cached by its inputs' hash)."""
    python = ENV_DIR / "bin" / "python"
    stamp_file = ENV_DIR / "stamp"
    if stamp_file.is_file() and stamp_file.read_text() == _stamp() and python.is_file():
        return python
    shutil.rmtree(ENV_DIR, ignore_errors=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(ENV_DIR)], check=True, env=_clean_env())
    # From the repository root, as Binder does: `-e .` in requirements.txt is relative to it.
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "-r", str(BINDER / "requirements.txt")],
                            cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"pip install -r .binder/requirements.txt failed:\n{result.stderr[-3000:]}"
    stamp_file.write_text(_stamp())
    return python


def test_binder_files_point_at_the_requirements():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    assert "-r ../requirements.txt" in lines
    assert "-c ../book/requirements.lock" in lines, "Binder must install the locked versions"
    requirements = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert "-e ." in requirements, "Binder must install optlib itself (`-e .` in requirements.txt)"


def test_the_venv_has_only_what_requirements_name(binder_python):
    """No system site-packages and no test requirements: pytest is not in it."""
    result = subprocess.run([str(binder_python), "-c", "import pytest"], capture_output=True, env=_clean_env())
    assert result.returncode != 0, "pytest is importable in the Binder venv: it is not isolated"


@pytest.mark.parametrize("notebook", notebooks(), ids=lambda path: path.name)
def test_notebook_imports_work_with_requirements_alone(notebook, binder_python):
    statements = import_statements(notebook)
    # One statement at a time, so the report names every one that fails.
    script = "\n".join(
        f"try:\n    {line}\nexcept Exception as error:\n    failed.append({line!r} + ': ' + repr(error))"
        for line in statements)
    program = f"failed = []\n{script}\nprint('\\n'.join(failed))\nraise SystemExit(1 if failed else 0)\n"
    result = subprocess.run([str(binder_python), "-c", program], cwd=notebook.parent, env=_clean_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"{notebook.name}: imports that fail with only requirements.txt installed:\n"
        f"{result.stdout}{result.stderr[-2000:]}")
    assert statements, f"{notebook.name} imports nothing (is it a notebook of the course?)"


@pytest.mark.parametrize("notebook", notebooks(), ids=lambda path: path.name)
def test_notebook_runs_with_requirements_alone(notebook, binder_python, tmp_path):
    # A copy is executed (the committed notebook keeps its outputs), by the venv's own `jupyter execute`,
    # so the kernel, matplotlib, ipywidgets and optlib all come from requirements.txt alone.
    copy = tmp_path / notebook.name
    shutil.copy(notebook, copy)
    env = {**_clean_env(), "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([str(binder_python), "-m", "jupyter", "execute", "--inplace", "--timeout=120",
                             str(copy)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{notebook.name} fails with only requirements.txt installed:\n{result.stderr[-3000:]}"
    executed = json.loads(copy.read_text())
    code = [cell for cell in executed["cells"] if cell["cell_type"] == "code" and "".join(cell["source"]).strip()]
    assert all(cell.get("execution_count") for cell in code), f"{notebook.name}: some cells did not run"
