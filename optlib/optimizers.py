r"""The update rules of both notes, as optimizers with a ``step`` PyTorch users know.

Every optimizer updates the parameters :math:`\theta` **in place**. ``step(theta, grad_fn)`` asks
``grad_fn`` for :math:`\nabla E` once (at :math:`\theta`, or at the look-ahead point
:math:`\theta - \mu u` for Nesterov), checks it is finite, then applies the rule.

How the rules are computed
--------------------------
Each docstring gives the formula; the readable transcription of it, e.g. for Adam::

    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    theta -= lr * ((m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps))

allocates several parameter-sized temporaries per line, so a step would briefly hold extra copies of
the parameters that note 1's "Memory:" lines do not count. The implementation does *the same
operations in the same order*, but on blocks of :data:`BLOCK_BYTES` at a time, into a fixed scratch
buffer (the primitives :func:`ema_` and friends below). Elementwise arithmetic does not depend on how
the array is cut, so the result is bit-for-bit the transcription's (the tests check this), while the
memory beyond the state arrays stays constant and each block stays in the CPU cache.
"""
from __future__ import annotations

from typing import Callable, Union

import numpy as np

from . import _checks

Schedule = Callable[[int], float]
LearningRate = Union[float, Schedule]

#: Bytes of one block of the blocked update, per operand. Small enough that the blocks of every
#: operand stay in the cache, large enough that numpy's per-call cost is small. Of 256 KiB to 2 MiB,
#: 1 MiB was the fastest or within a few percent of it for every optimizer on the course's machine
#: (the block-size table of benchmarks/results.md).
BLOCK_BYTES = 1024 * 1024


# ---------------------------------------------------------------------------------------------------
# Shared primitives (each works in place on one block; ``scratch`` is a buffer of the block's size).
# ---------------------------------------------------------------------------------------------------

def ema_(avg: np.ndarray, x: np.ndarray, decay: float, scratch: np.ndarray) -> np.ndarray:
    r"""Exponential moving average, in place: :math:`a \leftarrow \beta a + (1 - \beta) x`.

    The one moving average of the course: note 2's momentum :math:`v`, RMSProp's :math:`E[g^2]` and
    both of Adam's moments are this update. Same operations as ``decay * avg + (1 - decay) * x``.
    ``scratch`` may be ``x`` itself when ``x`` is not needed afterwards (it is then overwritten).
    """
    np.multiply(avg, decay, out=avg)
    np.multiply(x, 1 - decay, out=scratch)
    np.add(avg, scratch, out=avg)
    return avg


def bias_correction(decay: float, t: int) -> float:
    r"""Adam's bias correction factor :math:`1 - \beta^t` for step :math:`t \ge 1`.

    A moving average started at 0 is :math:`(1 - \beta^t)` times the average it estimates, for a
    constant input, so dividing by this factor removes the bias toward 0 (Kingma & Ba 2015, sec. 3).
    """
    return 1 - decay ** t


def scaled_by_rms_(g: np.ndarray, cache: np.ndarray, eps: float, out: np.ndarray,
                   eps_inside_sqrt: bool = False) -> np.ndarray:
    r"""The adaptive step direction :math:`g / (\sqrt{cache} + \epsilon)`, into ``out``.

    With ``eps_inside_sqrt=True`` it is note 2's :math:`g / \sqrt{cache + \epsilon}`.
    """
    if eps_inside_sqrt:
        np.add(cache, eps, out=out)
        np.sqrt(out, out=out)
    else:
        np.sqrt(cache, out=out)
        np.add(out, eps, out=out)
    np.divide(g, out, out=out)
    return out


# ---------------------------------------------------------------------------------------------------
# The optimizer protocol
# ---------------------------------------------------------------------------------------------------

class Optimizer:
    r"""Base class: holds the learning rate, the step counter and the state arrays.

    Subclasses name their state arrays in ``_state_names`` and implement ``_update_block``, which
    applies the rule to one block. ``step`` does the checking, so a refused step changes nothing.
    """

    _state_names: tuple[str, ...] = ()
    _scratch_buffers = 1

    def __init__(self, lr: LearningRate):
        self.lr = lr
        self.t = 0  # steps taken; the schedule is called with this index
        for name in self._state_names:
            setattr(self, name, None)
        self._scratch = None

    # --- learning rate: a float > 0 or a schedule t -> float ----------------------------------------
    @property
    def lr(self) -> LearningRate:
        """The learning rate, a float > 0, or a schedule (a callable of the step index t = 0, 1, ...)."""
        return self._lr

    @lr.setter
    def lr(self, value: LearningRate) -> None:
        self._lr = value if callable(value) else _checks.positive("lr", value)

    def lr_at(self, t: int) -> float:
        """The learning rate used by step ``t`` (the schedule's value, checked to be > 0)."""
        if not callable(self._lr):
            return self._lr
        return _checks.positive(f"lr (the schedule's value at step {t})", self._lr(t))

    # --- state ---------------------------------------------------------------------------------------
    @property
    def state_nbytes(self) -> int:
        """Bytes held in state arrays (note 1's memory(u), memory(cache)); 0 before the first step."""
        return sum(getattr(self, n).nbytes for n in self._state_names if getattr(self, n) is not None)

    @property
    def scratch_nbytes(self) -> int:
        """Bytes of the fixed scratch buffer the blocked update works in (at most a few blocks, whatever
        the number of parameters); 0 before the first step."""
        return 0 if self._scratch is None else self._scratch.nbytes

    def reset(self) -> None:
        """Forget the state and the step count (the hyperparameters stay)."""
        self.t = 0
        for name in self._state_names:
            setattr(self, name, None)
        self._scratch = None

    def _prepare(self, theta) -> np.ndarray:
        """Check theta and create the zero state the first time; return theta flattened (a view)."""
        if not isinstance(theta, np.ndarray) or not np.issubdtype(theta.dtype, np.floating):
            raise ValueError(f"theta must be a floating-point numpy array, got {type(theta).__name__}"
                             + (f" of dtype {theta.dtype}" if isinstance(theta, np.ndarray) else ""))
        if not theta.flags.c_contiguous or not theta.flags.writeable:
            raise ValueError("theta must be a writeable C-contiguous array (it is updated in place)")
        state = getattr(self, self._state_names[0]) if self._state_names else None
        if state is not None and (state.shape, state.dtype) != (theta.shape, theta.dtype):
            raise ValueError(f"theta is {theta.dtype} of shape {theta.shape} but the optimizer's state is "
                             f"{state.dtype} of shape {state.shape}; call reset() for new parameters")
        if state is None:
            for name in self._state_names:
                setattr(self, name, np.zeros_like(theta))
        block = max(1, BLOCK_BYTES // theta.itemsize)
        if self._scratch is None or self._scratch.dtype != theta.dtype:
            self._scratch = np.empty((self._scratch_buffers, min(block, theta.size) or 1), dtype=theta.dtype)
        return theta.reshape(-1)

    def _checked_grad(self, grad_fn, theta: np.ndarray) -> np.ndarray:
        """Call grad_fn(theta) and check its shape and that every entry is finite."""
        g = np.asarray(grad_fn(theta))
        if g.shape != theta.shape:
            raise ValueError(f"grad_fn returned shape {g.shape}, expected theta's shape {theta.shape}")
        flat = g.reshape(-1)
        if not all_finite(flat):
            raise FloatingPointError(f"gradient at step {self.t} is not finite (nan or inf); "
                                     "theta was left unchanged")
        return flat

    def step(self, theta: np.ndarray, grad_fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Take one step: update ``theta`` in place with the gradient ``grad_fn(theta)``; return theta."""
        flat = self._prepare(theta)
        lr = self.lr_at(self.t)
        g = self._checked_grad(grad_fn, theta)
        self._apply(flat, g, lr)
        self.t += 1
        return theta

    def _apply(self, flat_theta: np.ndarray, flat_g: np.ndarray, lr: float) -> None:
        states = [getattr(self, n).reshape(-1) for n in self._state_names]
        n, size = flat_theta.size, self._scratch.shape[1]
        full_scratch = list(self._scratch)  # views of the whole buffers, for every block but the last
        update = self._update_block
        for lo in range(0, n, size):
            hi = lo + size
            scratch = full_scratch if hi <= n else [s[: n - lo] for s in self._scratch]
            update(flat_theta[lo:hi], flat_g[lo:hi], lr, *[s[lo:hi] for s in states], scratch=scratch)

    def _update_block(self, theta, g, lr, *state, scratch):
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def hyperparameters(self) -> dict:
        """The constructor's arguments, by name."""
        return {"lr": self.lr}


def all_finite(x: np.ndarray) -> bool:
    r"""True if no entry of ``x`` is nan or :math:`\pm\infty`; reads ``x`` once, with no temporary.

    Every ``step`` calls it on the gradient before writing anything, so that a refused step leaves
    :math:`\theta` and the state as they were. One dot product :math:`x \cdot x = \sum_i x_i^2` is
    finite whenever every :math:`x_i` is, unless the sum overflows: only then (huge but finite
    entries) is ``x`` checked entry by entry, a block of :data:`BLOCK_BYTES` at a time. The check
    costs one more read of the gradient per step, the price of that guarantee
    (``benchmarks/results.md`` measures it).
    """
    flat = np.asarray(x).reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.dot(flat, flat)):
            return True
    size = max(1, BLOCK_BYTES // max(flat.itemsize, 1))
    return all(np.isfinite(flat[lo:lo + size]).all() for lo in range(0, flat.size, size))


# ---------------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------------

class SGD(Optimizer):
    r"""(Stochastic) gradient descent, note 1's SGD and note 2's update rule.

    .. math::
        \theta_{t+1} = \theta_t - \alpha \nabla E(\theta_t)

    Note 2 writes the same rule as :math:`w := w - \eta\,\partial L / \partial w`.
    Memory: :math:`memory(\text{forward path})`, no state (``state_nbytes == 0``).

    Parameters
    ----------
    lr : float or schedule
        The learning rate :math:`\alpha` (note 2's :math:`\eta`), > 0.

    References
    ----------
    Robbins & Monro (1951), A stochastic approximation method.
    """

    def _update_block(self, theta, g, lr, *, scratch):
        step, = scratch
        np.multiply(lr, g, out=step)          # lr * g, as the transcription theta - lr * g
        np.subtract(theta, step, out=theta)


class Momentum(Optimizer):
    r"""Heavy-ball momentum in note 1's form.

    .. math::
        u_{t+1} &= \mu u_t + \alpha \nabla E(\theta_t) \\
        \theta_{t+1} &= \theta_t - u_{t+1}

    Memory: :math:`memory(\text{forward path}) + memory(u)`.

    Equivalences (exact, step by step):

    * note 2's :class:`EMAMomentum` with :math:`\beta = \mu` and :math:`\eta = \alpha / (1 - \beta)`
      gives the same iterates as this class, since then :math:`u_t = \eta (1 - \beta) v_t` for every t,
      as long as the learning rate is constant;
    * ``torch.optim.SGD(momentum=mu)`` keeps ``buf`` with :math:`u = \alpha\,buf`, so the two agree
      for a constant :math:`\alpha` (not when :math:`\alpha` changes: torch scales the whole buffer by
      the new rate, note 1 only the new gradient).

    Parameters
    ----------
    lr : float or schedule
        :math:`\alpha` > 0.
    mu : float
        The momentum coefficient :math:`\mu \in [0, 1)`.

    References
    ----------
    Polyak (1964), Some methods of speeding up the convergence of iteration methods.
    """

    _state_names = ("u",)

    def __init__(self, lr: LearningRate, mu: float = 0.9):
        self.mu = _checks.in_unit_interval("mu", mu)
        super().__init__(lr)

    def hyperparameters(self):
        return {"lr": self.lr, "mu": self.mu}

    def _update_block(self, theta, g, lr, u, *, scratch):
        lr_g, = scratch
        np.multiply(u, self.mu, out=u)
        np.multiply(lr, g, out=lr_g)
        np.add(u, lr_g, out=u)                # u = mu * u + lr * g
        np.subtract(theta, u, out=theta)      # theta = theta - u


class EMAMomentum(Optimizer):
    r"""Momentum in note 2's form: an exponential moving average of the gradients.

    .. math::
        v_t &= \beta v_{t-1} + (1 - \beta) \nabla E(w_t) \\
        w_{t+1} &= w_t - \eta v_t

    Memory: :math:`memory(\text{forward path}) + memory(v)`.

    With a constant learning rate this is exactly note 1's :class:`Momentum` with :math:`\mu = \beta`
    and :math:`\alpha = \eta (1 - \beta)` (then :math:`u_t = \eta v_t`). With a schedule the two part:
    here a new :math:`\eta_t` rescales the whole velocity at once.

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta` > 0.
    beta : float
        :math:`\beta \in [0, 1)`.
    """

    _state_names = ("v",)
    _scratch_buffers = 1

    def __init__(self, lr: LearningRate, beta: float = 0.9):
        self.beta = _checks.in_unit_interval("beta", beta)
        super().__init__(lr)

    def hyperparameters(self):
        return {"lr": self.lr, "beta": self.beta}

    def _update_block(self, theta, g, lr, v, *, scratch):
        tmp, = scratch
        ema_(v, g, self.beta, tmp)            # v = beta * v + (1 - beta) * g
        np.multiply(lr, v, out=tmp)
        np.subtract(theta, tmp, out=theta)    # theta = theta - lr * v


class Nesterov(Optimizer):
    r"""Nesterov momentum in note 1's look-ahead form.

    .. math::
        u_{t+1} &= \mu u_t + \alpha \nabla E(\theta_t - \mu u_t) \\
        \theta_{t+1} &= \theta_t - u_{t+1}

    ``grad_fn`` is called once per step, at the look-ahead point :math:`\theta_t - \mu u_t`.
    Memory: :math:`memory(\text{forward path}) + memory(u)`: to keep that claim, ``step`` moves
    ``theta`` itself to the look-ahead point (no second parameter-sized array), asks for the gradient
    there, and finishes with :math:`\theta_{t+1} = (\theta_t - \mu u_t) - \alpha g`, which equals
    :math:`\theta_t - u_{t+1}` up to one rounding. If the gradient is refused, theta is moved back:
    it is then the old theta up to one rounding (exactly, on the first step, where u = 0).

    PyTorch's ``SGD(nesterov=True)`` runs the same method on the shifted variable
    :math:`\phi_t = \theta_t - \mu u_t` (its parameters are note 1's look-ahead points).

    Stability: on a quadratic with curvature :math:`\lambda` it converges for
    :math:`\alpha\lambda < 2(1 + \mu)/(1 + 2\mu)`, a narrower range than heavy-ball
    :class:`Momentum`'s :math:`\alpha\lambda < 2(1 + \mu)` (both from where a root of the iteration's
    characteristic polynomial crosses :math:`-1`).

    Parameters
    ----------
    lr : float or schedule
        :math:`\alpha` > 0.
    mu : float
        :math:`\mu \in [0, 1)`.

    References
    ----------
    Nesterov (1983); Sutskever, Martens, Dahl & Hinton (2013), On the importance of initialization
    and momentum in deep learning.
    """

    _state_names = ("u",)

    def __init__(self, lr: LearningRate, mu: float = 0.9):
        self.mu = _checks.in_unit_interval("mu", mu)
        super().__init__(lr)

    def hyperparameters(self):
        return {"lr": self.lr, "mu": self.mu}

    def _shift(self, flat_theta, sign):
        """theta += sign * mu * u, blockwise (sign -1: to the look-ahead point, +1: back)."""
        u = self.u.reshape(-1)
        size = self._scratch.shape[1]
        op = np.subtract if sign < 0 else np.add
        for lo in range(0, flat_theta.size, size):
            hi = min(lo + size, flat_theta.size)
            mu_u = np.multiply(self.mu, u[lo:hi], out=self._scratch[0, : hi - lo])
            op(flat_theta[lo:hi], mu_u, out=flat_theta[lo:hi])

    def step(self, theta, grad_fn):
        flat = self._prepare(theta)
        lr = self.lr_at(self.t)
        self._shift(flat, -1)                 # theta is now the look-ahead point theta - mu * u
        try:
            g = self._checked_grad(grad_fn, theta)
        except BaseException:
            self._shift(flat, +1)
            raise
        self._apply(flat, g, lr)
        self.t += 1
        return theta

    def _update_block(self, lookahead, g, lr, u, *, scratch):
        lr_g, = scratch
        np.multiply(lr, g, out=lr_g)
        np.multiply(u, self.mu, out=u)
        np.add(u, lr_g, out=u)                        # u = mu * u + lr * g(look-ahead)
        np.subtract(lookahead, lr_g, out=lookahead)   # theta - u = (theta - mu * u_old) - lr * g


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
        :math:`\alpha` > 0.
    eps : float
        :math:`\epsilon` > 0.

    References
    ----------
    Duchi, Hazan & Singer (2011), Adaptive subgradient methods for online learning and stochastic
    optimization. JMLR 12.
    """

    _state_names = ("cache",)

    def __init__(self, lr: LearningRate, eps: float = 1e-8):
        self.eps = _checks.positive("eps", eps)
        super().__init__(lr)

    def hyperparameters(self):
        return {"lr": self.lr, "eps": self.eps}

    def _update_block(self, theta, g, lr, cache, *, scratch):
        tmp, = scratch
        np.multiply(g, g, out=tmp)
        np.add(cache, tmp, out=cache)                 # cache = cache + g**2
        scaled_by_rms_(g, cache, self.eps, out=tmp)   # g / (sqrt(cache) + eps)
        np.multiply(lr, tmp, out=tmp)
        np.subtract(theta, tmp, out=theta)


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
        :math:`\alpha` (note 2's :math:`\eta`) > 0.
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

    _state_names = ("cache",)

    def __init__(self, lr: LearningRate, beta: float = 0.9, eps: float = 1e-8, eps_inside_sqrt: bool = False):
        self.beta = _checks.in_unit_interval("beta", beta)
        self.eps = _checks.positive("eps", eps)
        if not isinstance(eps_inside_sqrt, bool):
            raise ValueError(f"eps_inside_sqrt must be True or False, got {eps_inside_sqrt!r}")
        self.eps_inside_sqrt = eps_inside_sqrt
        super().__init__(lr)

    def hyperparameters(self):
        return {"lr": self.lr, "beta": self.beta, "eps": self.eps, "eps_inside_sqrt": self.eps_inside_sqrt}

    def _update_block(self, theta, g, lr, cache, *, scratch):
        tmp, = scratch
        np.multiply(g, g, out=tmp)
        ema_(cache, tmp, self.beta, tmp)              # cache = beta * cache + (1 - beta) * g**2
        scaled_by_rms_(g, cache, self.eps, out=tmp, eps_inside_sqrt=self.eps_inside_sqrt)
        np.multiply(lr, tmp, out=tmp)
        np.subtract(theta, tmp, out=theta)


class Adam(Optimizer):
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
    (PyTorch folds the corrections into the step size).

    Parameters
    ----------
    lr : float or schedule
        :math:`\eta` (note 1's :math:`\alpha`) > 0.
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

    _state_names = ("m", "v")
    _scratch_buffers = 2

    def __init__(self, lr: LearningRate, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 bias_correction: bool = True):
        self.beta1 = _checks.in_unit_interval("beta1", beta1)
        self.beta2 = _checks.in_unit_interval("beta2", beta2)
        self.eps = _checks.positive("eps", eps)
        if not isinstance(bias_correction, bool):
            raise ValueError(f"bias_correction must be True or False, got {bias_correction!r}")
        self.bias_correction = bias_correction
        super().__init__(lr)

    def hyperparameters(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "bias_correction": self.bias_correction}

    def _apply(self, flat_theta, flat_g, lr):
        t = self.t + 1  # Adam counts steps from 1
        self._bc1 = bias_correction(self.beta1, t) if self.bias_correction else 1.0
        self._bc2 = bias_correction(self.beta2, t) if self.bias_correction else 1.0
        super()._apply(flat_theta, flat_g, lr)

    def _update_block(self, theta, g, lr, m, v, *, scratch):
        a, b = scratch
        ema_(m, g, self.beta1, a)                     # m = beta1 * m + (1 - beta1) * g
        np.multiply(g, g, out=b)
        ema_(v, b, self.beta2, b)                     # v = beta2 * v + (1 - beta2) * g**2
        if self.bias_correction:
            np.divide(v, self._bc2, out=b)            # v_hat = v / (1 - beta2**t)
            np.sqrt(b, out=b)
            np.divide(m, self._bc1, out=a)            # m_hat = m / (1 - beta1**t)
        else:
            np.sqrt(v, out=b)
            a[...] = m
        np.add(b, self.eps, out=b)
        np.divide(a, b, out=a)                        # m_hat / (sqrt(v_hat) + eps)
        np.multiply(lr, a, out=a)
        np.subtract(theta, a, out=theta)


#: Every optimizer of the course, by name, in the order the chapters meet them.
OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Momentum, EMAMomentum, Nesterov, Adagrad, RMSProp, Adam)}
