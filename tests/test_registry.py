"""One registry: an optimizer registered anywhere appears in the race, Appendix A's check, the tests'
tables, the colours and the benchmark, with no other edit (README.md, "Adding an optimizer")."""
import ast
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

import optlib
from optlib import functions, optimizers
from optlib.optimizers import Hyperparameter, Optimizer

ROOT = Path(__file__).resolve().parents[1]


class Dummy(Optimizer):
    r"""SGD with a damped step, under a name of its own: :math:`\theta \leftarrow \theta - \alpha c g`."""

    damping = Hyperparameter(1.0, optlib._checks.positive)
    color = "#123456"

    def update(self, theta, g, *, lr):
        theta -= lr * self.damping * g

    def torch_equivalent(self):
        return "SGD", {}  # the same steps when damping = 1 (its default)


@pytest.fixture
def dummy_registered(monkeypatch):
    monkeypatch.setitem(optimizers.OPTIMIZERS, "Dummy", Dummy)
    yield Dummy


def import_from(directory: Path, module: str):
    sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(directory))


def test_a_registered_optimizer_appears_everywhere_without_other_edits(dummy_registered):
    # the race
    result = functions.race([optlib.booth], grid=[0.01, 0.05], steps=20)
    assert "Dummy" in result.names
    np.testing.assert_array_equal(result["booth", "Dummy"].x, result["booth", "SGD"].x)  # damping 1: SGD
    # Appendix A's check: it now lacks a row, and says so
    formula_index = import_from(ROOT / "tests", "test_formula_index")
    assert "optlib.optimizers.Dummy" in formula_index.names_without_a_row(formula_index.read_appendix())
    # the tables of tests/test_optimizers.py, the torch comparison included
    test_optimizers = import_from(ROOT / "tests", "test_optimizers")
    cases = dict(test_optimizers.torch_cases())
    assert "Dummy" in cases and "Dummy-schedule" in cases
    torch = pytest.importorskip("torch")
    test_optimizers.against_torch(torch, cases["Dummy-schedule"]())
    # the colours
    plotting = pytest.importorskip("optlib.plotting")
    assert plotting.COLORS["Dummy"] == "#123456" and plotting.color_for("Dummy (damped)") == "#123456"
    # the benchmark
    bench = import_from(ROOT / "benchmarks", "bench_optimizers")
    assert "Dummy" in bench.cases()
    # Appendix B's rules (book/rules.py): its update, as the class writes it
    rules = dict(import_from(ROOT / "book", "rules").rule_sources())
    assert rules["Dummy"] == "def update(self, theta, g, *, lr):\n    theta -= lr * self.damping * g"


def test_appendix_b_shows_every_rule_with_the_hooks_it_overrides():
    rules = dict(import_from(ROOT / "book", "rules").rule_sources())
    assert list(rules) == list(optimizers.OPTIMIZERS)
    assert rules["SGD"] == "def update(self, theta, g, *, lr):\n    theta -= lr * g"
    assert rules["Nesterov"].startswith("def gradient_point(self, theta, u):")  # the look-ahead first
    assert "def step_scalars" in rules["Adam"] and "def step_scalars" not in rules["AdamW"]
    for name, source in rules.items():
        tree = ast.parse(source)
        defined = [node.name for node in tree.body]
        assert defined[-1] == "update", (name, defined)  # every optimizer writes its own update


def test_the_registry_is_the_list_of_the_course(dummy_registered):
    assert optimizers.make("Dummy", 0.1, damping=0.5).damping == 0.5
    assert optimizers.default_hyperparameters("Dummy") == {"damping": 1.0}
    with pytest.raises(ValueError, match="damping"):
        Dummy(0.1, damping=0)


def test_register_refuses_what_is_not_an_optimizer():
    with pytest.raises(ValueError, match="Optimizer"):
        optimizers.register(object)
    with pytest.raises(ValueError, match="Optimizer"):
        optimizers.register(optlib.SGD(0.1))

