"""How much a page weighs as a gzip-serving host sends it, from the files the browser asked for.

A page's own weight is its HTML and its images (``_images/``, and pictures inside the HTML): the part
the budget limits. Everything else it loads (theme, MathJax and its fonts, the widget renderer, the
search index) is shared by the pages: counted once per site, and reported per page as what a first
visit loads. Text files (HTML, CSS, JavaScript, JSON, SVG, fonts that are not already compressed) are
counted gzip-compressed at level 6, as web servers send them; PNG, WOFF and the like as they are.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

#: A page's own HTML and images may weigh this much (gzip), issue 14.
BUDGET = 1_000_000
COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".txt", ".xml", ".map", ".ttf", ".otf", ".eot"}
OWN_FOLDERS = ("_images/",)


@lru_cache(maxsize=None)
def sent_bytes(path: Path) -> int:
    """The bytes a gzip-serving host sends for this file."""
    data = path.read_bytes()
    if path.suffix.lower() in COMPRESSED:
        return len(gzip.compress(data, compresslevel=6, mtime=0))
    return len(data)


def megabytes(size: int) -> str:
    return f"{size / 1e6:.2f} MB"


@dataclass
class PageWeight:
    docname: str
    html: int
    images: dict[str, int]
    shared: dict[str, int]

    @property
    def own(self) -> int:
        return self.html + sum(self.images.values())

    @property
    def first_visit(self) -> int:
        return self.own + sum(self.shared.values())


@dataclass
class SiteWeights:
    site: Path
    base_url: str
    pages: dict[str, PageWeight] = field(default_factory=dict)

    def local_file(self, url: str) -> str | None:
        """The site-relative path of a URL on the test server (None for another host)."""
        if not url.startswith(self.base_url):
            return None
        path = unquote(urlsplit(url).path).lstrip("/")
        return path + "index.html" if path.endswith("/") or not path else path

    def measure(self, report) -> PageWeight:
        """``report``: a page_report.PageReport (its responses) of the page's first visit."""
        page_path = f"{report.docname}.html"
        html_file = self.site / page_path
        requested = {self.local_file(url) for url, status in report.responses if status == 200}
        # the page's pictures, also those the browser had not asked for when the report was made
        html_text = html_file.read_text(encoding="utf-8")
        for src in re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', html_text):
            if not src.startswith("data:"):
                requested.add(self.local_file(urljoin(f"{self.base_url}{page_path}", src)))
        requested.discard(None)
        requested.discard(page_path)
        images, shared = {}, {}
        for path in sorted(requested):
            file = self.site / path
            if not file.is_file():
                continue
            (images if path.startswith(OWN_FOLDERS) else shared)[path] = sent_bytes(file)
        weight = PageWeight(report.docname, sent_bytes(html_file), images, shared)
        self.pages[report.docname] = weight
        return weight

    def shared_assets(self) -> dict[str, int]:
        assets = {}
        for page in self.pages.values():
            assets.update(page.shared)
        return assets

    def markdown(self, largest: int = 8) -> str:
        lines = ["# Page weights", "",
                 "As a gzip-serving host sends them (text at gzip level 6; PNG and fonts as they are). "
                 f"Budget: a page's own HTML and images at most {megabytes(BUDGET)}. Written by the site "
                 "test (tests/site/page_weight.py).", "",
                 "| page | HTML | images | own (budget) | shared assets it loads | first visit |",
                 "|---|---:|---:|---:|---:|---:|"]
        for page in self.pages.values():
            mark = "" if page.own <= BUDGET else " **over**"
            lines.append(f"| {page.docname} | {megabytes(page.html)} | {megabytes(sum(page.images.values()))} "
                         f"({len(page.images)}) | {megabytes(page.own)}{mark} | "
                         f"{megabytes(sum(page.shared.values()))} ({len(page.shared)} files) | "
                         f"{megabytes(page.first_visit)} |")
        assets = self.shared_assets()
        lines += ["", f"Shared assets, counted once for the site: {len(assets)} files, "
                  f"{megabytes(sum(assets.values()))}.", ""]
        widget_pages = [page for page in self.pages.values()
                        if any(path.endswith("embed-amd.js") for path in page.shared)]
        if widget_pages:
            page = max(widget_pages, key=lambda p: sum(p.shared.values()))
            total = sum(page.shared.values())
            lines += [f"A first visit to a widget page ({page.docname}) loads {len(page.shared)} shared "
                      f"files, {megabytes(total)}; the largest:", "", "| file | sent | share |", "|---|---:|---:|"]
            for path, size in sorted(page.shared.items(), key=lambda item: -item[1])[:largest]:
                lines.append(f"| {path} | {megabytes(size)} | {size / total:.0%} |")
        return "\n".join(lines) + "\n"
