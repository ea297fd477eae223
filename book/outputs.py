"""Refresh the chapters' stored outputs: ``make outputs`` runs ``python book/outputs.py chapters/*.ipynb``.

For each notebook, in place:

1. **normalize** its cell metadata from its structure (:func:`normalize`), so JupyterLab shows it as the
   website does: the code cells of a solution (between ``solution-start`` and ``solution-end``) and the
   cells tagged ``hide-input`` start collapsed (``jupyter.source_hidden``; a solution's outputs too,
   ``jupyter.outputs_hidden``: they give the answer away). The website ignores these keys.
2. **execute** it top to bottom (as ``jupyter execute --inplace`` does), and for every markdown cell
   that states numbers with MyST's ``{eval}`` role, evaluate its expressions at that point of the run
   and store the results in the cell's metadata ``user_expressions``, in the format jupyterlab-myst
   writes there itself. JupyterLab (and so Binder) then shows the numbers when the notebook is opened,
   before any cell has run. The website computes them again when it is built (myst-nb's inline
   execution), and ``book/eval_check.py`` fails the build (``-W``) where they differ from the stored ones.

``tests/test_prose.py`` checks that every chapter is normalized and has a stored value for each role.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

#: the metadata key jupyterlab-myst reads a markdown cell's ``{eval}`` results from
USER_EXPRESSIONS = "user_expressions"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# {eval} then a code span: a run of n backticks, the expression, a run of exactly n backticks
_EVAL_ROLE = re.compile(r"\{eval\}(`+)(.+?)(?<!`)\1(?!`)")


def eval_expressions(markdown: str) -> list[str]:
    """The expressions of the ``{eval}`` roles in ``markdown``, in order (fenced code blocks skipped)."""
    lines, fence = [], None
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and match and line.strip() == match.group(1) and \
                match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
            fence = None  # a closing fence: the opening's character, at least as many, nothing else
        elif fence is None:
            lines.append(line)
    return [match.group(2) for match in _EVAL_ROLE.finditer("\n".join(lines))]


def _source(cell) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _directive(cell, name: str) -> bool:
    """Does this markdown cell open the ``name`` directive (``:::{name}`` or a backtick fence)?"""
    return cell.get("cell_type") == "markdown" and re.search(
        r"^ {0,3}(:{3,}|`{3,})\{" + re.escape(name) + r"\}", _source(cell), re.MULTILINE) is not None


def normalize(nb) -> "nbformat.NotebookNode":
    """A copy of ``nb`` whose cell metadata follows its structure (see the module docstring).

    Code cells inside a solution get ``jupyter.source_hidden`` and ``jupyter.outputs_hidden``; code
    cells tagged ``hide-input`` get ``jupyter.source_hidden``; every other cell has neither (so a
    cell moved out of a solution opens again). Markdown cells without ``{eval}`` roles lose any stale
    ``user_expressions``.
    """
    nb = copy.deepcopy(nb)
    in_solution = False
    for cell in nb.cells:
        if _directive(cell, "solution-start"):
            in_solution = True
        elif _directive(cell, "solution-end"):
            in_solution = False
        metadata = cell.setdefault("metadata", {})
        if cell.cell_type == "markdown":
            if USER_EXPRESSIONS in metadata and not eval_expressions(_source(cell)):
                del metadata[USER_EXPRESSIONS]
            continue
        if cell.cell_type != "code":
            continue
        hidden = {}
        if in_solution:
            hidden = {"source_hidden": True, "outputs_hidden": True}
        elif "hide-input" in metadata.get("tags", []):
            hidden = {"source_hidden": True}
        jupyter = {key: value for key, value in metadata.get("jupyter", {}).items()
                   if key not in ("source_hidden", "outputs_hidden")}
        jupyter.update(hidden)
        if jupyter:
            metadata["jupyter"] = jupyter
        else:
            metadata.pop("jupyter", None)
    return nb


class ExpressionError(RuntimeError):
    """An ``{eval}`` expression failed in the kernel."""


class ProseNumbersClient(NotebookClient):
    """nbclient's notebook run, which also evaluates each markdown cell's ``{eval}`` expressions.

    They are evaluated where the cell stands (after the code cells above it, before those below), as
    jupyterlab-myst does on Run All and myst-nb does when it builds the page, with the kernel's own
    ``user_expressions`` request, so the stored results are what jupyterlab-myst would store.
    """

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "markdown":
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        expressions = eval_expressions(_source(cell))
        if not expressions:
            return cell
        msg_id = await ensure_async(self.kc.execute(
            "", silent=True, store_history=False,
            user_expressions={str(i): expression for i, expression in enumerate(expressions)}))
        reply = await self.async_wait_for_reply(msg_id, cell)
        results = reply["content"].get(USER_EXPRESSIONS, {})
        stored = []
        for i, expression in enumerate(expressions):
            result = results[str(i)]
            if result.get("status") != "ok":
                raise ExpressionError(
                    f"cell {cell_index}: {{eval}}`{expression}` raised "
                    f"{result.get('ename')}: {result.get('evalue')}")
            stored.append({"expression": expression, "result": result})
        cell.metadata[USER_EXPRESSIONS] = stored
        return cell


def execute(nb, path: Path, timeout: int = 120) -> "nbformat.NotebookNode":
    """Run ``nb`` (in place) in the directory ``path``, storing outputs and ``{eval}`` results."""
    client = ProseNumbersClient(nb, timeout=timeout, kernel_name=nb.metadata.get("kernelspec", {}).get(
        "name", "python3"), resources={"metadata": {"path": str(path)}})
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    for path in parser.parse_args(argv).notebooks:
        print(f"executing {path}", file=sys.stderr)
        nb = normalize(nbformat.read(path, as_version=4))
        try:
            execute(nb, path.parent.absolute())
        except (CellExecutionError, ExpressionError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 1  # (the notebook is left as it was)
        nbformat.write(nb, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
