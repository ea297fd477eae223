"""Argument checks shared by every module: each error names the argument it refuses.

Every check has the signature ``check(name, value)`` and returns the value in its canonical type, so
that a declared hyperparameter (:class:`optlib.optimizers.Hyperparameter`) can name its check alone.
"""
from __future__ import annotations

import numbers

import numpy as np


def _is_real(value) -> bool:
    """A real number that is not a bool (True is an int in Python, but never a learning rate)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def positive(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise ``ValueError`` naming it."""
    if not _is_real(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def non_negative(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ``ValueError`` naming it."""
    if not _is_real(value) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def in_unit_interval(name: str, value, *, closed: bool = False) -> float:
    """Check ``value`` lies in [0, 1) (or [0, 1] with ``closed=True``); raise ``ValueError`` naming it."""
    ok = _is_real(value) and np.isfinite(value) and 0 <= value and (value <= 1 if closed else value < 1)
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return float(value)


def in_open_unit_interval(name: str, value) -> float:
    """Check ``value`` lies in (0, 1), as a multiplicative factor that must shrink; raise naming it."""
    if not _is_real(value) or not 0 < value < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return float(value)


def positive_int(name: str, value) -> int:
    """Return ``value`` if it is an integer >= 1, else raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """Return ``value`` if it is an integer >= 0, else raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def boolean(name: str, value) -> bool:
    """Return ``value`` if it is True or False (not 0, 1 or None), else raise ``ValueError`` naming it."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def one_of(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` naming it and them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def learning_rate(name: str, value):
    """A learning rate: a finite number >= 0 (as in ``torch.optim``: 0 is a step that changes nothing),
    or a schedule, a callable of the step index; else ``ValueError`` naming it."""
    return value if callable(value) else non_negative(name, value)


def float_array(name: str, value) -> np.ndarray:
    """``value`` as a floating-point ndarray (ints become float64); raise ``ValueError`` naming it otherwise."""
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    return arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float64)


def same_shape(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise ``ValueError`` naming both arguments if their shapes differ."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}")
