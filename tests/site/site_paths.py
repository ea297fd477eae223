"""Where the built website and its book are, and which pages the table of contents lists."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("SITE_HTML", ROOT / "_build" / "html")).resolve()
BOOK = SITE.parent.parent if (SITE.parent.parent / "_toc.yml").is_file() else ROOT
ARTIFACTS = ROOT / "test-artifacts"
#: one folder per screen (phone/, tablet/, desktop/), a full-page PNG per page
SCREENSHOTS = ARTIFACTS / "screenshots"


def toc_docnames(book: Path = BOOK) -> list[str]:
    """Every page the table of contents lists (root first), as Sphinx docnames like 'chapters/01_x'."""
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return [str(Path(name).with_suffix("")) if Path(name).suffix in {".md", ".ipynb"} else name
            for name in names]


def notebook_docnames(book: Path = BOOK) -> list[str]:
    return [name for name in toc_docnames(book) if (book / f"{name}.ipynb").is_file()]
