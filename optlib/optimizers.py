r"""The update rules of both notes, as optimizers with a ``step`` PyTorch users know.

Every optimizer updates the parameters :math:`\theta` **in place**: ``step(theta, grad_fn)`` asks
``grad_fn`` for :math:`\nabla E` once (at :math:`\theta`, or at the look-ahead point
:math:`\theta - \mu u` for Nesterov), accepts or refuses it, then applies the rule.

How an optimizer is written
---------------------------
An optimizer is a class that declares

* its hyperparameters, each once, with its default and its check (:class:`Hyperparameter`); the
  constructor, :meth:`Optimizer.hyperparameters`, ``repr`` and the checks on assignment follow;
* the names of its state arrays (``state_arrays``, zeros of :math:`\theta`'s shape at the start) and
  of its state scalars with their initial values (``state_scalars``);
* its rule, :meth:`Optimizer.update`, in numpy as the notes write it, e.g. Adam's::

      ema_(m, g, self.beta1)  # m = beta1 m + (1 - beta1) g
      ema_(v, g**2, self.beta2)  # v = beta2 v + (1 - beta2) g^2
      m_hat, v_hat = m / bc1, v / bc2
      theta -= lr * (m_hat / (np.sqrt(v_hat) + self.eps))

and, where it needs them, the engine's two hooks: ``gradient_point`` (where the
gradient is taken: Nesterov's look-ahead) and :meth:`Optimizer.step_scalars` (the numbers computed
once per step: Adam's bias corrections, NAdam's running product).

The engine: one ``step`` for every rule
---------------------------------------
No optimizer overrides :meth:`Optimizer.step`. It checks :math:`\theta` and the learning rate,
takes the gradient through :func:`accept_gradient` (the boundary rule: converted to
:math:`\theta`'s dtype, copied if it overlaps :math:`\theta` or the state, checked finite), and only
then runs the rule. It runs it on *blocks* of :data:`BLOCK_BYTES`, not on the whole arrays: the rule's
temporaries (``g**2``, ``m / bc1``, ...) are then block-sized, so a step never holds a second copy of
the parameters, and each block stays in the CPU cache while the rule works on it. Elementwise
arithmetic does not depend on how the arrays are cut, so the result is bit for bit that of the rule
applied to the whole arrays (the tests check this for every optimizer, shape and stride), which is
the transcription of the notes.

The registry
------------
:func:`register` puts a class in :data:`OPTIMIZERS`, the one list the rest of the course reads: the
playground's race (:func:`optlib.functions.race`), the figures' colours
(:data:`optlib.plotting.COLORS`), Appendix A's check, the tests' tables (against the
transcriptions and against ``torch.optim``) and ``make bench``. README.md's "Adding an optimizer"
lists what is left by hand.
"""
from __future__ import annotations

import inspect
import math
from typing import Callable, Union

import numpy as np

from . import _checks

Schedule = Callable[[int], float]
LearningRate = Union[float, Schedule]

#: Bytes of one block, per operand, of the blocked update. The rule's temporaries are block-sized, so
#: a step allocates a few blocks at most, whatever the number of parameters; small enough that a
#: block of every operand stays in the CPU's cache, large enough that numpy's cost per call is small
#: (benchmarks/results.md times 64 KiB to 1 MiB).
BLOCK_BYTES = 256 * 1024

#: The most block-sized temporaries a rule holds at once (Adam's m_hat, v_hat, root and quotient), so
#: a step allocates at most ``MAX_TEMPORARIES * BLOCK_BYTES`` bytes beyond the state, whatever the
#: number of parameters (tests/test_optimizers.py measures every registered rule against it).
MAX_TEMPORARIES = 4

REQUIRED = inspect.Parameter.empty  #: the default of a hyperparameter that has none (``lr``)


# ---------------------------------------------------------------------------------------------------
# Declared hyperparameters
# ---------------------------------------------------------------------------------------------------

class Hyperparameter:
    """One hyperparameter of an optimizer, declared once in its class: default and check.

    ``beta = Hyperparameter(0.9, _checks.in_unit_interval)`` in a class body makes ``beta`` a
    constructor argument with default 0.9, an entry of :meth:`Optimizer.hyperparameters` and of the
    ``repr``, and checks every value given to it, in the constructor or later (``opt.beta = 2``
    raises ``ValueError`` naming ``beta``), as torch's ``defaults`` and constructor checks do. On an
    instance, ``opt.beta`` is the plain value.
    """

    def __init__(self, default=REQUIRED, check: Callable | None = None):
        self.default = default
        self.check = check or (lambda name, value: value)
        self.name = None

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        default = "required" if self.default is REQUIRED else f"default={self.default!r}"
        return f"Hyperparameter({self.name}, {default})"


# ---------------------------------------------------------------------------------------------------
# Shared primitives
# ---------------------------------------------------------------------------------------------------

def ema_(avg: np.ndarray, x, decay: float) -> np.ndarray:
    r"""Exponential moving average, in place: :math:`a \leftarrow \beta a + (1 - \beta) x`.

    The one moving average of the course: note 2's momentum :math:`v`, RMSProp's :math:`E[g^2]` and
    both of Adam's moments are this update. The same operations, in the same order, as
    ``decay * avg + (1 - decay) * x``, so the same bits.
    """
    avg *= decay
    avg += (1 - decay) * x
    return avg


def bias_correction(decay: float, t: int) -> float:
    r"""Adam's bias correction factor :math:`1 - \beta^t` for step :math:`t \ge 1`.

    A moving average started at 0 is :math:`(1 - \beta^t)` times the average it estimates, for a
    constant input, so dividing by this factor removes the bias toward 0 (Kingma & Ba 2015, sec. 3).
    """
    return 1 - decay ** t


def rms_scaled(g, cache, eps: float, eps_inside_sqrt: bool = False):
    r"""The adaptive step direction :math:`g / (\sqrt{cache} + \epsilon)` of note 1.

    With ``eps_inside_sqrt=True`` it is note 2's :math:`g / \sqrt{cache + \epsilon}`.
    """
    return g / (np.sqrt(cache + eps) if eps_inside_sqrt else np.sqrt(cache) + eps)


def all_finite(x) -> bool:
    r"""True if no entry of ``x`` is nan or :math:`\pm\infty`; reads ``x`` once, with no copy of it.

    One dot product :math:`x \cdot x = \sum_i x_i^2` is finite whenever every :math:`x_i` is, unless
    the sum overflows: only then (huge but finite entries) is ``x`` checked entry by entry, a block
    of :data:`BLOCK_BYTES` at a time. An ``x`` that is not contiguous is read a block at a time.
    """
    x = np.asarray(x)
    if not (x.flags.c_contiguous or x.flags.f_contiguous):
        return all(all_finite(np.ascontiguousarray(x[index])) for index in _blocks(x.shape, _block_size(x)))
    flat = x.ravel(order="K")  # a view: x is contiguous
    with np.errstate(all="ignore"):
        if np.isfinite(np.dot(flat, flat)):
            return True
    size = _block_size(x)
    return all(np.isfinite(flat[lo:lo + size]).all() for lo in range(0, flat.size, size))


def accept_gradient(g, theta: np.ndarray, *, step: int = 0, written=()) -> np.ndarray:
    r"""The boundary rule: the gradient as the update will read it, or an error with nothing changed.

    1. ``g`` must hold real numbers (a float or integer dtype); complex, bool, object or text
       dtypes are refused with a ``ValueError`` that names the dtype, and so is a shape other than
       :math:`\theta`'s;
    2. it is converted to :math:`\theta`'s dtype (one temporary array of :math:`\theta`'s size when
       the dtypes differ), so that the update computes in :math:`\theta`'s precision: a float16
       gradient does not make ``lr * g`` a float16 product;
    3. if it shares memory with :math:`\theta` or with an array in ``written`` (the state), it is
       copied, so that the update never reads an entry it has already overwritten;
    4. it must be finite *in* :math:`\theta`'s dtype (:func:`all_finite`): a float64 gradient of
       1e39 is :math:`\infty` as a float32 and is refused with ``FloatingPointError``.

    Parameters
    ----------
    g : array_like
        What ``grad_fn`` returned.
    theta : ndarray
        The parameters the step will update.
    step : int
        The step index, for the error message.
    written : sequence of ndarray
        The other arrays the step writes (the optimizer's state).

    Returns
    -------
    ndarray
        ``g`` itself when it already has :math:`\theta`'s dtype and overlaps nothing, else a copy.
    """
    g = np.asarray(g)
    if g.dtype.kind not in "fiu":
        raise ValueError(f"the gradient must hold real numbers (a float or integer dtype), got dtype {g.dtype}; "
                         "theta was left unchanged")
    if g.shape != theta.shape:
        raise ValueError(f"grad_fn returned shape {g.shape}, expected theta's shape {theta.shape}; "
                         "theta was left unchanged")
    if g.dtype != theta.dtype:
        with np.errstate(all="ignore"):  # too large for theta's dtype: inf, refused just below
            g = g.astype(theta.dtype)
    elif any(np.may_share_memory(g, a) for a in (theta, *written)):
        g = g.copy()
    if not all_finite(g):
        raise FloatingPointError(f"gradient at step {step} is not finite (nan or inf) in theta's dtype "
                                 f"{theta.dtype}; theta was left unchanged")
    return g


def _block_size(x: np.ndarray) -> int:
    """Elements per block of :data:`BLOCK_BYTES`."""
    return max(1, BLOCK_BYTES // max(x.itemsize, 1))


def _blocks(shape: tuple, size: int):
    """Index tuples that cut an array of ``shape`` into consecutive pieces (C order) of at most
    ``size`` elements, each piece a view whatever the array's strides: whole rows while a row fits,
    else the rows one by one, cut the same way."""
    if not shape:
        yield (Ellipsis,)  # a 0-d array: one block, a 0-d view
        return
    inner = math.prod(shape[1:])
    if inner == 0:
        return
    if inner <= size:
        rows = size // inner
        for lo in range(0, shape[0], rows):
            yield (slice(lo, lo + rows),)
        return
    for i in range(shape[0]):
        for rest in _blocks(shape[1:], size):
            yield (i,) + rest


def _in_memory_order(theta: np.ndarray, arrays) -> list:
    """Views of ``arrays`` (of theta's shape) with the axes sorted from theta's largest stride to its
    smallest, so that blocks follow theta's memory: a Fortran-order theta is cut along its columns.
    A C-contiguous theta, the usual case, keeps its axes."""
    if theta.ndim < 2 or theta.flags.c_contiguous:
        return list(arrays)
    order = sorted(range(theta.ndim), key=lambda axis: -abs(theta.strides[axis]))
    return [a.transpose(order) for a in arrays]


# ---------------------------------------------------------------------------------------------------
# The optimizer protocol
# ---------------------------------------------------------------------------------------------------

class Optimizer:
    r"""Base class: declared hyperparameters, the state, and the one ``step`` every rule runs in.

    A subclass declares :class:`Hyperparameter` s, ``state_arrays``, ``state_scalars`` and its rule
    :meth:`update`, and may define the hooks ``gradient_point`` and :meth:`step_scalars`.
    ``step`` calls them in this order, and commits nothing (state, scalars, step count, scratch)
    until the gradient is accepted, so a refused step changes nothing.

    Class attributes read by the registry: ``color`` (its colour in every figure), ``in_race``
    (whether the playground's race runs it), ``torch_schedules`` (whether it matches its
    :meth:`torch_equivalent` under a changing learning rate too, not only a constant one).
    """

    lr = Hyperparameter(check=_checks.learning_rate)
    state_arrays: tuple = ()
    state_scalars: dict = {}
    #: False for the rules that square the gradient or divide by a root of it, which refuse a float16
    #: theta. In float16 the squares of gradients below 2.4e-4 are 0 and eps = 1e-8 is 0, so their
    #: steps would be nan, inf or garbage (torch's are -inf there).
    float16 = True
    color = "#7f7f7f"
    in_race = True
    torch_schedules = True
    gradient_point = None  # a method in the rules that take the gradient elsewhere than at theta

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _declare(cls)

    def __init__(self, *args, **kwargs):
        bound = self.__signature__.bind(*args, **kwargs)  # TypeError for a missing or unknown argument
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            setattr(self, name, value)  # checked by __setattr__
        self.reset()

    def __setattr__(self, name: str, value) -> None:
        declared = self._hyperparameters.get(name)
        object.__setattr__(self, name, value if declared is None else declared.check(name, value))

    # --- hyperparameters ------------------------------------------------------------------------------
    def hyperparameters(self) -> dict:
        """The constructor's arguments, by name, in the order the class declares them."""
        return {name: getattr(self, name) for name in self._hyperparameters}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def lr_at(self, t: int) -> float:
        """The learning rate of step ``t`` (counted from 0): the float, or the schedule's value, >= 0."""
        if not callable(self.lr):
            return self.lr
        return _checks.non_negative(f"lr (the schedule's value at step {t})", self.lr(t))

    # --- state ----------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the state and the step count (the hyperparameters stay)."""
        self.t = 0  # steps taken; the schedule is called with this index
        for name in self.state_arrays:
            setattr(self, name, None)
        for name, initial in self.state_scalars.items():
            setattr(self, name, initial)
        self._lookahead = None

    @property
    def state_nbytes(self) -> int:
        """Bytes held in state arrays (note 1's memory(u), memory(cache)); 0 before the first step."""
        return sum(a.nbytes for a in self._state() if a is not None)

    @property
    def scratch_nbytes(self) -> int:
        r"""Bytes held between steps besides the state, the look-ahead point :math:`\theta - \mu u` of
        the rules that take the gradient there (Nesterov, one array of :math:`\theta`'s size, the
        price of restoring nothing on a refused step), 0 for the others. The rule's temporaries
        during a step are block-sized (:data:`BLOCK_BYTES`) and freed with the step."""
        return 0 if self._lookahead is None else self._lookahead.nbytes

    def _state(self) -> list:
        return [getattr(self, name) for name in self.state_arrays]

    # --- the hooks and the rule -----------------------------------------------------------------------
    def step_scalars(self, t: int, lr: float) -> dict:
        """The numbers the rule needs at step ``t`` (counted from 1), passed to :meth:`update` as keyword
        arguments. Entries named in ``state_scalars`` become the new state when the step is accepted."""
        return {"lr": lr}

    def update(self, theta, g, *state, **scalars) -> None:
        """The rule, on one block: update ``theta`` and the state arrays in place from ``g``."""
        raise NotImplementedError

    # --- the engine -----------------------------------------------------------------------------------
    def step(self, theta: np.ndarray, grad_fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Take one step: update ``theta`` in place with the gradient ``grad_fn(point)``; return theta.

        ``point`` is theta itself, or where ``gradient_point`` says. Raises ``ValueError`` (bad
        theta, gradient of a wrong shape or dtype, negative scheduled rate) or ``FloatingPointError``
        (gradient not finite) with theta, the state and the step count unchanged.
        """
        state = self._state()
        self._check_theta(theta, state)
        lr = self.lr_at(self.t)
        fresh = state[0] is None if state else False
        if fresh:  # the first step's zero state; kept only if the step is accepted
            state = [np.zeros_like(theta) for _ in state]
        views = _in_memory_order(theta, (theta, *state))
        blocks = list(_blocks(views[0].shape, _block_size(theta)))

        point = theta
        if self.gradient_point is not None:
            point = self._lookahead
            if point is None or point.shape != theta.shape or point.dtype != theta.dtype:
                point = np.empty_like(theta)
            point_view, = _in_memory_order(theta, (point,))
            with np.errstate(all="ignore"):
                for index in blocks:
                    point_view[index] = self.gradient_point(*(v[index] for v in views))

        g, = _in_memory_order(theta, (accept_gradient(grad_fn(point), theta, step=self.t, written=state),))
        scalars = self.step_scalars(self.t + 1, lr)
        # accepted: from here on the step runs to its end (numpy's error state cannot stop it half-way;
        # an overflow gives inf, as in torch). Last block first: the finite check has just read g from
        # first to last, so g's last blocks are still in the cache.
        with np.errstate(all="ignore"):
            for index in reversed(blocks):
                theta_block, *state_blocks = (v[index] for v in views)
                self.update(theta_block, g[index], *state_blocks, **scalars)
        if fresh:
            for name, array in zip(self.state_arrays, state):
                setattr(self, name, array)
        for name in self.state_scalars:
            setattr(self, name, scalars[name])
        if self.gradient_point is not None:
            self._lookahead = point
        self.t += 1
        return theta

    def _check_theta(self, theta, state: list) -> None:
        if not isinstance(theta, np.ndarray) or theta.dtype.kind != "f":
            raise ValueError(f"theta must be a floating-point numpy array, got {type(theta).__name__}"
                             + (f" of dtype {theta.dtype}" if isinstance(theta, np.ndarray) else ""))
        if not theta.flags.writeable:
            raise ValueError("theta must be writeable (it is updated in place)")
        if theta.dtype == np.float16 and not self.float16:
            raise ValueError(f"{type(self).__name__} refuses a float16 theta: squared gradients below 2.4e-4 and "
                             "eps = 1e-8 are 0 in float16, so its steps would be nan or garbage; use float32")
        if state and state[0] is not None and (state[0].shape, state[0].dtype) != (theta.shape, theta.dtype):
            raise ValueError(f"theta is {theta.dtype} of shape {theta.shape} but the optimizer's state is "
                             f"{state[0].dtype} of shape {state[0].shape}; call reset() for new parameters")

    # --- torch.optim ----------------------------------------------------------------------------------
    def torch_equivalent(self) -> tuple[str, dict] | None:
        """``(name, arguments)`` of the ``torch.optim`` optimizer that takes the same steps (the
        learning rate aside, which the caller sets at each step), or None if torch has none."""
        return None

    def torch_view(self, theta: np.ndarray) -> np.ndarray:
        """What the parameter of :meth:`torch_equivalent` holds after the same steps: theta itself,
        except for rules torch writes in another variable (Nesterov)."""
        return theta


def _declare(cls) -> None:
    """Collect the class's hyperparameters (base classes' first; a redeclaration keeps its place) into
    ``_hyperparameters``, ``defaults`` and the constructor's signature."""
    declared = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Hyperparameter):
                declared[name] = value
    cls._hyperparameters = declared
    cls.defaults = {name: h.default for name, h in declared.items() if h.default is not REQUIRED}
    cls.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=h.default)
         for name, h in declared.items()])


_declare(Optimizer)


# ---------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------

#: Every optimizer of the course by name, in the order the chapters meet them, the one list that the
#: race, the colours, Appendix A's check, the tests' tables and the benchmark read.
OPTIMIZERS: dict = {}


def register(cls):
    """Add an optimizer class to :data:`OPTIMIZERS` under its name (a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise ValueError(f"register needs a subclass of Optimizer, got {cls!r}")
    OPTIMIZERS[cls.__name__] = cls
    return cls


def _registered(name: str) -> type:
    if name not in OPTIMIZERS:
        raise ValueError(f"name must be a registered optimizer ({', '.join(OPTIMIZERS)}), got {name!r}")
    return OPTIMIZERS[name]


def make(name: str, lr: LearningRate, **hyperparameters) -> Optimizer:
    r"""A fresh optimizer by name: ``make("Adam", 0.01)`` is ``Adam(0.01)`` with every other
    hyperparameter at its default (the race's fixed settings) unless given.

    .. math::
        \text{make}(\text{name}, \alpha) = \text{OPTIMIZERS}[\text{name}](\alpha, \text{defaults})
    """
    return _registered(name)(lr, **hyperparameters)


def default_hyperparameters(name: str) -> dict:
    """Every hyperparameter but the learning rate, at its declared default, of a registered optimizer."""
    return dict(_registered(name).defaults)


# ---------------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------------

@register
class SGD(Optimizer):
    r"""(Stochastic) gradient descent, note 1's SGD and note 2's update rule.

    .. math::
        \theta_{t+1} = \theta_t - \alpha \nabla E(\theta_t)

    Note 2 writes the same rule as :math:`w := w - \eta\,\partial L / \partial w`.
    Memory: :math:`memory(\text{forward path})`, no state (``state_nbytes == 0``).
    Same as ``torch.optim.SGD(lr)``.

    Parameters
    ----------
    lr : float or schedule
        The learning rate :math:`\alpha` (note 2's :math:`\eta`), >= 0.

    References
    ----------
    Robbins & Monro (1951), A stochastic approximation method.
    """

    color = "#1f77b4"

    def update(self, theta, g, *, lr):
        theta -= lr * g

    def torch_equivalent(self):
        return "SGD", {}


@register
class Momentum(Optimizer):
    r"""Heavy-ball momentum in note 1's form.

    .. math::
        u_{t+1} &= \mu u_t + \alpha \nabla E(\theta_t) \\
        \theta_{t+1} &= \theta_t - u_{t+1}

    Memory: :math:`memory(\text{forward path}) + memory(u)`.

    Equivalences (exact, step by step, for a constant learning rate):

    * note 2's :class:`EMAMomentum` with :math:`\beta = \mu` and :math:`\eta = \alpha / (1 - \beta)`
      gives the same iterates, since then :math:`u_t = \eta v_t` for every t (that is,
      :math:`\alpha = \eta (1 - \beta)` and :math:`u_t = \frac{\alpha}{1 - \beta} v_t`);
    * ``torch.optim.SGD(momentum=mu)`` keeps ``buf`` with :math:`u = \alpha\,buf`, so the two agree
      (not when :math:`\alpha` changes: torch scales the whole buffer by the new rate, note 1 only
      the new gradient).

    Parameters
    ----------
    lr : float or schedule
        :math:`\alpha \ge 0`.
    mu : float
        The momentum coefficient :math:`\mu \in [0, 1)`.

    References
    ----------
    Polyak (1964), Some methods of speeding up the convergence of iteration methods.
    """

    mu = Hyperparameter(0.9, _checks.in_unit_interval)
    state_arrays = ("u",)
    color = "#ff7f0e"
    torch_schedules = False

    def update(self, theta, g, u, *, lr):
        u *= self.mu
        u += lr * g  # u = mu u + alpha g
        theta -= u

    def torch_equivalent(self):
        return "SGD", {"momentum": self.mu}


@register
class EMAMomentum(Optimizer):
    r"""Momentum in note 2's form: an exponential moving average of the gradients.

    .. math::
        v_t &= \beta v_{t-1} + (1 - \beta) \nabla E(w_t) \\
        w_{t+1} &= w_t - \eta v_t

    Memory: :math:`memory(\text{forward path}) + memory(v)`.

    With a constant learning rate this is exactly note 1's :class:`Momentum` with :math:`\mu = \beta`
    and :math:`\alpha = \eta (1 - \beta)` (then :math:`u_t = \eta v_t`). With a schedule the two part:
    here a new :math:`\eta_t` rescales the whole velocity at once. Being :class:`Momentum` with a
    rescaled rate, it does not run in the playground's race.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta \ge 0`.
    beta : float
        :math:`\beta \in [0, 1)`.
    """

    beta = Hyperparameter(0.9, _checks.in_unit_interval)
    state_arrays = ("v",)
    color = "#8c564b"
    in_race = False

    def update(self, theta, g, v, *, lr):
        ema_(v, g, self.beta)  # v = beta v + (1 - beta) g
        theta -= lr * v


@register
class Nesterov(Optimizer):
    r"""Nesterov momentum in note 1's look-ahead form.

    .. math::
        u_{t+1} &= \mu u_t + \alpha \nabla E(\theta_t - \mu u_t) \\
        \theta_{t+1} &= \theta_t - u_{t+1}

    ``grad_fn`` is called once per step, at the look-ahead point :math:`\theta_t - \mu u_t`
    (``gradient_point``), which the step writes into an array of its own: :math:`\theta` is not
    touched until the gradient there is accepted, so a refused step leaves :math:`\theta` exactly as
    it was. Memory: :math:`memory(\text{forward path}) + memory(u)` in note 1; that array adds
    :math:`memory(\theta)` (``scratch_nbytes``).

    PyTorch's ``SGD(nesterov=True)`` runs the same method on the shifted variable
    :math:`\phi_t = \theta_t - \mu u_t` (its parameters are note 1's look-ahead points,
    :meth:`torch_view`), for a constant rate.

    Stability: on a quadratic with curvature :math:`\lambda` it converges for
    :math:`\alpha\lambda < 2(1 + \mu)/(1 + 2\mu)`, a narrower range than heavy-ball
    :class:`Momentum`'s :math:`\alpha\lambda < 2(1 + \mu)` (both from where a root of the iteration's
    characteristic polynomial crosses :math:`-1`).

    Parameters
    ----------
    lr : float or schedule
        :math:`\alpha \ge 0`.
    mu : float
        :math:`\mu \in [0, 1)`.

    References
    ----------
    Nesterov (1983); Sutskever, Martens, Dahl & Hinton (2013), On the importance of initialization
    and momentum in deep learning.
    """

    mu = Hyperparameter(0.9, _checks.in_unit_interval)
    state_arrays = ("u",)
    color = "#2ca02c"
    torch_schedules = False

    def gradient_point(self, theta, u):
        return theta - self.mu * u

    def update(self, theta, g, u, *, lr):
        u *= self.mu
        u += lr * g  # u = mu u + alpha grad E(theta - mu u)
        theta -= u

    def torch_equivalent(self):
        return "SGD", {"momentum": self.mu, "nesterov": True}

    def torch_view(self, theta):
        return theta - self.mu * self.u


@register
class Adagrad(Optimizer):
    r"""Adagrad: a per-parameter learning rate from the sum of all past squared gradients (note 1).

    .. math::
        cache_{t+1} &= cache_t + (\nabla E(\theta_t))^2 \\
        \theta_{t+1} &= \theta_t - \alpha \frac{\nabla E(\theta_t)}{\sqrt{cache_{t+1}} + \epsilon}

    The cache starts at 0 and only grows, so the effective rate :math:`\alpha / (\sqrt{cache} + \epsilon)`
    only shrinks: large for parameters whose gradients are rare or small, small for frequent or large
    ones. Memory: :math:`memory(\text{forward path}) + memory(cache)`.
    Same as ``torch.optim.Adagrad`` (eps outside the root, cache from 0); optax and Keras put eps
    inside and start the cache at 0.1.

    Parameters
    ----------
    lr : float or schedule
        :math:`\alpha \ge 0`.
    eps : float
        :math:`\epsilon` > 0.

    References
    ----------
    Duchi, Hazan & Singer (2011), Adaptive subgradient methods for online learning and stochastic
    optimization. JMLR 12.
    """

    eps = Hyperparameter(1e-8, _checks.positive)
    state_arrays = ("cache",)
    float16 = False
    color = "#d62728"

    def update(self, theta, g, cache, *, lr):
        cache += g**2
        theta -= lr * rms_scaled(g, cache, self.eps)  # alpha g / (sqrt(cache) + eps)

    def torch_equivalent(self):
        return "Adagrad", {"eps": self.eps}


@register
class RMSProp(Optimizer):
    r"""RMSProp: Adagrad with a decaying average of squared gradients.

    .. math::
        cache_{t+1} &= \beta\, cache_t + (1 - \beta) (\nabla E(\theta_t))^2 \\
        \theta_{t+1} &= \theta_t - \alpha \frac{\nabla E(\theta_t)}{\sqrt{cache_{t+1}} + \epsilon}

    That is note 1 (and PyTorch, whose ``alpha`` is our ``beta``). Note 2 writes
    :math:`E[g^2]_t` for the cache and puts :math:`\epsilon` inside the root,
    :math:`w := w - \frac{\eta}{\sqrt{E[g^2]_t + \epsilon}} g_t`: pass ``eps_inside_sqrt=True``.
    The two differ where :math:`\sqrt{cache}` is comparable to :math:`\epsilon` or
    :math:`\sqrt{\epsilon}`: tiny gradients. Memory: :math:`memory(\text{forward path}) + memory(cache)`.

    Parameters
    ----------
    lr : float or schedule
        :math:`\alpha` (note 2's :math:`\eta`) >= 0.
    beta : float
        Decay :math:`\beta \in [0, 1)`.
    eps : float
        :math:`\epsilon` > 0.
    eps_inside_sqrt : bool
        False: note 1's :math:`\sqrt{cache} + \epsilon`; True: note 2's :math:`\sqrt{cache + \epsilon}`.

    References
    ----------
    Tieleman & Hinton (2012), Lecture 6.5, rmsprop. COURSERA: Neural Networks for Machine Learning.
    """

    beta = Hyperparameter(0.9, _checks.in_unit_interval)
    eps = Hyperparameter(1e-8, _checks.positive)
    eps_inside_sqrt = Hyperparameter(False, _checks.boolean)
    state_arrays = ("cache",)
    float16 = False
    color = "#9467bd"

    def update(self, theta, g, cache, *, lr):
        ema_(cache, g**2, self.beta)  # cache = beta cache + (1 - beta) g^2
        theta -= lr * rms_scaled(g, cache, self.eps, self.eps_inside_sqrt)

    def torch_equivalent(self):
        return None if self.eps_inside_sqrt else ("RMSprop", {"alpha": self.beta, "eps": self.eps})


class AdaptiveMoments(Optimizer):
    r"""Base class of Adam and its family (not an optimizer itself), declaring once what they share.

    The decays :math:`\beta_1, \beta_2` of the two moving averages of :math:`g` and :math:`g^2`,
    :math:`\epsilon`, and the state arrays :math:`m, v`; the rules refuse a float16 theta.
    """

    beta1 = Hyperparameter(0.9, _checks.in_unit_interval)
    beta2 = Hyperparameter(0.999, _checks.in_unit_interval)
    eps = Hyperparameter(1e-8, _checks.positive)
    state_arrays = ("m", "v")
    float16 = False


@register
class Adam(AdaptiveMoments):
    r"""Adam: momentum on the gradient and RMSProp's scaling, with bias correction (note 2).

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat m_t &= \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t} \\
        w_t &:= w_t - \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`t = 1, 2, \dots` counting steps. Note 1 writes the same rule without bias correction
    (:math:`u, cache` for :math:`m, v`; :math:`\gamma, \beta` for :math:`\beta_1, \beta_2`):
    pass ``bias_correction=False``. Its first step is then :math:`(1 - \beta_1) / \sqrt{1 - \beta_2}`
    times the corrected one (for :math:`\epsilon \to 0`): 3.16 for the defaults.
    Memory: :math:`memory(\text{forward path}) + memory(u) + memory(cache)`.

    Equivalences: with ``beta1=0`` and ``bias_correction=False`` this is :class:`RMSProp` with
    ``beta=beta2``, exactly. With bias correction it matches ``torch.optim.Adam`` to rounding
    (PyTorch folds the corrections into the step size), under a schedule too.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta` (note 1's :math:`\alpha`) >= 0.
    beta1, beta2 : float
        Decays of the two moving averages, in [0, 1).
    eps : float
        :math:`\epsilon` > 0, outside the root as in both notes and PyTorch.
    bias_correction : bool
        True: note 2 (and PyTorch); False: note 1.

    References
    ----------
    Kingma & Ba (2015), Adam: A method for stochastic optimization. ICLR.
    """

    bias_correction = Hyperparameter(True, _checks.boolean)
    color = "#17becf"

    def step_scalars(self, t, lr):
        if not self.bias_correction:
            return {"lr": lr, "bc1": 1.0, "bc2": 1.0}
        return {"lr": lr, "bc1": bias_correction(self.beta1, t),
                "bc2": bias_correction(self.beta2, t)}

    def update(self, theta, g, m, v, *, lr, bc1, bc2):
        ema_(m, g, self.beta1)  # m = beta1 m + (1 - beta1) g
        ema_(v, g**2, self.beta2)  # v = beta2 v + (1 - beta2) g^2
        m_hat, v_hat = m / bc1, v / bc2
        theta -= lr * (m_hat / (np.sqrt(v_hat) + self.eps))

    def torch_equivalent(self):
        if not self.bias_correction:
            return None
        return "Adam", {"betas": (self.beta1, self.beta2), "eps": self.eps}


# ---------------------------------------------------------------------------------------------------
# The rest of the Adam family (beyond the notes): which moment, which norm, which correction
# ---------------------------------------------------------------------------------------------------

@register
class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, the decay applied to :math:`\theta` directly.

    .. math::
        \theta &\leftarrow (1 - \eta\,\lambda)\,\theta \\
        \theta &\leftarrow \theta - \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`m_t, v_t, \hat m_t, \hat v_t` as in :class:`Adam`.

    An L2 penalty :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` added to the loss would enter
    :math:`g`, and so be divided by :math:`\sqrt{\hat v}` like the rest of the gradient: large
    weights with large gradients would hardly decay. Decoupling shrinks every weight by the same
    factor :math:`1 - \eta\lambda`. The first line is chapter 8's
    :func:`optlib.regularization.decoupled_weight_decay`, exactly (a test checks it).
    Memory: :math:`memory(\text{forward path}) + memory(m) + memory(v)`, as Adam.
    Same as ``torch.optim.AdamW``.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta \ge 0`.
    beta1, beta2, eps, bias_correction
        As in :class:`Adam`.
    weight_decay : float
        :math:`\lambda \ge 0` (torch's default 0.01).

    References
    ----------
    Loshchilov & Hutter (2019), Decoupled weight decay regularization. ICLR.
    """

    weight_decay = Hyperparameter(0.01, _checks.non_negative)
    color = "#e377c2"

    def update(self, theta, g, m, v, *, lr, bc1, bc2):
        theta *= 1 - lr * self.weight_decay  # decoupled decay
        super().update(theta, g, m, v, lr=lr, bc1=bc1, bc2=bc2)

    def torch_equivalent(self):
        if not self.bias_correction:
            return None
        return "AdamW", {"betas": (self.beta1, self.beta2), "eps": self.eps, "weight_decay": self.weight_decay}


@register
class AMSGrad(Adam):
    r"""AMSGrad: Adam whose denominator never shrinks, the running maximum of :math:`v`.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        v^{\max}_t &= \max(v^{\max}_{t-1}, v_t) \\
        \theta_t &= \theta_{t-1} - \eta \frac{m_t / (1 - \beta_1^t)}{\sqrt{v^{\max}_t / (1 - \beta_2^t)} + \epsilon}

    Adam's effective rate :math:`\eta / \sqrt{\hat v}` can grow again when large gradients become
    rare, which the paper shows can keep Adam from converging; the maximum makes it non-increasing,
    as Adagrad's. With the bias corrections of ``torch.optim.Adam(amsgrad=True)``, which this
    matches (the paper writes it without them). Memory:
    :math:`memory(\text{forward path}) + memory(m) + memory(v) + memory(v^{\max})`: three arrays.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta \ge 0`.
    beta1, beta2, eps, bias_correction
        As in :class:`Adam`.

    References
    ----------
    Reddi, Kale & Kumar (2018), On the convergence of Adam and beyond. ICLR.
    """

    state_arrays = ("m", "v", "v_max")
    color = "#bcbd22"

    def update(self, theta, g, m, v, v_max, *, lr, bc1, bc2):
        ema_(m, g, self.beta1)  # m = beta1 m + (1 - beta1) g
        ema_(v, g**2, self.beta2)  # v = beta2 v + (1 - beta2) g^2
        np.maximum(v_max, v, out=v_max)  # v_max = max(v_max, v)
        m_hat, v_hat = m / bc1, v_max / bc2
        theta -= lr * (m_hat / (np.sqrt(v_hat) + self.eps))

    def torch_equivalent(self):
        twin = super().torch_equivalent()
        return None if twin is None else ("Adam", {**twin[1], "amsgrad": True})


@register
class NAdam(AdaptiveMoments):
    r"""NAdam: Adam with Nesterov's look-ahead on the first moment, and a warming momentum schedule.

    .. math::
        \mu_t &= \beta_1 \left(1 - \tfrac12\, 0.96^{\,t \psi}\right), \qquad
        \Pi_t = \prod_{i=1}^{t} \mu_i \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \eta \frac{1 - \mu_t}{1 - \Pi_t} \frac{g_t}{\sqrt{\hat v_t} + \epsilon}
        - \eta \frac{\mu_{t+1}}{1 - \Pi_t \mu_{t+1}} \frac{m_t}{\sqrt{\hat v_t} + \epsilon},
        \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t}

    The step mixes the current gradient and the momentum *of the next step*, :math:`\mu_{t+1} m_t`,
    which is where Nesterov evaluates the gradient (chapter 3); :math:`\psi` (``momentum_decay``)
    makes :math:`\mu_t` grow from :math:`\beta_1/2` toward :math:`\beta_1`. The running product
    :math:`\Pi_t` is a state scalar, ``mu_product``, committed only when a step is accepted.
    Memory: :math:`memory(\text{forward path}) + memory(m) + memory(v)`.
    Same as ``torch.optim.NAdam``.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta \ge 0` (torch's default 2e-3).
    beta1, beta2 : float
        In [0, 1).
    eps : float
        :math:`\epsilon > 0`.
    momentum_decay : float
        :math:`\psi \ge 0` (torch's 4e-3).

    References
    ----------
    Dozat (2016), Incorporating Nesterov momentum into Adam. ICLR workshop.
    """

    momentum_decay = Hyperparameter(4e-3, _checks.non_negative)
    state_scalars = {"mu_product": 1.0}
    color = "#393b79"

    def momentum(self, t: int) -> float:
        r""":math:`\mu_t = \beta_1 (1 - \tfrac12\, 0.96^{t\psi})`."""
        return self.beta1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def step_scalars(self, t, lr):
        mu, mu_next = self.momentum(t), self.momentum(t + 1)
        return {"lr": lr, "mu": mu, "mu_next": mu_next,
                "mu_product": self.mu_product * mu,
                "bc2": bias_correction(self.beta2, t)}

    def update(self, theta, g, m, v, *, lr, mu, mu_next, mu_product, bc2):
        ema_(m, g, self.beta1)  # m = beta1 m + (1 - beta1) g
        ema_(v, g**2, self.beta2)  # v = beta2 v + (1 - beta2) g^2
        denom = np.sqrt(v / bc2) + self.eps
        theta -= lr * (1 - mu) / (1 - mu_product) * (g / denom)
        theta -= lr * mu_next / (1 - mu_product * mu_next) * (m / denom)

    def torch_equivalent(self):
        return "NAdam", {"betas": (self.beta1, self.beta2), "eps": self.eps, "momentum_decay": self.momentum_decay}


@register
class RAdam(AdaptiveMoments):
    r"""RAdam: Adam whose adaptive rate is switched on, and rectified, once its variance is tractable.

    .. math::
        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        m_t, v_t &\text{ as in Adam}, \qquad \hat m_t = \frac{m_t}{1 - \beta_1^t} \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t \, r_t \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon},
        \qquad r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}
        \qquad \text{if } \rho_t > 5, \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t \qquad \text{otherwise (SGD with momentum).}

    In the first steps :math:`v_t` averages so few squared gradients that :math:`1/\sqrt{\hat v_t}`
    varies wildly (what a learning-rate warm-up tames); RAdam takes momentum steps until
    :math:`\rho_t > 5` (step 6 for :math:`\beta_2 = 0.999`), then scales the adaptive step by
    :math:`r_t \to 1`. Memory: :math:`memory(\text{forward path}) + memory(m) + memory(v)`.
    Same as ``torch.optim.RAdam`` (threshold 5; the paper's algorithm writes 4).

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta \ge 0`.
    beta1, beta2 : float
        In [0, 1).
    eps : float
        :math:`\epsilon > 0`.

    References
    ----------
    Liu, Jiang, He, Chen, Liu, Gao & Han (2020), On the variance of the adaptive learning rate and
    beyond. ICLR.
    """

    color = "#843c39"

    def rectification(self, t: int) -> float | None:
        r""":math:`r_t` at step :math:`t`.

        None while :math:`\rho_t \le 5` (the momentum steps).
        """
        rho_inf = 2 / (1 - self.beta2) - 1
        rho_t = rho_inf - 2 * t * self.beta2 ** t / bias_correction(self.beta2, t)
        if rho_t <= 5:
            return None
        numerator = (rho_t - 4) * (rho_t - 2) * rho_inf
        return math.sqrt(numerator / ((rho_inf - 4) * (rho_inf - 2) * rho_t))

    def step_scalars(self, t, lr):
        return {"lr": lr, "bc1": bias_correction(self.beta1, t),
                "bc2": bias_correction(self.beta2, t), "rect": self.rectification(t)}

    def update(self, theta, g, m, v, *, lr, bc1, bc2, rect):
        ema_(m, g, self.beta1)  # m = beta1 m + (1 - beta1) g
        ema_(v, g**2, self.beta2)  # v = beta2 v + (1 - beta2) g^2
        m_hat = m / bc1
        if rect is None:
            theta -= m_hat * lr  # the momentum step
        else:
            theta -= m_hat * lr * (math.sqrt(bc2) / (np.sqrt(v) + self.eps)) * rect

    def torch_equivalent(self):
        return "RAdam", {"betas": (self.beta1, self.beta2), "eps": self.eps}


@register
class Adamax(AdaptiveMoments):
    r"""Adamax: Adam with the infinity norm, a running maximum of :math:`|g|` in place of :math:`\sqrt{v}`.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t} \frac{m_t}{u_t}

    Adam's :math:`v` is a decaying average of :math:`|g|^2`, an :math:`L^2` norm of the past
    gradients; the limit :math:`p \to \infty` of the :math:`L^p` version is this decaying maximum,
    which needs no bias correction (Kingma & Ba, sec. 7.1). :math:`\epsilon` sits inside the
    maximum, as in torch, so :math:`u > 0`. Memory: :math:`memory(\text{forward path}) + memory(m) +
    memory(u)`. Same as ``torch.optim.Adamax``.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta \ge 0` (torch's default 2e-3).
    beta1, beta2 : float
        In [0, 1).
    eps : float
        :math:`\epsilon > 0`.

    References
    ----------
    Kingma & Ba (2015), Adam: A method for stochastic optimization, sec. 7.1. ICLR.
    """

    state_arrays = ("m", "u")
    color = "#8c6d31"

    def step_scalars(self, t, lr):
        return {"lr": lr, "bc1": bias_correction(self.beta1, t)}

    def update(self, theta, g, m, u, *, lr, bc1):
        ema_(m, g, self.beta1)  # m = beta1 m + (1 - beta1) g
        # u = max(beta2 u, |g| + eps)
        np.maximum(self.beta2 * u, np.abs(g) + self.eps, out=u)
        theta -= lr / bc1 * (m / u)

    def torch_equivalent(self):
        return "Adamax", {"betas": (self.beta1, self.beta2), "eps": self.eps}


@register
class Adadelta(Optimizer):
    r"""Adadelta: RMSProp whose rate is the root of a moving average of the past steps themselves.

    .. math::
        E[g^2]_t &= \rho\, E[g^2]_{t-1} + (1 - \rho)\, g_t^2 \\
        \Delta\theta_t &= -\frac{\sqrt{E[\Delta\theta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\, g_t \\
        E[\Delta\theta^2]_t &= \rho\, E[\Delta\theta^2]_{t-1} + (1 - \rho)\, \Delta\theta_t^2 \\
        \theta_t &= \theta_{t-1} + \eta\, \Delta\theta_t

    The ratio of two roots has the units of :math:`\theta` (Zeiler's argument), so the method needs
    no learning rate: :math:`\eta = 1` is the paper's, torch's ``lr`` is this extra factor. The
    first steps are of size about :math:`\sqrt{\epsilon}`, and grow as steps accumulate.
    Memory: :math:`memory(\text{forward path}) + memory(E[g^2]) + memory(E[\Delta\theta^2])`.
    Same as ``torch.optim.Adadelta``.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta \ge 0` (1 in the paper and torch).
    rho : float
        Decay :math:`\rho \in [0, 1)`.
    eps : float
        :math:`\epsilon > 0` (torch's default 1e-6).

    References
    ----------
    Zeiler (2012), ADADELTA: an adaptive learning rate method. arXiv:1212.5701.
    """

    rho = Hyperparameter(0.9, _checks.in_unit_interval)
    eps = Hyperparameter(1e-6, _checks.positive)
    state_arrays = ("avg_sq_grad", "avg_sq_delta")
    float16 = False
    color = "#637939"

    def update(self, theta, g, avg_sq_grad, avg_sq_delta, *, lr):
        ema_(avg_sq_grad, g**2, self.rho)  # E[g^2] = rho E[g^2] + (1 - rho) g^2
        delta = np.sqrt(avg_sq_delta + self.eps) / np.sqrt(avg_sq_grad + self.eps) * g
        ema_(avg_sq_delta, delta**2, self.rho)  # E[d^2] = rho E[d^2] + (1 - rho) d^2
        theta -= lr * delta  # the step is -delta

    def torch_equivalent(self):
        return "Adadelta", {"rho": self.rho, "eps": self.eps}
