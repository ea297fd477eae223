"""The built website, served on 127.0.0.1 and opened in headless Chromium (see test_site.py).

``make test-build`` builds ``_build/html`` first; ``SITE_HTML=/path/to/_build/html`` tests another
build (the book's root, with its ``_toc.yml`` and ``_config.yml``, is then two folders up).
"""
from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest

import browser as test_browser
from page_report import PageReport, load_report
from site_paths import SCREENSHOTS, SITE, notebook_docnames, toc_docnames

def pytest_generate_tests(metafunc):
    if "docname" in metafunc.fixturenames:
        names = notebook_docnames() if metafunc.definition.get_closest_marker("notebooks_only") else toc_docnames()
        metafunc.parametrize("docname", names, ids=names)


def pytest_configure(config):
    config.addinivalue_line("markers", "notebooks_only: parametrize over the notebook pages only")


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built website at {SITE}: run `make test-build` (or `make book`) first")
    return SITE


@pytest.fixture(scope="session")
def manifest(site) -> dict:
    path = site / "vendor" / "manifest.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the book was built without `make vendor` (book/vendor.py)")
    return json.loads(path.read_text())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def base_url(site) -> str:
    """The site served by http.server on 127.0.0.1 at a free port, in a background thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@functools.lru_cache(maxsize=1)
def _found_browser():
    """The Chromium of tests/site/browser.py (a system one, else installed from the npm registry)."""
    try:
        return test_browser.find_browser()
    except test_browser.BrowserNotFound as error:
        return error


def _browser_line() -> str:
    found = _found_browser()
    return found.describe() if isinstance(found, test_browser.Browser) else f"browser: none ({found})"


def pytest_report_header(config):
    return _browser_line()


def pytest_terminal_summary(terminalreporter):
    """Also after the results (`-q` hides the header): which browser these results are from."""
    terminalreporter.write_line(_browser_line())


@pytest.fixture(scope="session")
def browser():
    found = _found_browser()
    if not isinstance(found, test_browser.Browser):
        pytest.fail(str(found))
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # the screenshots show this run only

    with sync_playwright() as playwright:
        chromium = test_browser.launch(playwright, found)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def _reports() -> dict[str, PageReport]:
    return {}


@pytest.fixture
def report(docname, base_url, browser, _reports) -> PageReport:
    """What the browser saw on this page (loaded once, shared by every check of the page)."""
    if docname not in _reports:
        _reports[docname] = load_report(browser, base_url, docname, SCREENSHOTS)
    return _reports[docname]
