"""Latency of the live explorers: from a control's change to the new picture, for every control.

Runs each chapter's code cells in this process (matplotlib's Agg backend, one BLAS thread), then
evaluates each kernel-only cell that builds a live explorer (``<explorer>.live(...)``, tagged
``remove-cell``), exactly as the chapter writes it. Every control of every live explorer is then
moved ``MOVES`` times to seeded random values of its range (each toggle through its options), and
each move is timed from setting the control's value to the return of the change's handler, which
has recomputed the layers the control affects and set their new SVG pictures (the front end then
only swaps the pictures). Prints a table and writes ``benchmarks/explorers.md``.

    python benchmarks/bench_explorers.py [chapters/03_momentum_nesterov.ipynb ...]
"""
from __future__ import annotations

import ast
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import machine  # noqa: E402  (benchmarks/machine.py, beside this script)
import nbformat  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEDIAN_LIMIT, WORST_LIMIT = 0.150, 0.400  # seconds
MOVES = 25
#: every chapter with a live explorer (a code cell that calls ``.live(``), as the lab test finds them
DEFAULT_CHAPTERS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "chapters").glob("*.ipynb")
                          if ".live(" in path.read_text(encoding="utf-8"))


def live_explorers(notebook: Path) -> list[tuple[str, object]]:
    """Run the notebook's code cells; return (source, LiveExplorer) for each cell that makes one."""
    from optlib.widgets import LiveExplorer

    namespace: dict = {"__name__": "__main__"}
    found = []
    cwd = Path.cwd()
    os.chdir(notebook.parent)  # as a kernel started beside the notebook
    try:
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type != "code" or cell.source.lstrip().startswith(("%", "!")):
                continue
            tree = ast.parse(cell.source)
            last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            body = ast.Module(tree.body[:-1] if last else tree.body, type_ignores=[])
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(body, str(notebook), "exec"), namespace)
                value = eval(compile(ast.Expression(last.value), str(notebook), "eval"), namespace) if last else None
            if isinstance(value, LiveExplorer):
                call = [line for line in cell.source.splitlines() if ".live(" in line]
                shown = call[-1].strip() if call else cell.source.strip().splitlines()[-1]
                found.append((shown if shown.endswith(")") else shown + " ...)", value))
            import matplotlib.pyplot as plt
            plt.close("all")
    finally:
        os.chdir(cwd)
    return found


def moves(control, rng) -> list:
    """The values a control is moved to: random points of a slider's range, or each option in turn."""
    if hasattr(control, "min") and hasattr(control, "step"):
        steps = int(round((control.max - control.min) / control.step))
        values = control.min + control.step * rng.integers(0, steps + 1, MOVES)
        return [type(control.value)(round(v, 10)) for v in values]
    options = [value for _, value in control._options_full] if hasattr(control, "_options_full") else \
        list(control.options)
    return [options[i % len(options)] for i in range(1, MOVES + 1)]


def time_controls(live) -> dict[str, list[float]]:
    rng = np.random.default_rng(0)
    seconds: dict[str, list[float]] = {}
    for name, control in live.controls.items():
        for value in moves(control, rng):
            if value == control.value:
                continue
            began = time.perf_counter()
            control.value = value
            seconds.setdefault(name, []).append(time.perf_counter() - began)
    return seconds


def main(paths: list[str]) -> None:
    load_before = os.getloadavg()[0]
    rows = ["| chapter | live explorer | control | moves | median ms | worst ms | within |",
            "|---|---|---|---|---|---|---|"]
    every = []
    for path in paths:
        notebook = ROOT / path
        for source, live in live_explorers(notebook):
            for name, seconds in time_controls(live).items():
                every += seconds
                median, worst = statistics.median(seconds), max(seconds)
                ok = median <= MEDIAN_LIMIT and worst <= WORST_LIMIT
                rows.append(f"| {notebook.stem} | `{source}` | {name} | {len(seconds)} | {median * 1e3:.0f} | "
                            f"{worst * 1e3:.0f} | {'yes' if ok else 'NO'} |")
    median, worst = statistics.median(every), max(every)
    verdict = (f"Over every move: median {median * 1e3:.0f} ms (limit {MEDIAN_LIMIT * 1e3:.0f}), worst "
               f"{worst * 1e3:.0f} ms (limit {WORST_LIMIT * 1e3:.0f}): "
               f"{'within' if median <= MEDIAN_LIMIT and worst <= WORST_LIMIT else 'NOT within'} the targets.")
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    text = "\n".join(rows)
    description = f"{machine.describe()}, one BLAS thread; {load}"
    print(f"Machine: {description}.", text, verdict, sep="\n")
    (ROOT / "benchmarks" / "explorers.md").write_text(
        "# Live explorers: latency of a control's move\n\nWritten by `benchmarks/bench_explorers.py`: each "
        "chapter's live explorer (its kernel-only cell, evaluated as written) has every control moved "
        f"{MOVES} times to seeded random values; a move is timed from setting the control's value to "
        "the new pictures being set (the layers that depend on the control recomputed and redrawn as "
        "SVG; the browser then swaps pictures). Wall-clock times: a busy machine slows them (the load "
        f"average is given).\n\nMachine: {description}.\n\n{text}\n\n{verdict}\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:] or DEFAULT_CHAPTERS)
