"""Argument checks shared by every module: each error names the argument it refuses."""
from __future__ import annotations

import numbers

import numpy as np


def positive(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def non_negative(name: str, value) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def in_unit_interval(name: str, value, *, closed: bool = False) -> float:
    """Check ``value`` lies in [0, 1) (or [0, 1] with ``closed=True``); raise ``ValueError`` naming it."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and np.isfinite(value)
        and 0 <= value
        and (value <= 1 if closed else value < 1)
    )
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return float(value)


def positive_int(name: str, value) -> int:
    """Return ``value`` if it is an integer >= 1, else raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


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
