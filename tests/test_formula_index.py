r"""Appendix A (chapters/appendix_a_formula_index.md) against optlib, the test files and the notes.

The appendix's two markdown tables are the single source: this file parses them and checks that

1. every public name of optlib appears in some row (a row naming ``optlib.models.MLP.activation_nbytes``
   also covers ``optlib.models.MLP``). "Public" means: every name a module of optlib binds at its top
   level in its source (``def``, ``class`` or an assignment, so constants such as ``BLOCK_BYTES`` and
   ``COLORS`` count, imports do not), not starting with ``_``, for every module in MODULES, including
   ``plotting`` and ``widgets``, and every optimizer in the registry (``optlib.OPTIMIZERS``, read when
   the check runs); and every name ``import optlib`` exports is one of them;
2. every optlib name a row mentions exists, and every ``name=value`` after it is a parameter of it;
3. every test a row names is a test function of that file (parametrized tests without their ``[...]``);
4. the formula table holds exactly the notes' formulas, one row per line and per place (NOTE_FORMULAS).
"""
import ast
import importlib
import inspect
import pkgutil
import re
from collections import Counter
from pathlib import Path

import pytest

import optlib

ROOT = Path(__file__).resolve().parents[1]
APPENDIX = ROOT / "chapters" / "appendix_a_formula_index.md"
NOTES = ROOT.parent / "shared" / "notes"  # the two lecture notes, kept beside the repository, not in a clone

MODULES = ["losses", "optimizers", "schedules", "regularization", "functions", "models", "training", "data", "curvature",
           "plotting", "widgets"]

FORMULA_HEADER = ["Formula", "Note", "optlib", "Chapter", "Test"]
OTHER_HEADER = ["optlib", "What it is", "Chapter", "Test"]

# The chapters' titles, as the notebooks' "# N. Title" headings write them; "no chapter yet" for a name
# that only the tests and the README use (the tools for writing an optimizer, helpers the chapters have
# not adopted yet).
CHAPTERS = {"1. Loss functions", "2. Gradient descent", "3. Momentum and Nesterov", "4. Adaptive learning rates",
            "5. Memory", "6. Learning-rate schedules", "7. Challenges", "8. Regularization", "9. Playground",
            "10. Training a network on real data", "11. Choosing and tuning the optimizer",
            "12. Curvature and preconditioning", "13. The Adam family", "every chapter",
            "no chapter yet"}

# The notes' formulas, one entry per line and per place, as the notes write them (alignment `&` and line
# breaks dropped, runs of spaces collapsed). How they were counted:
#   note 1: SGD 1 line, momentum 2, Nesterov 2, Adagrad 2, RMSProp 2, Adam 3 = 12 update lines, plus the
#           six "Memory:" lines (one per section) = 18;
#   note 2: MSE, cross-entropy, hinge (3), the GD update rule, batch GD, SGD (3), momentum 2, RMSprop 2,
#           Adam 4 (m, v, the bias-corrected pair on one line, the update), exponential decay 1, L2 and
#           L1 total loss 2 (17 display lines), and the dropout rule, which the note states in words = 18.
# 18 + 18 = 36 rows. test_note_formulas_match_the_notes re-derives this list from the notes when present.
NOTE_FORMULAS = [
    (1, r"\theta_{t + 1} = \theta_{t} - \alpha \Delta \theta_{t}"),
    (1, r"memory(\text{forward path})"),
    (1, r"u_{t + 1} = \mu u_{t} + \alpha \nabla E(\theta_{t})"),
    (1, r"\theta_{t + 1} = \theta_{t} - u_{t + 1}"),
    (1, r"memory(\text{forward path}) + memory(u)"),
    (1, r"u_{t + 1} = \mu u_{t} + \alpha \nabla E(\theta_{t} - \mu u_{t})"),
    (1, r"\theta_{t + 1} = \theta_{t} - u_{t + 1}"),
    (1, r"memory(\text{forward path}) + memory(u)"),
    (1, r"cache_{t + 1} = cache_{t} + (\nabla E(\theta_{t}))^2"),
    (1, r"\theta_{t + 1} = \theta_{t} - \alpha \frac{\nabla E(\theta_{t})}{\sqrt{cache_{t + 1}} + \epsilon}"),
    (1, r"memory(\text{forward path}) + memory(cache)"),
    (1, r"cache_{t + 1} = \beta cache_{t} + (1 - \beta) (\nabla E(\theta_{t}))^2"),
    (1, r"\theta_{t + 1} = \theta_{t} - \alpha \frac{\nabla E(\theta_{t})}{\sqrt{cache_{t + 1}} + \epsilon}"),
    (1, r"memory(\text{forward path}) + memory(cache)"),
    (1, r"u_{t + 1} = \gamma u_{t} + (1 - \gamma) \nabla E(\theta_{t})"),
    (1, r"cache_{t + 1} = \beta cache_{t} + (1 - \beta) (\nabla E(\theta_{t}))^2"),
    (1, r"\theta_{t + 1} = \theta_{t} - \alpha \frac{u_{t + 1})}{\sqrt{cache_{t + 1}} + \epsilon}"),
    (1, r"memory(\text{forward path}) + memory(u) + memory(cache)"),
    (2, r"L(\hat{y}, y) = \frac{1}{n} \sum_{i=1}^{n} (\hat{y_i} - y_i)^2"),
    (2, r"L(\hat{y}, y) = - \sum_{i=1}^{n} y_i \log(\hat{y}_i)"),
    (2, r"L(\hat{y}, y) = \max(0, 1 - y \cdot \hat{y})"),
    (2, r"w := w - \eta \frac{\partial L}{\partial w}"),
    (2, r"w := w - \eta \frac{1}{n} \sum_{i=1}^{n} \frac{\partial L_i}{\partial w}"),
    (2, r"w := w - \eta \frac{\partial L_i}{\partial w}"),
    (2, r"v_t = \beta v_{t-1} + (1 - \beta) \frac{\partial L}{\partial w_t}"),
    (2, r"w_t := w_t - \eta v_t"),
    (2, r"E[g^2]_t = \beta E[g^2]_{t-1} + (1 - \beta) g_t^2"),
    (2, r"w_t := w_t - \frac{\eta}{\sqrt{E[g^2]_t + \epsilon}} g_t"),
    (2, r"m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t"),
    (2, r"v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2"),
    (2, r"\hat{m}_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat{v}_t = \frac{v_t}{1 - \beta_2^t}"),
    (2, r"w_t := w_t - \eta \frac{\hat{m}_t}{\sqrt{\hat{v}_t} + \epsilon}"),
    (2, r"\eta_t = \eta_0 \cdot e^{-\lambda t}"),
    (2, r"L_{\text{total}} = L + \lambda \sum_{i=1}^n w_i^2"),
    (2, r"L_{\text{total}} = L + \lambda \sum_{i=1}^n |w_i|"),
    (2, r"For each neuron, with probability $p$, it is removed from the network for that training iteration."),
]
N_NOTE_FORMULAS = 36


# --- parsing the appendix ---------------------------------------------------------------------------------

def _cells(line: str) -> list:
    """The cells of a markdown table row; `\\|` is a pipe inside a cell (GFM), as in |w_i|."""
    inner = line.strip()[1:-1]
    return [c.strip().replace(r"\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def tables(text: str) -> dict:
    """Header tuple -> list of rows (each a dict column -> cell) for every table in ``text``."""
    found, block = {}, []
    for line in text.splitlines() + [""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if block:
            header, rows = _cells(block[0]), [_cells(b) for b in block[2:]]
            for row in rows:
                assert len(row) == len(header), f"row has {len(row)} cells, header {len(header)}: {row}"
            found[tuple(header)] = [dict(zip(header, row)) for row in rows]
            block = []
    return found


def read_appendix() -> tuple:
    """(formula rows, other rows) of Appendix A."""
    found = tables(APPENDIX.read_text(encoding="utf-8"))
    assert tuple(FORMULA_HEADER) in found and tuple(OTHER_HEADER) in found, f"tables found: {list(found)}"
    return found[tuple(FORMULA_HEADER)], found[tuple(OTHER_HEADER)]


@pytest.fixture(scope="module")
def appendix():
    return read_appendix()


def all_rows(appendix):
    formula_rows, other_rows = appendix
    return formula_rows + other_rows


def optlib_mentions(cell: str) -> list:
    """[(dotted name, {keyword: value})] from a cell like "`optlib.optimizers.Adam` `bias_correction=False`"."""
    out = []
    for token in re.findall(r"`([^`]+)`", cell):
        if token.startswith("optlib."):
            out.append((token, {}))
        else:
            key, eq, value = token.partition("=")
            assert eq and key.isidentifier() and out, f"unexpected `{token}` in the optlib cell {cell!r}"
            out[-1][1][key] = ast.literal_eval(value)
    assert out, f"no optlib name in {cell!r}"
    return out


def formula_text(cell: str) -> str:
    """The formula of a cell: the inside of `$...$`, or the whole cell for a rule stated in words."""
    if cell.startswith("$") and cell.endswith("$") and cell.count("$") == 2:
        cell = cell[1:-1]
    return " ".join(cell.split())


# --- what exists --------------------------------------------------------------------------------------------

def defined_names(module: str) -> set:
    """Public names bound at the top level of optlib/<module>.py by def, class or assignment."""
    tree = ast.parse((ROOT / "optlib" / f"{module}.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def required_names() -> set:
    """Every public name of every module, and every registered optimizer (a class registered from
    anywhere, a test included, needs its row too)."""
    return ({f"optlib.{m}.{n}" for m in MODULES for n in defined_names(m)}
            | {f"optlib.optimizers.{name}" for name in optlib.OPTIMIZERS})


def resolve(dotted: str):
    """The object a dotted name denotes: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ModuleNotFoundError:
            continue
    for attr in parts[i:]:
        obj = getattr(obj, attr)
    return obj


def collect_test_names() -> dict:
    """tests/<file> -> the names of its test functions (``Class::test_x`` for methods), read with ast."""
    found = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        names = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                names.update(f"{node.name}::{m.name}" for m in node.body
                             if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name.startswith("test"))
        found[path.relative_to(ROOT).as_posix()] = names
    return found



# --- the checks ---------------------------------------------------------------------------------------------

def test_modules_listed_are_optlibs_modules():
    on_disk = {m.name for m in pkgutil.iter_modules(optlib.__path__) if not m.name.startswith("_")}
    assert on_disk == set(MODULES), "a new optlib module needs its names in Appendix A and in MODULES"


def test_every_exported_name_is_defined_in_a_module():
    """So the per-module rule of required_names() also covers everything `import optlib` exports."""
    for name in dir(optlib):
        obj = getattr(optlib, name)
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        homes = [m for m in MODULES if name in defined_names(m) and getattr(resolve(f"optlib.{m}"), name) is obj]
        assert homes, f"optlib.{name} is not defined at the top level of any module in {MODULES}"


def names_without_a_row(appendix) -> list:
    """The public names (required_names) that no row of Appendix A mentions."""
    mentioned = {name for row in all_rows(appendix) for name, _ in optlib_mentions(row["optlib"])}
    return sorted(n for n in required_names() if not any(m == n or m.startswith(n + ".") for m in mentioned))


def test_every_public_name_has_a_row(appendix):
    missing = names_without_a_row(appendix)
    assert not missing, f"public names with no row in Appendix A: {missing}"


def test_every_name_a_row_mentions_exists(appendix):
    for row in all_rows(appendix):
        for name, kwargs in optlib_mentions(row["optlib"]):
            assert name.split(".")[1] in MODULES, f"{name}: write the full path optlib.<module>.<name>"
            try:
                obj = resolve(name)
            except AttributeError as err:
                pytest.fail(f"Appendix A names {name}, which does not exist ({err})")
            if kwargs:
                params = inspect.signature(obj).parameters
                unknown = set(kwargs) - set(params)
                assert not unknown, f"{name} has no parameter {sorted(unknown)}"


def test_every_test_a_row_names_exists(appendix):
    existing = collect_test_names()
    formula_rows, other_rows = appendix
    # A formula row names at least one test; another name may have none ("—": figures and widgets).
    rows = [(row, True) for row in formula_rows] + [(row, False) for row in other_rows]
    for row, needs_test in rows:
        if not needs_test and row["Test"] == "—":
            continue
        named = re.findall(r"`(tests/[^`:]+\.py)::([^`\[]+)(?:\[[^`]*\])?`", row["Test"])
        assert named, f"no test named in {row['Test']!r} (row {row['optlib']})"
        assert len(named) == row["Test"].count("`") // 2, f"malformed test reference in {row['Test']!r}"
        for path, name in named:
            assert path in existing, f"no test file {path}"
            assert name in existing[path], f"{path} has no test {name}"


def test_every_chapter_named_is_a_chapter_of_the_book(appendix):
    for row in all_rows(appendix):
        for chapter in row["Chapter"].split(";"):
            assert chapter.strip() in CHAPTERS, f"unknown chapter {chapter.strip()!r}"


def test_no_name_has_two_rows(appendix):
    _, other_rows = appendix
    seen = {}
    for row in other_rows:
        for name, _ in optlib_mentions(row["optlib"]):
            assert name not in seen, f"{name} has two rows: {seen[name]!r} and {row['optlib']!r}"
            seen[name] = row["optlib"]


def test_chapter_column_names_chapters_whose_code_uses_the_row(appendix):
    """A row's chapters are chapters whose code uses one of its names (tests/chapter_uses.py reads the
    notebooks); "no chapter yet" only for names no chapter uses. `python tests/chapter_uses.py --fix`
    rewrites the rows that fail."""
    from chapter_uses import chapters_using, claimed, column_of

    chapters = chapters_using(tuple(MODULES))
    wrong = []
    for row in all_rows(appendix):
        names = [name for name, _ in optlib_mentions(row["optlib"])]
        using, said = claimed(column_of(names, chapters), chapters), claimed(row["Chapter"], chapters)
        if not said <= using or (not said and using):
            order = sorted(using, key=lambda t: int(t.split('.')[0]))
            wrong.append(f"{row['optlib']}: says {row['Chapter']!r}, used by {order or 'none'}")
    assert wrong == [], "Appendix A's Chapter column:\n" + "\n".join(wrong)


def test_formula_rows_are_exactly_the_notes_formulas(appendix):
    formula_rows, _ = appendix
    assert len(NOTE_FORMULAS) == N_NOTE_FORMULAS
    assert len(formula_rows) == N_NOTE_FORMULAS
    rows = Counter()
    for row in formula_rows:
        note = re.match(r"note ([12]), \S", row["Note"])
        assert note, f"Note column must read 'note 1, <section>' or 'note 2, <section>': {row['Note']!r}"
        rows[(int(note.group(1)), formula_text(row["Formula"]))] += 1
    expected = Counter((n, " ".join(f.split())) for n, f in NOTE_FORMULAS)
    assert not expected - rows, f"note formulas with no row: {list((expected - rows).elements())}"
    assert not rows - expected, f"rows that are not note formulas: {list((rows - expected).elements())}"


# --- NOTE_FORMULAS against the notes themselves (they live outside the repository) ---------------------------

def extract_note_formulas(text: str) -> list:
    """Every formula line of a note: display blocks \\[...\\] and $$...$$, the Memory lines, the dropout rule."""
    found = []
    for block in re.findall(r"\\\\\[(.*?)\\\\\]|\$\$(.*?)\$\$", text, flags=re.S):
        body = re.sub(r"\\(begin|end)\{(split|equation)\}", "", "".join(block))
        for line in body.splitlines():
            line = re.sub(r"\\+\s*$", "", line).replace("&", "")  # note 1 ends its lines with \\\\\\
            if line.strip():
                found.append(" ".join(line.split()))
    found += [" ".join(m.split()) for m in re.findall(r"^- Memory: \$(.*)\$\s*$", text, flags=re.M)]
    found += [" ".join(m.split()) for m in re.findall(r"^\s*- (For each neuron, with probability \$p\$.*)$",
                                                       text, flags=re.M)]
    return found


@pytest.mark.skipif(not NOTES.is_dir(), reason="the lecture notes are not next to the repository")
def test_note_formulas_match_the_notes():
    for number, pattern in [(1, "note-1-*.md"), (2, "note-2-*.md")]:
        (path,) = NOTES.glob(pattern)
        from_note = Counter(extract_note_formulas(path.read_text(encoding="utf-8")))
        listed = Counter(" ".join(f.split()) for n, f in NOTE_FORMULAS if n == number)
        assert from_note == listed, f"note {number}: {from_note - listed} missing, {listed - from_note} extra"
