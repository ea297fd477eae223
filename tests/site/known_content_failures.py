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
    ("test_explorer_pictures_as_wide_as_figures_and_crisp", "chapters/11_tuning", "desktop"): EXPLORER_FRAMES,
    # issue 18 item 3: equations as the chapters (and optlib's docstrings, Appendix B) write them
    ("test_display_equations_fit", "chapters/04_adaptive_methods", "desktop"):
        WIDE_EQUATION + ": u_{t+1} = ... \\quad cache_{t+1} = ... (914 px in 757) and "
        "\\frac{first step without correction}{first step with correction} = ... (888 px)",
    ("test_display_equations_fit", "chapters/05_memory", "desktop"):
        WIDE_EQUATION + ": memory(u) = memory(cache) = P s, \\qquad state bytes = k P s, \\quad k = 0, 1, 2 "
        "(1045 px in 757)",
    ("test_display_equations_fit", "chapters/appendix_b_api", "desktop"):
        WIDE_EQUATION + " in optlib's docstrings: LinearRegression (840 px in 725), SoftmaxRegression (989 px), "
        "data.moons_split (854 px), data.sparse_features (746 px)",
    ("test_display_equations_fit", "chapters/12_curvature", "desktop"):
        WIDE_EQUATION + ": \\rho_{GD} = (kappa-1)/(kappa+1) per step, heavy ball with Polyak's ... (759 px in 757)",
    ("test_tables_fit_the_column", "chapters/05_memory", "desktop"):
        "the table of what each optimizer keeps: its cells hold formulas MathJax cannot break (Adam's two "
        "updates; + memory(u) + memory(cache)): 862 px in 757; it scrolls, with the scroll cue",
}
