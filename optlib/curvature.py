r"""Convergence rates on a quadratic, from the eigenvalues of its Hessian.

On :math:`E(\theta) = \tfrac12 (\theta - \theta^*)^\top A (\theta - \theta^*)` every method of this
module is linear, and along an eigenvector of :math:`A` with eigenvalue :math:`\lambda` the error
:math:`e_t = \theta_t - \theta^*` follows a two-term recurrence. Its 2×2 iteration matrix acts on
:math:`(e_t, e_{t-1})`:

.. math::

    \text{gradient descent:}\quad e_{t+1} = (1 - \alpha\lambda)\, e_t, \qquad
    \begin{pmatrix} 1 - \alpha\lambda & 0 \\ 1 & 0 \end{pmatrix}

    \text{heavy ball:}\quad e_{t+1} = (1 + \mu - \alpha\lambda)\, e_t - \mu\, e_{t-1}, \qquad
    \begin{pmatrix} 1 + \mu - \alpha\lambda & -\mu \\ 1 & 0 \end{pmatrix}

    \text{Nesterov:}\quad e_{t+1} = (1 + \mu)(1 - \alpha\lambda)\, e_t - \mu (1 - \alpha\lambda)\, e_{t-1}, \qquad
    \begin{pmatrix} (1 + \mu)(1 - \alpha\lambda) & -\mu (1 - \alpha\lambda) \\ 1 & 0 \end{pmatrix}

(heavy ball from note 1's :math:`u_{t+1} = \mu u_t + \alpha \nabla E(\theta_t)` with
:math:`u_t = \theta_{t-1} - \theta_t`; Nesterov the same with the gradient at
:math:`\theta_t - \mu u_t`). The error shrinks asymptotically by the **rate**, the largest modulus
of an eigenvalue of these matrices over the spectrum of :math:`A` (their spectral radius): a rate
below 1 converges, above 1 blows up. For :math:`z^2 - b z + c`, the characteristic polynomial of
:math:`\begin{pmatrix} b & -c \\ 1 & 0 \end{pmatrix}`, the roots are
:math:`z = (b \pm \sqrt{b^2 - 4c})/2`; when they are complex both have modulus :math:`\sqrt{c}`.

numpy only. References: Polyak (1964); Goh, "Why Momentum Really Works", Distill (2017).
"""
from __future__ import annotations

import numpy as np

__all__ = ["METHODS", "iteration_matrix", "rate", "gd_rate", "heavy_ball_rate", "nesterov_rate", "stable_lr",
           "optimal_gd", "optimal_heavy_ball", "gd_optimal_rate", "heavy_ball_optimal_rate", "measured_rate"]

#: The names of the methods this module knows (gradient descent, note 1's heavy ball, Nesterov).
METHODS = ("gd", "heavy_ball", "nesterov")


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _coefficients(method: str, lr, mu, eigenvalue):
    r""":math:`(b, c)` of the recurrence :math:`e_{t+1} = b\, e_t - c\, e_{t-1}`, broadcast."""
    lr, mu, eigenvalue = (np.asarray(v, dtype=float) for v in (lr, mu, eigenvalue))
    if np.any(lr < 0):
        raise ValueError("lr must be >= 0")
    if np.any((mu < 0) | (mu >= 1)):
        raise ValueError("mu must be in [0, 1)")
    shrink = 1 - lr * eigenvalue
    if _method(method) == "gd":
        return shrink, np.zeros_like(shrink)
    if method == "heavy_ball":
        return 1 + mu - lr * eigenvalue, mu + 0 * shrink
    return (1 + mu) * shrink, mu * shrink


def iteration_matrix(lr, eigenvalue, mu=0.0, method: str = "heavy_ball") -> np.ndarray:
    r"""The 2×2 matrix that maps :math:`(e_t, e_{t-1})` to :math:`(e_{t+1}, e_t)` along one eigenvalue.

    .. math::

        \begin{pmatrix} e_{t+1} \\ e_t \end{pmatrix} = \begin{pmatrix} b & -c \\ 1 & 0 \end{pmatrix}
        \begin{pmatrix} e_t \\ e_{t-1} \end{pmatrix}, \qquad
        (b, c) = \begin{cases} (1 - \alpha\lambda,\ 0) & \text{gradient descent} \\
        (1 + \mu - \alpha\lambda,\ \mu) & \text{heavy ball} \\
        ((1 + \mu)(1 - \alpha\lambda),\ \mu (1 - \alpha\lambda)) & \text{Nesterov} \end{cases}

    ``lr``, ``eigenvalue`` and ``mu`` broadcast; the result has shape ``(..., 2, 2)``.

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`METHODS`, ``lr < 0`` or ``mu`` is outside [0, 1).
    """
    b, c = _coefficients(method, lr, mu, eigenvalue)
    b, c = np.broadcast_arrays(b, c)
    matrix = np.zeros(b.shape + (2, 2))
    matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 1, 0] = b, -c, 1.0
    return matrix


def rate(lr, eigenvalues, mu=0.0, method: str = "heavy_ball") -> np.ndarray:
    r"""The asymptotic rate: the spectral radius of the iteration, largest over ``eigenvalues``.

    .. math::

        \rho = \max_{\lambda} \max \left| \frac{b \pm \sqrt{b^2 - 4c}}{2} \right|
        \quad (= \sqrt{c} \text{ when } b^2 < 4c),

    with :math:`(b, c)` of :func:`iteration_matrix`. ``lr`` and ``mu`` may be arrays (they broadcast:
    a whole map over :math:`(\alpha, \mu)` in one call); ``eigenvalues`` is the spectrum of the
    Hessian (or its two ends, :math:`m` and :math:`L`: the rate is largest at one of them for these
    methods on a quadratic). A float for scalar inputs.

    Raises
    ------
    ValueError
        As :func:`iteration_matrix`, or if ``eigenvalues`` is empty or not positive.
    """
    eigenvalues = np.asarray(eigenvalues, dtype=float).reshape(-1)
    if eigenvalues.size == 0 or np.any(eigenvalues <= 0):
        raise ValueError("eigenvalues must be a non-empty list of positive numbers")
    lr, mu = np.asarray(lr, dtype=float), np.asarray(mu, dtype=float)
    shape = np.broadcast_shapes(lr.shape, mu.shape)
    b, c = _coefficients(method, lr[..., None], mu[..., None], eigenvalues)
    root = np.sqrt(b.astype(complex) ** 2 - 4 * c)
    radius = np.maximum(np.abs((b + root) / 2), np.abs((b - root) / 2)).max(axis=-1)
    radius = np.broadcast_to(radius, shape)
    return float(radius) if radius.ndim == 0 else radius.copy()


def gd_rate(lr, eigenvalues) -> np.ndarray:
    r"""Gradient descent's rate :math:`\max_\lambda |1 - \alpha\lambda|` (:func:`rate` with ``method="gd"``)."""
    return rate(lr, eigenvalues, 0.0, "gd")


def heavy_ball_rate(lr, mu, eigenvalues) -> np.ndarray:
    r"""Heavy ball's rate (note 1's momentum, :class:`~optlib.optimizers.Momentum`): :func:`rate` with ``method="heavy_ball"``.

    With :math:`\mu = 0` it is gradient descent's.
    """
    return rate(lr, eigenvalues, mu, "heavy_ball")


def nesterov_rate(lr, mu, eigenvalues) -> np.ndarray:
    r"""Nesterov's rate (:class:`~optlib.optimizers.Nesterov`): :func:`rate` with ``method="nesterov"``."""
    return rate(lr, eigenvalues, mu, "nesterov")


def stable_lr(L: float, mu=0.0, method: str = "heavy_ball"):
    r"""The largest stable learning rate: below it (and above 0) the rate is below 1.

    .. math::

        \text{gradient descent: } \frac{2}{L}, \qquad \text{heavy ball: } \frac{2(1 + \mu)}{L},
        \qquad \text{Nesterov: } \frac{2(1 + \mu)}{(1 + 2\mu) L},

    where a root of the largest eigenvalue :math:`L`'s recurrence crosses :math:`-1`. Nesterov's range is
    :math:`1/(1 + 2\mu)` times heavy ball's (about a third for :math:`\mu` near 1).
    """
    mu = np.asarray(mu, dtype=float)
    if not L > 0:
        raise ValueError(f"L must be > 0, got {L!r}")
    if np.any((mu < 0) | (mu >= 1)):
        raise ValueError("mu must be in [0, 1)")
    if _method(method) == "gd":
        out = 2 / L + 0 * mu
    elif method == "heavy_ball":
        out = 2 * (1 + mu) / L
    else:
        out = 2 * (1 + mu) / ((1 + 2 * mu) * L)
    return float(out) if np.ndim(out) == 0 else out


def _ends(m: float, L: float) -> tuple[float, float]:
    if not (0 < m <= L):
        raise ValueError(f"need 0 < m <= L, got m = {m!r}, L = {L!r}")
    return float(m), float(L)


def optimal_gd(m: float, L: float) -> tuple[float, float]:
    r"""Gradient descent's best learning rate and its rate, for eigenvalues in :math:`[m, L]`.

    .. math::

        \alpha^* = \frac{2}{L + m}, \qquad \rho^* = \frac{L - m}{L + m} = \frac{\kappa - 1}{\kappa + 1},

    where the two ends balance, :math:`1 - \alpha m = -(1 - \alpha L)`.
    """
    m, L = _ends(m, L)
    return 2 / (L + m), (L - m) / (L + m)


def optimal_heavy_ball(m: float, L: float) -> tuple[float, float, float]:
    r"""Polyak's heavy-ball parameters and their rate, for eigenvalues in :math:`[m, L]`.

    .. math::

        \alpha^* = \frac{4}{(\sqrt L + \sqrt m)^2}, \qquad
        \mu^* = \left(\frac{\sqrt L - \sqrt m}{\sqrt L + \sqrt m}\right)^2, \qquad
        \rho^* = \sqrt{\mu^*} = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1},

    the smallest :math:`\mu` for which the roots are complex (modulus :math:`\sqrt\mu`) for every
    :math:`\lambda \in [m, L]`: :math:`(1 - \sqrt\mu)^2 = \alpha m` and :math:`(1 + \sqrt\mu)^2 = \alpha L`.
    """
    m, L = _ends(m, L)
    sl, sm = np.sqrt(L), np.sqrt(m)
    mu = ((sl - sm) / (sl + sm)) ** 2
    return 4 / (sl + sm) ** 2, mu, float(np.sqrt(mu))


def gd_optimal_rate(kappa: float) -> float:
    r"""Gradient descent's best rate for condition number :math:`\kappa = L/m`: :math:`(\kappa - 1)/(\kappa + 1)`."""
    if not kappa >= 1:
        raise ValueError(f"kappa must be >= 1, got {kappa!r}")
    return (kappa - 1) / (kappa + 1)


def heavy_ball_optimal_rate(kappa: float) -> float:
    r"""Heavy ball's best rate for :math:`\kappa = L/m`: :math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1)`."""
    if not kappa >= 1:
        raise ValueError(f"kappa must be >= 1, got {kappa!r}")
    return (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)


def measured_rate(errors, start: int, stop: int) -> float:
    r"""The rate a run shows between two steps: :math:`(e_{stop} / e_{start})^{1/(stop - start)}`.

    ``errors`` are the distances :math:`\|\theta_t - \theta^*\|` (or any error sequence) by step; the
    geometric mean of the ratio of successive errors over the window.
    """
    errors = np.asarray(errors, dtype=float)
    if not (0 <= start < stop < len(errors)):
        raise ValueError(f"need 0 <= start < stop < len(errors) = {len(errors)}, got {start}, {stop}")
    if not (errors[start] > 0 and np.isfinite(errors[stop])):
        raise ValueError("errors[start] must be > 0 and errors[stop] finite")
    return float((errors[stop] / errors[start]) ** (1 / (stop - start)))
