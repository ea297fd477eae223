"""Time each chapter notebook under nbval, as ``make test-notebooks`` runs it, against the limits.

One pytest run over ``chapters/`` with one BLAS thread; a notebook's time is the sum of its cells'
setup, call and teardown (pytest's ``--durations``), so it includes starting and stopping its kernel.
Prints a table and writes ``benchmarks/notebooks.md``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import machine  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/sanitize.cfg"]  # Makefile's
NOTEBOOK_LIMIT = 15.0  # seconds, for each notebook
#: The whole book's budget as an average per chapter: it was 60 s for the first 9 chapters. The limit of
#: the whole run is this average times the number of notebooks, so a new chapter must keep the average.
AVERAGE_LIMIT = 60.0 / 9
#: "1.23s call     chapters/02_gradient_descent.ipynb::Cell 10"
DURATION = re.compile(r"^([\d.]+)s\s+(?:setup|call|teardown)\s+(\S+\.ipynb)::", re.MULTILINE)
SESSION = re.compile(r"in ([\d.]+)s")


def run_nbval() -> tuple[dict[str, float], float, str]:
    """Seconds per notebook, pytest's session seconds, and pytest's last line."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    # -vv: --durations=0 then lists every phase, even those under 5 ms
    command = [sys.executable, "-m", "pytest", *NBVAL, "chapters", "-q", "-vv", "--durations=0",
               "-p", "no:cacheprovider"]
    output = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True).stdout
    seconds = defaultdict(float)
    for phase_seconds, notebook in DURATION.findall(output):
        seconds[notebook] += float(phase_seconds)
    summary = output.strip().splitlines()[-1] if output.strip() else "(no output from pytest)"
    session = SESSION.search(summary)
    return dict(sorted(seconds.items())), float(session.group(1)) if session else float("nan"), summary


def table(seconds: dict[str, float], session: float) -> str:
    rows = ["| notebook | seconds | limit | within |", "|---|---|---|---|"]
    for notebook, s in seconds.items():
        rows.append(f"| {Path(notebook).name} | {s:.1f} | {NOTEBOOK_LIMIT:g} | "
                    f"{'yes' if s <= NOTEBOOK_LIMIT else 'NO'} |")
    total_limit = AVERAGE_LIMIT * len(seconds)
    average = session / len(seconds) if seconds else float("nan")
    rows.append(f"| **total** (pytest session) | {session:.1f} | {total_limit:.1f} | "
                f"{'yes' if session <= total_limit else 'NO'} |")
    rows.append(f"| **average per notebook** | {average:.2f} | {AVERAGE_LIMIT:.2f} | "
                f"{'yes' if average <= AVERAGE_LIMIT else 'NO'} |")
    return "\n".join(rows)


def main() -> None:
    seconds, session, summary = run_nbval()
    description = f"{machine.describe()}, one BLAS thread"
    text = table(seconds, session)
    print(f"Machine: {description}.", f"pytest: {summary}", text, sep="\n")
    (ROOT / "benchmarks" / "notebooks.md").write_text(
        "# Notebook timings under nbval\n\nWritten by `make bench` (benchmarks/bench_notebooks.py): "
        "one run of `make test-notebooks`'s command, a notebook's seconds being the sum of its "
        f"cells' setup, call and teardown (its kernel's start and stop included).\n\n"
        f"Machine: {description}.\n\npytest: {summary}\n\n{text}\n")


if __name__ == "__main__":
    main()
