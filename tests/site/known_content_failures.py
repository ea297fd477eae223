"""The one table of site checks that fail only because of content still to be converted by others.

Each entry is (check, page, screen) -> why: the check is marked xfail(strict=True) for that page and
screen (screen None for checks run once per page). The check still runs: when the content is fixed it
passes, the strict xfail then fails the suite, and the entry must be removed. Nothing else goes here;
test_known_content_failures_name_real_checks keeps every entry pointing at a real check.
"""
from __future__ import annotations

EXPLORER_FRAMES = ("explorer frames are 576-619 px PNGs at 72 dpi (issue 14: as wide as the static figures, "
                   "vector or rendered for 2x)")
HEAVY_FRAMES = "explorer frames are full PNG pictures in the widget state (issue 14: frames that cost kilobytes)"
WIDE_EQUATION = "a display equation written as several formulas on one line, wider than the desktop column"

CONTENT_FAILURES: dict[tuple[str, str, str | None], str] = {
    # issue 14, the explorers (chapter 9: chapters 2-4 are on the layered explorer)
    ("test_page_weight_within_budget", "chapters/09_playground", None): HEAVY_FRAMES,
    ("test_explorer_pictures_as_wide_as_figures_and_crisp", "chapters/09_playground", "desktop"): EXPLORER_FRAMES,
    # issue 18 item 3: equations as the chapters (and optlib's docstrings, Appendix B) write them
}
