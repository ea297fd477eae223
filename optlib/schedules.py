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
