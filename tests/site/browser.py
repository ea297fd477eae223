"""The headless Chromium the browser tests drive: the system's, or one installed from the npm registry.

``find_browser()`` looks, in this order, at

1. the environment variable ``TEST_BROWSER``: ``registry`` (always use the npm build below), or the path
   of a Chromium to use (it must be an executable regular file);
2. a system Chromium: the first of :data:`SYSTEM_CANDIDATES` that is an executable regular file and
   answers ``--version`` (a path that merely exists is not enough: a bind mount of /dev/null is not a
   browser);
3. the Chromium build inside the npm package ``@sparticuz/chromium`` (pinned in
   ``tests/site/npm/package.json`` and its lock file), installed without root into
   ``.cache/test-browser/`` by ``npm ci`` and unpacked there by the package's own ``executablePath()``.
   A second run finds it unpacked and reuses it. It is a Linux x86-64 build that needs only libnss3
   from the system.

Run ``python tests/site/browser.py`` to see which browser the tests would use (and to install it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NPM_PROJECT = Path(__file__).resolve().parent / "npm"
CACHE = ROOT / ".cache" / "test-browser"

SYSTEM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                     "/usr/bin/google-chrome-stable"]

#: Flags for any Chromium the tests start: headless, and no traffic to Google's services (this
#: machine's network is closed, and a test must not phone home).
COMMON_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: Flags of @sparticuz/chromium's recommended list that kill the browser when a page closes (it is
#: made for one page per process, on AWS Lambda; the tests open and close many pages), and its
#: headless flag (COMMON_ARGS has one).
DROPPED_REGISTRY_ARGS = {"--single-process", "--in-process-gpu", "--headless='shell'"}


@dataclass
class Browser:
    path: str
    version: str
    source: str  # "TEST_BROWSER", "system" or "npm registry (@sparticuz/chromium@X)"
    args: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"browser: {self.version} at {self.path} ({self.source})"


class BrowserNotFound(RuntimeError):
    pass


def _usable(path: str) -> bool:
    """An executable regular file (not a device, a folder or a dangling link)."""
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _version(path: str, args: list[str] = ()) -> str | None:
    try:
        result = subprocess.run([path, *args, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    text = result.stdout.strip()
    return text.splitlines()[0] if result.returncode == 0 and text else None


def _pinned_version() -> str:
    return json.loads((NPM_PROJECT / "package.json").read_text())["dependencies"]["@sparticuz/chromium"]


def _npm(*args: str, cwd: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BrowserNotFound("no Chromium on this machine and no npm to install one: install Node.js and "
                              "npm (the test installs Chromium from the npm registry with them), or set "
                              "TEST_BROWSER to the path of a Chromium")
    result = subprocess.run([npm, *args, "--no-audit", "--no-fund", "--loglevel=error"], cwd=cwd,
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise BrowserNotFound(f"npm {' '.join(args)} failed in {cwd}:\n{result.stderr[-2000:]}")


UNPACK = """
import chromium from "@sparticuz/chromium";
const path = await chromium.executablePath();
process.stdout.write(JSON.stringify({path, args: chromium.args}));
"""


def registry_browser() -> Browser:
    """The npm package's Chromium, installed and unpacked into .cache/test-browser/ on first use."""
    version = _pinned_version()
    install = CACHE / "npm"
    unpacked = CACHE / version  # @sparticuz/chromium unpacks into os.tmpdir(): TMPDIR points here
    info_file = unpacked / "browser.json"
    if not info_file.is_file():
        install.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(NPM_PROJECT / name, install / name)
        print(f"installing Chromium from the npm registry (@sparticuz/chromium@{version}) into "
              f"{CACHE.relative_to(ROOT)}/ ...", file=sys.stderr)
        _npm("ci", cwd=install)
        unpacked.mkdir(parents=True, exist_ok=True)
        node = shutil.which("node")
        result = subprocess.run([node, "--input-type=module", "-e", UNPACK], cwd=install,
                                env={**os.environ, "TMPDIR": str(unpacked)},
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise BrowserNotFound(f"unpacking @sparticuz/chromium failed:\n{result.stderr[-2000:]}")
        info_file.write_text(result.stdout)
    info = json.loads(info_file.read_text())
    args = [arg for arg in info["args"] if arg not in DROPPED_REGISTRY_ARGS]
    found = _version(info["path"]) if _usable(info["path"]) else None
    if found is None:
        shutil.rmtree(unpacked, ignore_errors=True)  # a broken unpack is redone on the next run
        raise BrowserNotFound(f"the Chromium unpacked from @sparticuz/chromium@{version} at {info['path']} "
                              "does not start (it needs Linux x86-64 and libnss3)")
    return Browser(info["path"], found, f"npm registry, @sparticuz/chromium@{version}", args)


def find_browser() -> Browser:
    """The Chromium to test with (see the module docstring for the order)."""
    wanted = os.environ.get("TEST_BROWSER", "").strip()
    if wanted == "registry":
        return registry_browser()
    if wanted:
        version = _version(wanted) if _usable(wanted) else None
        if version is None:
            raise BrowserNotFound(f"TEST_BROWSER={wanted!r} is not an executable Chromium")
        return Browser(wanted, version, "TEST_BROWSER")
    for path in SYSTEM_CANDIDATES:
        if _usable(path):
            version = _version(path)
            if version:
                return Browser(path, version, "system")
    return registry_browser()


def launch(playwright, browser: Browser):
    """Start ``browser`` headless with Playwright (the caller closes it)."""
    args = list(dict.fromkeys(browser.args + COMMON_ARGS))
    return playwright.chromium.launch(executable_path=browser.path, args=args)


if __name__ == "__main__":
    print(find_browser().describe())
