r"""One training loop for note 2's three kinds of gradient descent: batch, stochastic and mini-batch.

The batch size picks the rule (:math:`n` examples, batch :math:`B`):

* ``batch_size=None`` (or :math:`n`): **batch** gradient descent, one update per epoch on the full set,
  :math:`w \leftarrow w - \eta \frac{1}{n} \sum_{i=1}^{n} \nabla L_i(w)`;
* ``batch_size=1``: **stochastic** gradient descent, :math:`n` updates per epoch, one example each,
  :math:`w \leftarrow w - \eta \nabla L_i(w)`;
* in between: **mini-batch** gradient descent, :math:`\lceil n / B \rceil` updates per epoch.

Stochastic and mini-batch epochs visit the examples in a fresh random order:
``rng = np.random.default_rng(seed)`` once, then ``order = rng.permutation(n)`` at the start of each
epoch, cut into consecutive batches of :math:`B` (the last, partial batch is kept).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from .functions import _first_at_or_below
from .regularization import l1_penalty, l1_penalty_grad, l2_penalty, l2_penalty_grad

__all__ = ["History", "train", "accuracy", "clip_grad_norm_", "update_ratios", "lr_range_test", "RangeTest"]

_PENALTIES = {"l2": (l2_penalty, l2_penalty_grad), "l1": (l1_penalty, l1_penalty_grad)}


@dataclass
class History:
    r"""What :func:`train` measured; every per-epoch list has one entry per finished epoch.

    Attributes
    ----------
    train_loss : list of float
        Data loss on the whole training set at the end of each epoch (evaluation mode: no dropout,
        no penalty).
    val_loss : list of float or None
        The same on the validation set, or ``None`` without one.
    update_loss : list of float
        Data loss of the (mini-)batch at each update, where the optimizer evaluated the gradient
        (at :math:`\theta`, or at the look-ahead point for Nesterov), with dropout if any.
    examples_seen, updates : list of int
        Cumulative number of examples used and of updates made, at the end of each epoch.
    seconds : list of float
        Cumulative wall-clock seconds spent in the updates (``time.perf_counter``); the end-of-epoch
        evaluation is not timed, as it is the same for every batch size.
    lr : list of float
        Learning rate of the epoch's last update, recorded before ``schedule.step`` may lower it
        (the rate after each plateau decision is in ``schedule.history``).
    penalty : list of float
        The penalty :math:`\lambda \sum w^2` or :math:`\lambda \sum |w|` at the end of each epoch
        (0 without one).
    grad_norm : list of float
        Norm :math:`\lVert g \rVert` of the gradient at each update (with the penalty's, before any
        clipping), one entry per ``update_loss``.
    initial_train_loss, initial_val_loss : float
        The losses before training (``initial_val_loss`` is None without a validation set).
    diverged : bool
        True if training stopped because a gradient or loss was not finite.
    """

    train_loss: list = field(default_factory=list)
    val_loss: list | None = None
    update_loss: list = field(default_factory=list)
    examples_seen: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    penalty: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    initial_train_loss: float = float("nan")
    initial_val_loss: float | None = None
    diverged: bool = False

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.train_loss)

    def first_epoch(self, tol: float, f_star: float = 0.0, loss: str = "train") -> int | None:
        r"""The first epoch (1, 2, ...) at whose end the loss is within ``tol`` of ``f_star``, or None.

        .. math::
            \min\,\{\, e \ge 1 : L_e - f^* \le \text{tol} \,\}

        with :math:`L_e` the training loss (``loss="train"``) or the validation loss (``"val"``)
        at the end of epoch :math:`e`; ``f_star`` is the best loss reachable, e.g. the least-squares
        loss of a regression.
        """
        _checks.one_of("loss", loss, ("train", "val"))
        values = self.train_loss if loss == "train" else self.val_loss
        if values is None:
            raise ValueError("loss='val' needs a validation set (train(..., X_val=, y_val=))")
        index = _first_at_or_below(values, tol, f_star)
        return None if index is None else index + 1

    def __repr__(self) -> str:
        last = f"{self.train_loss[-1]:.4g}" if self.train_loss else "-"
        return (f"History(epochs={self.epochs}, updates={self.updates[-1] if self.updates else 0}, "
                f"train_loss={last}, diverged={self.diverged})")


def _lr_of(optimizer, t: int) -> float:
    """The learning rate ``optimizer`` used (or uses) at step t, float or schedule alike."""
    if hasattr(optimizer, "lr_at"):
        return float(optimizer.lr_at(max(t, 0)))
    lr = optimizer.lr
    return float(lr(max(t, 0)) if callable(lr) else lr)


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list:
    """The index arrays of one epoch: everything at once for batch GD, else shuffled slices."""
    if batch_size == n:
        return [slice(None)]  # batch GD: order does not matter, so no shuffle
    order = rng.permutation(n)
    return [order[lo:lo + batch_size] for lo in range(0, n, batch_size)]


def train(model, X, y, optimizer, epochs: int, batch_size: int | None = None, seed=0,
          X_val=None, y_val=None, penalty: str | None = None, lam: float = 0.0,
          schedule=None, callback=None, clip_norm: float | None = None, step_callback=None) -> History:
    r"""Train ``model`` with ``optimizer``: batch, stochastic or mini-batch gradient descent.

    Each update minimises the batch loss plus an optional penalty on the weights:

    .. math::

        E(w) = \frac{1}{|B|} \sum_{i \in B} L_i(w) + \lambda \sum_j w_j^2 \quad (\text{l2}) \qquad
        \text{or} \quad + \lambda \sum_j |w_j| \quad (\text{l1}),

    with gradient :math:`\nabla E = \frac{1}{|B|}\sum_{i\in B} \nabla L_i + 2\lambda w` (l2) or
    :math:`+\, \lambda\,\mathrm{sign}(w)` (l1). Only weights are penalized, not biases (the model's
    ``is_weight`` mask; every parameter counts as a weight if the model has none): a bias shifts the
    output and does not make the model more complex.

    Parameters
    ----------
    model : Model
        Has ``params`` (flat, updated in place), ``loss_and_grad(params, X, y)`` and ``loss(X, y)``.
    X, y : ndarray
        Training set, ``len(X) == len(y) == n``.
    optimizer : optlib.optimizers.Optimizer
        ``optimizer.step(model.params, grad_fn)`` makes one update.
    epochs : int
        Passes over the training set, >= 1.
    batch_size : int, optional
        ``None`` or ``n``: batch GD; ``1``: stochastic; else mini-batch. At most ``n``.
    seed : int
        Seeds the shuffling (see the module docstring). Dropout masks come from the model's own rng.
    X_val, y_val : ndarray, optional
        Validation set (both or neither).
    penalty : {None, 'l2', 'l1'}
        Weight penalty, note 2's :math:`\lambda \sum w^2` or :math:`\lambda \sum |w|`.
    lam : float
        Its strength :math:`\lambda \ge 0`.
    schedule : object, optional
        Something like :class:`optlib.schedules.ReduceLROnPlateau`: ``schedule.step(metric)`` is called
        once per epoch with the validation loss (the training loss without a validation set).
    callback : callable, optional
        ``callback(epoch, model, history)`` after each epoch (epoch counts from 1); returning True stops.
    clip_norm : float, optional
        Clip each update's gradient to this global norm with :func:`clip_grad_norm_` (after adding the
        penalty's gradient, before the optimizer sees it).
    step_callback : callable, optional
        ``step_callback(model, history)`` after each update; returning True stops training (the
        epoch's measurements are still recorded).

    Returns
    -------
    History
        Per-epoch and per-update measurements. A non-finite gradient or loss stops training with
        ``history.diverged = True`` (numpy's overflow warnings are silenced for that reason).

    Raises
    ------
    ValueError
        If ``epochs`` or ``batch_size`` is not a valid integer, ``X`` and ``y`` differ in length, only
        one of ``X_val``/``y_val`` is given, ``penalty`` is unknown, or ``lam`` is negative (or > 0
        without a penalty). The message names the argument.
    """
    epochs = _checks.positive_int("epochs", epochs)
    X, y = _checks.float_array("X", X), np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y must have the same number of examples, got {n} and {len(y)}")
    if batch_size is None:
        batch_size = n
    batch_size = _checks.positive_int("batch_size", batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of examples n={n}, got {batch_size}")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if penalty is not None and penalty not in _PENALTIES:
        raise ValueError(f"penalty must be None, 'l2' or 'l1', got {penalty!r}")
    lam = _checks.non_negative("lam", lam)
    if penalty is None and lam > 0:
        raise ValueError("lam > 0 needs a penalty ('l2' or 'l1')")
    if clip_norm is not None:
        clip_norm = _checks.positive("clip_norm", clip_norm)

    is_weight = getattr(model, "is_weight", np.ones(model.params.shape, dtype=bool))

    def penalty_value(theta) -> float:
        return _PENALTIES[penalty][0](theta[is_weight], lam) if penalty else 0.0

    def penalty_grad(theta) -> np.ndarray:
        return _PENALTIES[penalty][1](theta, lam) * is_weight  # zero on the biases

    history = History(val_loss=[] if X_val is not None else None)
    rng = np.random.default_rng(seed)
    elapsed, updates, seen, stop = 0.0, 0, 0, False

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history.initial_train_loss = model.loss(X, y)
        if X_val is not None:
            history.initial_val_loss = model.loss(X_val, y_val)

        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            for batch in _batches(n, batch_size, rng):
                Xb, yb = X[batch], y[batch]
                batch_losses, batch_norms = [], []  # where the optimizer asked for the gradient

                def grad_fn(theta):
                    loss, grad = model.loss_and_grad(theta, Xb, yb)
                    batch_losses.append(loss)
                    if penalty:
                        grad = grad + penalty_grad(theta)
                    batch_norms.append(clip_grad_norm_(grad, clip_norm) if clip_norm else _norm(grad))
                    return grad

                try:
                    optimizer.step(model.params, grad_fn)
                except FloatingPointError:
                    history.diverged = True
                    break
                history.update_loss.append(batch_losses[0])
                history.grad_norm.append(batch_norms[0])
                updates, seen = updates + 1, seen + len(Xb)
                if step_callback is not None and step_callback(model, history):
                    stop = True
                    break
            elapsed += time.perf_counter() - start
            if history.diverged:
                break

            history.train_loss.append(model.loss(X, y))
            if X_val is not None:
                history.val_loss.append(model.loss(X_val, y_val))
            history.examples_seen.append(seen)
            history.updates.append(updates)
            history.seconds.append(elapsed)
            history.lr.append(_lr_of(optimizer, optimizer.t - 1))
            history.penalty.append(penalty_value(model.params))
            if not np.isfinite(history.train_loss[-1]):
                history.diverged = True
                break

            if schedule is not None:
                schedule.step(history.val_loss[-1] if X_val is not None else history.train_loss[-1])
            if stop or (callback is not None and callback(epoch, model, history)):
                break
    return history


def accuracy(model, X, y) -> float:
    r"""Fraction of examples whose predicted class is the label.

    .. math::

        \text{accuracy} = \frac{1}{n} \sum_{i=1}^{n} [\hat y_i = y_i] .
    """
    y = np.asarray(y)
    predicted = model.predict(X)
    if predicted.shape != y.shape:
        raise ValueError(f"y must have shape {predicted.shape} (one label per example), got {y.shape}")
    return float(np.mean(predicted == y))


# ---------------------------------------------------------------------------------------------------
# Beyond the notes: clipping, the update/weight ratio, the learning-rate range test
# ---------------------------------------------------------------------------------------------------

def _norm(g: np.ndarray) -> float:
    """The Euclidean norm of a flat array (nan or inf if an entry is)."""
    flat = g.reshape(-1)
    return float(np.sqrt(np.dot(flat, flat)))


def clip_grad_norm_(grads, max_norm: float, eps: float = 1e-6) -> float:
    r"""Clip gradients by their global norm, in place; return the norm they had.

    With :math:`g` all the gradients together (one array, or several as one long vector):

    .. math::
        \lVert g \rVert = \Big( \sum_i \lVert g_i \rVert^2 \Big)^{1/2}, \qquad
        g \leftarrow g \cdot \min\!\Big(1, \frac{c}{\lVert g \rVert + \epsilon}\Big),

    with :math:`c` = ``max_norm``. A gradient longer than :math:`c` is shortened to length
    :math:`c` (up to :math:`\epsilon`) *without changing its direction*; a shorter one is left alone.
    Clipping each array (or each entry) separately would change the direction. This is
    ``torch.nn.utils.clip_grad_norm_(parameters, max_norm)`` with its default 2-norm and
    :math:`\epsilon = 10^{-6}`, including the returned norm (measured before clipping).

    Parameters
    ----------
    grads : ndarray or sequence of ndarray
        Floating-point gradients, scaled **in place**.
    max_norm : float
        :math:`c > 0`.
    eps : float
        :math:`\epsilon \ge 0`, keeps the ratio finite for a zero gradient.

    Returns
    -------
    float
        :math:`\lVert g \rVert` before clipping.

    Raises
    ------
    ValueError
        If ``max_norm`` is not > 0, ``eps`` is negative, or a gradient is not a float ndarray.
    FloatingPointError
        If an entry is nan or infinite (the gradients are then left unchanged; PyTorch would return a
        nan norm and scale everything by nan).

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), On the difficulty of training recurrent neural networks. ICML.
    """
    max_norm = _checks.positive("max_norm", max_norm)
    eps = _checks.non_negative("eps", eps)
    arrays = [grads] if isinstance(grads, np.ndarray) else list(grads)
    for g in arrays:
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.floating):
            raise ValueError("grads must be a float ndarray or a sequence of them (they are scaled in place)")
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.sqrt(sum(np.dot(g.reshape(-1), g.reshape(-1)) for g in arrays)))
    if not np.isfinite(total):
        if not all(np.isfinite(g).all() for g in arrays):
            raise FloatingPointError("grads contain nan or inf; left unchanged")
        scale = max(float(np.abs(g).max(initial=0.0)) for g in arrays)  # the squares overflowed
        total = scale * float(np.sqrt(sum(np.sum((g / scale) ** 2) for g in arrays)))
    factor = max_norm / (total + eps)
    if factor < 1:
        for g in arrays:
            g *= factor
    return total


def update_ratios(model, before, after) -> list:
    r"""The update-to-weight ratio of each layer: how far one update moved its weights, relatively.

    .. math::
        r_l = \frac{\lVert W_l^{\text{after}} - W_l^{\text{before}} \rVert_F}{\lVert W_l^{\text{before}} \rVert_F},
        \qquad l = 1, \dots, L,

    over the weight matrices only (biases start at 0). A rule of thumb from CS231n: around
    :math:`10^{-3}` per update in healthy training; far below, the rate is too low (or the gradients
    vanish); near :math:`10^{-1}` or above, the weights are being rewritten at every step.

    Parameters
    ----------
    model : Model
        Gives the layout (``model.unpack``); its parameters are not used.
    before, after : ndarray
        Two flat parameter vectors of the model, e.g. a copy of ``model.params`` before a step and
        ``model.params`` after it.

    Returns
    -------
    list of float
        One ratio per weight matrix, in layer order (``inf`` for a layer whose weights were all 0).
    """
    before, after = model._check_params(before), model._check_params(after)
    old, new = model.unpack(before), model.unpack(after)
    ratios = []
    for name in old:
        if name[0] in "Ww":
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios.append(float(np.linalg.norm(new[name] - old[name]) / np.linalg.norm(old[name])))
    return ratios


@dataclass
class RangeTest:
    r"""What :func:`lr_range_test` measured: the loss of each update against its learning rate.

    Attributes
    ----------
    lrs, losses, smoothed : ndarray
        The rate of update :math:`t`, the batch loss where its gradient was taken, and the
        bias-corrected moving average of those losses (see :func:`lr_range_test`).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray

    @property
    def lr_at_minimum(self) -> float:
        """The rate where the smoothed loss is lowest, near the edge of what the network tolerates."""
        return float(self.lrs[np.argmin(self.smoothed)])

    @property
    def lr_steepest(self) -> float:
        r"""The rate where the smoothed loss falls fastest against :math:`\log \eta`, before its minimum."""
        end = int(np.argmin(self.smoothed)) + 1
        if end < 3:
            return float(self.lrs[0])
        slope = np.gradient(self.smoothed[:end], np.log(self.lrs[:end]))
        return float(self.lrs[np.argmin(slope)])

    def __repr__(self) -> str:
        return (f"RangeTest({len(self.lrs)} updates, lr {self.lrs[0]:.3g} to {self.lrs[-1]:.3g}, "
                f"lowest smoothed loss {self.smoothed.min():.4g} at lr {self.lr_at_minimum:.3g})")


def lr_range_test(model, X, y, optimizer, lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 100,
                  batch_size: int = 32, seed=0, beta: float = 0.98, stop_factor: float = 4.0) -> RangeTest:
    r"""The learning-rate range test: one short run whose rate grows geometrically from tiny to huge.

    Update :math:`t = 0, 1, \dots` uses

    .. math::
        \eta_t = \eta_\text{min} \left(\frac{\eta_\text{max}}{\eta_\text{min}}\right)^{t / (T - 1)},

    and records the batch loss :math:`L_t` with its bias-corrected moving average

    .. math::
        s_t = \beta s_{t-1} + (1 - \beta) L_t, \quad s_{-1} = 0, \qquad
        \hat s_t = \frac{s_t}{1 - \beta^{t+1}} .

    The run stops after :math:`T` updates, or once :math:`\hat s_t > \text{stop\_factor} \cdot
    \min_{u \le t} \hat s_u`, or when the loss is no longer finite. Plotted against :math:`\log \eta`,
    the loss first stays flat (the rate is too small to matter), then falls, then shoots up (too
    large). A good rate lies on the falling part, below the minimum: :attr:`RangeTest.lr_steepest`, or
    about a tenth of :attr:`RangeTest.lr_at_minimum`.

    Parameters
    ----------
    model : Model
        Left as it was: its parameters are restored after the test.
    X, y : ndarray
        Training examples, visited in mini-batches as by :func:`train`.
    optimizer : Optimizer
        The optimizer to test; its ``lr`` is replaced during the test, then it is ``reset()`` and its
        ``lr`` restored.
    lr_min, lr_max : float
        The range, :math:`0 < \eta_\text{min} < \eta_\text{max}`.
    steps : int
        :math:`T \ge 2` updates at most.
    batch_size : int
        Examples per update.
    seed : int
        Seeds the shuffling, as in :func:`train`.
    beta : float
        Smoothing :math:`\beta \in [0, 1)`.
    stop_factor : float
        Stop once the smoothed loss exceeds this multiple (> 1) of its minimum.

    Returns
    -------
    RangeTest

    References
    ----------
    Smith (2017), Cyclical learning rates for training neural networks. WACV (the range test);
    the geometric sweep of the loss with smoothing is the form fastai popularised.
    """
    lr_min, lr_max = _checks.positive("lr_min", lr_min), _checks.positive("lr_max", lr_max)
    if lr_max <= lr_min:
        raise ValueError(f"lr_max must be larger than lr_min={lr_min!r}, got {lr_max!r}")
    steps = _checks.positive_int("steps", steps)
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    beta = _checks.in_unit_interval("beta", beta)
    stop_factor = _checks.positive("stop_factor", stop_factor)
    if stop_factor <= 1:
        raise ValueError(f"stop_factor must be > 1, got {stop_factor!r}")
    n = len(X)
    batch_size = min(_checks.positive_int("batch_size", batch_size), n)

    def rate(t: int) -> float:
        return lr_min * (lr_max / lr_min) ** (t / (steps - 1))

    smoothed, average, best = [], 0.0, np.inf

    def watch(model, history) -> bool:
        nonlocal average, best
        t = len(history.update_loss) - 1
        average = beta * average + (1 - beta) * history.update_loss[-1]
        smoothed.append(average / (1 - beta ** (t + 1)))
        best = min(best, smoothed[-1])
        return t + 1 >= steps or not np.isfinite(smoothed[-1]) or smoothed[-1] > stop_factor * best

    saved_params, saved_lr = model.params.copy(), optimizer.lr
    optimizer.reset()
    optimizer.lr = rate
    try:
        epochs = -(-steps // -(-n // batch_size))  # enough epochs for `steps` updates
        history = train(model, X, y, optimizer, epochs=epochs, batch_size=batch_size, seed=seed,
                        step_callback=watch)
    finally:
        model.params[...] = saved_params
        optimizer.reset()
        optimizer.lr = saved_lr
    count = len(history.update_loss)
    return RangeTest(lrs=np.array([rate(t) for t in range(count)]), losses=np.array(history.update_loss),
                     smoothed=np.array(smoothed[:count]))
