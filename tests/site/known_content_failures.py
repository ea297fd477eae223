"""The one table of site checks that fail only because of content still to be converted by others.

Each entry is (check, page, screen) -> why: the check is marked xfail(strict=True) for that page and
screen (screen None for checks run once per page). The check still runs: when the content is fixed it
passes, the strict xfail then fails the suite, and the entry must be removed. Nothing else goes here;
test_known_content_failures_name_real_checks keeps every entry pointing at a real check.
"""
from __future__ import annotations

WIDE_EQUATION = "a display equation written as several formulas on one line, wider than the desktop column"

CONTENT_FAILURES: dict[tuple[str, str, str | None], str] = {
    # issue 18 item 3: equations as the chapters (and optlib's docstrings, Appendix B) write them
}
