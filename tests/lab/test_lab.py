"""The chapters as a reader meets them in JupyterLab (``make lab``, Binder), in headless Chromium.

Each chapter is opened once in JupyterLab (conftest.py: the project's venv, a loopback port, a copy of
chapters/) and looked at as a reader would, in this order:

1. **on opening**, before any cell runs: every number the prose inserts with ``{eval}`` shows its stored
   value (not the expression); the exercises are boxes, each solution a closed dropdown, and the code
   cells of a solution are collapsed (source and outputs);
2. **Run All** (after clearing the outputs, so that every cell is seen to run again): no error output
   (no exception, nothing on stderr), and jupyterlab-myst computes the prose numbers (their stored
   values removed first) equal to the stored ones;
3. **every live explorer** (the ``remove-cell`` cells that call ``Explorer.live``): each control moved
   one step changes the picture.

Screenshots of each stage, and what was seen (``<chapter>.json``), are kept in test-artifacts/lab/. Every
wait is bounded (see the constants).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from conversion import chapter_params  # (tests/conversion.py: conftest.py puts tests/ on sys.path)

ROOT = Path(__file__).resolve().parents[2]

OPEN_SECONDS = 120      # page loaded, kernel started and idle
RUN_ALL_SECONDS = 240   # Run All of one chapter (nbval: under 15 s each outside a browser)
PICTURE_SECONDS = 60    # one explorer redraw after a control moves
RENDER_SECONDS = 30     # one markdown cell rendered

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
DIRECTIVE = r"^ {0,3}(?::{3,}|`{3,})\{%s\}"


def _notebook(path: Path) -> dict:
    return json.loads(path.read_text())


def _source(cell) -> str:
    return "".join(cell["source"])


def _eval_expressions(markdown: str) -> list[str]:
    from book.outputs import eval_expressions  # (ROOT is on sys.path: conftest.py)
    return eval_expressions(markdown)


def stored_numbers(nb: dict) -> dict[int, dict[str, str]]:
    """Markdown cell index -> {expression: stored text, without the quotes of a string}."""
    numbers = {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and _eval_expressions(_source(cell)):
            stored = {entry["expression"]: entry["result"].get("data", {}).get("text/plain", "")
                      for entry in cell["metadata"].get("user_expressions", [])}
            numbers[i] = {expression: re.sub(r"^(['\"])(.*)\1$", r"\2", stored.get(expression, ""))
                          for expression in _eval_expressions(_source(cell))}
    return numbers


def directives(nb: dict, name: str) -> int:
    return sum(len(re.findall(DIRECTIVE % re.escape(name), _source(cell), re.MULTILINE))
               for cell in nb["cells"] if cell["cell_type"] == "markdown")


def exercise_labels(nb: dict) -> list[str]:
    labels = []
    for cell in nb["cells"]:
        for block in re.split(DIRECTIVE % "exercise", _source(cell), flags=re.MULTILINE)[1:]:
            match = re.match(r"[^\n]*\n(?::[a-z-]+:.*\n)*?:label:\s*(\S+)", block)
            labels.append(match.group(1) if match else None)
    return labels


def solution_code_cells(nb: dict) -> list[int]:
    inside, cells = False, []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and re.search(DIRECTIVE % "solution-start", _source(cell), re.M):
            inside = True
        elif cell["cell_type"] == "markdown" and re.search(DIRECTIVE % "solution-end", _source(cell), re.M):
            inside = False
        elif inside and cell["cell_type"] == "code":
            cells.append(i)
    return cells


#: How a cell starts a live explorer: optlib.widgets' Explorer.live(...) (a LiveExplorer).
LIVE_CALL = re.compile(r"\.live\(")


def live_explorer_cells(nb: dict) -> list[int]:
    return [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
            and "remove-cell" in cell["metadata"].get("tags", []) and LIVE_CALL.search(_source(cell))]


WITH_NUMBERS = [path for path in CHAPTERS if stored_numbers(_notebook(path))]
WITH_EXPLORERS = [path for path in CHAPTERS if live_explorer_cells(_notebook(path))]

# --- JavaScript run in the page (JupyterLab started with --expose-app-in-browser) ----------------------
PANEL = "window.jupyterapp.shell.currentWidget"
CELL_NODE = f"i => {PANEL}.content.widgets[i].node"
KERNEL_IDLE = """name => window.jupyterapp?.shell.currentWidget?.context?.path === name &&
    window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel?.status === 'idle'"""
#: a rendered markdown cell's text, closed solution dropdowns included (textContent, not innerText: a
#: number in a solution is rendered, and shows when the reader opens it)
RENDERED_TEXT = """e => e.classList.contains('jp-mod-rendered') && e.querySelector('.myst')
    ? e.querySelector('.myst').textContent : null"""
ALL_RAN = f"""() => {{
    const panel = {PANEL}, code = panel.content.widgets.filter(c => c.model.type === 'code');
    const first = code[0].model.executionCount;
    return panel.sessionContext.session.kernel.status === 'idle' && first !== null &&
        code.every((c, k) => c.model.executionCount === first + k);
}}"""
ERROR_OUTPUTS = f"""() => {PANEL}.content.widgets.flatMap((c, i) => c.model.type !== 'code' ? [] :
    c.model.outputs.toJSON()
        .filter(o => o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'))
        .map(o => [i, o.output_type === 'error' ? o.ename + ': ' + o.evalue : String(o.text).slice(0, 300)]))"""
EVALUATED = f"""i => ({PANEL}.content.widgets[i].model.getMetadata('user_expressions') || [])
    .map(e => [e.expression, e.result.status === 'ok' ? e.result.data['text/plain'] : e.result.ename])"""
FORGET_NUMBERS = f"indices => indices.forEach(i => {PANEL}.content.widgets[i].model.deleteMetadata('user_expressions'))"
#: The pictures a live explorer shows: every visible image in the cell's outputs (an ``interactive``'s
#: output, or a LiveExplorer's background and the overlays of the layers shown).
SHOWN_IMAGES = ("[...e.querySelectorAll('.jp-OutputArea-output img')]"
                ".filter(i => i.offsetParent !== null).map(i => i.src).join('|')")
PICTURE = f"e => {SHOWN_IMAGES}"
PICTURE_CHANGED = f"""([e, before]) => {{
    const now = {SHOWN_IMAGES};
    return now !== '' && now !== before;
}}"""
#: Its controls: an ``interactive``'s children but its output, or a LiveExplorer's sliders, menus and
#: toggle buttons.
CONTROLS = (".widget-interact > :not(.widget-output), .jp-OutputArea-output .widget-slider, "
            ".jp-OutputArea-output .widget-dropdown, .jp-OutputArea-output .widget-toggle-buttons")
EXERCISES = """e => ({
    boxes: [...e.querySelectorAll('aside.myst-exercise[id]')].map(a => a.id),
    solutions: [...e.querySelectorAll('details.myst-exercise')].map(d => ({
        open: d.open,
        shown: [...d.children].filter(c => c.tagName !== 'SUMMARY' && c.checkVisibility()).length}))
})"""
CELL_COLLAPSED = """e => ({source: e.querySelector('.jp-InputPlaceholder') !== null,
    outputs: e.querySelector('.jp-OutputArea-output') === null || e.querySelector('.jp-OutputPlaceholder') !== null})"""


def _cell(page, index: int):
    node = page.evaluate_handle(CELL_NODE, index).as_element()
    node.evaluate("e => e.scrollIntoView({block: 'center'})")
    return node


def _rendered_text(page, index: int) -> str:
    node = _cell(page, index)
    page.wait_for_function(f"e => ({RENDERED_TEXT})(e) !== null", arg=node, timeout=RENDER_SECONDS * 1000)
    return node.evaluate(RENDERED_TEXT)


def _move(control) -> tuple[str, str, str]:
    """Move one control one step: (its label, value before, value after)."""
    label = control.query_selector(".widget-label").inner_text()
    handle = control.query_selector(".noUi-handle")
    if handle is not None:
        before = handle.get_attribute("aria-valuetext")
        handle.focus()
        handle.press("ArrowRight")
        if handle.get_attribute("aria-valuetext") == before:  # at the top of its range
            handle.press("ArrowLeft")
        return label, before, handle.get_attribute("aria-valuetext")
    select = control.query_selector("select")
    if select is not None:
        before = select.evaluate("s => s.value")
        after = select.evaluate("s => [...s.options].map(o => o.value).find(v => v !== s.value)")
        select.select_option(after)
        return label, before, after
    buttons = control.query_selector_all("button")
    if buttons:  # toggle buttons, a checkbox's box
        pressed = [b for b in buttons if "mod-active" not in (b.get_attribute("class") or "")]
        (pressed or buttons)[0].click()
        return label, "", (pressed or buttons)[0].inner_text()
    box = control.query_selector("input[type=checkbox]")
    before = str(box.is_checked())
    box.click()
    return label, before, str(box.is_checked())


def observe(path: Path, lab: dict, chromium, artifacts: Path) -> dict:
    """Open, look at, Run All and play with one chapter; what was seen, for the tests below."""
    nb, name, seen = _notebook(path), path.name, {"problems": []}
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    try:
        page.goto(f"{lab['url']}/lab/tree/{name}?reset&token={lab['token']}")
        page.wait_for_function(KERNEL_IDLE, arg=name, timeout=OPEN_SECONDS * 1000, polling=250)
        page.screenshot(path=artifacts / f"{path.stem}-1-opened.png")

        # 1. before any cell runs
        seen["numbers"] = {}
        for i, numbers in stored_numbers(nb).items():
            text = _rendered_text(page, i)
            codes = _cell(page, i).evaluate("e => [...e.querySelectorAll('.myst code')].map(c => c.innerText)")
            seen["numbers"][i] = {"text": text, "expected": numbers,
                                  "missing": [value for value in numbers.values() if not value or value not in text],
                                  "unevaluated": [e for e in numbers if e in codes]}
        if seen["numbers"]:
            _cell(page, min(seen["numbers"]))
            page.screenshot(path=artifacts / f"{path.stem}-2-numbers.png")
        boxes, solutions = [], []
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "markdown" and re.search(r"\{(exercise|solution|solution-start)\}", _source(cell)):
                _rendered_text(page, i)
                found = _cell(page, i).evaluate(EXERCISES)
                boxes += found["boxes"]
                solutions += found["solutions"]
                if len(boxes) == len(found["boxes"]) and found["boxes"]:
                    page.screenshot(path=artifacts / f"{path.stem}-3-exercises.png")
        seen["exercises"] = {"boxes": boxes, "labels": exercise_labels(nb), "solutions": solutions,
                             "solution_directives": directives(nb, "solution") + directives(nb, "solution-start"),
                             "code": {i: _cell(page, i).evaluate(CELL_COLLAPSED) for i in solution_code_cells(nb)}}

        # 2. Run All, from cleared outputs and without the stored numbers (so they are seen computed)
        page.evaluate(f"() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        page.evaluate(FORGET_NUMBERS, list(stored_numbers(nb)))
        start = time.monotonic()
        page.evaluate(f"() => {{ window.jupyterapp.commands.execute('notebook:run-all-cells'); }}")
        page.wait_for_function(ALL_RAN, timeout=RUN_ALL_SECONDS * 1000, polling=500)
        seen["run_seconds"] = time.monotonic() - start
        seen["errors"] = page.evaluate(ERROR_OUTPUTS)
        seen["evaluated"] = {i: dict(page.evaluate(EVALUATED, i)) for i in stored_numbers(nb)}
        page.screenshot(path=artifacts / f"{path.stem}-4-ran.png")

        # 3. the live explorers
        seen["explorers"] = {}
        for i in live_explorer_cells(nb):
            cell = _cell(page, i)
            page.wait_for_function(f"e => ({PICTURE})(e) !== ''", arg=cell, timeout=PICTURE_SECONDS * 1000)
            moves = []
            for control in cell.query_selector_all(CONTROLS):
                before = cell.evaluate(PICTURE)
                label, old, new = _move(control)
                try:
                    page.wait_for_function(PICTURE_CHANGED, arg=[cell, before], timeout=PICTURE_SECONDS * 1000,
                                           polling=200)
                    changed = True
                except Exception:  # playwright's TimeoutError: the picture stayed the same
                    changed = False
                moves.append({"control": label, "from": old, "to": new, "picture_changed": changed})
            seen["explorers"][i] = moves
            cell.screenshot(path=artifacts / f"{path.stem}-5-explorer-cell{i}.png")
    finally:
        page.evaluate("() => window.jupyterapp?.serviceManager.sessions.shutdownAll()")
        page.close()
        (artifacts / f"{path.stem}.json").write_text(json.dumps(seen, indent=1))
    return seen


_SEEN: dict[str, dict] = {}


@pytest.fixture
def seen(request, lab, chromium, artifacts):
    path = request.node.callspec.params["path"]
    if path.stem not in _SEEN:
        _SEEN[path.stem] = observe(path, lab, chromium, artifacts)
    return _SEEN[path.stem]


# --- the tests ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", WITH_NUMBERS, ids=lambda path: path.stem)
def test_prose_numbers_show_on_opening(path, seen):
    problems = {i: cell for i, cell in seen["numbers"].items() if cell["missing"] or cell["unevaluated"]}
    assert seen["numbers"] and not problems, f"{path.name}: numbers not shown before running: {problems}"


@pytest.mark.parametrize("path", chapter_params(CHAPTERS, "normalized"))
def test_exercises_are_boxes_with_their_solutions_collapsed(path, seen):
    exercises = seen["exercises"]
    assert exercises["labels"] and exercises["boxes"] == exercises["labels"], (
        f"{path.name}: exercise boxes {exercises['boxes']}, labels {exercises['labels']}")
    assert len(exercises["solutions"]) == exercises["solution_directives"], exercises["solutions"]
    assert not [s for s in exercises["solutions"] if s["open"] or s["shown"]], (
        f"{path.name}: solutions shown before they are asked for: {exercises['solutions']}")
    open_code = {i: state for i, state in exercises["code"].items() if not all(state.values())}
    assert not open_code, f"{path.name}: solution code cells not collapsed (run `make outputs`): {open_code}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_run_all_gives_no_error_output(path, seen):
    assert not seen["errors"], f"{path.name}: error output after Run All: {seen['errors']}"


@pytest.mark.parametrize("path", WITH_NUMBERS, ids=lambda path: path.stem)
def test_run_all_computes_the_stored_prose_numbers(path, seen):
    differ = {}
    for i, expected in seen["numbers"].items():
        computed = {expression: re.sub(r"^(['\"])(.*)\1$", r"\2", text)
                    for expression, text in seen["evaluated"][i].items()}
        if computed != expected["expected"]:
            differ[i] = {"stored": expected["expected"], "run": computed}
    assert not differ, f"{path.name}: the stored numbers differ from JupyterLab's run (make outputs): {differ}"


@pytest.mark.parametrize("path", WITH_EXPLORERS, ids=lambda path: path.stem)
def test_every_live_explorer_control_changes_the_picture(path, seen):
    assert seen["explorers"] and all(seen["explorers"].values()), f"{path.name}: no controls found"
    still = {i: [m for m in moves if not m["picture_changed"] or m["from"] == m["to"]]
             for i, moves in seen["explorers"].items()}
    assert not any(still.values()), f"{path.name}: controls that did not change the picture: {still}"
