"""Which chapters are not yet converted to README's "Writing a chapter" rules (numbers, exercises, metadata).

Chapter 1 is the model; the owners of chapters 2-9 convert theirs with the same tools. A check a chapter
does not pass yet is a strict xfail for it: the test fails as soon as the chapter passes, so that it is
taken off this list (one name per line, so that merges of two chapters' changes do not conflict).
"""
from __future__ import annotations

from pathlib import Path

import pytest

#: check -> the chapters (notebook stems) that fail it until converted
NOT_YET_CONVERTED = {
    # no exercise named by a typed number in the prose (tests/test_prose.py)
    "exercise_numbers": set(),
    # `make outputs` has normalized the cell metadata (tests/test_prose.py; tests/lab: solutions collapsed)
    "normalized": set(),
}


def chapter_params(paths: list[Path], check: str) -> list:
    """``pytest.param`` per notebook, those not yet converted for ``check`` marked as strict xfail."""
    return [pytest.param(path, id=path.stem, marks=pytest.mark.xfail(
                strict=True, reason=f"{path.stem}: not yet converted ({check}); if it passes, take it "
                                    "off NOT_YET_CONVERTED in tests/conversion.py")
                if path.stem in NOT_YET_CONVERTED[check] else ())
            for path in paths]
