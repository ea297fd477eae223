"""The website as a reader meets it: every page of the table of contents in headless Chromium.

The site is served on 127.0.0.1 and every other host is blocked, so a page that still needs a CDN
shows it here (raw TeX, blank widgets, a recorded request). Each check is parametrized by page, so a
failure names the page; the screenshots are in test-artifacts/screenshots/.
"""
from __future__ import annotations

import re
import urllib.error
import urllib.request
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

from site_paths import BOOK, toc_docnames

RAW_TEX = [re.compile(pattern) for pattern in (r"\$\$", r"\$[^$\n]{1,200}\$", r"\\\(", r"\\\[", r"\\begin\{")]
FETCHED_LINK_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "preconnect", "dns-prefetch"}
#: An alt that is only the file's path (Sphinx's default for notebook outputs) describes nothing.
FILENAME_ALT = re.compile(r"(^|/)[^/\s]+\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)


def _listing(items, limit=15) -> str:
    items = list(items)
    shown = "\n  ".join(str(item) for item in items[:limit])
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"\n  {shown}{more}"


# --- the site as a whole --------------------------------------------------------------------------

def test_assets_are_vendored_not_loaded_from_cdns(manifest):
    assert manifest["mode"] == "local", (
        "WARNING: could not vendor MathJax/widgets: pages will load them from CDNs "
        f"({manifest.get('reason', 'no reason recorded')}). Run `make vendor` where npm can reach its "
        "registry, then rebuild.")


def test_every_built_page_is_in_the_toc(site):
    """Nothing is built that this test does not open (Sphinx's own index/search pages aside)."""
    special = {"genindex", "search", "py-modindex", "index"}
    built = {str(path.relative_to(site).with_suffix("")) for path in site.rglob("*.html")
             if not path.relative_to(site).parts[0].startswith("_")}
    assert sorted(built - special - set(toc_docnames())) == []


def test_index_redirects_to_the_root_page(site):
    root = toc_docnames()[0]
    assert f"{root}.html" in (site / "index.html").read_text()


# --- per page -------------------------------------------------------------------------------------

def test_page_loads(report):
    assert report.status == 200, f"{report.url} answered {report.status}"


def test_no_request_leaves_the_site(report):
    assert report.external_requests == [], (
        f"{report.docname} asked other hosts for (blocked):{_listing(report.external_requests)}")


def test_no_console_errors(report):
    problems = report.console_errors + [f"failed request: {r}" for r in report.failed_requests]
    assert problems == [], f"{report.docname}:{_listing(problems)}"


def test_math_is_typeset(report):
    math = report.math
    if math["elements"]:
        assert report.mathjax_started, f"{report.docname} has math but MathJax never started"
    assert math["untypeset"] == [], f"{report.docname}: math left as TeX:{_listing(math['untypeset'])}"
    assert math["errors"] == [], f"{report.docname}: MathJax errors:{_listing(math['errors'])}"
    assert math["containers"] >= math["elements"]
    raw = []
    for pattern in RAW_TEX:
        for match in pattern.finditer(math["text"]):
            context = " ".join(math["text"][max(match.start() - 40, 0):match.end() + 40].split())
            raw.append(f"{match.group(0)!r} in: ...{context}...")
    assert raw == [], (
        f"{report.docname}: raw TeX in the text (not typeset):{_listing(raw)}\n(A `$$...$$` inside a paragraph "
        "or list item shows as `$` + inline math + `$`: give it lines of its own with blank lines around; "
        "widget labels take `\\(...\\)`, not `$...$`.)")


def test_images_load_and_are_described(report):
    broken = [image["src"][:80] for image in report.images if image["width"] == 0]
    assert broken == [], f"{report.docname}: images that did not load:{_listing(broken)}"
    # Widget pictures too: each explorer frame is an <img> with its own alt text (optlib.widgets).
    undescribed = [image["src"][:80] for image in report.images
                   if not image["caption"]
                   and (not (image["alt"] or "").strip() or FILENAME_ALT.search(image["alt"].strip()))]
    assert undescribed == [], (
        f"{report.docname}: figures with neither alt text nor a caption (an alt that is just the file "
        "name does not count; in a notebook set the cell metadata `mystnb: {image: {alt: ...}}` or "
        f"`mystnb: {{figure: {{caption: ...}}}}`):{_listing(undescribed)}")


def test_widgets_render_and_respond(report):
    areas = report.widget_areas
    blank = [area["index"] for area in areas if not area["rendered"] or area["height"] < 5]
    assert report.widgets_rendered_in_time and blank == [], (
        f"{report.docname}: blank widget areas (output number {blank} of {len(areas)})")
    errors = [area["text"] for area in areas if area["error"]]
    assert errors == [], f"{report.docname}: widgets that failed to render:{_listing(errors)}"
    assert report.widget_reprs == [], (
        f"{report.docname}: widgets shown as text (no widget state saved?):{_listing(report.widget_reprs)}")
    dead = [control for control in report.controls if not (control["moved"] and control["changed"])]
    assert dead == [], f"{report.docname}: controls that change nothing on the page:{_listing(dead)}"


@lru_cache(maxsize=None)
def _fetch(url: str) -> tuple[int, frozenset]:
    """Status and the element ids of a page on the local server."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        return error.code, frozenset()
    ids = frozenset(unquote(i) for i in re.findall(rb'\b(?:id|name)="([^"]+)"', body)
                    for i in [i.decode("utf-8", "replace")]) if url.endswith((".html", "/")) else frozenset()
    return status, ids


def test_internal_links_resolve(report, base_url):
    broken = []
    for link in report.links:
        url = link["url"]
        if not url.startswith(base_url):
            continue  # another site (not fetched: the test runs offline)
        target, _, fragment = url.partition("#")
        status, ids = _fetch(target)
        if status != 200:
            broken.append(f"{link['href']} ({link['text']!r}): HTTP {status}")
        elif fragment and unquote(fragment) not in ids and target.endswith(".html"):
            broken.append(f"{link['href']} ({link['text']!r}): no anchor #{fragment}")
    assert broken == [], f"{report.docname}: broken internal links:{_listing(broken)}"


def test_headings_in_order_and_titled(report):
    headings = report.headings
    assert headings and headings[0]["level"] == 1, (
        f"{report.docname}: the page does not start with one h1: {headings[:3]}")
    h1s = [h["text"] for h in headings if h["level"] == 1]
    assert len(h1s) == 1, f"{report.docname}: {len(h1s)} h1 headings (one title per page): {h1s}"
    skips = [f"h{a['level']} {a['text']!r} -> h{b['level']} {b['text']!r}"
             for a, b in zip(headings, headings[1:]) if b["level"] > a["level"] + 1]
    assert skips == [], f"{report.docname}: heading levels skipped:{_listing(skips)}"
    page_title = report.title.split(" \u2014 ")[0].strip()
    assert page_title, f"{report.docname}: empty <title> ({report.title!r})"


def test_screenshot_saved(report):
    assert report.screenshot is not None and report.screenshot.stat().st_size > 0


# --- the built HTML -------------------------------------------------------------------------------

def test_html_names_no_third_party_assets(docname, site, manifest):
    """Static check of what Chromium loaded: local scripts, and under vendor/ only the entry points."""
    html = (site / f"{docname}.html").read_text()
    scripts = re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', html)
    external = [s for s in re.findall(r'<(?:script|img|iframe)\b[^>]*\bsrc="([^"]+)"', html)
                if urlsplit(s).scheme in {"http", "https"} or s.startswith("//")]
    loaded_links = []  # <link> tags the browser fetches (not rel="canonical" and the like)
    for tag in re.findall(r"<link\b[^>]*>", html):
        rel = re.search(r'\brel="([^"]*)"', tag)
        href = re.search(r'\bhref="([^"]*)"', tag)
        if rel and href and set(rel.group(1).split()) & FETCHED_LINK_RELS:
            loaded_links.append(href.group(1))
    external += [s for s in loaded_links if urlsplit(s).scheme in {"http", "https"} or s.startswith("//")]
    assert external == [], f"{docname} loads third-party files:{_listing(external)}"
    # Jupyter Book 1 adds every .js under html_static_path to every page: only the entry points here.
    page = f"http://site/{docname}.html"
    vendored = {urlsplit(urljoin(page, s)).path.lstrip("/") for s in scripts}
    vendored = {path for path in vendored if path.startswith("vendor/")}
    assert vendored <= set(manifest["entries"]), f"{docname}: {sorted(vendored - set(manifest['entries']))}"
    assert scripts and loaded_links, "the regexes found none of the page's assets"


@lru_cache(maxsize=1)
def _binder_prefix() -> str:
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    repository = config["repository"]
    owner_repo = urlsplit(repository["url"]).path.strip("/")
    hub = config["launch_buttons"].get("binderhub_url", "https://mybinder.org").rstrip("/")
    path = (repository.get("path_to_book") or "").strip("/")
    return f"{hub}/v2/gh/{owner_repo}/{repository['branch']}?urlpath=lab/tree/" + (f"{path}/" if path else "")


def test_binder_config_points_at_main():
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    assert config["repository"]["branch"] == "main"
    assert config["launch_buttons"]["notebook_interface"] == "jupyterlab"


@pytest.mark.notebooks_only
def test_binder_launch_button(docname, site):
    html = (site / f"{docname}.html").read_text()
    expected = _binder_prefix() + f"{docname}.ipynb"
    found = re.findall(r'href="(https://[^"]*/v2/gh/[^"]*)"', html)
    assert expected in [link.replace("&amp;", "&") for link in found], (
        f"{docname}: no Binder button for {expected}; found {found}")

