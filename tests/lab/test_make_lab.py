"""``make lab``: JupyterLab on the chapters, as root (a container) and as a user, and it says so."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import ROOT, STARTUP_SECONDS, _free_port

NOBODY = 65534


def _lab_command(as_nobody: bool = False) -> str:
    """What ``make -n lab`` would run (as this user, or as nobody when this user is root).

    The Makefile is read from stdin in ``/``, with the venv taken as built (``-o``), so that nobody can
    run it wherever the clone is (a CI checkout or a ``mktemp -d`` folder is often closed to others).
    """
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if as_nobody else []
    result = subprocess.run([*prefix, "make", "-f", "-", "-n", "-o", ".venv/.book-deps", "lab"], cwd="/",
                            input=(ROOT / "Makefile").read_text(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if "jupyter lab" in line)


def test_make_lab_allows_root_only_for_root():
    if os.geteuid() != 0:
        assert "--allow-root" not in _lab_command()
        return
    assert "--allow-root" in _lab_command()
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv to check the command of a user other than root")
    assert "--allow-root" not in _lab_command(as_nobody=True)


def test_make_lab_serves_the_chapters_and_says_so(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    make = subprocess.Popen(["make", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, listing = time.monotonic() + STARTUP_SECONDS, None
        while listing is None and make.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}",
                                            timeout=5) as reply:
                    listing = json.load(reply)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, f"make lab did not serve within {STARTUP_SECONDS} s"
        names = {item["name"] for item in listing["content"]}
        assert {path.name for path in (ROOT / "chapters").glob("*.ipynb")} <= names, names
    finally:
        os.killpg(make.pid, signal.SIGTERM)  # make, and the JupyterLab it started
        output, _ = make.communicate(timeout=60)
    assert f"JupyterLab on the chapters ({ROOT / 'chapters'})" in output
