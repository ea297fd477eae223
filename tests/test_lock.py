"""The lock (book/requirements.lock) against the readable ranges, and against what is installed.

requirements.txt and tests/requirements*.txt keep readable ranges (``numpy>=1.24``); the lock pins the
exact version of every package they bring in. make, `.binder/` and CI install with ``-c`` the lock, so
nbval's exact comparison of stored outputs meets the versions they were made with. These tests fail
when a range and the lock disagree (someone edited a requirement without `make lock`), and when the
environment running them holds a version other than the lock's.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "book" / "requirements.lock"
REQUIREMENT_FILES = [ROOT / "requirements.txt", ROOT / "tests" / "requirements.txt",
                     ROOT / "tests" / "requirements-torch.txt"]


def locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{LOCK.name}: {line!r} is not an exact pin (name==version)"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def requirements() -> list[tuple[str, Requirement]]:
    """Every named requirement of the requirements files (``-r``, ``-c`` and ``-e`` lines skipped)."""
    found = []
    for path in REQUIREMENT_FILES:
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                found.append((path.relative_to(ROOT).as_posix(), Requirement(line)))
    return found


def test_the_lock_pins_every_requirement_inside_its_range():
    pins = locked()
    problems = []
    for source, requirement in requirements():
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} ({source}) is not in the lock")
        elif not requirement.specifier.contains(pin, prereleases=True):
            problems.append(f"{requirement} ({source}) but the lock pins {pin}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_the_lock_pins_optlibs_own_dependencies_inside_their_ranges():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    pins = locked()
    for line in declared:
        requirement = Requirement(line)
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None and requirement.specifier.contains(pin), (
            f"pyproject.toml asks for {requirement}; the lock pins {pin}")


def test_the_lock_does_not_pin_optlib_itself():
    assert "optlib" not in locked(), "optlib is installed from the clone (`-e .`), never from a pin"


def test_make_binder_and_ci_install_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK\s*:=\s*book/requirements\.lock$", makefile, re.M)
    assert "-c $(LOCK)" in makefile
    installs = [line for line in makefile.splitlines() if "pip install" in line and "-r " in line]
    assert installs and all("PIP_INSTALL" in line or "LOCK_ENV" in line for line in installs), installs
    binder = (ROOT / ".binder" / "requirements.txt").read_text().split()
    assert "../book/requirements.lock" in binder
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="not running in a virtual environment")
def test_the_running_environment_is_the_locked_one():
    """Every installed package has the lock's version, and nothing is installed that the lock lacks."""
    pins = locked()
    unlocked, different = [], []
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in {"optlib", "pip", "setuptools", "wheel"}:
            continue
        if name not in pins:
            unlocked.append(f"{name} {dist.version}")
        elif Version(dist.version) != pins[name]:
            different.append(f"{name}: installed {dist.version}, locked {pins[name]}")
    assert not different, "the environment differs from the lock (rebuild it: rm -rf .venv):\n" + "\n".join(different)
    assert not unlocked, "installed but not in the lock (`make lock`):\n" + "\n".join(sorted(unlocked))
