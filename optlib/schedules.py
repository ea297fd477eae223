r"""Note 2's learning-rate schedules: fixed, exponential decay, and an adaptive one (reduce on plateau).

A *schedule* is a callable of the step index :math:`t = 0, 1, 2, \dots` returning the learning rate
:math:`\eta_t`; every optimizer accepts one as its ``lr``, e.g. ``SGD(lr=exponential_decay(0.1, 0.01))``.
The schedules here are small objects rather than closures so that the value at any :math:`t` is
computed from the closed form (no accumulated rounding) and so that they print their settings.

The adaptive schedule, :class:`ReduceLROnPlateau`, cannot be a function of :math:`t` alone: it
watches a metric (a validation loss) and lowers a float ``optimizer.lr`` when the metric stalls.
"""
from __future__ import annotations

import math

from . import _checks


class _Schedule:
    """Base class: checks ``t`` and prints as the call that made it."""

    _fields: tuple[str, ...] = ()

    def __call__(self, t: int) -> float:
        return self._at(_checks.non_negative_int("t", t))

    def _at(self, t: int) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"


# The classes are named in lowercase because they are used like functions (as in optax).

class constant(_Schedule):
    r"""A fixed learning rate, note 2's first schedule.

    .. math::
        \eta_t = \eta_0

    Parameters
    ----------
    lr0 : float
        :math:`\eta_0 > 0`.

    Raises
    ------
    ValueError
        If ``lr0`` is not > 0; calling it with a ``t`` that is not an integer >= 0.
    """

    _fields = ("lr0",)

    def __init__(self, lr0: float):
        self.lr0 = _checks.positive("lr0", lr0)

    def _at(self, t: int) -> float:
        return self.lr0


class exponential_decay(_Schedule):
    r"""Exponential decay, note 2's second schedule.

    .. math::
        \eta_t = \eta_0 \, e^{-\lambda t}

    It equals PyTorch's ``ExponentialLR(optimizer, gamma=math.exp(-lam))`` with initial lr
    :math:`\eta_0`, since :math:`e^{-\lambda t} = \gamma^t` (PyTorch multiplies by :math:`\gamma` once
    per step, so the two agree up to rounding).

    Parameters
    ----------
    lr0 : float
        :math:`\eta_0 > 0`.
    lam : float
        Decay rate :math:`\lambda \ge 0` (0 gives a constant rate).

    Raises
    ------
    ValueError
        If ``lr0`` is not > 0 or ``lam`` is negative; calling it with a bad ``t``.
    """

    _fields = ("lr0", "lam")

    def __init__(self, lr0: float, lam: float):
        self.lr0 = _checks.positive("lr0", lr0)
        self.lam = _checks.non_negative("lam", lam)

    def _at(self, t: int) -> float:
        return self.lr0 * math.exp(-self.lam * t)


class step_decay(_Schedule):
    r"""Step decay: multiply the rate by ``factor`` every ``every`` steps.

    .. math::
        \eta_t = \eta_0 \cdot \text{factor}^{\lfloor t / \text{every} \rfloor}

    Equals PyTorch's ``StepLR(optimizer, step_size=every, gamma=factor)``.

    Parameters
    ----------
    lr0 : float
        :math:`\eta_0 > 0`.
    factor : float
        Multiplier in (0, 1] (1 gives a constant rate).
    every : int
        Steps between drops, >= 1.

    Raises
    ------
    ValueError
        If ``lr0`` is not > 0, ``factor`` is outside (0, 1] or ``every`` is not a positive integer;
        calling it with a bad ``t``.
    """

    _fields = ("lr0", "factor", "every")

    def __init__(self, lr0: float, factor: float, every: int):
        self.lr0 = _checks.positive("lr0", lr0)
        self.factor = _checks.in_unit_interval("factor", factor, closed=True)
        if self.factor == 0:
            raise ValueError("factor must lie in (0, 1], got 0")
        self.every = _checks.positive_int("every", every)

    def _at(self, t: int) -> float:
        return self.lr0 * self.factor ** (t // self.every)


# ---------------------------------------------------------------------------------------------------
# The adaptive schedule
# ---------------------------------------------------------------------------------------------------

class ReduceLROnPlateau:
    r"""Note 2's adaptive learning rate: cut ``optimizer.lr`` by ``factor`` when a metric stops improving.

    PyTorch's rule, call by call, in its four forms. A metric :math:`M` is an improvement on the best
    so far when

    .. math::
        \begin{array}{ll}
        M < \text{best} \cdot (1 - \text{threshold}) & \text{mode min, threshold\_mode rel,} \\
        M < \text{best} - \text{threshold} & \text{mode min, threshold\_mode abs,} \\
        M > \text{best} \cdot (1 + \text{threshold}) & \text{mode max, threshold\_mode rel,} \\
        M > \text{best} + \text{threshold} & \text{mode max, threshold\_mode abs;}
        \end{array}

    it then becomes the new best (which starts at :math:`+\infty` for min, :math:`-\infty` for max)
    and ``num_bad_epochs`` is reset to 0; otherwise (a nan metric included) ``num_bad_epochs``
    grows by 1. While cooling down (``cooldown`` calls after a cut) bad epochs are reset to 0. Once
    ``num_bad_epochs > patience``:

    .. math::
        \eta \leftarrow \max(\eta \cdot \text{factor},\ \text{min\_lr}),

    applied only if it lowers :math:`\eta` by more than ``eps``; then the cooldown starts and
    ``num_bad_epochs`` is reset. With ``eps=0`` and ``min_lr=0`` the rate can reach exactly 0, as in
    torch, and the optimizers accept it (a step that changes nothing). Use ``mode="max"`` for a
    metric to maximize, such as an accuracy: it is not the same as minimizing the negated metric
    with a relative threshold, as :math:`-M < -\text{best}(1 - \text{threshold})` is
    :math:`M > \text{best}(1 - \text{threshold})`, a smaller bar than max mode's
    :math:`\text{best}(1 + \text{threshold})`.

    Parameters
    ----------
    optimizer : object
        Anything with a settable float attribute ``lr``, such as an optlib optimizer built with a
        float learning rate.
    mode : {"min", "max"}
        Whether the metric should fall (a loss) or rise (an accuracy).
    factor : float
        Multiplier in (0, 1).
    patience : int
        Bad epochs tolerated before a cut, >= 0.
    threshold : float
        Improvement that counts, >= 0, relative or absolute as ``threshold_mode`` says.
    threshold_mode : {"rel", "abs"}
    cooldown : int
        Calls to wait after a cut before counting bad epochs again, >= 0.
    min_lr : float
        Lower bound on the learning rate, >= 0.
    eps : float
        Smallest change of the learning rate worth applying, >= 0.

    Attributes
    ----------
    best : float
        Best metric so far (``inf`` for min, ``-inf`` for max, before the first call).
    num_bad_epochs : int
        Non-improving calls since the last improvement, cut or cooldown.
    cooldown_counter : int
        Calls of cooldown left.
    last_lr : float
        ``optimizer.lr`` after the latest call (its initial value before any).
    history : list of float
        ``optimizer.lr`` after each call to :meth:`step`.

    Raises
    ------
    ValueError
        If ``optimizer.lr`` is missing or is a callable schedule (the rule needs a float), or any
        other argument is out of range; the message names the argument.

    References
    ----------
    ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (PyTorch), which this matches step for step.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        self.optimizer = optimizer
        self.last_lr = self._current_lr()
        self.mode = _checks.one_of("mode", mode, ("min", "max"))
        self.factor = _checks.in_open_unit_interval("factor", factor)
        self.patience = _checks.non_negative_int("patience", patience)
        self.threshold = _checks.non_negative("threshold", threshold)
        self.threshold_mode = _checks.one_of("threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = _checks.non_negative_int("cooldown", cooldown)
        self.min_lr = _checks.non_negative("min_lr", min_lr)
        self.eps = _checks.non_negative("eps", eps)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.history: list[float] = []

    def _current_lr(self) -> float:
        lr = getattr(self.optimizer, "lr", None)
        if lr is None or callable(lr):
            raise ValueError("optimizer must have a float learning rate `lr` (not a schedule): "
                             "ReduceLROnPlateau lowers that number")
        return float(lr)

    @property
    def in_cooldown(self) -> bool:
        """True while cooldown calls remain after a cut."""
        return self.cooldown_counter > 0

    def is_better(self, metric: float) -> bool:
        r"""Whether ``metric`` improves on ``best`` by more than the threshold (the table above)."""
        if self.mode == "min":
            bar = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return metric < bar
        bar = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return metric > bar

    def step(self, metric: float) -> float:
        """Record one value of the metric (e.g. a validation loss), cut the rate if it stalled.

        Returns the learning rate after the call.
        """
        metric = float(metric)
        lr = self._current_lr()
        if self.is_better(metric):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1

        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs right after a cut are forgiven

        if self.num_bad_epochs > self.patience:
            new_lr = max(lr * self.factor, self.min_lr)
            if lr - new_lr > self.eps:  # skip changes too small to matter (e.g. already at min_lr)
                self.optimizer.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

        self.last_lr = self._current_lr()
        self.history.append(self.last_lr)
        return self.last_lr

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor!r}, patience={self.patience!r}, "
                f"threshold={self.threshold!r}, threshold_mode={self.threshold_mode!r}, "
                f"cooldown={self.cooldown!r}, min_lr={self.min_lr!r}, eps={self.eps!r})")


# ---------------------------------------------------------------------------------------------------
# Beyond the notes: warmup, cosine annealing, 1/t decay, and one schedule after another
# ---------------------------------------------------------------------------------------------------

class linear_warmup(_Schedule):
    r"""Linear warmup: grow the rate from ``start_factor`` times :math:`\eta_0` to :math:`\eta_0`.

    .. math::
        \eta_t = \eta_0 \left( s + (1 - s) \, \frac{\min(t, T_w)}{T_w} \right)

    with :math:`s` = ``start_factor`` and :math:`T_w` = ``warmup_steps``; constant at :math:`\eta_0`
    from step :math:`T_w` on. Equals PyTorch's ``LinearLR(optimizer, start_factor=s, end_factor=1.0,
    total_iters=warmup_steps)`` with initial lr :math:`\eta_0` (PyTorch multiplies by a ratio each step,
    so the two agree up to rounding).

    Parameters
    ----------
    lr0 : float
        The rate reached at the end of the warmup, :math:`\eta_0 > 0`.
    warmup_steps : int
        :math:`T_w \ge 1`.
    start_factor : float
        :math:`s \in (0, 1]`: the first step uses :math:`s \eta_0` (1 gives a constant rate).

    Raises
    ------
    ValueError
        If ``lr0`` is not > 0, ``warmup_steps`` is not a positive integer or ``start_factor`` is
        outside (0, 1]; calling it with a bad ``t``.

    References
    ----------
    Goyal et al. (2017), Accurate, large minibatch SGD: training ImageNet in 1 hour (gradual warmup).
    """

    _fields = ("lr0", "warmup_steps", "start_factor")

    def __init__(self, lr0: float, warmup_steps: int, start_factor: float = 0.01):
        self.lr0 = _checks.positive("lr0", lr0)
        self.warmup_steps = _checks.positive_int("warmup_steps", warmup_steps)
        self.start_factor = _checks.in_unit_interval("start_factor", start_factor, closed=True)
        if self.start_factor == 0:
            raise ValueError("start_factor must lie in (0, 1], got 0 (a rate of 0 would not move)")

    def _at(self, t: int) -> float:
        s = self.start_factor
        return self.lr0 * (s + (1 - s) * min(t, self.warmup_steps) / self.warmup_steps)


class cosine_annealing(_Schedule):
    r"""Cosine annealing: half a cosine from :math:`\eta_0` down to :math:`\eta_\text{min}` in :math:`T` steps.

    .. math::
        \eta_t = \eta_\text{min} + \frac{\eta_0 - \eta_\text{min}}{2}
                 \left(1 + \cos\frac{\pi \min(t, T)}{T}\right)

    The rate falls slowly at first, fastest halfway, and slowly again at the end. It equals PyTorch's
    ``CosineAnnealingLR(optimizer, T_max=T, eta_min=eta_min)`` for :math:`t \le T`. After :math:`T`
    this schedule stays at :math:`\eta_\text{min}` (as optax's ``cosine_decay_schedule``), whereas
    PyTorch's keeps following the cosine back up; use :class:`cosine_warm_restarts` for restarts.
    With ``eta_min=0`` the rate reaches 0 at step :math:`T`, so train for at most :math:`T` steps.

    Parameters
    ----------
    lr0 : float
        :math:`\eta_0 > 0`.
    T_max : int
        :math:`T \ge 1`, the steps of the descent.
    eta_min : float
        :math:`0 \le \eta_\text{min} \le \eta_0`.

    Raises
    ------
    ValueError
        If ``lr0`` is not > 0, ``T_max`` is not a positive integer, or ``eta_min`` is outside
        :math:`[0, \eta_0]`; calling it with a bad ``t``.

    References
    ----------
    Loshchilov & Hutter (2017), SGDR: Stochastic gradient descent with warm restarts. ICLR.
    """

    _fields = ("lr0", "T_max", "eta_min")

    def __init__(self, lr0: float, T_max: int, eta_min: float = 0.0):
        self.lr0 = _checks.positive("lr0", lr0)
        self.T_max = _checks.positive_int("T_max", T_max)
        self.eta_min = _checks.non_negative("eta_min", eta_min)
        if self.eta_min > self.lr0:
            raise ValueError(f"eta_min must be at most lr0={self.lr0!r}, got {eta_min!r}")

    def _at(self, t: int) -> float:
        t = min(t, self.T_max)
        return self.eta_min + (self.lr0 - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class cosine_warm_restarts(_Schedule):
    r"""Cosine annealing with warm restarts (SGDR): the cosine of :class:`cosine_annealing`, started over.

    .. math::
        \eta_t = \eta_\text{min} + \frac{\eta_0 - \eta_\text{min}}{2}
                 \left(1 + \cos\frac{\pi T_\text{cur}}{T_i}\right)

    where cycle :math:`i = 0, 1, \dots` lasts :math:`T_i = T_0 m^i` steps (:math:`m` = ``T_mult``) and
    :math:`T_\text{cur}` counts the steps since the last restart. At each restart the rate jumps back
    to :math:`\eta_0`. Equals PyTorch's ``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult, eta_min)``
    stepped once per step.

    Parameters
    ----------
    lr0 : float
        :math:`\eta_0 > 0`.
    T_0 : int
        Length of the first cycle, >= 1.
    T_mult : int
        Each cycle is ``T_mult`` times as long as the one before, >= 1.
    eta_min : float
        :math:`0 \le \eta_\text{min} \le \eta_0`.

    Raises
    ------
    ValueError
        If an argument is out of range; calling it with a bad ``t``.

    References
    ----------
    Loshchilov & Hutter (2017), SGDR: Stochastic gradient descent with warm restarts. ICLR.
    """

    _fields = ("lr0", "T_0", "T_mult", "eta_min")

    def __init__(self, lr0: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0):
        self.lr0 = _checks.positive("lr0", lr0)
        self.T_0 = _checks.positive_int("T_0", T_0)
        self.T_mult = _checks.positive_int("T_mult", T_mult)
        self.eta_min = _checks.non_negative("eta_min", eta_min)
        if self.eta_min > self.lr0:
            raise ValueError(f"eta_min must be at most lr0={self.lr0!r}, got {eta_min!r}")

    def _at(self, t: int) -> float:
        t_cur, t_i = t, self.T_0
        while t_cur >= t_i:  # walk through the finished cycles (integers: no rounding)
            t_cur -= t_i
            t_i *= self.T_mult
        return self.eta_min + (self.lr0 - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


class inverse_time_decay(_Schedule):
    r"""1/t (inverse-time) decay.

    .. math::
        \eta_t = \frac{\eta_0}{1 + k t}

    The rates sum to infinity while their squares do not,
    :math:`\sum_t \eta_t = \infty` and :math:`\sum_t \eta_t^2 < \infty`: the conditions under which
    Robbins and Monro prove that SGD converges. Equals PyTorch's
    ``LambdaLR(optimizer, lambda t: 1 / (1 + k * t))`` (and Keras's ``InverseTimeDecay`` with
    ``decay_rate / decay_steps`` = k).

    Parameters
    ----------
    lr0 : float
        :math:`\eta_0 > 0`.
    k : float
        Decay rate :math:`k \ge 0` (0 gives a constant rate); the rate has halved at :math:`t = 1/k`.

    Raises
    ------
    ValueError
        If ``lr0`` is not > 0 or ``k`` is negative; calling it with a bad ``t``.

    References
    ----------
    Robbins & Monro (1951), A stochastic approximation method.
    """

    _fields = ("lr0", "k")

    def __init__(self, lr0: float, k: float):
        self.lr0 = _checks.positive("lr0", lr0)
        self.k = _checks.non_negative("k", k)

    def _at(self, t: int) -> float:
        return self.lr0 / (1 + self.k * t)


class sequential(_Schedule):
    r"""One schedule after another, each started from its own step 0 (PyTorch's ``SequentialLR``).

    With schedules :math:`s_0, \dots, s_K` and milestones :math:`m_1 < \dots < m_K` (and
    :math:`m_0 = 0`):

    .. math::
        \eta_t = s_k(t - m_k) \quad \text{for } m_k \le t < m_{k+1} .

    Equals ``SequentialLR(optimizer, schedulers, milestones)`` built from the matching PyTorch
    schedulers.

    Parameters
    ----------
    schedules : sequence of schedules
        Callables of the step index, at least one.
    milestones : sequence of int
        Increasing steps >= 1 where the next schedule takes over; one fewer than ``schedules``.

    Raises
    ------
    ValueError
        If a schedule is not callable, or the milestones are not increasing positive integers, one
        fewer than the schedules; calling it with a bad ``t``.
    """

    _fields = ("schedules", "milestones")

    def __init__(self, schedules, milestones):
        self.schedules = list(schedules)
        if not self.schedules or not all(callable(s) for s in self.schedules):
            raise ValueError("schedules must be a non-empty sequence of schedules (callables of t)")
        self.milestones = [_checks.positive_int("milestones", m) for m in milestones]
        if len(self.milestones) != len(self.schedules) - 1:
            raise ValueError(f"milestones must have one entry fewer than schedules ({len(self.schedules) - 1}), "
                             f"got {len(self.milestones)}")
        if any(b <= a for a, b in zip(self.milestones, self.milestones[1:])):
            raise ValueError(f"milestones must be increasing, got {self.milestones}")

    def _at(self, t: int) -> float:
        start, schedule = 0, self.schedules[0]
        for milestone, following in zip(self.milestones, self.schedules[1:]):
            if t < milestone:
                break
            start, schedule = milestone, following
        return float(schedule(t - start))


def warmup_cosine(lr0: float, warmup_steps: int, total_steps: int, start_factor: float = 0.01,
                  eta_min: float = 0.0) -> sequential:
    r"""Linear warmup, then cosine annealing to :math:`\eta_\text{min}` by the end of training.

    .. math::
        \eta_t = \begin{cases}
            \eta_0 \left( s + (1 - s) \, t / T_w \right) & t < T_w \\
            \eta_\text{min} + \frac{\eta_0 - \eta_\text{min}}{2}
                \left(1 + \cos\frac{\pi (t - T_w)}{T - T_w}\right) & T_w \le t \le T
        \end{cases}

    That is ``sequential([linear_warmup(lr0, T_w, s), cosine_annealing(lr0, T - T_w, eta_min)], [T_w])``,
    PyTorch's ``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR`` with ``milestones=[T_w]``.

    Parameters
    ----------
    lr0 : float
        The peak rate :math:`\eta_0 > 0`.
    warmup_steps : int
        :math:`T_w \ge 1`.
    total_steps : int
        :math:`T > T_w`, the length of the run.
    start_factor : float
        :math:`s \in (0, 1]`.
    eta_min : float
        The final rate, :math:`0 \le \eta_\text{min} \le \eta_0`.

    Raises
    ------
    ValueError
        If ``total_steps`` is not larger than ``warmup_steps``, or an argument is out of range.

    References
    ----------
    Goyal et al. (2017) for the warmup; Loshchilov & Hutter (2017) for the cosine.
    """
    warmup = linear_warmup(lr0, warmup_steps, start_factor)
    total_steps = _checks.positive_int("total_steps", total_steps)
    if total_steps <= warmup.warmup_steps:
        raise ValueError(f"total_steps must be larger than warmup_steps={warmup.warmup_steps}, got {total_steps}")
    cosine = cosine_annealing(lr0, total_steps - warmup.warmup_steps, eta_min)
    return sequential([warmup, cosine], [warmup.warmup_steps])
