"""Open one page of the website in headless Chromium and record what a reader would meet.

Every request to a host other than 127.0.0.1 is aborted and recorded. The report holds the console
errors, the math left untypeset, the images, the widget areas (and what moving each control did),
the links, the headings and the title; the checks are in test_site.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: Where myst-nb puts a widget view: the html-manager renders it into a .widget-subarea next to it.
VIEW_SCRIPT = 'script[type="application/vnd.jupyter.widget-view+json"]'

WAIT_FOR_MATHJAX = """() => !document.querySelector('span.math, div.math')
    || (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)"""

MATHJAX_DONE = """async () => {
    if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
        await window.MathJax.startup.promise;
        return true;
    }
    return false;
}"""

MATH = r"""() => {
    const math = Array.from(document.querySelectorAll('span.math, div.math'));
    const untypeset = math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 100));
    const errors = Array.from(document.querySelectorAll('mjx-merror'))
        .map(e => e.getAttribute('data-mjx-error') || e.textContent);
    // The text a reader sees outside code: raw TeX left here was never typeset.
    const skip = 'pre, code, script, style, textarea, noscript, mjx-container, .highlight';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(node) {
        const parent = node.parentElement;
        return parent && !parent.closest(skip) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    }});
    const parts = [];
    while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
    return {elements: math.length, containers: document.querySelectorAll('mjx-container').length,
            untypeset, errors, text: parts.join('')};
}"""

IMAGES = """async () => {
    const images = Array.from(document.images);
    images.forEach(img => { img.loading = 'eager'; });
    await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
        img.addEventListener('load', done); img.addEventListener('error', done); setTimeout(done, 5000);
    })));
    return images.map(img => {
        const figure = img.closest('figure');
        const caption = figure && figure.querySelector('figcaption');
        return {src: img.getAttribute('src') || '', alt: img.getAttribute('alt'), width: img.naturalWidth,
                caption: caption ? caption.innerText.trim() : '',
                widget: !!img.closest('.widget-subarea')};
    });
}"""

WIDGETS_RENDERED = """(selector) => Array.from(document.querySelectorAll(selector)).every(script => {
    const area = script.parentElement.querySelector('.widget-subarea');
    return area && area.children.length > 0;
})"""

WIDGET_AREAS = """(selector) => Array.from(document.querySelectorAll(selector)).map((script, index) => {
    const area = script.parentElement.querySelector('.widget-subarea');
    const box = area ? area.getBoundingClientRect() : {width: 0, height: 0};
    return {index, rendered: !!area && area.children.length > 0, width: box.width, height: box.height,
            text: area ? area.innerText.slice(0, 200) : '',
            error: !!(area && area.querySelector('.jupyter-widgets-error-widget, .widget-error')),
            sliders: area ? area.querySelectorAll('.widget-slider .noUi-handle').length : 0,
            toggles: area ? area.querySelectorAll('.widget-toggle-buttons').length : 0};
})"""

#: What a control should change: the pictures (and HTML) shown in the area, not the control itself.
SIGNATURE = """([selector, index]) => {
    const area = document.querySelectorAll(selector)[index].parentElement.querySelector('.widget-subarea');
    const shown = el => el.offsetParent !== null;
    const images = Array.from(area.querySelectorAll('img')).filter(shown).map(img => img.src);
    const html = Array.from(area.querySelectorAll('.widget-html-content, .widget-output'))
        .filter(shown).map(el => el.innerText);
    return JSON.stringify([images, html]);
}"""

#: Text outputs that mean a widget was shown as its repr instead of as a widget (a dead widget).
WIDGET_REPRS = r"""() => Array.from(document.querySelectorAll('.cell_output pre'))
    .map(pre => pre.innerText.trim())
    .filter(text => /^(Explorer|VBox|HBox|Box|Stack|Tab|interactive|[A-Za-z]*Slider|ToggleButtons|Image|Output)\(/.test(text))
    .map(text => text.slice(0, 120))"""

LINKS = """() => Array.from(document.querySelectorAll('a[href]')).map(a => ({
    href: a.getAttribute('href'), url: a.href, text: a.innerText.trim().slice(0, 60)}))"""

HEADINGS = """() => {
    const main = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
    return Array.from(main.querySelectorAll('h1, h2, h3, h4, h5, h6')).map(h => ({
        level: Number(h.tagName[1]), text: h.innerText.replace(/#$/, '').trim()}));
}"""


@dataclass
class PageReport:
    docname: str
    url: str
    status: int | None = None
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    mathjax_started: bool = False
    math: dict = field(default_factory=dict)
    images: list[dict] = field(default_factory=list)
    widgets_rendered_in_time: bool = True
    widget_areas: list[dict] = field(default_factory=list)
    widget_reprs: list[str] = field(default_factory=list)
    controls: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    headings: list[dict] = field(default_factory=list)
    title: str = ""
    screenshot: Path | None = None


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in {"http", "https", "ws", "wss"} or parts.hostname == "127.0.0.1"


def _exercise_controls(page, area: dict) -> list[dict]:
    """Move every slider and toggle of one widget area; record whether the pictures changed."""
    results = []
    area_selector = f"{VIEW_SCRIPT} >> nth={area['index']}"
    subarea = page.locator(area_selector).locator("xpath=..").locator(".widget-subarea").first
    signature = lambda: page.evaluate(SIGNATURE, [VIEW_SCRIPT, area["index"]])  # noqa: E731

    def changed_from(before: str) -> bool:
        for _ in range(20):  # the jslink and the redraw take a few frames
            if signature() != before:
                return True
            page.wait_for_timeout(50)
        return False

    for i in range(area["sliders"]):
        slider = subarea.locator(".widget-slider").nth(i)
        label = slider.locator(".widget-label").inner_text().strip()
        handle = slider.locator(".noUi-handle").first
        readout = slider.locator(".widget-readout").first
        before, value = signature(), readout.inner_text()
        handle.focus()
        page.keyboard.press("ArrowRight")
        if readout.inner_text() == value:  # already at the last value
            page.keyboard.press("ArrowLeft")
        moved = readout.inner_text() != value
        results.append({"area": area["index"], "control": f"slider {label!r}", "moved": moved,
                        "changed": changed_from(before)})
    for i in range(area["toggles"]):
        group = subarea.locator(".widget-toggle-buttons").nth(i)
        label = group.locator(".widget-label").inner_text().strip()
        idle = group.locator("button:not(.mod-active)")
        if idle.count() == 0:
            continue  # a single option: nothing to toggle
        before = signature()
        idle.first.click()
        results.append({"area": area["index"], "control": f"toggle {label!r}", "moved": True,
                        "changed": changed_from(before)})
    return results


def load_report(browser, base_url: str, docname: str, screenshots: Path) -> PageReport:
    report = PageReport(docname=docname, url=f"{base_url}{docname}.html")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    def route(route):
        url = route.request.url
        if _local(url):
            route.continue_()
        else:
            report.external_requests.append(url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and report.console_errors.append(
        f"console: {message.text} ({message.location.get('url', '')})"))
    page.on("pageerror", lambda error: report.console_errors.append(f"page error: {error}"))
    page.on("response", lambda response: response.status >= 400 and report.failed_requests.append(
        f"{response.status} {response.url}"))
    try:
        response = page.goto(report.url, wait_until="load", timeout=30_000)
        report.status = response.status if response else None

        try:
            page.wait_for_function(WAIT_FOR_MATHJAX, timeout=15_000)
        except Exception:  # noqa: BLE001 - recorded: MathJax never started
            pass
        report.mathjax_started = page.evaluate(MATHJAX_DONE)

        try:
            page.wait_for_function(WIDGETS_RENDERED, arg=VIEW_SCRIPT, timeout=20_000)
        except Exception:  # noqa: BLE001 - recorded: some widget area stayed blank
            report.widgets_rendered_in_time = False
        report.widget_areas = page.evaluate(WIDGET_AREAS, VIEW_SCRIPT)
        report.widget_reprs = page.evaluate(WIDGET_REPRS)

        report.images = page.evaluate(IMAGES)
        report.math = page.evaluate(MATH)
        report.links = page.evaluate(LINKS)
        report.headings = page.evaluate(HEADINGS)
        report.title = page.title()

        report.screenshot = screenshots / f"{docname}.png"
        report.screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(report.screenshot), full_page=True)

        for area in report.widget_areas:
            if area["rendered"]:
                report.controls += _exercise_controls(page, area)
        page.wait_for_timeout(100)  # let errors from the interaction reach the console
    finally:
        context.close()
    return report
