"""The package as a whole: a numpy-only core and the public names the chapters use."""
import subprocess
import sys

import optlib


def test_import_optlib_needs_numpy_only():
    code = "import sys, optlib; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'torch', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_optimizer_is_exported_and_named_as_in_the_notes():
    assert list(optlib.OPTIMIZERS) == ["SGD", "Momentum", "EMAMomentum", "Nesterov", "Adagrad", "RMSProp", "Adam",
                                       "AdamW", "AMSGrad", "NAdam", "RAdam", "Adamax", "Adadelta"]
    for name, cls in optlib.OPTIMIZERS.items():
        assert getattr(optlib, name) is cls


def test_every_public_callable_has_a_docstring_with_its_formula():
    public = {n: getattr(optlib, n) for n in dir(optlib) if not n.startswith("_")}
    for name, obj in public.items():
        if callable(obj) and not isinstance(obj, type(optlib)):
            assert (obj.__doc__ or "").strip(), f"optlib.{name} has no docstring"
