"""The website as a reader meets it: every page of the table of contents in headless Chromium.

The site is served on 127.0.0.1 and every other host is blocked, so a page that still needs a CDN
shows it here (raw TeX, blank widgets, a recorded request). Each page is loaded once per screen (phone
390x844, tablet 800x1000, desktop 1366x900) and every check reads that load's report; checks are
parametrized by screen and page, so a failure names both. The screenshots are in
test-artifacts/screenshots/<screen>/, the page weights in test-artifacts/site-weights.md. Checks that
fail only because of chapter content still to be converted are listed in known_content_failures.py.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

from known_content_failures import CONTENT_FAILURES
from page_report import VIEWPORTS
from page_weight import BUDGET, megabytes
from site_paths import BOOK, notebook_docnames, toc_docnames

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

def test_page_loads(report, viewport):
    assert report.status == 200, f"{report.url} answered {report.status}"


def test_no_request_leaves_the_site(report, viewport):
    assert report.external_requests == [], (
        f"{report.docname} asked other hosts for (blocked):{_listing(report.external_requests)}")


def test_no_console_errors_and_no_failed_request(report, viewport):
    """Also: no request answered 404 (a missing favicon, font or picture)."""
    problems = report.console_errors + [f"failed request: {r}" for r in report.failed_requests]
    assert problems == [], f"{report.docname} ({viewport}):{_listing(problems)}"


def test_navigation_and_contents_open(report, viewport):
    """The page's buttons open the book's navigation (with every chapter) and the page's contents."""
    panels = report.panels
    chapters = {f"{name}.html" for name in toc_docnames()[1:]}
    here = report.docname.rsplit("/", 1)[0] + "/" if "/" in report.docname else ""
    found = {_resolve(here, href) for href in panels["navigation"]}
    missing = sorted(chapters - found - {f"{report.docname}.html"})
    assert panels["navigation"] and not missing, (
        f"{report.docname} ({viewport}): the navigation panel shows {len(panels['navigation'])} links; "
        f"chapters missing:{_listing(missing)}\n(before: {panels['before']})")
    if panels["before"]["hasContents"]:
        assert panels["contents"], (
            f"{report.docname} ({viewport}): the contents panel did not open or shows no link "
            f"(before: {panels['before']})")
    assert panels["before"]["topBand"] < 1 and panels["before"]["searchBoxes"] <= 1, (
        f"{report.docname} ({viewport}): a top band {panels['before']['topBand']:.0f} px high, "
        f"{panels['before']['searchBoxes']} search boxes")


def _resolve(here: str, href: str) -> str:
    """A link of a page in folder ``here`` as a site-relative path, without its #fragment."""
    return urlsplit(urljoin(f"http://site/{here}", href)).path.lstrip("/")


def test_nothing_wider_than_the_screen(report, viewport):
    """No element reaches past the screen's edges unless a box that fits holds it; every box narrower
    than its content (code, equations, tables) shows that it scrolls (touch screens show no scrollbar)."""
    layout = report.layout
    assert layout["pageWidth"] <= layout["width"] + 1 and layout["tooWide"] == [], (
        f"{report.docname} ({viewport}): the page is {layout['pageWidth']} px wide on a {layout['width']} px "
        f"screen; wider than the screen:{_listing(layout['tooWide'])}")
    assert layout["hiddenWithoutCue"] == [], (
        f"{report.docname} ({viewport}): boxes that hide part of their content and show no scroll cue:"
        f"{_listing(layout['hiddenWithoutCue'])}")


def test_display_equations_fit(report, viewport):
    """At desktop width every display equation fits its column; on a phone or tablet it fits or sits
    in a box that shows it scrolls (the box itself must show it: the previous check)."""
    equations = report.layout["equations"]
    if viewport == "desktop":
        too_wide = [f"{e['tex']} (needs {e['needs']} px, has {e['shown']})" for e in equations if not e["fits"]]
    else:
        too_wide = [f"{e['tex']} (needs {e['needs']} px, has {e['shown']}; no scroll cue)"
                    for e in equations if not e["fits"] and not e["cued"]]
    assert too_wide == [], f"{report.docname} ({viewport}): display equations that do not fit:{_listing(too_wide)}"


@pytest.mark.viewports("desktop")
def test_tables_fit_the_column(report, viewport):
    """At desktop width a table fits the text column (Appendix A's long names wrap in their cells)."""
    wide = [f"{t['caption']!r}: {t['width']} px in a {t['column']} px column"
            for t in report.layout["tables"] if t["width"] > t["column"] + 1]
    assert wide == [], f"{report.docname}: tables wider than the column:{_listing(wide)}"


def test_widget_areas_show_something_before_the_renderer(report, viewport):
    """With the widget renderer's script held back, the page has painted and every widget area shows
    a placeholder (or a picture): state and scripts do not block the first paint."""
    assert report.painted_before_renderer, (
        f"{report.docname} ({viewport}): nothing was painted while the widget renderer was held back")
    blank = [area["index"] for area in report.before_renderer if area["rendered"] or not area["shows"]]
    assert blank == [], (
        f"{report.docname} ({viewport}): widget areas that show nothing before the renderer has run "
        f"(output number {blank} of {len(report.before_renderer)})")


@pytest.mark.viewports("phone")
def test_touch_targets(report, viewport):
    """Slider handles and toggle buttons are at least 44 px for a finger (WCAG 2.5.5)."""
    targets = report.touch_targets
    small = [f"slider {h['label']!r}: hit area {h['size']} px" for h in targets["handles"] if h["size"] < 44]
    small += [f"toggle button {b['label']!r}: {b['width']:.0f} x {b['height']:.0f} px"
              for b in targets["buttons"] if min(b["width"], b["height"]) < 44 - 0.5]
    assert small == [], f"{report.docname}: touch targets under 44 px:{_listing(small)}"


@pytest.mark.viewports("desktop")
def test_explorer_pictures_as_wide_as_figures_and_crisp(report, viewport):
    """An explorer's pictures span the width of the page's widest static figure (95 %; side by side, as a
    figure's subplots are) and each is crisp on a 2x screen: vector, or at least twice as many pixels as
    it is shown wide."""
    pictures = report.pictures
    if not pictures["explorers"]:
        return
    widest = max([figure["width"] for figure in pictures["statics"]] + [0])
    problems = []
    for explorer in pictures["explorers"]:
        if explorer["width"] < 0.95 * widest:
            problems.append(f"{explorer['alt']!r}: its pictures span {explorer['width']:.0f} px, the static "
                            f"figures {widest:.0f} px")
        for picture in explorer["pictures"]:
            if not picture["vector"] and picture["natural"] < 2 * picture["width"] - 2:
                problems.append(f"{picture['alt']!r}: {picture['natural']} px of pixels shown "
                                f"{picture['width']:.0f} px wide (a 2x screen needs twice as many, or a vector picture)")
    assert problems == [], f"{report.docname}: explorer pictures:{_listing(problems)}"


def test_page_weight_within_budget(desktop_report, weights, docname):
    """A page's own HTML and images weigh at most 1.0 MB as a gzip-serving host sends them (issue 14);
    the shared assets are reported in test-artifacts/site-weights.md."""
    weight = weights.measure(desktop_report)
    largest = sorted(weight.images.items(), key=lambda item: -item[1])[:3]
    assert weight.own <= BUDGET, (
        f"{docname} weighs {megabytes(weight.own)} (HTML {megabytes(weight.html)}, "
        f"{len(weight.images)} images {megabytes(sum(weight.images.values()))}; largest: "
        f"{', '.join(f'{path} {megabytes(size)}' for path, size in largest) or 'none'}), over the "
        f"{megabytes(BUDGET)} budget")


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


def test_screenshot_saved(report, viewport):
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



def test_head_is_clean(docname, site):
    """One viewport meta tag (Sphinx, docutils and the theme each wrote one), a favicon that exists
    (without one browsers ask for /favicon.ico: a 404), no ".pdf" button that only opens the print
    dialog, and no Thebe configuration (sphinx-thebe's default names another repository)."""
    html = (site / f"{docname}.html").read_text()
    viewports = re.findall(r'<meta name="viewport"[^>]*>', html)
    assert len(viewports) == 1, f"{docname}: {len(viewports)} viewport meta tags: {viewports}"
    icons = re.findall(r'<link rel="(?:shortcut )?icon" href="([^"]+)"', html)
    assert len(icons) == 1 and (site / docname).parent.joinpath(icons[0]).resolve().is_file(), (
        f"{docname}: favicon links {icons}")
    assert "window.print()" not in html and "download-pdf-button" not in html, f"{docname}: a print-to-PDF button"
    repository = urlsplit(yaml.safe_load((BOOK / "_config.yml").read_text())["repository"]["url"]).path.strip("/")
    for config in re.findall(r'<script type="text/x-thebe-config">(.*?)</script>', html, re.S):
        named = re.search(r'repo:\s*"([^"]*)"', config)
        assert named and named.group(1) == repository, f"{docname}: a Thebe configuration for {named and named.group(1)}"


def test_intro_maps_every_chapter(site):
    """intro.md's map of the notes links each chapter it names."""
    root = toc_docnames()[0]
    html = (site / f"{root}.html").read_text()
    table = re.search(r'<section id="map-of-the-notes".*?</table>', html, re.S)
    assert table, f"{root}: no map of the notes"
    linked = {_resolve("", href).removesuffix(".html") for href in re.findall(r'<a class="reference internal" href="([^"#]+)', table.group(0))}
    missing = [name for name in toc_docnames()[1:] if name not in linked and name != "chapters/references"]
    assert missing == [], f"{root}: chapters the map does not link:{_listing(missing)}"


def _needed_models(state: dict, roots: list[str]) -> set[str]:
    """The models the views need: those reachable from a view, and links between two of them."""
    def references(model_id):
        return set(re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state[model_id]["state"])))

    needed, todo = set(), list(roots)
    while todo:
        model_id = todo.pop()
        if model_id in state and model_id not in needed:
            needed.add(model_id)
            todo.extend(references(model_id))
    links = {m for m in state if state[m]["model_name"] in {"LinkModel", "DirectionalLinkModel"}
             and references(m) <= needed}
    return needed | links


@pytest.mark.notebooks_only
def test_widget_state_is_light(docname, site):
    """A widget page carries the state of the widgets it shows only (not the hidden live explorer's,
    tagged remove-cell), after the text rather than in <head>, and loads the renderer deferred; a page
    that shows no widget loads neither state nor renderer."""
    html = (site / f"{docname}.html").read_text()
    head, _, body = html.partition("</head>")
    states = re.findall(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', html, re.S)
    views = [json.loads(v)["model_id"] for v in
             re.findall(r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>', html)]
    widget_scripts = re.findall(r'<script\b[^>]*src="[^"]*(?:require\.js|widgets-setup\.js|embed-amd\.js)[^"]*"[^>]*>', html)
    if not views:
        assert states == [] and widget_scripts == [], f"{docname}: widget state or renderer with no widget shown"
        return
    assert len(states) == 1 and "widget-state+json" not in head, f"{docname}: the widget state is in <head>"
    assert all("defer" in tag for tag in widget_scripts) and len(widget_scripts) == 3, (
        f"{docname}: widget scripts not deferred: {widget_scripts}")
    state = json.loads(states[0])["state"]
    unused = set(state) - _needed_models(state, views)
    assert not unused, (f"{docname}: the widget state holds {len(unused)} models no shown widget needs "
                        f"(of {len(state)}), e.g. {sorted(state[m]['model_name'] for m in unused)[:5]}")


#: Words whose search results on this site come from pages with formulas next to them.
SEARCH_TERMS = ("momentum", "learning rate", "cache")


def test_search_snippets_have_no_raw_tex(base_url, browser):
    """The search page's snippets show formulas as text (α, θ_t), not as TeX source."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    snippets = []
    try:
        for term in SEARCH_TERMS:
            page.goto(f"{base_url}search.html?q={term.replace(' ', '+')}", wait_until="load")
            page.wait_for_function("() => document.querySelectorAll('#search-results li p.context').length >= 3"
                                   " || /found 0|did not match/.test(document.querySelector('#search-results')?.innerText)",
                                   timeout=20_000)
            page.wait_for_timeout(500)  # the remaining snippets
            snippets += page.eval_on_selector_all("#search-results li p.context", "ps => ps.map(p => p.innerText)")
    finally:
        context.close()
    assert len(snippets) >= 3, f"the search for {SEARCH_TERMS} showed {len(snippets)} snippets"
    raw = [snippet for snippet in snippets
           if any(pattern.search(snippet) for pattern in RAW_TEX) or re.search(r"\\[A-Za-z]+", snippet)]
    assert raw == [], f"search snippets with raw TeX:{_listing(raw)}"
    assert any(re.search(r"[α-ωΑ-Ω∇]", snippet) for snippet in snippets), (
        "no snippet shows a formula as text (α, θ, ∇ ...): were the formulas dropped?")


def test_known_content_failures_name_real_checks():
    """Every entry of known_content_failures.py names a check of this module, a page of the book and
    a screen the check runs at: an entry cannot outlive the failure it excuses."""
    import inspect

    checks = {name: function for name, function in globals().items() if name.startswith("test_")}
    wrong = []
    for check, docname, viewport in CONTENT_FAILURES:
        function = checks.get(check)
        if function is None:
            wrong.append(f"{check}: no such check")
            continue
        marks = {mark.name: mark for mark in getattr(function, "pytestmark", [])}
        pages = notebook_docnames() if "notebooks_only" in marks else toc_docnames()
        takes_viewport = "viewport" in inspect.signature(function).parameters
        screens = list(marks["viewports"].args) if "viewports" in marks else list(VIEWPORTS)
        if docname not in pages:
            wrong.append(f"{check}: {docname} is not one of its pages")
        if (viewport is None) == takes_viewport or (viewport is not None and viewport not in screens):
            wrong.append(f"{check} {docname}: screen {viewport!r} (it runs at {screens if takes_viewport else None})")
    assert wrong == [], f"known_content_failures.py:{_listing(wrong)}"
