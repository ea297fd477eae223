"""Which optlib names each chapter's code uses: the truth Appendix A's "Chapter" column is checked against.

A chapter uses a public name of optlib when one of its code cells refers to it (markdown does not count,
nor calls made inside optlib, such as ``moons_split`` calling ``train_val_split``). Read with ``ast``, cell
after cell as one kernel runs them (an alias made in one cell holds in the next):

* ``import optlib`` then ``optlib.Adam``, ``optlib.plotting.COLORS``; ``from optlib import plotting`` then
  ``plotting.COLORS``; ``from optlib import Adam`` or ``from optlib.widgets import explorer as e``: each
  name is counted under the module that defines it (``optlib.optimizers.Adam``);
* a module-level instance counts as its class too (``optlib.rosenbrock``: ``optlib.functions.Rosenbrock``);
* an optimizer named by a string (``make("Adam", lr)``, ``OPTIMIZERS["Adam"]``, ``race(names=[...])``) is
  used if the chapter uses the registry (``OPTIMIZERS``, ``make``, ``default_hyperparameters`` or ``race``);
  ``race(...)`` without ``names=`` races every optimizer the registry puts in the race;
* ``Class.method`` (a row like ``optlib.optimizers.Optimizer.state_nbytes``) is used where the chapter
  uses that class or a subclass and accesses ``.method`` on something.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import json
from functools import lru_cache
from pathlib import Path

import optlib

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS_DIR = ROOT / "chapters"
REGISTRY_NAMES = {"OPTIMIZERS", "make", "default_hyperparameters", "race"}


def chapter_title(path: Path) -> str:
    """The notebook's "# N. Title" heading, as Appendix A's Chapter column writes it ("3. Momentum ...")."""
    first = "".join(json.loads(path.read_text())["cells"][0]["source"]).splitlines()[0]
    return first.lstrip("#").strip()


@lru_cache(maxsize=None)
def homes(modules: tuple) -> dict:
    """Public name -> ``optlib.<module>.<name>`` for the names the modules define."""
    from test_formula_index import defined_names

    return {name: f"optlib.{module}.{name}" for module in modules for name in defined_names(module)}


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def notebook_uses(path: Path, modules: tuple) -> tuple[set, set]:
    """(the canonical optlib names the notebook's code uses, the attribute names it accesses)."""
    home = homes(modules)

    def canonical(parts: list) -> str | None:
        if not parts:
            return None
        if parts[0] in modules:
            return f"optlib.{parts[0]}.{parts[1]}" if len(parts) > 1 and parts[1] in home else None
        return home.get(parts[0])

    aliases: dict[str, list] = {}  # local name -> path inside optlib ([] for optlib itself)
    used, attributes, strings, races_all = set(), set(), set(), False
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "\n".join(line for line in "".join(cell["source"]).splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(source)
        for node in ast.walk(tree):  # imports first: they hold for the whole cell
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "optlib":
                        aliases[alias.asname or "optlib"] = parts[1:] if alias.asname else []
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "optlib":
                base = node.module.split(".")[1:]
                for alias in node.names:
                    aliases[alias.asname or alias.name] = base + [alias.name]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                attributes.add(node.attr)
                chain, inner = [], node
                while isinstance(inner, ast.Attribute):
                    chain.append(inner.attr)
                    inner = inner.value
                if isinstance(inner, ast.Name) and inner.id in aliases:
                    full = aliases[inner.id] + chain[::-1]
                    name = canonical(full[:2] if full and full[0] in modules else full[:1])
                    if name:
                        used.add(name)
            elif isinstance(node, ast.Name) and aliases.get(node.id):
                name = canonical(aliases[node.id])
                if name:
                    used.add(name)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
            if isinstance(node, ast.Call):
                attributes |= {f"{k.arg}=" for k in node.keywords if k.arg}  # train(..., clip_norm=1.0)
            if isinstance(node, ast.Call) and not any(k.arg == "names" for k in node.keywords):
                callee = node.func
                last = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", None)
                if last == "race" and (isinstance(callee, ast.Attribute) or aliases.get("race")):
                    races_all = True
    if any(home.get(name) in used for name in REGISTRY_NAMES):
        used |= {f"optlib.optimizers.{name}" for name in optlib.OPTIMIZERS if name in strings}
        if races_all:
            used |= {f"optlib.optimizers.{name}" for name, cls in optlib.OPTIMIZERS.items() if cls.in_race}
    for name in list(used):  # instances count as their class
        obj = _resolve(name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj)):
            cls = type(obj)
            if cls.__module__.startswith("optlib."):
                used.add(f"{cls.__module__}.{cls.__name__}")
    for name in list(used):  # a class counts as its optlib base classes (Booth: TestFunction)
        obj = _resolve(name)
        if inspect.isclass(obj):
            used |= {f"{base.__module__}.{base.__name__}" for base in obj.__mro__[1:]
                     if base.__module__.startswith("optlib.") and base.__name__ in homes(modules)}
    for implied, (by, reason) in IMPLIED.items():
        if by(used, attributes):
            used.add(implied)
    return used, attributes


def _any_in(module: str):
    return lambda used, attributes: any(name.startswith(f"optlib.{module}.") for name in used)


#: names a chapter runs without naming them, and what makes it run them
IMPLIED = {
    "optlib.plotting.compact_png": (lambda used, attributes: "optlib.plotting.use_style" in used,
                                    "use_style makes it the notebook's PNG formatter"),
    "optlib.widgets.LiveExplorer": (lambda used, attributes: "optlib.widgets.explorer" in used
                                    and "live" in attributes, "Explorer.live returns one"),
    "optlib.optimizers.all_finite": (lambda used, attributes: "optlib.optimizers.Optimizer" in used,
                                     "every step checks its gradient with it"),
    "optlib.optimizers.accept_gradient": (lambda used, attributes: "optlib.optimizers.Optimizer" in used,
                                          "every step's boundary rule"),
    "optlib.optimizers.Schedule": (_any_in("schedules"), "a schedule of optlib.schedules is one"),
    "optlib.training.clip_grad_norm_": (lambda used, attributes: "optlib.training.train" in used
                                        and "clip_norm=" in attributes, "train(..., clip_norm=c) clips with it"),
}


def uses(chapter: tuple, dotted: str) -> bool:
    """Whether a chapter ((used, attributes) of notebook_uses) uses the row name ``dotted``."""
    used, attributes = chapter
    parts = dotted.split(".")
    if len(parts) == 4:  # optlib.<module>.<Class>.<method>
        cls = _resolve(".".join(parts[:3]))
        return parts[3] in attributes and any(
            inspect.isclass(obj) and issubclass(obj, cls) for obj in map(_resolve, used))
    return dotted in used


def chapters_using(modules: tuple) -> dict:
    """Chapter title -> notebook_uses, for every notebook in chapters/."""
    return {chapter_title(path): notebook_uses(path, modules) for path in sorted(CHAPTERS_DIR.glob("*.ipynb"))}


def number(title: str) -> str:
    return title.split(".")[0]


def column_of(names: list, chapters: dict) -> str:
    """The Chapter column a row of these names must have: its chapters in order, "every chapter", or
    "no chapter yet"."""
    using = [title for title, chapter in chapters.items() if any(uses(chapter, name) for name in names)]
    if using and len(using) == len(chapters):
        return "every chapter"
    return "; ".join(sorted(using, key=lambda t: int(number(t)))) or "no chapter yet"


def claimed(column: str, chapters: dict) -> set:
    column = column.strip()
    if column == "every chapter":
        return set(chapters)
    if column in ("no chapter yet", "—"):
        return set()
    return {part.strip() for part in column.split(";")}


def column_for(row_column: str, names: list, chapters: dict) -> str:
    """The Chapter column a row may keep: the chapters it names that use it, or else all that do."""
    using = claimed(column_of(names, chapters), chapters)
    kept = claimed(row_column, chapters) & using
    if not kept or row_column.strip() == "every chapter":
        return column_of(names, chapters)
    return "; ".join(sorted(kept, key=lambda t: int(number(t))))


if __name__ == "__main__":  # print (with --fix: rewrite) each row whose column names a chapter that does not use it
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_formula_index import APPENDIX, MODULES, optlib_mentions, read_appendix

    chapters = chapters_using(tuple(MODULES))
    text = APPENDIX.read_text(encoding="utf-8")
    for row in sum(read_appendix(), []):
        names = [name for name, _ in optlib_mentions(row["optlib"])]
        want = column_for(row["Chapter"], names, chapters)
        if claimed(row["Chapter"], chapters) != claimed(want, chapters):
            print(f"{', '.join(names)}\n    says: {row['Chapter']}\n    uses: {want}")
            old_cells = f"| {row['optlib']} |", f"| {row['Chapter']} |"
            lines = [line for line in text.split("\n") if line.startswith(old_cells[0]) or
                     (old_cells[0] in line and line.startswith("| $"))]
            for line in lines:
                text = text.replace(line, line.replace(old_cells[1], f"| {want} |", 1))
    if "--fix" in sys.argv:
        APPENDIX.write_text(text, encoding="utf-8")
