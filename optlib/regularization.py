r"""Note 2's regularizers: the L2 and L1 penalties, inverted dropout, and decoupled weight decay.

A penalty is added to the loss, :math:`L_\text{total} = L + \text{penalty}(w)`, so its gradient is
added to the loss's gradient. Conventions differ for L2 (see :func:`l2_penalty`): note 2's
:math:`\lambda \sum w^2` has gradient :math:`2\lambda w`, while PyTorch's ``weight_decay=λ`` adds
:math:`\lambda\theta` to the gradient, i.e. the penalty :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2`.
"""
from __future__ import annotations

import numpy as np

from . import _checks


# ---------------------------------------------------------------------------------------------------
# Penalties
# ---------------------------------------------------------------------------------------------------

def l2_penalty(w, lam: float) -> float:
    r"""L2 (ridge) penalty, note 2's convention.

    .. math::
        \lambda \sum_{i=1}^{n} w_i^2

    PyTorch's ``weight_decay=λ`` corresponds to :math:`\tfrac{\lambda}{2}\lVert w\rVert^2` instead
    (its gradient is :math:`\lambda w`); note 2's penalty with :math:`\lambda` equals PyTorch's with
    :math:`2\lambda`.

    Parameters
    ----------
    w : array_like
        Parameters :math:`w` (any shape; the sum runs over all elements).
    lam : float
        Strength :math:`\lambda \ge 0`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``lam`` is negative or not a finite number.
    """
    lam = _checks.non_negative("lam", lam)
    w = _checks.float_array("w", w)
    return float(lam * np.sum(w ** 2))


def l2_penalty_grad(w, lam: float) -> np.ndarray:
    r"""Gradient of :func:`l2_penalty`: it pulls every weight toward 0 in proportion to its size.

    .. math::
        \frac{\partial}{\partial w_i} \lambda \sum_j w_j^2 = 2 \lambda w_i
    """
    lam = _checks.non_negative("lam", lam)
    w = _checks.float_array("w", w)
    return 2 * lam * w


def l1_penalty(w, lam: float) -> float:
    r"""L1 (lasso) penalty, note 2's convention.

    .. math::
        \lambda \sum_{i=1}^{n} |w_i|

    Parameters
    ----------
    w : array_like
        Parameters :math:`w`.
    lam : float
        Strength :math:`\lambda \ge 0`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``lam`` is negative or not a finite number.
    """
    lam = _checks.non_negative("lam", lam)
    w = _checks.float_array("w", w)
    return float(lam * np.sum(np.abs(w)))


def l1_penalty_grad(w, lam: float) -> np.ndarray:
    r"""A subgradient of :func:`l1_penalty`: a pull of constant size :math:`\lambda` toward 0.

    .. math::
        \frac{\partial}{\partial w_i} \lambda \sum_j |w_j| = \lambda\,\mathrm{sign}(w_i)

    :math:`|w|` has no derivative at :math:`w = 0`; any value in :math:`[-\lambda, \lambda]` is a
    subgradient there, and we use 0 (``np.sign(0) == 0``), so a weight at exactly 0 stays there.
    """
    lam = _checks.non_negative("lam", lam)
    w = _checks.float_array("w", w)
    return lam * np.sign(w)


# ---------------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------------

def dropout(x, p: float, rng: np.random.Generator | None, training: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    r"""Inverted dropout: drop each unit with probability :math:`p`, scale the kept ones by :math:`1/(1-p)`.

    .. math::
        m_i \sim \mathrm{Bernoulli}(1 - p), \qquad y_i = \frac{m_i\, x_i}{1 - p}

    Note 2 removes each neuron with probability :math:`p` during training. Scaling the survivors by
    :math:`1/(1-p)` keeps the expectation, :math:`\mathbb{E}[y_i] = x_i`, so at evaluation time the
    layer is simply the identity (PyTorch's ``nn.Dropout`` works the same way).

    Parameters
    ----------
    x : array_like
        Activations.
    p : float
        Probability of *dropping* a unit, in [0, 1]. ``p = 1`` drops everything: ``y`` is all zeros
        (no division by zero).
    rng : numpy.random.Generator
        Source of the mask, ``mask = rng.random(x.shape) >= p``. While training it draws
        ``x.size`` numbers for every ``p`` (so the stream does not depend on ``p``); when
        ``training=False`` it is not used and may be ``None``.
    training : bool
        If False, return ``y = x`` (a copy) and an all-True mask, drawing no random numbers.

    Returns
    -------
    y : ndarray
        The output, shaped like ``x``.
    mask : ndarray of bool
        True for the units kept; pass it to :func:`dropout_grad` for the backward pass.

    Raises
    ------
    ValueError
        If ``p`` is outside [0, 1], or ``rng`` is not a ``numpy.random.Generator`` while training.

    References
    ----------
    Srivastava et al. (2014), Dropout: a simple way to prevent neural networks from overfitting. JMLR 15.
    """
    x = _checks.float_array("x", x)
    p = _checks.in_unit_interval("p", p, closed=True)
    if not training:
        return x.copy(), np.ones(x.shape, dtype=bool)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    mask = rng.random(x.shape) >= p
    if p == 1:  # every unit dropped; 1/(1-p) would divide by zero
        return np.zeros_like(x), mask
    return x * mask / (1 - p), mask


def dropout_grad(dy, mask, p: float) -> np.ndarray:
    r"""Backward pass of :func:`dropout`: the gradient flows only through the kept units, scaled.

    .. math::
        \frac{\partial L}{\partial x_i} = \frac{m_i}{1 - p} \frac{\partial L}{\partial y_i}

    (all zeros for :math:`p = 1`). ``mask`` and ``p`` must be the ones the forward pass used.

    Raises
    ------
    ValueError
        If ``p`` is outside [0, 1], ``mask`` is not boolean, or the shapes of ``dy`` and ``mask`` differ.
    """
    dy = _checks.float_array("dy", dy)
    p = _checks.in_unit_interval("p", p, closed=True)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array (as returned by dropout), got dtype {mask.dtype}")
    _checks.same_shape("dy", dy, "mask", mask)
    if p == 1:
        return np.zeros_like(dy)
    return dy * mask / (1 - p)


# ---------------------------------------------------------------------------------------------------
# Decoupled weight decay
# ---------------------------------------------------------------------------------------------------

def decoupled_weight_decay(theta: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    r"""Decoupled weight decay, in place: shrink the parameters directly, outside the gradient.

    .. math::
        \theta \leftarrow \theta - \eta\,\mathrm{wd}\,\theta = (1 - \eta\,\mathrm{wd})\,\theta

    AdamW (Loshchilov & Hutter 2019) applies this next to the optimizer's step instead of adding an L2
    gradient :math:`\mathrm{wd}\,\theta` (PyTorch's ``weight_decay``, the penalty
    :math:`\tfrac{\mathrm{wd}}{2}\lVert\theta\rVert^2`; note 2's :math:`\lambda\sum w^2` has gradient
    :math:`2\lambda w`). For plain SGD the two are the same; for Adam they differ, because Adam
    divides the L2 gradient by :math:`\sqrt{\hat{v}}` while the decoupled decay is not rescaled.
    Computed as ``theta *= 1 - lr * weight_decay``, the order of operations PyTorch's AdamW uses.

    Parameters
    ----------
    theta : ndarray of float
        Parameters, updated **in place**.
    lr : float
        Learning rate :math:`\eta > 0`.
    weight_decay : float
        Decay :math:`\mathrm{wd} \ge 0`.

    Returns
    -------
    ndarray
        ``theta`` itself.

    Raises
    ------
    ValueError
        If ``theta`` is not a float ndarray, ``lr`` is not > 0 or ``weight_decay`` is negative.

    References
    ----------
    Loshchilov & Hutter (2019), Decoupled weight decay regularization. ICLR.
    """
    if not isinstance(theta, np.ndarray) or not np.issubdtype(theta.dtype, np.floating):
        raise ValueError("theta must be a floating-point numpy array (it is updated in place)")
    lr = _checks.positive("lr", lr)
    weight_decay = _checks.non_negative("weight_decay", weight_decay)
    np.multiply(theta, 1 - lr * weight_decay, out=theta)
    return theta


# ---------------------------------------------------------------------------------------------------
# Ridge and lasso on linear regression (chapter 8)
# ---------------------------------------------------------------------------------------------------

def _design(X, y) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as an (n, d) float matrix and ``y`` as n targets, or a ValueError naming the argument."""
    X = _checks.float_array("X", X)
    y = _checks.float_array("y", y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty (n, d) matrix, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must hold one target per row of X, shape ({X.shape[0]},), got {y.shape}")
    return X, y


def ridge(X, y, lam: float) -> np.ndarray:
    r"""Ridge regression in closed form: the minimizer of the L2-penalized mean squared error.

    .. math::
        w_\lambda = \arg\min_w \frac{1}{n}\lVert Xw - y\rVert^2 + \lambda \lVert w\rVert^2
                  = (X^\top X + n\lambda I)^{-1} X^\top y

    Note 2's conventions: the loss is a *mean* (hence :math:`n\lambda`, not :math:`\lambda`) and the
    penalty is :func:`l2_penalty`. Setting the gradient :math:`\frac{2}{n}X^\top(Xw - y) + 2\lambda w`
    to zero gives the formula. In the eigenvectors :math:`v_i` of :math:`X^\top X / n` (eigenvalues
    :math:`s_i`) it multiplies the least-squares solution's component along :math:`v_i` by
    :math:`s_i / (s_i + \lambda)`: every weight shrinks, none becomes exactly 0. PyTorch's
    ``weight_decay=wd`` (the penalty :math:`\tfrac{\mathrm{wd}}{2}\lVert w\rVert^2`) is
    ``lam = wd / 2``. No intercept: centre ``X`` and ``y`` first for a model with an unpenalized bias.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, one example per row.
    y : array_like, shape (n,)
        Targets.
    lam : float
        Strength :math:`\lambda \ge 0` (with 0, least squares; :math:`X^\top X` must then be invertible).

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    ValueError
        If ``lam`` is negative or not finite, or ``X`` and ``y`` do not have the shapes above.
    """
    lam = _checks.non_negative("lam", lam)
    X, y = _design(X, y)
    n, d = X.shape
    return np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T @ y)


def soft_threshold(u, tau: float) -> np.ndarray:
    r"""Soft-thresholding: the proximal step of :math:`\tau\lvert w\rvert`, elementwise.

    .. math::
        \operatorname{prox}_{\tau\lvert\cdot\rvert}(u)
        = \arg\min_w \tfrac12 (w - u)^2 + \tau\lvert w\rvert
        = \mathrm{sign}(u)\,\max(\lvert u\rvert - \tau,\ 0)

    Every entry with :math:`\lvert u_i\rvert \le \tau` becomes exactly 0 (``+0.0``, never ``-0.0``);
    the others move :math:`\tau` toward 0. With :math:`\tau = \eta\lambda` it is the L1 step of
    :func:`ista`.

    Parameters
    ----------
    u : array_like
        The point to shrink (any shape).
    tau : float
        Threshold :math:`\tau \ge 0`.

    Returns
    -------
    ndarray, shaped like ``u``.

    Raises
    ------
    ValueError
        If ``tau`` is negative or not finite.
    """
    tau = _checks.non_negative("tau", tau)
    u = _checks.float_array("u", u)
    return np.sign(u) * np.maximum(np.abs(u) - tau, 0.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def ista(X, y, lam: float, lr: float, steps: int, w0=None) -> np.ndarray:
    r"""ISTA (proximal gradient descent) on the lasso; returns every iterate.

    .. math::
        \min_w \frac{1}{n}\lVert Xw - y\rVert^2 + \lambda\lVert w\rVert_1

    .. math::
        u_t = w_t - \eta\,\tfrac{2}{n}X^\top(Xw_t - y), \qquad
        w_{t+1} = \operatorname{soft\_threshold}(u_t,\ \eta\lambda)

    A gradient step on the smooth part (the mean squared error, note 2's convention) followed by the
    exact proximal step of the penalty (:func:`soft_threshold`). With
    :math:`\eta \le 1/L`, :math:`L = \frac{2}{n}\lambda_{\max}(X^\top X)`, the objective decreases at
    every step and the iterates converge to a lasso solution (Beck & Teboulle 2009); weights whose
    loss gradient stays below :math:`\lambda` in size reach exactly 0 in finitely many steps. At a
    solution the loss gradient is :math:`-\lambda\,\mathrm{sign}(w_i)` where :math:`w_i \ne 0` and at
    most :math:`\lambda` in size where :math:`w_i = 0`. scikit-learn's ``Lasso(alpha)`` minimizes
    :math:`\frac{1}{2n}\lVert Xw - y\rVert^2 + \alpha\lVert w\rVert_1`: the same solution with
    :math:`\alpha = \lambda / 2`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, one example per row (no intercept: centre ``X`` and ``y`` first).
    y : array_like, shape (n,)
        Targets.
    lam : float
        Strength :math:`\lambda \ge 0`.
    lr : float
        Step :math:`\eta > 0`.
    steps : int
        Number of steps, >= 0.
    w0 : array_like, shape (d,), optional
        Starting point (not modified); zeros by default.

    Returns
    -------
    ndarray, shape (steps + 1, d)
        :math:`w_0, w_1, \dots, w_{\text{steps}}`.

    Raises
    ------
    ValueError
        If an argument is out of range or has the wrong shape (the message names it).

    References
    ----------
    Beck & Teboulle (2009), A fast iterative shrinkage-thresholding algorithm for linear inverse
    problems. SIAM Journal on Imaging Sciences 2(1).
    """
    lam = _checks.non_negative("lam", lam)
    lr = _checks.positive("lr", lr)
    X, y = _design(X, y)
    steps = _checks.non_negative_int("steps", steps)
    n, d = X.shape
    w = np.zeros(d) if w0 is None else _checks.float_array("w0", w0).astype(float, copy=True)
    if w.shape != (d,):
        raise ValueError(f"w0 must have shape ({d},), one weight per column of X, got {w.shape}")
    path = np.empty((steps + 1, d))
    path[0] = w
    for t in range(1, steps + 1):
        u = path[t - 1] - lr * (2 / n) * (X.T @ (X @ path[t - 1] - y))  # gradient step on the loss
        path[t] = soft_threshold(u, lr * lam)  # then the exact L1 step
    return path
