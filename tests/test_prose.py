"""The chapters' prose: numbers inserted from the code, exercises named by label, notebooks normalized.

How a chapter states a number and names an exercise is in README.md ("Writing a chapter"). The
machinery (``book/outputs.py``, run by ``make outputs``, and the Sphinx extension
``book/eval_check.py``) is tested here on small notebooks; the chapters themselves are checked for

- no exercise named by a typed number in their prose ("exercise 2", "Exercises 3 and 4"): sphinx-exercise
  numbers the exercises across the whole book, so only a reference ({ref}`ch02-ex1`) shows the number
  the reader sees on the exercise;
- cell metadata normalized (``make outputs``): solutions and ``hide-input`` cells collapsed in JupyterLab;
- a stored value, a string, for every ``{eval}`` role (what JupyterLab shows before the notebook runs);
- code and printed lines that fit the website's code column at desktop width (no sideways scrolling).
  That the stored values equal a fresh run's is checked where the notebooks run anyway: the book build
  (``book/eval_check.py`` under ``-W``) and the JupyterLab test (tests/lab, after Run All).

Chapters still to convert are listed in tests/conversion.py: their checks are expected to fail (strict
xfail), so the test fails as soon as a chapter passes, to be taken off the list.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from book.outputs import (ExpressionError, USER_EXPRESSIONS, _directive, eval_expressions,  # noqa: E402
                          execute, normalize)
from conversion import chapter_params  # noqa: E402  (tests/conversion.py)

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PAGES = [ROOT / "intro.md", *sorted((ROOT / "chapters").glob("*.md"))]

#: "exercise 2", "Exercise 4's", "exercises 2 and 3", "exercises 1-3": a typed exercise number
TYPED_EXERCISE_NUMBER = re.compile(r"\bexercises?\s+\d", re.IGNORECASE)


def markdown_cells(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text())
    return [(i, "".join(cell["source"])) for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "markdown"]


def typed_exercise_numbers(text: str) -> list[str]:
    return [text[max(0, m.start() - 30):m.end() + 20].replace("\n", " ") for m in TYPED_EXERCISE_NUMBER.finditer(text)]


# --- the chapters -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", chapter_params(CHAPTERS, "exercise_numbers"))
def test_chapter_names_exercises_by_label(path):
    found = [f"cell {i}: ...{hit}..." for i, text in markdown_cells(path) for hit in typed_exercise_numbers(text)]
    assert not found, (f"{path.name} names exercises by a typed number; refer to them by label, "
                       "{ref}`ch01-ex1` (README, Writing a chapter):\n" + "\n".join(found))


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_page_names_exercises_by_label(path):
    found = typed_exercise_numbers(path.read_text())
    assert not found, f"{path.name} names exercises by a typed number: {found}"


@pytest.mark.parametrize("path", chapter_params(CHAPTERS, "normalized"))
def test_chapter_is_normalized(path):
    nb = nbformat.read(path, as_version=4)
    changed = [i for i, (old, new) in enumerate(zip(nb.cells, normalize(nb).cells)) if old != new]
    assert not changed, (f"{path.name}: the metadata of cells {changed} does not follow the notebook's "
                         "structure (solutions, hide-input): run `make outputs`")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_number_in_the_prose_has_a_stored_string_value(path):
    nb = json.loads(path.read_text())
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        stored = {entry["expression"]: entry["result"] for entry in cell["metadata"].get(USER_EXPRESSIONS, [])}
        for expression in eval_expressions("".join(cell["source"])):
            result = stored.get(expression)
            if result is None:
                problems.append(f"cell {i}: no stored value for {{eval}}`{expression}` (run `make outputs`)")
            elif not re.fullmatch(r"(['\"]).*\1", result.get("data", {}).get("text/plain", "")):
                problems.append(f"cell {i}: {{eval}}`{expression}` is not a string but {result}: "
                                "format it, {eval}`f\"{x:.3f}\"`")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


#: The characters of one line that a code box shows at desktop width (1366x900) without scrolling
#: sideways, measured in Chromium on the built site (sphinx-book-theme, 14 px monospace, 8.43 px a
#: character): a source box is 753 px wide less 2 x 16 px padding (85 characters), an output box 757 px
#: (86); a cell tagged hide-input, once opened, sits in a narrower box (83), and a solution's cells in
#: its dropdown narrower still (82 for the source, 83 for the output).
CODE_COLUMN = {"source": 85, "hide-input source": 83, "solution source": 82, "output": 86,
               "solution output": 83}
#: Chapters whose code or output is still wider than the column (strict xfail: take a chapter off the
#: list when it passes).
CODE_TOO_WIDE: set[str] = set()
#: Output types a page shows instead of an output's text/plain (a figure, a widget).
RICHER_THAN_TEXT = ("image/", "text/html", "text/latex", "text/markdown", "application/vnd.jupyter.widget-view+json")


def shown_lines(nb) -> list[tuple[int, str, int, str]]:
    """(cell, what, width, line) for each line of code or printed text the page shows.

    Cells tagged ``remove-cell`` show nothing, ``remove-input`` no source, ``remove-output`` no output;
    a ``hide-input`` cell shows its source when the reader opens it, so it counts.
    """
    lines, in_solution = [], False
    for i, cell in enumerate(nb.cells):
        if _directive(cell, "solution-start"):
            in_solution = True
        elif _directive(cell, "solution-end"):
            in_solution = False
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "remove-cell" in tags:
            continue
        where = "solution " if in_solution else ""
        if "remove-input" not in tags:
            what = where + ("hide-input " if "hide-input" in tags and not in_solution else "") + "source"
            lines += [(i, what, CODE_COLUMN[what], line) for line in cell.source.splitlines()]
        if "remove-output" in tags:
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.output_type == "stream":
                text = output.text
            elif "text/plain" in data and not any(kind.startswith(RICHER_THAN_TEXT) for kind in data):
                text = data["text/plain"]
            else:
                continue
            lines += [(i, where + "output", CODE_COLUMN[where + "output"], line) for line in text.splitlines()]
    return lines


@pytest.mark.parametrize("path", [
    pytest.param(path, id=path.stem, marks=pytest.mark.xfail(
        strict=True, reason=f"{path.stem}: lines wider than the code column; if it passes, take it off "
                            "CODE_TOO_WIDE in tests/test_prose.py") if path.stem in CODE_TOO_WIDE else ())
    for path in CHAPTERS])
def test_code_and_printed_lines_fit_the_desktop_column(path):
    too_wide = [f"cell {i}, {what} ({len(line)} > {width}): {line}"
                for i, what, width, line in shown_lines(nbformat.read(path, as_version=4)) if len(line) > width]
    assert not too_wide, (f"{path.name}: {len(too_wide)} lines scroll sideways on the website at desktop "
                          "width; break them (code) or change the print format (output):\n" + "\n".join(too_wide))


def test_shown_lines_skip_removed_cells_and_pictures():
    nb = _notebook(
        ("code", "a = 1"),
        ("code", "hidden()", "remove-cell"),
        ("code", "plot()", "hide-input"),
        ("code", "quiet()", "remove-input"),
        ("markdown", ":::{solution-start} ex\n:class: dropdown\n:::"),
        ("code", "answer = 42"),
        ("markdown", ":::{solution-end}\n:::"),
    )
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="printed\n"),
                           nbformat.v4.new_output("execute_result", data={"text/plain": "1"}),
                           nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>", "image/png": ""})]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="shown\n")]
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", text="42\n")]
    assert shown_lines(nb) == [(0, "source", 85, "a = 1"), (0, "output", 86, "printed"), (0, "output", 86, "1"),
                               (2, "hide-input source", 83, "plot()"), (3, "output", 86, "shown"),
                               (5, "solution source", 82, "answer = 42"), (5, "solution output", 83, "42")]


def assigned_names(source: str) -> set:
    """The names a code cell binds at its top level scope (assignments, loops, imports, defs, ...)."""
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def read_names(expression: str) -> set:
    """The names an expression reads from the notebook (not those its comprehensions bind)."""
    nodes = list(ast.walk(ast.parse(expression, mode="eval")))
    own = {node.id for node in nodes if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    own |= {arg.arg for node in nodes if isinstance(node, ast.Lambda) for arg in node.args.args}
    return {node.id for node in nodes if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - own


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_no_later_cell_rebinds_a_name_the_prose_reads(path):
    """JupyterLab (jupyterlab-myst) may evaluate a markdown cell's {eval} roles after later code cells
    have run (Run All), so a name the prose reads must keep its value to the end of the notebook: a
    later cell that binds it again (even a loop variable or a function's name at the top level) would
    show another value, or an error, in JupyterLab. Rename the later one."""
    cells = json.loads(path.read_text())["cells"]
    later_bindings = [set() for _ in cells]  # later_bindings[i]: names bound by code cells after cell i
    bound = set()
    for i in range(len(cells) - 1, -1, -1):
        later_bindings[i] = set(bound)
        if cells[i]["cell_type"] == "code":
            bound |= assigned_names("".join(cells[i]["source"]))
    problems = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for expression in eval_expressions("".join(cell["source"])):
            clash = read_names(expression) & later_bindings[i]
            if clash:
                problems.append(f"cell {i}: {{eval}}`{expression}` reads {sorted(clash)}, bound again later")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# --- the machinery ------------------------------------------------------------------------------------

def test_eval_expressions_are_the_roles_outside_code_blocks():
    markdown = textwrap.dedent("""\
        The loss is {eval}`f"{loss:.4f}"` after {eval}`f"{steps:,}"` steps, and
        {eval}``f"{'`'}"`` uses a longer backtick run; `{eval}` alone is not a role.
        ```python
        {eval}`not_a_role`
        ```
        ~~~~
        {eval}`nor_this`
        ~~~~
        {eval}`last`
        """)
    assert eval_expressions(markdown) == ['f"{loss:.4f}"', 'f"{steps:,}"', "f\"{'`'}\"", "last"]


def _notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source, *tags in cells:
        cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def test_normalize_collapses_solutions_and_hide_input_cells_only():
    nb = _notebook(
        ("code", "x = 1"),
        ("code", "plot()", "hide-input"),
        ("markdown", ":::{exercise}\n:label: ex\nDo it.\n:::"),
        ("markdown", ":::{solution-start} ex\n:class: dropdown\n:::\nLike this:"),
        ("code", "answer = 42"),
        ("markdown", ":::{solution-end}\n:::"),
        ("code", "after = 1"),
        ("markdown", "No numbers here."),
    )
    nb.cells[6].metadata["jupyter"] = {"source_hidden": True}  # moved out of a solution: opens again
    nb.cells[7].metadata[USER_EXPRESSIONS] = [{"expression": "x", "result": {}}]  # stale
    normalized = normalize(nb)
    jupyter = [cell.metadata.get("jupyter") for cell in normalized.cells]
    assert jupyter == [None, {"source_hidden": True}, None, None,
                       {"source_hidden": True, "outputs_hidden": True}, None, None, None]
    assert USER_EXPRESSIONS not in normalized.cells[7].metadata
    assert normalize(normalized) == normalized  # idempotent
    assert nb.cells[6].metadata["jupyter"] == {"source_hidden": True}  # the input is not modified


def test_execute_stores_each_cells_values_where_the_cell_stands(tmp_path):
    nb = _notebook(
        ("code", "loss = 0.399253848\nname = \"it's\""),
        ("markdown", "Loss {eval}`f\"{loss:.4f}\"`, twice {eval}`f\"{2 * loss:.2f}\"`, {eval}`name`."),
        ("code", "loss = 0.1"),
        ("markdown", "Now {eval}`f\"{loss:.4f}\"`."),
    )
    execute(nb, tmp_path)
    assert nb.cells[1].metadata[USER_EXPRESSIONS] == [
        {"expression": 'f"{loss:.4f}"', "result": {"status": "ok", "data": {"text/plain": "'0.3993'"}, "metadata": {}}},
        {"expression": 'f"{2 * loss:.2f}"', "result": {"status": "ok", "data": {"text/plain": "'0.80'"}, "metadata": {}}},
        {"expression": "name", "result": {"status": "ok", "data": {"text/plain": '"it\'s"'}, "metadata": {}}},
    ]
    assert nb.cells[3].metadata[USER_EXPRESSIONS][0]["result"]["data"] == {"text/plain": "'0.1000'"}
    assert nb.cells[0].execution_count == 1 and nb.cells[2].execution_count == 2  # the kernel's history


def test_execute_names_a_failing_expression(tmp_path):
    nb = _notebook(("code", "x = 1"), ("markdown", "See {eval}`f\"{y:.2f}\"`."))
    with pytest.raises(ExpressionError, match=r"cell 1: \{eval\}`f\"\{y:.2f\}\"` raised NameError"):
        execute(nb, tmp_path)


def _sphinx_build(tmp_path: Path, nb: nbformat.NotebookNode) -> subprocess.CompletedProcess:
    """Build a one-notebook Sphinx project with the book's settings for {eval} (-W: warnings fail)."""
    project = tmp_path / "project"
    project.mkdir(parents=True)
    (project / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT / "book")!r})
        extensions = ["myst_nb", "eval_check"]
        nb_execution_mode = "inline"
        nb_eval_name_regex = r"^[^\\n]+$"
        exclude_patterns = ["_build"]
        """))
    (project / "index.md").write_text("# Test\n\n```{toctree}\nchapter\n```\n")
    nbformat.write(nb, project / "chapter.ipynb")
    sphinx = Path(sys.executable).parent / "sphinx-build"
    return subprocess.run([str(sphinx), "-W", "--keep-going", "-b", "html", "-q", str(project), str(project / "_build")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def test_the_build_shows_the_value_and_fails_when_the_stored_one_is_stale(tmp_path):
    nb = _notebook(("code", "loss = 0.399253848"), ("markdown", "# Chapter\n\nThe loss is {eval}`f\"{loss:.4f}\"`."))
    execute(nb, tmp_path)
    fresh = _sphinx_build(tmp_path / "fresh", nb)
    assert fresh.returncode == 0, fresh.stderr
    page = (tmp_path / "fresh" / "project" / "_build" / "chapter.html").read_text()
    assert re.search(r"The loss is <span[^>]*>0\.3993</span>\.", page)  # no quotes

    nb.cells[0].source = "loss = 0.5"  # edited after `make outputs`
    stale = _sphinx_build(tmp_path / "stale", nb)
    assert stale.returncode != 0
    assert "this build computes '0.5000', the notebook stores '0.3993'" in stale.stderr


def test_the_build_fails_on_a_value_that_is_not_a_string_or_not_stored(tmp_path):
    nb = _notebook(("code", "loss = 0.399253848"), ("markdown", "# Chapter\n\nThe loss is {eval}`loss`."))
    result = _sphinx_build(tmp_path, nb)
    assert result.returncode != 0
    assert "gives '0.399253848', not a string" in result.stderr
    assert "no value stored in the notebook" in result.stderr
