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

    \text{Nesterov:}\quad e_{t+1} = (1 + \mu)(1 - \alpha\lambda)\, e_t - \mu (1 - \alpha\lambda)\, e_{t-1},

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
        \begin{pmatrix} e_t \\ e_{t-1} \end{pmatrix},

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


# ---------------------------------------------------------------------------------------------------
# Beyond the rates: condition number, Newton's method, line search, preconditioning (chapter 12)
# ---------------------------------------------------------------------------------------------------
# Functions that run a method on a test function (``newton``, ``steepest_descent``) live here with the
# methods; they use optlib.functions' public API (a function ``f`` with ``f(x)``, ``f.grad(x)`` and
# ``f.hessian(x)``) and return a MinimizeResult that also carries the evaluations each iterate cost.

from dataclasses import dataclass  # noqa: E402  (this section's imports, kept with it)
from typing import Callable, NamedTuple  # noqa: E402

from . import _checks  # noqa: E402
from .functions import MinimizeResult  # noqa: E402

__all__ += ["condition_number", "diagonal_preconditioner", "Preconditioned", "LineSearch", "backtracking",
            "newton_direction", "Counted", "CountedResult", "newton", "steepest_descent"]


def _spd(name: str, A) -> np.ndarray:
    """``A`` as a float64 symmetric positive definite matrix, or a ValueError naming it."""
    A = _checks.float_array(name, A).astype(np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"{name} must be a square matrix, got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * np.abs(A).max()):
        raise ValueError(f"{name} must be symmetric")
    try:
        np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite (its smallest eigenvalue is "
                         f"{np.linalg.eigvalsh(A)[0]:.3g})") from None
    return A


def _preconditioner(P, n: int) -> np.ndarray:
    """``P`` checked: a vector of n positive entries (a diagonal) or an n×n symmetric positive definite matrix."""
    P = _checks.float_array("P", P).astype(np.float64)
    if P.ndim == 1:
        if P.shape != (n,) or not (np.all(np.isfinite(P)) and np.all(P > 0)):
            raise ValueError(f"P as a diagonal must hold {n} finite entries > 0, got shape {P.shape}")
        return P
    if P.shape != (n, n):
        raise ValueError(f"P must have shape ({n},) (a diagonal) or ({n}, {n}), got {P.shape}")
    return _spd("P", P)


def condition_number(A, P=None) -> float:
    r"""The condition number of a symmetric positive definite matrix, optionally preconditioned.

    .. math::

        \kappa(A) = \frac{L}{m} = \frac{\lambda_{\max}(A)}{\lambda_{\min}(A)}, \qquad
        \kappa_P = \kappa(P^{1/2} A P^{1/2}) = \frac{\lambda_{\max}(PA)}{\lambda_{\min}(PA)} .

    For the Hessian :math:`A` of a quadratic it sets gradient descent's best rate
    :math:`(\kappa - 1)/(\kappa + 1)` (:func:`optimal_gd`). Gradient descent preconditioned by
    :math:`P` (:class:`Preconditioned`) is gradient descent in the variables
    :math:`z = P^{-1/2}\theta`, whose Hessian is :math:`P^{1/2} A P^{1/2}`: it has the rate of
    :math:`\kappa_P`. (:math:`PA` is similar to :math:`P^{1/2} A P^{1/2}`, so they share their
    eigenvalues.) :math:`P = A^{-1}` gives :math:`\kappa_P = 1`.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Symmetric positive definite, e.g. ``f.hessian(x)`` or a :class:`~optlib.functions.Quadratic`'s ``A``.
    P : array_like, shape (n,) or (n, n), optional
        A preconditioner: a diagonal (its entries, > 0) or a symmetric positive definite matrix.

    Raises
    ------
    ValueError
        If ``A`` (or ``P``) is not square, symmetric and positive definite.

    References
    ----------
    Nocedal & Wright, *Numerical Optimization*, 2nd ed. (2006), sec. 3.3 and 5.1;
    Boyd & Vandenberghe, *Convex Optimization* (2004), sec. 9.3.
    """
    A = _spd("A", A)
    if P is None:
        eigenvalues = np.linalg.eigvalsh(A)
    else:
        P = _preconditioner(P, A.shape[0])
        root = np.sqrt(P) if P.ndim == 1 else _sqrtm(P)
        scaled = (root[:, None] * A * root[None, :]) if P.ndim == 1 else root @ A @ root
        eigenvalues = np.linalg.eigvalsh((scaled + scaled.T) / 2)
    return float(eigenvalues[-1] / eigenvalues[0])


def _sqrtm(P: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive definite matrix, from its eigenvectors."""
    eigenvalues, vectors = np.linalg.eigh(P)
    return (vectors * np.sqrt(eigenvalues)) @ vectors.T


def diagonal_preconditioner(A) -> np.ndarray:
    r"""Jacobi's diagonal preconditioner: the inverse of the diagonal of :math:`A`, as a vector.

    .. math::

        P = \operatorname{diag}(A)^{-1}, \qquad P_{ii} = 1 / A_{ii} .

    It rescales each coordinate by its own curvature. When :math:`A` is diagonal (the ill-conditioning
    is aligned with the axes) :math:`PA = I` and :math:`\kappa_P = 1`; when the same :math:`A` is
    rotated, its diagonal no longer sees the spread of its eigenvalues (a 2×2 rotated by 45° has equal
    diagonal entries) and :math:`P` is a multiple of :math:`I`, which changes nothing but the step size.
    Adagrad, RMSProp and Adam are diagonal preconditioners too, built from the gradients instead of
    the Hessian.

    Raises
    ------
    ValueError
        If ``A`` is not square, symmetric and positive definite.
    """
    return 1.0 / np.diag(_spd("A", A)).copy()


class Preconditioned:
    r"""Preconditioned gradient descent: a step along :math:`P` times the gradient.

    .. math::

        \theta_{t+1} = \theta_t - \alpha P \nabla E(\theta_t),

    with :math:`P` symmetric positive definite: a full matrix, or a diagonal given as the vector of
    its entries (then :math:`P \nabla E` is the elementwise product, one rate per coordinate).
    Exact equivalences (tested):

    * :math:`P = I` is gradient descent, :class:`optlib.optimizers.SGD`;
    * with :math:`\theta = P^{1/2} z` it is gradient descent on :math:`z \mapsto E(P^{1/2} z)`, whose
      Hessian is :math:`P^{1/2} A P^{1/2}` (:func:`condition_number` with ``P``);
    * on a quadratic with Hessian :math:`A`, :math:`P = A^{-1}` and :math:`\alpha = 1` is Newton's
      step: the minimum in one step.

    ``theta`` may also have shape ``(n, k)``: :math:`k` independent runs side by side, one per column.
    It has the ``step(theta, grad_fn)`` of the optimizers, so :func:`optlib.functions.minimize` runs it, but it is
    no :class:`optlib.optimizers.Optimizer`: a full :math:`P` mixes the coordinates, so its update cannot run on
    blocks of them, and it keeps no state. A refused gradient (wrong shape, not finite) leaves
    ``theta`` unchanged.

    Parameters
    ----------
    lr : float
        :math:`\alpha` > 0.
    P : array_like, shape (n,) or (n, n)
        The diagonal's entries (> 0), or a symmetric positive definite matrix.

    References
    ----------
    Nocedal & Wright, *Numerical Optimization*, 2nd ed. (2006), sec. 5.1 (preconditioning);
    Boyd & Vandenberghe, *Convex Optimization* (2004), sec. 9.4.4 (steepest descent in a quadratic norm).
    """

    def __init__(self, lr: float, P):
        self.lr = _checks.positive("lr", lr)
        P = _checks.float_array("P", P)
        self.P = _preconditioner(P, P.shape[0] if P.ndim else 0)
        self.t = 0

    def hyperparameters(self) -> dict:
        """The constructor's arguments, by name."""
        return {"lr": self.lr, "P": self.P}

    def __repr__(self) -> str:
        kind = "diagonal" if self.P.ndim == 1 else "full"
        return f"Preconditioned(lr={self.lr!r}, P={kind} {self.P.shape[0]}x{self.P.shape[0]})"

    def step(self, theta: np.ndarray, grad_fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Take one step: update ``theta`` in place; return it."""
        if not isinstance(theta, np.ndarray) or not np.issubdtype(theta.dtype, np.floating):
            raise ValueError("theta must be a floating-point numpy array")
        n = self.P.shape[0]
        if theta.ndim == 0 or theta.shape[0] != n:
            raise ValueError(f"theta must have shape ({n},) or ({n}, ...) to match P, got {theta.shape}")
        g = np.asarray(grad_fn(theta), dtype=theta.dtype)
        if g.shape != theta.shape:
            raise ValueError(f"grad_fn returned shape {g.shape}, expected theta's shape {theta.shape}")
        if self.P.ndim == 1:
            direction = self.P.reshape((n,) + (1,) * (g.ndim - 1)) * g
        else:
            direction = np.tensordot(self.P, g, axes=1)  # P @ g, for each column of a (n, k) theta
        update = self.lr * direction
        if not np.all(np.isfinite(update)):
            raise FloatingPointError(f"the step at step {self.t} is not finite (nan or inf); theta was left unchanged")
        theta -= update.astype(theta.dtype)
        self.t += 1
        return theta


class LineSearch(NamedTuple):
    """What :func:`backtracking` found: the step size, :math:`f` there, and how many values of
    :math:`f` it computed."""

    lr: float
    value: float
    evaluations: int


def backtracking(f, x, direction, lr: float = 1.0, shrink: float = 0.5, c: float = 1e-4,
                 value: float | None = None, grad=None, max_trials: int = 60) -> LineSearch:
    r"""Backtracking (Armijo) line search: the first of :math:`\alpha, \rho\alpha, \rho^2\alpha, \dots`
    that decreases :math:`f` enough.

    Sufficient-decrease (Armijo) condition, for a descent direction :math:`p`
    (:math:`\nabla f(x)^\top p < 0`):

    .. math::

        f(x + \alpha p) \le f(x) + c\, \alpha\, \nabla f(x)^\top p, \qquad 0 < c < 1 .

    The right side is the tangent line at :math:`x`, tilted up by the factor :math:`c`: the step must
    gain at least the fraction :math:`c` of the decrease the slope promises. For a small enough
    :math:`\alpha` it always holds (the tangent is exact to first order), so the search ends; starting
    from a large :math:`\alpha` (1 for Newton's direction, whose natural step is 1) it keeps steps as
    long as they are safe. With :math:`c = 1/2` and :math:`p = -\nabla f` on a quadratic with largest
    eigenvalue :math:`L`, every :math:`\alpha \le 1/L` passes.

    Parameters
    ----------
    f : TestFunction
        Called as ``f(x)``; ``f.grad(x)`` if ``grad`` is not given.
    x, direction : array_like, shape (n,)
        The point and the direction :math:`p`; not modified.
    lr : float
        The first trial :math:`\alpha` > 0.
    shrink : float
        :math:`\rho \in (0, 1)`: each failed trial multiplies :math:`\alpha` by it.
    c : float
        :math:`c \in (0, 1)`; :math:`10^{-4}` is Nocedal & Wright's usual value.
    value, grad : optional
        :math:`f(x)` and :math:`\nabla f(x)` if the caller has them (then they are not recomputed
        nor counted).
    max_trials : int
        Trials before giving up (>= 1).

    Returns
    -------
    LineSearch
        ``(lr, value, evaluations)``: the accepted :math:`\alpha`, :math:`f(x + \alpha p)`, and the
        number of calls of ``f`` made (the trials, plus :math:`f(x)` if ``value`` was not given).

    Raises
    ------
    ValueError
        If ``direction`` is not a descent direction (:math:`\nabla f(x)^\top p \ge 0`), a parameter is
        out of range, or no trial passes in ``max_trials`` (then :math:`f` cannot be decreased along
        :math:`p` in floating point, for example at the minimum to machine precision).

    References
    ----------
    L. Armijo, "Minimization of functions having Lipschitz continuous first partial derivatives",
    Pacific J. Math. 16 (1966); Nocedal & Wright, *Numerical Optimization*, 2nd ed. (2006),
    Algorithm 3.1; Boyd & Vandenberghe, *Convex Optimization* (2004), Algorithm 9.2.
    """
    lr = _checks.positive("lr", lr)
    if not 0 < shrink < 1:
        raise ValueError(f"shrink must lie in (0, 1), got {shrink!r}")
    if not 0 < c < 1:
        raise ValueError(f"c must lie in (0, 1), got {c!r}")
    max_trials = _checks.positive_int("max_trials", max_trials)
    x = _checks.float_array("x", x).astype(np.float64)
    direction = _checks.float_array("direction", direction).astype(np.float64)
    _checks.same_shape("x", x, "direction", direction)
    evaluations = 0
    if value is None:
        value, evaluations = f(x), 1
    slope = float(np.dot(f.grad(x) if grad is None else grad, direction))
    if not slope < 0:
        raise ValueError(f"direction must be a descent direction (grad . direction < 0), got {slope:.3g}")
    for _ in range(max_trials):
        with np.errstate(over="ignore", invalid="ignore"):
            trial = f(x + lr * direction)
        evaluations += 1
        if trial <= value + c * lr * slope:  # False for nan: a nan value is no decrease
            return LineSearch(lr, float(trial), evaluations)
        lr *= shrink
    raise ValueError(f"no step passed the sufficient-decrease condition in {max_trials} trials "
                     f"(last lr {lr / shrink:.3g}, slope {slope:.3g})")


def newton_direction(hessian, grad, beta: float = 1e-3) -> tuple[np.ndarray, float]:
    r"""Newton's direction :math:`p = -H^{-1}\nabla f`, with :math:`H` made positive definite if it is not.

    .. math::

        (H + \tau I)\, p = -\nabla f, \qquad \tau = 0 \text{ when } H \text{ is positive definite,}

    otherwise the smallest :math:`\tau` of :math:`\tau_0, 2\tau_0, 4\tau_0, \dots` for which the Cholesky
    factorization of :math:`H + \tau I` exists (:math:`\tau_0 = \beta - \min_i H_{ii}` if a diagonal entry
    is not positive, else :math:`\beta`; Nocedal & Wright's Algorithm 3.3, "Cholesky with added multiple
    of the identity"). With :math:`H + \tau I` positive definite, :math:`\nabla f^\top p < 0`: :math:`p`
    is a descent direction, so a line search along it (:func:`backtracking`) finds a decrease. Where
    :math:`H` is positive definite this is the plain Newton step, the minimizer of the quadratic model
    :math:`f(x) + \nabla f^\top p + \tfrac12 p^\top H p`.

    Returns
    -------
    (p, tau) : ndarray, float
        The direction and the :math:`\tau` that was added (0.0 for a positive definite :math:`H`).

    References
    ----------
    Nocedal & Wright, *Numerical Optimization*, 2nd ed. (2006), sec. 3.3 and 3.4 (Algorithm 3.3).
    """
    H = _checks.float_array("hessian", hessian).astype(np.float64)
    g = _checks.float_array("grad", grad).astype(np.float64)
    if H.ndim != 2 or H.shape != (g.size, g.size) or g.ndim != 1:
        raise ValueError(f"hessian must have shape (n, n) and grad shape (n,), got {H.shape} and {g.shape}")
    beta = _checks.positive("beta", beta)
    identity = np.eye(g.size)
    tau = 0.0 if np.diag(H).min() > 0 else beta - np.diag(H).min()
    while True:
        try:
            factor = np.linalg.cholesky(H + tau * identity)
            break
        except np.linalg.LinAlgError:
            tau = max(2 * tau, beta)
    # (H + tau I) p = -g through the factor: L y = -g, then L^T p = y
    y = np.linalg.solve(factor, -g)
    return np.linalg.solve(factor.T, y), float(tau)


class Counted:
    r"""A test function that counts its evaluations: :math:`f`, :math:`\nabla f` and :math:`\nabla^2 f`.

    ``counted = Counted(rosenbrock)`` is called like the function (``counted(x)``, ``counted.grad(x)``,
    ``counted.hessian(x)``) and adds one to ``counted.calls["f"]``, ``["grad"]`` or ``["hessian"]`` per
    call. Pass it to any method, including ``scipy.optimize.minimize(counted, x0, jac=counted.grad,
    hess=counted.hessian, callback=counted.record)``: ``record(x)`` notes an iterate with the counts so
    far (and :math:`f` there, computed without counting it), and :meth:`result` returns the path as
    a :class:`CountedResult`, so every method is counted the same way.
    """

    def __init__(self, f):
        self.f = f
        self.name = getattr(f, "name", "function")
        self.calls = {"f": 0, "grad": 0, "hessian": 0}
        self._path, self._loss, self._counts = [], [], []

    def __call__(self, x) -> float:
        self.calls["f"] += 1
        return self.f(x)

    def grad(self, x) -> np.ndarray:
        """:math:`\\nabla f(x)`, counted."""
        self.calls["grad"] += 1
        return self.f.grad(x)

    def hessian(self, x) -> np.ndarray:
        """:math:`\\nabla^2 f(x)`, counted."""
        self.calls["hessian"] += 1
        return self.f.hessian(x)

    def record(self, x, loss: float | None = None) -> None:
        """Note the iterate ``x`` (a copy) with the counts so far; ``loss`` is :math:`f(x)` if known
        (else computed, uncounted: it is for the record, not for the method)."""
        x = np.array(x, dtype=np.float64)
        self._path.append(x)
        self._loss.append(float(self.f(x)) if loss is None else float(loss))
        self._counts.append(dict(self.calls))

    def result(self, diverged: bool = False) -> "CountedResult":
        """The recorded iterates as a :class:`CountedResult`."""
        if not self._path:
            raise ValueError("nothing recorded: call record(x0) before the run")
        counts = {k: np.array([c[k] for c in self._counts]) for k in self.calls}
        return CountedResult(x=np.array(self._path), loss=np.array(self._loss), diverged=diverged,
                             steps_taken=len(self._path) - 1, f_evals=counts["f"], grad_evals=counts["grad"],
                             hessian_evals=counts["hessian"])


@dataclass
class CountedResult(MinimizeResult):
    r"""A :class:`~optlib.functions.MinimizeResult` with the evaluations each iterate cost.

    Attributes
    ----------
    f_evals, grad_evals, hessian_evals : ndarray of int, shape (steps_taken + 1,)
        How many values of :math:`f`, gradients and Hessians the method had computed when it produced
        iterate :math:`t` (0 at :math:`t = 0`).
    """

    f_evals: np.ndarray = None
    grad_evals: np.ndarray = None
    hessian_evals: np.ndarray = None

    def __repr__(self) -> str:
        status = "diverged" if self.diverged else "ok"
        return (f"CountedResult({status}, steps_taken={self.steps_taken}, loss={self.loss[-1]:.4g}, "
                f"f_evals={self.f_evals[-1]}, grad_evals={self.grad_evals[-1]}, "
                f"hessian_evals={self.hessian_evals[-1]})")


def _descent(f, x0, steps, direction_of, line_search: bool, lr: float, shrink: float, c: float,
             gtol: float, warm_start: bool = False) -> CountedResult:
    """The loop shared by newton and steepest_descent: a direction, then a fixed or searched step
    (whose first trial is ``lr``, or with ``warm_start`` the last step over ``shrink``, at most ``lr``)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    lr = _checks.positive("lr", lr)
    gtol = _checks.non_negative("gtol", gtol)
    if not 0 < shrink < 1:
        raise ValueError(f"shrink must lie in (0, 1), got {shrink!r}")
    if not 0 < c < 1:
        raise ValueError(f"c must lie in (0, 1), got {c!r}")
    counted = Counted(f)
    x = _checks.float_array("x0", x0).astype(np.float64).copy()
    counted.record(x)
    value, diverged, step = None, False, None  # f(x) once a line search has computed it; the last step
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(steps):
            g = counted.grad(x)
            if not np.all(np.isfinite(g)):
                diverged = True
                break
            if np.linalg.norm(g) <= gtol:
                break
            p = direction_of(counted, x, g)
            if line_search:
                if value is None:
                    value = counted(x)
                first = min(lr, step / shrink) if warm_start and step is not None else lr
                try:
                    step, value, _ = backtracking(counted, x, p, lr=first, shrink=shrink, c=c, value=value, grad=g)
                except ValueError:  # no decrease left in floating point: converged as far as it can
                    break
            else:
                step = lr
            x = x + step * p
            if not np.all(np.isfinite(x)):
                diverged = True
                break
            counted.record(x, value if line_search else None)
    return counted.result(diverged)


def newton(f, x0, steps: int, line_search: bool = True, lr: float = 1.0, shrink: float = 0.5, c: float = 1e-4,
           gtol: float = 0.0) -> CountedResult:
    r"""Newton's method, damped by a backtracking line search (or with a fixed step), counting evaluations.

    .. math::

        p_t = -\left(\nabla^2 f(\theta_t)\right)^{-1} \nabla f(\theta_t), \qquad
        \theta_{t+1} = \theta_t + \alpha_t p_t,

    :math:`p_t` from :func:`newton_direction` (the Hessian made positive definite where it is not) and
    :math:`\alpha_t` the first of :math:`1, \rho, \rho^2, \dots` that passes Armijo's condition
    (:func:`backtracking`), or the fixed ``lr`` with ``line_search=False`` (``lr=1``: pure Newton).
    On a quadratic :math:`\tfrac12\theta^\top A\theta - b^\top\theta` with :math:`A` positive definite,
    :math:`p_0 = A^{-1}b - \theta_0` and :math:`\alpha_0 = 1` passes: one step lands on the minimum
    :math:`A^{-1}b`, whatever the condition number. Near a minimum with a positive definite Hessian the
    full step is accepted and convergence is quadratic (the error is squared at each step).

    Each step costs one gradient and one Hessian (at :math:`\theta_t`), plus the values of :math:`f`
    the line search computes; the result counts them.

    Parameters
    ----------
    f : TestFunction
        With ``f(x)``, ``f.grad(x)`` and ``f.hessian(x)``.
    x0 : array_like, shape (n,)
        Start point (copied).
    steps : int
        At most this many steps (>= 0). The run stops earlier when :math:`\|\nabla f\| \le` ``gtol``
        or when the line search finds no decrease left (the minimum reached to machine precision).
    line_search : bool
        True: damped Newton (Armijo backtracking from ``lr``); False: fixed step ``lr``.
    lr, shrink, c : float
        The first trial step (1 is Newton's natural step), the backtracking factor :math:`\rho` and
        Armijo's :math:`c`.
    gtol : float
        Stop when the gradient's norm is at most this (>= 0).

    Returns
    -------
    CountedResult
        The iterates, their losses, and the evaluations made up to each. ``diverged`` is True if an
        iterate or a gradient stopped being finite.

    References
    ----------
    Nocedal & Wright, *Numerical Optimization*, 2nd ed. (2006), sec. 3.3-3.4; Boyd & Vandenberghe,
    *Convex Optimization* (2004), sec. 9.5 (damped Newton with backtracking).
    """

    def direction_of(counted, x, g):
        return newton_direction(counted.hessian(x), g)[0]

    return _descent(f, x0, steps, direction_of, line_search, lr, shrink, c, gtol)


def steepest_descent(f, x0, steps: int, lr: float = 1.0, shrink: float = 0.5, c: float = 1e-4,
                     gtol: float = 0.0) -> CountedResult:
    r"""Gradient descent whose step size a backtracking (Armijo) line search picks at every step.

    .. math::

        \theta_{t+1} = \theta_t - \alpha_t \nabla f(\theta_t), \qquad
        \alpha_t = \text{the first of } \alpha_0, \rho\alpha_0, \rho^2\alpha_0, \dots \text{ with}

        f(\theta_t - \alpha \nabla f) \le f(\theta_t) - c\,\alpha\,\|\nabla f(\theta_t)\|^2,

    Armijo's condition (:func:`backtracking`) with :math:`p = -\nabla f`. No learning rate to tune: the
    first trial is ``lr`` at the first step, then the previous step divided by :math:`\rho` (at most
    ``lr``), so the search can lengthen the step by one factor :math:`1/\rho` per step as well as
    shorten it, and costs about two values of :math:`f` per step once the step size has settled
    (Nocedal & Wright sec. 3.5 discuss such initial trials). Each step costs one gradient and the
    values of :math:`f` the search computes; the result counts them.

    Parameters and stopping rule as :func:`newton`.

    References
    ----------
    Nocedal & Wright, *Numerical Optimization*, 2nd ed. (2006), sec. 3.1-3.3; Boyd & Vandenberghe,
    *Convex Optimization* (2004), sec. 9.3.
    """

    def direction_of(counted, x, g):
        return -g

    return _descent(f, x0, steps, direction_of, True, lr, shrink, c, gtol, warm_start=True)
