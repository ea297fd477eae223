"""Open one page of the website in headless Chromium at one screen width and record what a reader meets.

Every request to a host other than 127.0.0.1 is aborted and recorded. The widget renderer
(``embed-amd.js``) is held back until the page has painted and its widget areas have been looked at,
so the report says what a reader sees before the renderer has run. The report holds the console
errors, the failed requests, the math left untypeset, the images, the widget areas (and, at desktop
width, what moving each control did), the links, the headings, the title, the layout (what is wider
than the screen, the display equations, the tables), the navigation panels and the requests; the
checks are in test_site.py.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: The three screens of the done-criteria: (width, height), and whether it is a touch screen.
VIEWPORTS = {
    "phone": ((390, 844), True),
    "tablet": ((800, 1000), True),
    "desktop": ((1366, 900), False),
}

#: Where myst-nb puts a widget view: the html-manager renders it into a .widget-subarea next to it.
VIEW_SCRIPT = 'script[type="application/vnd.jupyter.widget-view+json"]'
#: The widget renderer; it is held back until the page has been looked at without it.
RENDERER = "html-manager/embed-amd.js"

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

#: Before the renderer has run: what each widget area shows (the placeholder, or nothing).
BEFORE_RENDERER = """(selector) => Array.from(document.querySelectorAll(selector)).map((script, index) => {
    const area = script.parentElement;
    const shown = Array.from(area.children).filter(child => child !== script).filter(child => {
        const box = child.getBoundingClientRect();
        return box.height >= 20 && box.width >= 20 && getComputedStyle(child).visibility !== 'hidden'
            && (child.innerText.trim() || child.querySelector('img, svg'));
    });
    return {index, rendered: !!area.querySelector('.widget-subarea'),
            shows: shown.map(child => child.innerText.trim().slice(0, 80) || child.tagName)};
})"""

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

#: Shared by the layout checks: an element's short name, and whether a scroll container shows that it
#: scrolls. A touch screen shows no scrollbar: a box narrower than its content must show a cue. The
#: site's cue (book/_static/site.css) fades the content out at the edge where more is hidden, driven by
#: the box's scroll position: at the start, the right edge is faded (a mask and --cue-right > 0).
LAYOUT_HELPERS = r"""
    const describe = el => {
        const classes = typeof el.className === 'string' ? el.className.trim().split(/\s+/).filter(Boolean) : [];
        const text = (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60);
        return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes.slice(0, 2).map(c => '.' + c).join('')
            + (text ? ` "${text}"` : '');
    };
    const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    const overflows = el => el.scrollWidth > el.clientWidth + 1;
    const cued = el => {
        const style = getComputedStyle(el);
        const right = parseFloat(style.getPropertyValue('--cue-right')) || 0;
        return scrolls(el) && style.maskImage.includes('gradient') && (el.scrollLeft > 0 || right > 0);
    };
    // shown on the screen: not hidden, and not one of the copies for screen readers clipped to nothing
    const shown = el => {
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        return box.width > 0 && box.height > 0 && style.visibility !== 'hidden'
            && !el.closest('mjx-assistive-mml, .visually-hidden, .sr-only');
    };
"""

LAYOUT = """() => {""" + LAYOUT_HELPERS + r"""
    const width = document.documentElement.clientWidth;
    const inside = box => box.left >= -1 && box.right <= width + 1;
    // Elements that reach past the screen's edges and are not held by a box that fits on the screen.
    const tooWide = [];
    // (a formula's or a picture's parts are judged with the formula, the picture)
    const parts = ':not(mjx-container *):not(svg *)';
    for (const el of document.querySelectorAll('body *' + parts)) {
        const box = el.getBoundingClientRect();
        if (inside(box) || el.closest('script, style, dialog:not([open]), .widget-placeholder') || !shown(el)) continue;
        // held: an ancestor that clips or scrolls its content fits on the screen
        let holder = el.parentElement;
        while (holder && holder !== document.body && (getComputedStyle(holder).overflowX === 'visible'
                                                       || !inside(holder.getBoundingClientRect()))) {
            holder = holder.parentElement;
        }
        if (holder && holder !== document.body) continue;
        // report the outermost such element only
        if (!tooWide.some(outer => outer.contains(el))) tooWide.push(el);
    }
    // Boxes in the page's text narrower than their content: each must show that it scrolls.
    const boxes = Array.from(document.querySelectorAll('.bd-article *' + parts)).filter(el => overflows(el) && shown(el)
        && getComputedStyle(el).overflowX !== 'visible');
    const article = document.querySelector('article.bd-article');
    return {
        width, pageWidth: document.documentElement.scrollWidth,
        tooWide: tooWide.map(el => `${describe(el)} (${Math.round(el.getBoundingClientRect().left)} to `
            + `${Math.round(el.getBoundingClientRect().right)} px)`),
        hiddenWithoutCue: boxes.filter(el => !cued(el)).map(el =>
            `${describe(el)} (shows ${el.clientWidth} of ${el.scrollWidth} px, overflow-x: ${getComputedStyle(el).overflowX})`),
        column: article ? article.clientWidth : 0,
        // MathJax's own list of what it typeset: each display formula's TeX and its box
        equations: Array.from((window.MathJax && MathJax.startup && MathJax.startup.document
                               && MathJax.startup.document.math) || [])
            .filter(item => item.display && item.typesetRoot).map(item => {
                const box = item.typesetRoot;
                const right = article ? article.getBoundingClientRect().right : width;
                return {tex: item.math.replace(/\s+/g, ' ').trim().slice(0, 100),
                        fits: !overflows(box) && box.getBoundingClientRect().right <= right + 1,
                        shown: box.clientWidth, needs: box.scrollWidth, cued: cued(box)};
            }),
        tables: Array.from(document.querySelectorAll('article.bd-article table')).map(table => ({
            caption: (table.querySelector('caption, thead') || table).innerText.replace(/\s+/g, ' ').slice(0, 60),
            width: Math.round(table.getBoundingClientRect().width),
            column: Math.round((table.closest('.pst-scrollable-table-container') || table.parentElement).clientWidth)})),
    };
}"""

#: The two panels the page's buttons open: the book's navigation and the page's contents.
PANELS = """() => {
    const shown = el => { const box = el.getBoundingClientRect();
        return box.width > 0 && box.height > 0 && box.right > 0 && box.left < innerWidth
            && getComputedStyle(el).visibility !== 'hidden'; };
    const links = selector => Array.from(document.querySelectorAll(selector)).filter(shown)
        .map(a => a.getAttribute('href'));
    const button = selector => Array.from(document.querySelectorAll(selector)).some(shown);
    return {navigation: links('#pst-primary-sidebar nav a, #pst-primary-sidebar-modal nav a'),
            contents: links('#pst-secondary-sidebar nav a, #pst-secondary-sidebar-modal nav a'),
            navigationButton: button('.primary-toggle'), contentsButton: button('.secondary-toggle'),
            // pydata-sphinx-theme 0.17's navbar: an empty band at the top with a second search box
            topBand: (() => { const header = document.querySelector('#pst-header');
                              return header ? header.getBoundingClientRect().height : 0; })(),
            searchBoxes: Array.from(document.querySelectorAll('.search-button-field')).filter(shown).length,
            hasContents: !!document.querySelector('#pst-secondary-sidebar nav a, #pst-secondary-sidebar-modal nav a')};
}"""

#: Controls a finger must hit: slider handles (their hit area) and toggle buttons, in px.
TOUCH_TARGETS = """() => {
    const hits = (el, x, y) => { const at = document.elementFromPoint(x, y); return !!at && (at === el || el.contains(at)); };
    const handles = Array.from(document.querySelectorAll('.widget-slider .noUi-handle')).filter(h => h.offsetParent);
    const buttons = Array.from(document.querySelectorAll('.widget-toggle-buttons button')).filter(b => b.offsetParent);
    return {
        handles: handles.map(handle => {
            handle.scrollIntoView({block: 'center'});
            const box = handle.getBoundingClientRect();
            const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
            // the largest square around the centre whose corners and edge midpoints all hit the handle
            let reach = 0;
            for (let r = 1; r <= 30; r++) {
                const points = [[cx - r, cy], [cx + r, cy], [cx, cy - r], [cx, cy + r],
                                [cx - r, cy - r], [cx + r, cy - r], [cx - r, cy + r], [cx + r, cy + r]];
                if (!points.every(([x, y]) => hits(handle, x, y))) break;
                reach = r;
            }
            const label = handle.closest('.widget-slider').querySelector('.widget-label');
            return {label: label ? label.innerText.trim() : '', size: 2 * reach};
        }),
        buttons: buttons.map(button => {
            const box = button.getBoundingClientRect();
            return {label: button.innerText.trim() || button.title, width: box.width, height: box.height};
        }),
    };
}"""

#: The tallest screenshot a JPEG holds.
JPEG_MAX = 65_000

#: Explorer pictures against the page's static figures: displayed widths, and pixels per CSS pixel.
PICTURES = """() => {
    const big = el => el.getBoundingClientRect().width >= 100 && el.offsetParent !== null;
    const vector = el => el.tagName.toLowerCase() === 'svg'
        || /^data:image\\/svg|\\.svg([?#]|$)/i.test(el.getAttribute('src') || '');
    const describe = el => ({alt: (el.getAttribute('alt') || el.getAttribute('aria-label') || '').slice(0, 60),
        width: el.getBoundingClientRect().width, natural: el.naturalWidth || 0, vector: vector(el)});
    const pictures = Array.from(document.querySelectorAll('.widget-subarea img, .widget-subarea svg'))
        .filter(big).filter(el => !(el.tagName.toLowerCase() === 'svg' && el.parentElement.closest('svg')));
    // An explorer may show its panels side by side, as a static figure shows its subplots: what must be
    // as wide as the static figures is the row of its pictures, each picture must be crisp.
    const areas = new Map();
    pictures.forEach(el => {
        const area = el.closest('.widget-subarea');
        if (!areas.has(area)) areas.set(area, []);
        areas.get(area).push(el);
    });
    const explorers = Array.from(areas.values()).map(els => {
        const boxes = els.map(el => el.getBoundingClientRect());
        return {alt: (els[0].getAttribute('alt') || els[0].getAttribute('aria-label') || '').slice(0, 60),
                width: Math.max(...boxes.map(b => b.right)) - Math.min(...boxes.map(b => b.left)),
                pictures: els.map(describe)};
    });
    const statics = Array.from(document.querySelectorAll('article.bd-article img'))
        .filter(img => !img.closest('.widget-subarea') && big(img));
    return {explorers, statics: statics.map(describe)};
}"""


@dataclass
class PageReport:
    docname: str
    url: str
    viewport: str = "desktop"
    status: int | None = None
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    #: (url, HTTP status) of every request answered, in order
    responses: list[tuple[str, int]] = field(default_factory=list)
    painted_before_renderer: bool | None = None
    before_renderer: list[dict] = field(default_factory=list)
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
    layout: dict = field(default_factory=dict)
    panels: dict = field(default_factory=dict)
    touch_targets: dict = field(default_factory=dict)
    pictures: dict = field(default_factory=dict)
    screenshot: Path | None = None
    seconds: float = 0.0


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


def _open_panels(page) -> dict:
    """Open the navigation and the contents panel with the page's own buttons; what each then shows.

    Below the theme's wide layout the panels are closed and a button opens each (a dialog, closed
    again with Escape). At desktop width both are open; the navigation button hides the navigation,
    and a second press shows it again.
    """
    def panel_after(action, name, want_links: bool) -> list:
        action()
        for _ in range(40):
            links = page.evaluate(PANELS)[name]
            if bool(links) == want_links:
                return links
            page.wait_for_timeout(25)
        return links

    found = {"before": page.evaluate(PANELS)}
    for name, selector in (("navigation", ".primary-toggle"), ("contents", ".secondary-toggle")):
        links = found["before"][name]
        if found["before"][f"{name}Button"]:
            button = page.locator(f"{selector}:visible").first
            if not links:  # closed: the button opens it (and Escape closes it again)
                links = panel_after(button.click, name, want_links=True)
                panel_after(lambda: page.keyboard.press("Escape"), name, want_links=False)
            else:  # open: the button hides it, and shows it again
                hidden = not panel_after(button.click, name, want_links=False)
                links = panel_after(button.click, name, want_links=True) if hidden else []
        found[name] = links
    return found


def load_report(browser, base_url: str, docname: str, screenshots: Path, viewport: str = "desktop",
                exercise_controls: bool = True) -> PageReport:
    started = time.monotonic()
    report = PageReport(docname=docname, url=f"{base_url}{docname}.html", viewport=viewport)
    (width, height), touch = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch,
                                  is_mobile=touch, service_workers="block")
    held = []

    def route(route):
        url = route.request.url
        if not _local(url):
            report.external_requests.append(url)
            route.abort()
        elif urlsplit(url).path.endswith(RENDERER) and report.painted_before_renderer is None:
            held.append(route)  # answered once the page has been looked at without the renderer
        else:
            route.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and report.console_errors.append(
        f"console: {message.text} ({message.location.get('url', '')})"))
    page.on("pageerror", lambda error: report.console_errors.append(f"page error: {error}"))

    def on_response(response):
        report.responses.append((response.url, response.status))
        if response.status >= 400:
            report.failed_requests.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    try:
        response = page.goto(report.url, wait_until="commit", timeout=30_000)
        report.status = response.status if response else None
        # The page as it is before the widget renderer has run (its script is held back): the text has
        # been read to its end and painted, unless a script that waits for the renderer blocks it.
        try:
            page.wait_for_selector(".bd-footer-content", state="attached", timeout=10_000)
            page.wait_for_function(
                "() => performance.getEntriesByName('first-contentful-paint').length > 0", timeout=10_000)
            report.painted_before_renderer = True
        except Exception:  # noqa: BLE001 - recorded: not read or not painted while the renderer was held
            report.painted_before_renderer = False
        report.before_renderer = page.evaluate(BEFORE_RENDERER, VIEW_SCRIPT)
        for waiting in held:
            waiting.continue_()
        page.wait_for_load_state("load", timeout=30_000)

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
        report.layout = page.evaluate(LAYOUT)
        report.pictures = page.evaluate(PICTURES)

        report.screenshot = screenshots / viewport / f"{docname}.jpg"
        report.screenshot.parent.mkdir(parents=True, exist_ok=True)
        # JPEG: a full page in PNG takes seconds to encode. A JPEG is at most 65,535 px high: a longer
        # page (Appendix B on a phone) is shot down to that height.
        page_height = page.evaluate("() => document.documentElement.scrollHeight")
        clip = None if page_height <= JPEG_MAX else {"x": 0, "y": 0, "width": width,
                                                 "height": JPEG_MAX}
        page.screenshot(path=str(report.screenshot), full_page=True, type="jpeg", quality=70, clip=clip)

        report.touch_targets = page.evaluate(TOUCH_TARGETS)
        report.panels = _open_panels(page)
        if exercise_controls:
            for area in report.widget_areas:
                if area["rendered"]:
                    report.controls += _exercise_controls(page, area)
        page.wait_for_timeout(100)  # let errors from the interaction reach the console
    finally:
        for waiting in held:
            try:
                waiting.continue_()
            except Exception:  # noqa: BLE001 - already answered
                pass
        context.close()
    report.seconds = time.monotonic() - started
    return report
