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

__all__ = ["History", "train", "accuracy"]

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
          schedule=None, callback=None) -> History:
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

    is_weight = getattr(model, "is_weight", np.ones(model.params.shape, dtype=bool))

    def penalty_value(theta) -> float:
        return _PENALTIES[penalty][0](theta[is_weight], lam) if penalty else 0.0

    def penalty_grad(theta) -> np.ndarray:
        return _PENALTIES[penalty][1](theta, lam) * is_weight  # zero on the biases

    history = History(val_loss=[] if X_val is not None else None)
    rng = np.random.default_rng(seed)
    elapsed, updates = 0.0, 0

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history.initial_train_loss = model.loss(X, y)
        if X_val is not None:
            history.initial_val_loss = model.loss(X_val, y_val)

        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            for batch in _batches(n, batch_size, rng):
                Xb, yb = X[batch], y[batch]
                batch_losses = []  # the loss where the optimizer asked for the gradient

                def grad_fn(theta):
                    loss, grad = model.loss_and_grad(theta, Xb, yb)
                    batch_losses.append(loss)
                    return grad + penalty_grad(theta) if penalty else grad

                try:
                    optimizer.step(model.params, grad_fn)
                except FloatingPointError:
                    history.diverged = True
                    break
                history.update_loss.append(batch_losses[0])
                updates += 1
            elapsed += time.perf_counter() - start
            if history.diverged:
                break

            history.train_loss.append(model.loss(X, y))
            if X_val is not None:
                history.val_loss.append(model.loss(X_val, y_val))
            history.examples_seen.append(epoch * n)
            history.updates.append(updates)
            history.seconds.append(elapsed)
            history.lr.append(_lr_of(optimizer, optimizer.t - 1))
            history.penalty.append(penalty_value(model.params))
            if not np.isfinite(history.train_loss[-1]):
                history.diverged = True
                break

            if schedule is not None:
                schedule.step(history.val_loss[-1] if X_val is not None else history.train_loss[-1])
            if callback is not None and callback(epoch, model, history):
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
