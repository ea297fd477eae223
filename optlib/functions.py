r"""Test functions for optimizers: classic 2-D landscapes and the n-D quadratic, plus :func:`minimize`.

Every function :math:`f` is an object you call on a point ``x`` of shape ``(n,)``, or on a whole grid
``x`` of shape ``(n, ...)`` (for example ``np.stack([X, Y])`` from ``np.meshgrid``), in which case the
result has shape ``(...)``: contour plots call it once on the grid. ``f.grad(x)`` and ``f.hessian(x)``
are vectorized the same way (shapes ``(n, ...)`` and ``(n, n, ...)``).

Each also carries what a chapter needs to draw it: ``minima`` (the listed minimizers), ``domain``
(a good plotting window ``((xmin, xmax), (ymin, ymax))``), ``start`` (a classic start point) and ``name``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from .optimizers import OPTIMIZERS, make

__all__ = [
    "TestFunction", "Rosenbrock", "Beale", "Booth", "Himmelblau", "Rastrigin", "Saddle", "Quadratic",
    "rosenbrock", "beale", "booth", "himmelblau", "rastrigin", "saddle", "quadratic",
    "MinimizeResult", "minimize", "numerical_grad", "RACE_GRID", "Race", "race", "Noisy", "minimize_many",
]


class TestFunction:
    r"""Base class of the test functions: checks the point, then calls the formula.

    Subclasses implement ``_value(x)``, ``_grad(x)`` and ``_hessian(x)`` for ``x`` of shape
    ``(n, ...)``; the formulas index ``x[0], x[1], ...`` so the trailing grid dimensions come for free.

    Attributes
    ----------
    name : str
    dim : int
        The number :math:`n` of coordinates.
    minima : list of ndarray
        The minimizers this function lists (all global ones, or all of them for Himmelblau).
    domain : tuple
        ``((xmin, xmax), (ymin, ymax))``, a window that shows the interesting part.
    start : ndarray
        A classic start point.
    """

    __test__ = False  # not a pytest test class, despite its name

    name = "function"
    dim = 2
    domain: tuple = ((-2.0, 2.0), (-2.0, 2.0))
    start = np.zeros(2)
    minima: list = []

    def _point(self, x) -> np.ndarray:
        x = _checks.float_array("x", x)
        if x.ndim == 0 or x.shape[0] != self.dim:
            raise ValueError(f"x must have shape ({self.dim}, ...) for {self.name}, got {x.shape}")
        return x

    @property
    def f_star(self) -> float:
        r"""The minimum value :math:`f^* = \min_x f(x) = f(x^*)`, at the first listed minimizer
        :math:`x^*`; :math:`-\infty` for a function unbounded below (the saddle), which lists none."""
        return self(self.minima[0]) if self.minima else -math.inf

    def _on_grid(self, formula, x) -> np.ndarray:
        """``formula`` at ``x``; one point is computed as a grid of one column, so that a point and the
        same point in any grid give the same bits (numpy computes ``x[0] ** 2`` of a scalar and of an
        array along different paths, which can differ in the last bit). For elementwise formulas (every
        function here but :class:`Quadratic`, whose matrix product may sum in another order on a wider
        grid) the point's bits are those of its column in any grid."""
        x = self._point(x)
        if x.ndim == 1:
            return np.asarray(formula(x[:, None]), dtype=x.dtype)[..., 0]
        return np.asarray(formula(x), dtype=x.dtype)

    def __call__(self, x) -> np.ndarray | float:
        """The value :math:`f(x)`; a float for one point, an array of shape ``x.shape[1:]`` on a grid."""
        value = self._on_grid(self._value, x)
        return float(value) if np.ndim(value) == 0 else value

    def grad(self, x) -> np.ndarray:
        r"""The gradient :math:`\nabla f(x)`, same shape as ``x``."""
        return self._on_grid(self._grad, x)

    def hessian(self, x) -> np.ndarray:
        r"""The Hessian :math:`\nabla^2 f(x)`, shape ``(n, n)`` (``(n, n, ...)`` on a grid)."""
        return self._on_grid(self._hessian, x)

    def _value(self, x):
        raise NotImplementedError

    def _grad(self, x):
        raise NotImplementedError

    def _hessian(self, x):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _matrix(h00, h01, h11) -> np.ndarray:
    """A symmetric 2x2 matrix from its entries, each broadcast to the grid's shape."""
    h00, h01, h11 = np.broadcast_arrays(h00, h01, h11)
    return np.stack([np.stack([h00, h01]), np.stack([h01, h11])])


class Rosenbrock(TestFunction):
    r"""Rosenbrock's banana: a long curved valley, easy to find and slow to follow.

    .. math::

        f(x, y) = (a - x)^2 + b\,(y - x^2)^2, \qquad a = 1,\ b = 100,

    with its minimum :math:`f(a, a^2) = 0` at :math:`(1, 1)`.

    References
    ----------
    H. H. Rosenbrock, "An automatic method for finding the greatest or least value of a function",
    The Computer Journal 3 (1960).
    """

    name = "rosenbrock"
    domain = ((-2.0, 2.0), (-1.0, 3.0))

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a, self.b = float(a), float(b)
        self.minima = [np.array([self.a, self.a ** 2])]
        self.start = np.array([-1.2, 1.0])  # Rosenbrock's own start point

    def _value(self, x):
        return (self.a - x[0]) ** 2 + self.b * (x[1] - x[0] ** 2) ** 2

    def _grad(self, x):
        valley = x[1] - x[0] ** 2  # distance above the valley floor y = x^2
        return np.stack([-2 * (self.a - x[0]) - 4 * self.b * x[0] * valley, 2 * self.b * valley])

    def _hessian(self, x):
        return _matrix(2 - 4 * self.b * (x[1] - 3 * x[0] ** 2), -4 * self.b * x[0], 2 * self.b)


class Beale(TestFunction):
    r"""Beale's function: flat plateaus and sharp ridges, minimum at :math:`(3, 0.5)`.

    .. math::

        f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2 .

    References
    ----------
    E. M. L. Beale, "On an iterative method for finding a local minimum of a function of more than
    one variable", Princeton University tech. report 25 (1958).
    """

    name = "beale"
    domain = ((-4.5, 4.5), (-4.5, 4.5))
    _c = (1.5, 2.25, 2.625)

    def __init__(self):
        self.minima = [np.array([3.0, 0.5])]
        self.start = np.array([1.0, 1.5])

    def _terms(self, x):
        """The three residuals r_k = c_k - x + x y^k, k = 1, 2, 3."""
        return [c - x[0] + x[0] * x[1] ** k for k, c in enumerate(self._c, start=1)]

    def _value(self, x):
        return sum(r ** 2 for r in self._terms(x))

    def _grad(self, x):
        gx = gy = 0.0
        for k, r in enumerate(self._terms(x), start=1):
            gx = gx + 2 * r * (x[1] ** k - 1)  # dr/dx = y^k - 1
            gy = gy + 2 * r * k * x[0] * x[1] ** (k - 1)  # dr/dy = k x y^(k-1)
        return np.stack(np.broadcast_arrays(gx, gy))

    def _hessian(self, x):
        # f = sum r_k^2, so f'' = 2 sum (r_k' r_k'^T + r_k r_k'').
        hxx = hxy = hyy = 0.0
        for k, r in enumerate(self._terms(x), start=1):
            rx, ry = x[1] ** k - 1, k * x[0] * x[1] ** (k - 1)
            rxy = k * x[1] ** (k - 1)
            ryy = k * (k - 1) * x[0] * x[1] ** (k - 2) if k > 1 else 0.0
            hxx = hxx + 2 * rx * rx
            hxy = hxy + 2 * (rx * ry + r * rxy)
            hyy = hyy + 2 * (ry * ry + r * ryy)
        return _matrix(hxx, hxy, hyy)


class Booth(TestFunction):
    r"""Booth's function: a tilted quadratic bowl, minimum at :math:`(1, 3)`.

    .. math::

        f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2 ,

    whose Hessian is constant, :math:`\begin{pmatrix} 10 & 8 \\ 8 & 10 \end{pmatrix}`, with
    eigenvalues :math:`m = 2` and :math:`L = 18`.
    """

    name = "booth"
    domain = ((-10.0, 10.0), (-10.0, 10.0))

    def __init__(self):
        self.minima = [np.array([1.0, 3.0])]
        self.start = np.array([-8.0, 8.0])

    def _value(self, x):
        return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2

    def _grad(self, x):
        r1, r2 = x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5
        return np.stack([2 * r1 + 4 * r2, 4 * r1 + 2 * r2])

    def _hessian(self, x):
        return _matrix(*(np.full(x.shape[1:], v, dtype=x.dtype) for v in (10.0, 8.0, 10.0)))


def _newton(f: TestFunction, x0, iters: int = 20) -> np.ndarray:
    """Polish a stationary point of f by Newton's method from x0 (a few steps reach full precision)."""
    x = np.array(x0, dtype=float)
    for _ in range(iters):
        x = x - np.linalg.solve(f.hessian(x), f.grad(x))
    return x


class Himmelblau(TestFunction):
    r"""Himmelblau's function: four global minima, all with :math:`f = 0`.

    .. math::

        f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2 .

    One minimum is :math:`(3, 2)`; the other three are irrational and are computed here by Newton's
    method from rounded values (at import time), so they are exact to double precision.

    References
    ----------
    D. M. Himmelblau, *Applied Nonlinear Programming*, McGraw-Hill (1972).
    """

    name = "himmelblau"
    domain = ((-5.0, 5.0), (-5.0, 5.0))

    def __init__(self):
        rounded = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
        self.minima = [_newton(self, p) for p in rounded]
        self.start = np.array([0.0, 0.0])

    def _value(self, x):
        return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2

    def _grad(self, x):
        r1, r2 = x[0] ** 2 + x[1] - 11, x[0] + x[1] ** 2 - 7
        return np.stack([4 * x[0] * r1 + 2 * r2, 2 * r1 + 4 * x[1] * r2])

    def _hessian(self, x):
        r1, r2 = x[0] ** 2 + x[1] - 11, x[0] + x[1] ** 2 - 7
        return _matrix(4 * r1 + 8 * x[0] ** 2 + 2, 4 * x[0] + 4 * x[1], 2 + 4 * r2 + 8 * x[1] ** 2)


class Rastrigin(TestFunction):
    r"""Rastrigin's function in any dimension: a bowl covered in local minima, the global one at 0.

    .. math::

        f(x) = A n + \sum_{i=1}^{n} \left( x_i^2 - A \cos(2 \pi x_i) \right), \qquad A = 10,

    for :math:`x \in \mathbb{R}^n`, with :math:`f^* = f(0) = 0`. Every point of the integer lattice
    is close to a local minimum, so there are about :math:`11^n` of them in :math:`[-5.12, 5.12]^n`.

    ``Rastrigin()`` (and the instance ``rastrigin``) takes points of any dimension :math:`n \ge 1`;
    its ``minima``, ``start`` and ``domain`` describe the plane :math:`n = 2` that the figures draw.
    ``Rastrigin(dim=n)`` takes only :math:`n`-vectors, with an :math:`n`-dimensional minimum and
    start point.

    Parameters
    ----------
    A : float
        The height of the ripples, > 0.
    dim : int, optional
        The dimension :math:`n \ge 1`; None accepts any.

    References
    ----------
    L. A. Rastrigin, *Systems of extremal control*, Nauka (1974); in :math:`n` dimensions,
    H. Muhlenbein, D. Schomisch & J. Born, "The parallel genetic algorithm as function optimizer",
    Parallel Computing 17 (1991).
    """

    name = "rastrigin"
    domain = ((-5.12, 5.12), (-5.12, 5.12))

    def __init__(self, A: float = 10.0, dim: int | None = None):
        self.A = _checks.positive("A", A)
        self.dim = None if dim is None else _checks.positive_int("dim", dim)
        n = 2 if dim is None else self.dim
        self.minima = [np.zeros(n)]
        self.start = np.resize([2.5, -2.3], n)

    def _point(self, x) -> np.ndarray:
        if self.dim is not None:
            return super()._point(x)
        x = _checks.float_array("x", x)
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"x must have shape (n, ...) with n >= 1 for {self.name}, got {x.shape}")
        return x

    def _value(self, x):
        return self.A * x.shape[0] + np.sum(x ** 2 - self.A * np.cos(2 * np.pi * x), axis=0)

    def _grad(self, x):
        return 2 * x + 2 * np.pi * self.A * np.sin(2 * np.pi * x)

    def _hessian(self, x):
        # diagonal: the coordinates do not interact
        n = x.shape[0]
        hessian = np.zeros((n, n) + x.shape[1:], dtype=x.dtype)
        hessian[np.arange(n), np.arange(n)] = 2 + 4 * np.pi ** 2 * self.A * np.cos(2 * np.pi * x)
        return hessian

    def __repr__(self) -> str:
        return f"<Rastrigin {self.name!r} n={'any' if self.dim is None else self.dim}>"


class Saddle(TestFunction):
    r"""The saddle :math:`f(x, y) = x^2 - y^2`: zero gradient at the origin, which is no minimum.

    .. math::

        f(x, y) = x^2 - y^2 .

    It is unbounded below, so ``minima`` is empty. The start point lies just off the ridge
    :math:`y = 0`, where an optimizer is drawn to the saddle before it escapes along :math:`y`.
    """

    name = "saddle"
    domain = ((-2.0, 2.0), (-2.0, 2.0))

    def __init__(self):
        self.minima = []
        self.start = np.array([1.5, 1e-3])

    def _value(self, x):
        return x[0] ** 2 - x[1] ** 2

    def _grad(self, x):
        return np.stack([2 * x[0], -2 * x[1]])

    def _hessian(self, x):
        ones = np.ones(x.shape[1:], dtype=x.dtype)
        return _matrix(2 * ones, 0 * ones, -2 * ones)


class Quadratic(TestFunction):
    r"""The quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x` in :math:`n` dimensions.

    .. math::

        f(x) = \tfrac12 x^\top A x - b^\top x, \qquad \nabla f(x) = A x - b, \qquad \nabla^2 f = A .

    Gradient descent converges on it exactly when :math:`0 < \eta < 2 / L`, with :math:`L` the
    largest eigenvalue of :math:`A`; :math:`m` is the smallest (not :math:`\mu`, which the notes use
    for momentum).

    Parameters
    ----------
    A : array_like, shape (n, n)
        Symmetric matrix.
    b : array_like, shape (n,), optional
        Linear term; zero by default.
    start : array_like, shape (n,), optional
        The start point; by default the minimizer (or 0) plus a vector of ones.

    Attributes
    ----------
    A, b : ndarray
    L, m : float
        Largest and smallest eigenvalue of ``A``.
    minima : list of ndarray
        ``[solve(A, b)]`` if ``A`` is positive definite, else ``[]``.

    Raises
    ------
    ValueError
        If ``A`` is not a square symmetric matrix, or ``b`` (or ``start``) is not of shape (n,).
    """

    name = "quadratic"

    def __init__(self, A, b=None, start=None):
        A = _checks.float_array("A", A).astype(np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * np.abs(A).max(initial=1.0)):
            raise ValueError("A must be symmetric")
        n = A.shape[0]
        b = np.zeros(n) if b is None else _checks.float_array("b", b).astype(np.float64)
        if b.shape != (n,):
            raise ValueError(f"b must have shape ({n},) to match A, got {b.shape}")
        self.A, self.b, self.dim = A, b, n
        eigenvalues = np.linalg.eigvalsh(A)
        self.m, self.L = float(eigenvalues[0]), float(eigenvalues[-1])
        self.minima = [np.linalg.solve(A, b)] if self.m > 0 else []
        centre = self.minima[0] if self.minima else np.zeros(n)
        if start is None:
            start = centre + 1.0
        start = _checks.float_array("start", start).astype(np.float64)
        if start.shape != (n,):
            raise ValueError(f"start must have shape ({n},), got {start.shape}")
        self.start = start
        radius = 1.5 * max(1.0, float(np.abs(start - centre).max()))
        self.domain = tuple((float(c - radius), float(c + radius)) for c in centre[:2])

    def _column(self, v, x):
        """v of shape (n,) reshaped to (n, 1, 1, ...) so it broadcasts against x of shape (n, ...)."""
        return v.reshape((self.dim,) + (1,) * (x.ndim - 1))

    def _value(self, x):
        return 0.5 * np.einsum("i...,ij,j...->...", x, self.A, x) - np.einsum("i,i...->...", self.b, x)

    def _grad(self, x):
        return np.einsum("ij,j...->i...", self.A, x) - self._column(self.b, x)

    def hessian(self, x=None) -> np.ndarray:
        r"""The Hessian :math:`\nabla^2 f = A` (constant); with a grid ``x``, broadcast to ``(n, n, ...)``."""
        return self.A.copy() if x is None else super().hessian(x)

    def _hessian(self, x):
        return np.broadcast_to(self.A.reshape(self.A.shape + (1,) * (x.ndim - 1)),
                               self.A.shape + x.shape[1:]).copy()

    @property
    def f_star(self) -> float:
        r"""The minimum value :math:`-\tfrac12 b^\top A^{+} b` when :math:`A` is positive semidefinite
        and :math:`b` is in its range; :math:`-\infty` otherwise (unbounded below)."""
        if self.minima:
            return self(self.minima[0])
        scale = max(abs(self.L), abs(self.m), 1.0)
        if self.m < -1e-12 * scale:
            return -math.inf
        x, *_ = np.linalg.lstsq(self.A, self.b, rcond=None)
        if not np.allclose(self.A @ x, self.b, rtol=1e-10, atol=1e-10 * scale):
            return -math.inf
        return self(x)

    def __repr__(self) -> str:
        return f"<Quadratic n={self.dim} m={self.m:.4g} L={self.L:.4g}>"


def quadratic(A, b=None, start=None) -> Quadratic:
    r"""The quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x`; see :class:`Quadratic`.

    .. math::

        f(x) = \tfrac12 x^\top A x - b^\top x .
    """
    return Quadratic(A, b, start)


rosenbrock = Rosenbrock()
beale = Beale()
booth = Booth()
himmelblau = Himmelblau()
rastrigin = Rastrigin()
saddle = Saddle()


# ---------------------------------------------------------------------------------------------------
# Running an optimizer on a function
# ---------------------------------------------------------------------------------------------------

@dataclass
class MinimizeResult:
    r"""The path of an optimizer on a function.

    Attributes
    ----------
    x : ndarray, shape (steps_taken + 1, *x0.shape)
        The iterates :math:`\theta_0, \dots, \theta_T` (all finite).
    loss : ndarray, shape (steps_taken + 1,)
        :math:`f` at each iterate.
    diverged : bool
        True if the run stopped early because a gradient, an iterate or its loss was not finite.
    steps_taken : int
        The number of steps whose result is kept.
    """

    x: np.ndarray
    loss: np.ndarray
    diverged: bool
    steps_taken: int

    @property
    def final(self) -> np.ndarray:
        """The last (finite) iterate."""
        return self.x[-1]

    def first_step(self, tol: float, f_star: float = 0.0) -> int | None:
        r"""The first step whose loss is within ``tol`` of ``f_star``, or None if the run never is.

        .. math::
            \min\,\{\, t \in \{0, \dots, T\} : f(\theta_t) - f^* \le \text{tol} \,\}

        ``run.first_step(1e-3, f.f_star)`` is the step at which the gap to the minimum first
        reaches 1e-3; ``run.first_step(-1.0)`` the step at which :math:`f` first reaches -1.
        """
        return _first_at_or_below(self.loss, tol, f_star)

    def __repr__(self) -> str:
        status = "diverged" if self.diverged else "ok"
        return (f"MinimizeResult({status}, steps_taken={self.steps_taken}, "
                f"final={np.array2string(self.final, precision=4)}, loss={self.loss[-1]:.4g})")


def _first_at_or_below(values, tol: float, f_star: float = 0.0) -> int | None:
    """The first index i with values[i] - f_star <= tol, or None (shared by MinimizeResult and History)."""
    tol, f_star = float(tol), float(f_star)
    if math.isnan(tol) or math.isnan(f_star):
        raise ValueError(f"tol and f_star must be numbers, got {tol!r} and {f_star!r}")
    below = np.flatnonzero(np.asarray(values, dtype=float) - f_star <= tol)
    return int(below[0]) if below.size else None


def numerical_grad(f, x, h: float = 1e-6) -> np.ndarray:
    r"""The gradient of a scalar function by central differences: the check of every hand-written gradient.

    .. math::

        \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

    with :math:`e_i` the :math:`i`-th unit vector and an error of order :math:`h^2`. It costs two
    evaluations of ``f`` per coordinate, so it is for checking, not for training.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a number.
    x : array_like
        The point (any shape); not modified.
    h : float
        The step, > 0.

    Returns
    -------
    ndarray
        The estimate, of ``x``'s shape (float64 unless ``x`` is another float type).
    """
    h = _checks.positive("h", h)
    x = _checks.float_array("x", x)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def minimize(f, x0, optimizer, steps: int) -> MinimizeResult:
    r"""Run ``optimizer`` on ``f`` for ``steps`` steps from ``x0``; stop early if the path blows up.

    .. math::

        \theta_0 = x_0, \qquad \theta_{t+1} = \mathrm{step}(\theta_t, \nabla f), \quad t = 0, \dots, T - 1 .

    Parameters
    ----------
    f : callable with a ``grad`` method
        Any :class:`TestFunction` (or object with ``f(x)`` and ``f.grad(x)``).
    x0 : array_like
        Start point. It is copied (as float64, or float32 if it is float32), never modified.
    optimizer : optlib.optimizers.Optimizer
        Its ``step(theta, grad_fn)`` updates theta in place.
    steps : int
        Number of steps, >= 0.

    Returns
    -------
    MinimizeResult
        Divergence (a non-finite gradient, iterate or loss) is reported by ``diverged=True``; the
        path then holds only the finite iterates before it. Overflow warnings are silenced for that
        reason.

    Raises
    ------
    ValueError
        If ``steps`` is not an integer >= 0.
    """
    steps = _checks.non_negative_int("steps", steps)
    x0 = _checks.float_array("x0", x0)
    x = np.array(x0, dtype=np.float32 if x0.dtype == np.float32 else np.float64)  # a copy
    path, losses, diverged = [x.copy()], [f(x)], False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(steps):
            try:
                optimizer.step(x, f.grad)
            except FloatingPointError:
                diverged = True
                break
            loss = f(x)
            if not (np.all(np.isfinite(x)) and np.isfinite(loss)):
                diverged = True
                break
            path.append(x.copy())
            losses.append(loss)
    return MinimizeResult(x=np.array(path), loss=np.array(losses, dtype=float),
                          diverged=diverged, steps_taken=len(path) - 1)


# ---------------------------------------------------------------------------------------------------
# The race: every optimizer on every function, each at its best learning rate
# ---------------------------------------------------------------------------------------------------

#: The race's learning rates, :math:`4^k` for :math:`k = -6, \dots, 1`, about 2.4e-4 to 4.
RACE_GRID = tuple(4.0 ** k for k in range(-6, 2))


@dataclass
class Race:
    r"""The runs of :func:`race` and the learning rate it picked for each function and optimizer.

    Attributes
    ----------
    functions : list of str
        The functions' names, in the order given.
    names : list of str
        The optimizers' names, in the order given.
    runs : dict
        ``(function, optimizer, lr) -> MinimizeResult``, every run made.
    best_lr : dict
        ``(function, optimizer) -> lr``, the rate picked.
    """

    functions: list
    names: list
    runs: dict = field(repr=False)
    best_lr: dict = field(repr=False)

    def __getitem__(self, key) -> MinimizeResult:
        """``race[function, optimizer]``: the run at the picked rate."""
        return self.runs[(*key, self.best_lr[key])]

    @property
    def results(self) -> dict:
        """``(function, optimizer) -> MinimizeResult`` at the picked rates."""
        return {key: self[key] for key in self.best_lr}


def race(functions, names=None, grid=RACE_GRID, steps: int = 150, borrow=None) -> Race:
    r"""Run every optimizer on every function from its start point at each rate of ``grid``; keep the best.

    For a function :math:`f` and an optimizer, the rate picked is

    .. math::
        \alpha^* = \min \operatorname*{arg\,min}_{\alpha \in \text{grid}} \; f(\theta_T(\alpha)),

    the one with the lowest final loss after ``steps`` steps (a run that diverged counts as
    :math:`+\infty`), the smaller rate on a tie. Every other hyperparameter is at its declared
    default (:func:`optlib.optimizers.make`), the same on every function: a fair race, each
    contender tuned on the same grid with the same budget.

    A function unbounded below (no listed minimum, as the saddle) has no best final loss: it
    borrows the rate picked on another function, ``borrow={"saddle": "booth"}``, and is run once.

    Parameters
    ----------
    functions : sequence of TestFunction
    names : sequence of str, optional
        Registered optimizers; by default every one whose class has ``in_race`` (the registry's
        order).
    grid : sequence of float
        The learning rates tried, > 0.
    steps : int
        The budget, >= 0.
    borrow : dict, optional
        ``{function name: function name}`` for the functions that borrow a rate.

    Returns
    -------
    Race

    Raises
    ------
    ValueError
        For an unknown optimizer name, a bad grid or step count, or a function with no minimum
        and nothing to borrow.
    """
    functions = list(functions)
    names = [n for n, cls in OPTIMIZERS.items() if cls.in_race] if names is None else list(names)
    for name in names:
        if name not in OPTIMIZERS:
            raise ValueError(f"names must be registered optimizers ({', '.join(OPTIMIZERS)}), got {name!r}")
    grid = sorted(_checks.positive("grid", lr) for lr in grid)
    if not grid:
        raise ValueError("grid must hold at least one learning rate")
    steps = _checks.non_negative_int("steps", steps)
    borrow = dict(borrow or {})
    by_name = {f.name: f for f in functions}
    for f in functions:
        if not f.minima and f.name not in borrow:
            raise ValueError(f"{f.name} has no minimum to race to: give borrow={{{f.name!r}: <function name>}}")
        lender = borrow.get(f.name)
        if lender is not None and (lender not in by_name or lender in borrow):
            raise ValueError(f"borrow: {f.name} borrows from {lender!r}, which must be a raced function "
                             "that borrows nothing")

    def final_loss(run: MinimizeResult) -> float:
        return math.inf if run.diverged else float(run.loss[-1])

    runs, best_lr = {}, {}
    for f in functions:
        if f.name in borrow:
            continue
        for name in names:
            for lr in grid:
                runs[f.name, name, lr] = minimize(f, f.start, make(name, lr), steps)
            best_lr[f.name, name] = min(grid, key=lambda lr: final_loss(runs[f.name, name, lr]))
    for f in functions:
        if f.name in borrow:
            for name in names:
                lr = best_lr[f.name, name] = best_lr[borrow[f.name], name]
                runs[f.name, name, lr] = minimize(f, f.start, make(name, lr), steps)
    order = {f.name: i for i, f in enumerate(functions)}
    best_lr = dict(sorted(best_lr.items(), key=lambda item: (order[item[0][0]], names.index(item[0][1]))))
    return Race(functions=[f.name for f in functions], names=names, runs=runs, best_lr=best_lr)


# ---------------------------------------------------------------------------------------------------
# Many runs at once, and noisy gradients (chapter 9, the playground)
# ---------------------------------------------------------------------------------------------------

class Noisy:
    r"""A test function whose gradient carries seeded Gaussian noise: a stand-in for mini-batches.

    .. math::
        \tilde g(\theta) = \nabla f(\theta) + \sigma \xi, \qquad \xi \sim \mathcal N(0, I),

    with a fresh :math:`\xi` at every call of :meth:`grad`, so :math:`\mathbb E[\tilde g] = \nabla f`
    and each coordinate's variance is :math:`\sigma^2`. Calling it gives the true, noise-free loss
    :math:`f(\theta)`; ``name``, ``domain``, ``start``, ``minima`` and ``f_star`` are ``f``'s.

    Parameters
    ----------
    f : TestFunction
    sigma : float or array_like
        :math:`\sigma \ge 0`; an array is broadcast against the points :meth:`grad` is given, so that
        ``sigma`` of shape (K,) gives each of K columns (K runs of :func:`minimize_many`) its own noise
        level.
    seed : int or numpy.random.Generator
        The source of :math:`\xi`: two instances with the same seed draw the same noise.

    Raises
    ------
    ValueError
        If ``sigma`` holds a negative or non-finite number.
    """

    def __init__(self, f, sigma, seed=0):
        sigma_array = np.asarray(sigma, dtype=float)
        if not np.all(np.isfinite(sigma_array)) or np.any(sigma_array < 0):
            raise ValueError(f"sigma must be finite numbers >= 0, got {sigma!r}")
        self.f, self.sigma = f, sigma_array if sigma_array.ndim else float(sigma_array)
        self.rng = np.random.default_rng(seed)
        self.name, self.dim, self.domain = f.name, f.dim, f.domain
        self.start, self.minima = f.start, f.minima

    @property
    def f_star(self) -> float:
        """``f``'s minimum value."""
        return self.f.f_star

    def __call__(self, x):
        return self.f(x)

    def grad(self, x) -> np.ndarray:
        """:math:`\\nabla f(x) + \\sigma \\xi` with a new draw :math:`\\xi` of ``x``'s shape."""
        g = self.f.grad(x)
        return g + self.sigma * self.rng.standard_normal(np.shape(g))

    def __repr__(self) -> str:
        return f"Noisy({self.f!r}, sigma={self.sigma!r})"


def minimize_many(f, starts, optimizer, steps: int) -> list[MinimizeResult]:
    r"""One run of :func:`minimize` from each column of ``starts``, all in one batch.

    .. math::
        \Theta_0 = \big[x_0^{(1)}, \dots, x_0^{(K)}\big], \qquad
        \Theta_{t+1} = \mathrm{step}(\Theta_t, \nabla f) \quad \text{column by column}

    Every optimizer of optlib updates each coordinate from that coordinate's gradient and its own
    state alone (its per-step numbers, such as Adam's bias corrections, depend on the step count
    only), so one fresh ``optimizer`` stepping the array of shape (n, K) takes, in each column,
    exactly the steps a fresh copy of it would take from that start alone: the iterates and losses
    are those of ``minimize(f, starts[:, k], copy_of_optimizer, steps)`` bit for bit (``f`` and
    ``f.grad`` must accept columns, as the test functions and :class:`Noisy` do; a test function
    computes a single point as a one-column grid). A run stops as ``minimize``'s does, before its
    first non-finite gradient, iterate or loss; its column then gets a zero gradient and is ignored.

    Parameters
    ----------
    f : TestFunction or Noisy
    starts : array_like, shape (n, K)
        One start point per column (not modified).
    optimizer : optlib.optimizers.Optimizer
        A fresh one (no step taken yet); it holds the K runs' state afterwards.
    steps : int
        Steps per run, >= 0.

    Returns
    -------
    list of MinimizeResult
        One per column, in order.

    Raises
    ------
    ValueError
        If ``starts`` is not a non-empty (n, K) array, ``optimizer`` has taken steps, or ``steps``
        is not an integer >= 0.
    """
    steps = _checks.non_negative_int("steps", steps)
    starts = _checks.float_array("starts", starts)
    if starts.ndim != 2 or starts.shape[1] == 0:
        raise ValueError(f"starts must have shape (n, K): one start point per column, got {starts.shape}")
    if optimizer.t != 0:
        raise ValueError(f"optimizer must be fresh (no step taken), it has taken {optimizer.t}; call reset()")
    k = starts.shape[1]
    theta = np.array(starts, dtype=np.float32 if starts.dtype == np.float32 else np.float64)
    path, losses = [theta.copy()], [np.asarray(f(theta), dtype=float).reshape(k)]
    last = np.full(k, -1)  # the last kept step of each run; -1 while it runs
    step = 0

    def grad(point):
        g = np.array(f.grad(point), dtype=theta.dtype)
        if not np.isfinite(g.sum()):  # (a finite sum: every entry finite; else look entry by entry)
            refused = (last < 0) & ~np.isfinite(g).all(axis=0)
            last[refused] = step  # minimize stops before a step whose gradient is not finite
        g[:, last >= 0] = 0.0
        return g

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step in range(steps):
            if np.all(last >= 0):
                break
            optimizer.step(theta, grad)
            loss = np.asarray(f(theta), dtype=float).reshape(k)
            if not (np.isfinite(loss.sum()) and np.isfinite(theta.sum())):
                bad = (last < 0) & ~(np.isfinite(theta).all(axis=0) & np.isfinite(loss))
                last[bad] = step  # a non-finite iterate or loss: the run ends before this step
            path.append(theta.copy())
            losses.append(loss)
    path, losses = np.array(path), np.array(losses)
    results = []
    for i in range(k):
        kept = len(path) if last[i] < 0 else last[i] + 1
        results.append(MinimizeResult(x=path[:kept, :, i].copy(), loss=losses[:kept, i].copy(),
                                      diverged=bool(last[i] >= 0), steps_taken=int(kept - 1)))
    return results


# ---------------------------------------------------------------------------------------------------
# Feeding an optimizer given gradients (chapter 13)
# ---------------------------------------------------------------------------------------------------

__all__ += ["feed_gradients"]


def feed_gradients(optimizer, gradients, x0=None) -> np.ndarray:
    r"""The iterates of ``optimizer`` fed the gradients ``gradients[0], gradients[1], ...`` in turn.

    .. math::

        \theta_t = \mathrm{step}(\theta_{t-1}, g_t), \qquad t = 1, \dots, T,

    whatever :math:`\theta_{t-1}` is: :math:`g_t` is the gradient of the linear loss
    :math:`f_t(\theta) = g_t^\top \theta`, the setting of online learning (Reddi, Kale & Kumar 2018
    build Adam's counterexample from such losses). With a constant :math:`g_t = g`,
    :math:`\theta_{t-1} - \theta_t` is the step the rule takes for that gradient at step :math:`t`,
    which is how chapter 13 compares the rules' steps.

    Parameters
    ----------
    optimizer : optlib.optimizers.Optimizer
        Anything with ``step(theta, grad_fn)``; its state carries on from earlier steps.
    gradients : array_like, shape (T, *shape)
        :math:`g_1, \dots, g_T`, each of the parameters' shape.
    x0 : array_like, optional
        :math:`\theta_0` (copied, as float64), of shape ``shape``; zeros by default.

    Returns
    -------
    ndarray, shape (T + 1, *shape)
        :math:`\theta_0, \theta_1, \dots, \theta_T`.

    Raises
    ------
    ValueError
        If ``gradients`` is 0-dimensional or ``x0`` does not have the gradients' shape; the
        optimizer's ``ValueError`` or ``FloatingPointError`` for a gradient it refuses (the iterates
        before it are lost with the exception).
    """
    gradients = _checks.float_array("gradients", gradients).astype(np.float64)
    if gradients.ndim == 0:
        raise ValueError("gradients must have a first axis (one gradient per step), got a number")
    theta = np.zeros(gradients.shape[1:]) if x0 is None else np.array(x0, dtype=np.float64)
    if theta.shape != gradients.shape[1:]:
        raise ValueError(f"x0 has shape {theta.shape}, the gradients {gradients.shape[1:]}")
    path = np.empty((len(gradients) + 1, *theta.shape))
    path[0] = theta
    for t, g in enumerate(gradients, start=1):
        optimizer.step(theta, lambda point, g=g: g)
        path[t] = theta
    return path
