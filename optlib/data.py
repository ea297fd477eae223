r"""Synthetic data sets, made in code so the book downloads nothing, and scikit-learn's bundled digits.

Every function takes ``seed``: an int, or a ``np.random.Generator`` to draw from (then it advances
that generator). The same int gives the same data on every machine.
"""
from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["linear_regression_data", "moons", "moons_split", "spirals", "sparse_features",
           "train_val_split", "digits_split"]


def _rng(seed) -> np.random.Generator:
    """A generator from an int seed (or the generator itself)."""
    return np.random.default_rng(seed)


def linear_regression_data(n: int, d: int, noise: float = 0.1, seed=0, bias: float = 0.0):
    r"""A linear regression problem with known true weights.

    .. math::

        x_i \sim \mathcal N(0, I_d), \quad w^\star \sim \mathcal N(0, I_d), \quad
        y_i = x_i^\top w^\star + b + \sigma \varepsilon_i, \quad \varepsilon_i \sim \mathcal N(0, 1) .

    Parameters
    ----------
    n, d : int
        Number of examples and of features.
    noise : float
        Standard deviation :math:`\sigma` of the label noise, >= 0.
    seed : int or np.random.Generator
    bias : float
        The intercept :math:`b` (0 by default).

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    w_true : ndarray, shape (d,)
    """
    n, d = _checks.positive_int("n", n), _checks.positive_int("d", d)
    noise = _checks.non_negative("noise", noise)
    rng = _rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = X @ w_true + float(bias) + noise * rng.standard_normal(n)
    return X, y, w_true


def moons(n: int, noise: float = 0.1, seed=0):
    r"""Two interleaving half circles (the classic "moons"), shuffled.

    .. math::

        \text{class 0: } (\cos t, \sin t), \qquad
        \text{class 1: } (1 - \cos t,\ \tfrac12 - \sin t), \qquad t \in [0, \pi],

    with :math:`t` evenly spaced and Gaussian noise of standard deviation ``noise`` added to each
    coordinate. Both half circles have radius 1, centred at :math:`(0, 0)` and :math:`(1, \tfrac12)`.
    Class 0 gets ``n // 2`` points, class 1 the rest.

    Returns
    -------
    X : ndarray, shape (n, 2)
    labels : ndarray of int, shape (n,)
        0 or 1.
    """
    n = _checks.positive_int("n", n)
    noise = _checks.non_negative("noise", noise)
    rng = _rng(seed)
    n0 = n // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    labels = np.repeat([0, 1], [n0, n - n0])
    order = rng.permutation(n)
    return X[order], labels[order]


def moons_split(n_train: int, n_val: int, noise: float = 0.1, seed=0):
    r"""Moons for training and for validation: one draw of :func:`moons`, split at random.

    .. math::

        (X, y) = \operatorname{moons}(n_\text{train} + n_\text{val}),

        \text{validation set: } n_\text{val} \text{ of its examples, drawn without replacement}

    The split is :func:`train_val_split` with the fraction
    :math:`n_\text{val} / (n_\text{train} + n_\text{val})`. Both sets come from the same
    distribution, so a gap between the training and the validation loss measures overfitting, not a
    change of data. The overfitting run of chapter 7, which chapter 8 regularizes, is
    ``moons_split(30, 200, noise=0.3, seed=1)``.

    Parameters
    ----------
    n_train, n_val : int
        Number of training and of validation examples, each >= 1.
    noise : float
        Standard deviation of the noise on each coordinate, as in :func:`moons`.
    seed : int or np.random.Generator
        Seeds both the draw and the split (a generator is advanced by both).

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray
        Shapes (n_train, 2), (n_train,), (n_val, 2), (n_val,).
    """
    n_train = _checks.positive_int("n_train", n_train)
    n_val = _checks.positive_int("n_val", n_val)
    X, labels = moons(n_train + n_val, noise=noise, seed=seed)
    return train_val_split(X, labels, val_fraction=n_val / (n_train + n_val), seed=seed)


def spirals(n: int, k: int = 2, noise: float = 0.2, seed=0):
    r"""``k`` interleaved spiral arms, one class each (the CS231n spiral set), shuffled.

    .. math::

        r = \frac{i}{m - 1}, \qquad
        \phi = 4 (j + r) + \sigma \varepsilon, \qquad
        x = r\,(\sin \phi, \cos \phi),

    for point :math:`i = 0, \dots, m - 1` of class :math:`j`: the radius grows from 0 to 1 while the
    angle sweeps :math:`[4j, 4(j + 1)]` radians, with Gaussian noise of standard deviation ``noise``
    on the angle.

    Parameters
    ----------
    n : int
        Total number of points, split as evenly as possible between the classes.
    k : int
        Number of classes (arms), >= 2.
    noise : float
        Standard deviation of the angle noise, in radians.
    seed : int or np.random.Generator

    Returns
    -------
    X : ndarray, shape (n, 2)
    labels : ndarray of int, shape (n,)
        In ``0, ..., k - 1``.

    References
    ----------
    Stanford CS231n, "Putting it together: minimal neural network case study".
    """
    n = _checks.positive_int("n", n)
    k = _checks.positive_int("k", k)
    if k < 2:
        raise ValueError(f"k must be >= 2 classes, got {k}")
    noise = _checks.non_negative("noise", noise)
    rng = _rng(seed)
    counts = [n // k + (j < n % k) for j in range(k)]
    points, labels = [], []
    for j, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        phi = np.linspace(4.0 * j, 4.0 * (j + 1), m) + noise * rng.standard_normal(m)
        points.append(np.column_stack([r * np.sin(phi), r * np.cos(phi)]))
        labels.append(np.full(m, j))
    X, labels = np.vstack(points), np.concatenate(labels)
    order = rng.permutation(n)
    return X[order], labels[order]


def sparse_features(n: int, d: int, rare_prob: float = 0.05, seed=0, n_rare: int | None = None,
                    noise: float = 0.0):
    r"""A regression with some features that are rarely active (non-zero), for Adagrad's demo.

    .. math::

        X_{ij} = m_{ij} z_{ij}, \quad z_{ij} \sim \mathcal N(0, 1), \quad
        m_{ij} \sim \begin{cases} \mathrm{Bernoulli}(p) & j \text{ rare} \\ 1 & \text{otherwise}\end{cases},

        y = X w^\star + \sigma \varepsilon .

    The last ``n_rare`` columns are the rare ones: most of their entries are 0, so their gradients are
    mostly 0 too, and Adagrad's accumulated cache for them stays small (a larger effective rate).

    Parameters
    ----------
    n, d : int
    rare_prob : float
        Probability :math:`p` that a rare feature is active, in (0, 1].
    seed : int or np.random.Generator
    n_rare : int, optional
        Number of rare columns; ``d // 2`` by default.
    noise : float
        Standard deviation :math:`\sigma` of the label noise.

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    w_true : ndarray, shape (d,)
    rare : ndarray of bool, shape (d,)
        True for the rare columns.
    """
    n, d = _checks.positive_int("n", n), _checks.positive_int("d", d)
    rare_prob = _checks.in_unit_interval("rare_prob", rare_prob, closed=True)
    if rare_prob == 0:
        raise ValueError("rare_prob must be > 0 (a feature that is never active cannot be learned)")
    n_rare = d // 2 if n_rare is None else int(n_rare)
    if not 0 <= n_rare <= d:
        raise ValueError(f"n_rare must lie in [0, d={d}], got {n_rare}")
    noise = _checks.non_negative("noise", noise)
    rng = _rng(seed)
    rare = np.arange(d) >= d - n_rare
    active = np.where(rare, rng.random((n, d)) < rare_prob, True)
    X = active * rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = X @ w_true + noise * rng.standard_normal(n)
    return X, y, w_true, rare


def train_val_split(X, y, val_fraction: float = 0.2, seed=0):
    r"""Shuffle the examples and hold out a fraction of them for validation.

    .. math::

        n_\text{val} = \operatorname{round}(f\, n), \text{ clipped to } [1, n - 1] .

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray
        Note the order: training pair first, then validation pair.

    Raises
    ------
    ValueError
        If ``X`` and ``y`` have different lengths, fewer than 2 examples, or ``val_fraction`` is not in
        (0, 1).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} and {len(y)}")
    if len(X) < 2:
        raise ValueError(f"X must have at least 2 examples to split, got {len(X)}")
    val_fraction = _checks.in_unit_interval("val_fraction", val_fraction)
    if val_fraction == 0:
        raise ValueError("val_fraction must be > 0")
    n = len(X)
    n_val = min(max(int(round(val_fraction * n)), 1), n - 1)
    order = _rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]


def _digits_pixels_and_labels():
    """The 1,797 digits as (pixels 0..16, labels), read from the file inside the installed scikit-learn.

    ``sklearn.datasets.load_digits`` reads this same file (``datasets/data/digits.csv.gz``, one image per
    row, its label last); reading it directly skips importing scikit-learn, which takes seconds. If the
    file is not where it was, ``load_digits`` itself is used.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("digits_split needs scikit-learn, which ships the digits: "
                                  "pip install scikit-learn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        table = np.loadtxt(path, delimiter=",")
        return table[:, :-1], table[:, -1].astype(int)
    from sklearn.datasets import load_digits
    return load_digits(return_X_y=True)


def digits_split(seed=0):
    r"""scikit-learn's handwritten digits, scaled to [0, 1] and split into training, validation and test sets.

    The data: 1,797 grey images of 8 x 8 pixels (the 64 features, intensities 0 to 16), labelled
    0 to 9, about 180 per digit (the UCI "optical recognition of handwritten digits" test set, shipped
    inside scikit-learn: nothing is downloaded). Each pixel is divided by 16,

    .. math::
        x_{ij} = \frac{\text{pixel}_{ij}}{16} \in [0, 1],

    a fixed scaling that needs no statistics of the data (so nothing leaks from the validation or test
    images into the training set) and keeps every feature on the same scale. The examples are shuffled
    with ``np.random.default_rng(seed).permutation`` and cut into

    .. math::
        n_\text{test} = n_\text{val} = 360, \qquad n_\text{train} = 1797 - 720 = 1077

    (20 %, 20 % and 60 %). The book always uses ``seed=0``: the same three sets on every machine.
    Tune on the validation set; look at the test set once, at the end.

    Parameters
    ----------
    seed : int or np.random.Generator
        Seeds the shuffle.

    Returns
    -------
    X_train, y_train, X_val, y_val, X_test, y_test : ndarray
        Shapes (1077, 64), (1077,), (360, 64), (360,), (360, 64), (360,); labels are ints 0..9.

    Raises
    ------
    ModuleNotFoundError
        If scikit-learn is not installed.

    References
    ----------
    Alpaydin & Kaynak (1998), Optical recognition of handwritten digits, UCI Machine Learning Repository;
    ``sklearn.datasets.load_digits``.
    """
    pixels, labels = _digits_pixels_and_labels()
    X = pixels / 16.0
    order = _rng(seed).permutation(len(X))
    test, val, train = order[:360], order[360:720], order[720:]
    return X[train], labels[train], X[val], labels[val], X[test], labels[test]
