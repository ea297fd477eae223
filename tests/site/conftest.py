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
from known_content_failures import CONTENT_FAILURES
from page_report import VIEWPORTS, PageReport, load_report
from site_paths import ARTIFACTS, SCREENSHOTS, SITE, notebook_docnames, toc_docnames


def pytest_generate_tests(metafunc):
    """``docname``: every page of the table of contents (or the notebooks only); ``viewport``: the three
    screens, or those a ``viewports(...)`` mark names."""
    if "viewport" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("viewports")
        names = list(marker.args) if marker else list(VIEWPORTS)
        metafunc.parametrize("viewport", names, ids=names)
    if "docname" in metafunc.fixturenames:
        names = notebook_docnames() if metafunc.definition.get_closest_marker("notebooks_only") else toc_docnames()
        metafunc.parametrize("docname", names, ids=names)


def pytest_configure(config):
    config.addinivalue_line("markers", "notebooks_only: parametrize over the notebook pages only")
    config.addinivalue_line("markers", "viewports(*names): parametrize over these screens only")


def pytest_collection_modifyitems(config, items):
    """Mark the checks that known_content_failures.CONTENT_FAILURES lists xfail(strict=True)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "docname" not in callspec.params:
            continue
        key = (item.originalname, callspec.params["docname"], callspec.params.get("viewport"))
        if key in CONTENT_FAILURES:
            item.add_marker(pytest.mark.xfail(strict=True, reason=CONTENT_FAILURES[key]))


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
def _reports() -> dict[tuple[str, str], PageReport]:
    return {}


def page_report(docname: str, viewport: str, base_url, browser, reports) -> PageReport:
    """What the browser saw on this page at this screen (loaded once per screen, shared by every check;
    the controls are moved at desktop width only)."""
    key = (docname, viewport)
    if key not in reports:
        reports[key] = load_report(browser, base_url, docname, SCREENSHOTS, viewport,
                                   exercise_controls=viewport == "desktop")
    return reports[key]


@pytest.fixture
def report(request, docname, base_url, browser, _reports) -> PageReport:
    """The page at the ``viewport`` of the check, or at desktop width for checks without one."""
    viewport = request.getfixturevalue("viewport") if "viewport" in request.fixturenames else "desktop"
    return page_report(docname, viewport, base_url, browser, _reports)


@pytest.fixture
def desktop_report(docname, base_url, browser, _reports) -> PageReport:
    return page_report(docname, "desktop", base_url, browser, _reports)


@pytest.fixture(scope="session")
def weights(site, base_url, browser, _reports):
    """Every page's weight as a gzip-serving host sends it (page_weight.py), written to
    test-artifacts/site-weights.md once every page has been measured."""
    from page_weight import SiteWeights

    measured = SiteWeights(site, base_url)
    yield measured
    if measured.pages:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "site-weights.md").write_text(measured.markdown())
