r"""Note 2's loss functions and their gradients: MSE, cross-entropy and hinge.

Every loss :math:`L(\hat{y}, y)` returns a Python float, and its ``*_grad`` twin returns
:math:`\partial L / \partial \hat{y}`, an array shaped like :math:`\hat{y}` (the first argument).
Losses are **means**: over all elements for MSE and hinge, over samples (rows) for cross-entropy,
as PyTorch's default ``reduction="mean"`` does, so a loss does not grow with the batch size.

Cross-entropy needs care where :math:`\hat{y}_k = 0`: :math:`\log 0 = -\infty`. Two remedies live here:

* :func:`cross_entropy` takes probabilities and clips the log at a tiny floor, so a confident wrong
  prediction gives a large *finite* loss;
* :func:`softmax_cross_entropy` takes logits and never forms :math:`\log` of a probability at all
  (it uses :func:`log_softmax`), the stable form every framework uses.
"""
from __future__ import annotations

import numpy as np

from . import _checks


# ---------------------------------------------------------------------------------------------------
# Mean squared error
# ---------------------------------------------------------------------------------------------------

def _pair(name_a: str, a, name_b: str, b) -> tuple[np.ndarray, np.ndarray]:
    """Both arguments as float arrays of one shape, not empty (a mean over nothing is undefined)."""
    a, b = _checks.float_array(name_a, a), _checks.float_array(name_b, b)
    _checks.same_shape(name_a, a, name_b, b)
    if a.size == 0:
        raise ValueError(f"{name_a} and {name_b} must not be empty")
    return a, b


def mse(y_pred, y_true) -> float:
    r"""Mean squared error, note 2's regression loss.

    .. math::
        L(\hat{y}, y) = \frac{1}{n} \sum_{i=1}^{n} (\hat{y}_i - y_i)^2

    The mean runs over *all* :math:`n` elements, whatever the shape (``torch.nn.functional.mse_loss``).

    Parameters
    ----------
    y_pred : array_like
        Predictions :math:`\hat{y}`.
    y_true : array_like
        Targets :math:`y`, the same shape.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ (the message names ``y_pred`` and ``y_true``) or the arrays are empty.
    """
    return mse_and_grad(y_pred, y_true)[0]


def mse_grad(y_pred, y_true) -> np.ndarray:
    r"""Gradient of :func:`mse` with respect to the predictions.

    .. math::
        \frac{\partial L}{\partial \hat{y}_i} = \frac{2}{n} (\hat{y}_i - y_i)
    """
    return mse_and_grad(y_pred, y_true)[1]


def mse_and_grad(y_pred, y_true) -> tuple[float, np.ndarray]:
    r""":func:`mse` and :func:`mse_grad` in one call: the arguments checked once, the residual
    :math:`\hat{y} - y` computed once.

    .. math::
        L = \frac{1}{n} \sum_{i=1}^{n} r_i^2, \qquad \frac{\partial L}{\partial \hat{y}_i} = \frac{2}{n} r_i,
        \qquad r = \hat{y} - y
    """
    y_pred, y_true = _pair("y_pred", y_pred, "y_true", y_true)
    residual = y_pred - y_true
    return float(np.mean(residual ** 2)), 2 * residual / y_pred.size


# ---------------------------------------------------------------------------------------------------
# Cross-entropy
# ---------------------------------------------------------------------------------------------------

def _class_scores(name: str, value) -> np.ndarray:
    """An (n, k) float array with n >= 1 samples and k >= 1 classes, else ``ValueError`` naming it."""
    arr = _checks.float_array(name, value)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n, k) with n, k >= 1, got {arr.shape}")
    return arr


def _labels_or_rows(name_pred: str, pred: np.ndarray, y_true) -> tuple[np.ndarray | None, np.ndarray | None]:
    r"""``y_true`` checked against the (n, k) predictions: ``(labels, None)`` for integer class labels
    of shape (n,), ``(None, rows)`` for an (n, k) array of target distributions.

    Dense rows must be probability vectors (one-hot, or soft labels), because the gradient
    :math:`(\mathrm{softmax}(z) - y)/n` assumes each row of :math:`y` sums to 1.
    """
    n, k = pred.shape
    y = np.asarray(y_true)
    if y.ndim == 1:  # integer class labels, one per sample
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y_true of shape (n,) must hold integer class labels, got dtype {y.dtype}")
        if y.shape[0] != n:
            raise ValueError(f"{name_pred} and y_true must have the same number of samples, "
                             f"got {n} and {y.shape[0]}")
        if np.any((y < 0) | (y >= k)):
            raise ValueError(f"y_true labels must lie in 0, ..., {k - 1} (k = {k} classes), got {y}")
        return y, None
    y = _checks.float_array("y_true", y)
    _checks.same_shape(name_pred, pred, "y_true", y)
    if not np.all((0 <= y) & (y <= 1)) or not np.allclose(y.sum(axis=1), 1):
        raise ValueError("y_true rows must be probability vectors (one-hot or soft labels): "
                         "entries in [0, 1] summing to 1")
    return None, y


def _targets(name_pred: str, pred: np.ndarray, y_true) -> np.ndarray:
    """``y_true`` as an (n, k) array of target distributions, from one-hot rows or integer labels."""
    labels, rows = _labels_or_rows(name_pred, pred, y_true)
    if labels is None:
        return rows
    one_hot = np.zeros_like(pred)
    one_hot[np.arange(len(labels)), labels] = 1
    return one_hot


def _probabilities(y_prob) -> np.ndarray:
    y_prob = _class_scores("y_prob", y_prob)
    if not np.all((0 <= y_prob) & (y_prob <= 1)):  # written so that NaN fails too
        raise ValueError("y_prob must hold probabilities in [0, 1]")
    return y_prob


def _floored(y_prob: np.ndarray) -> np.ndarray:
    r""":math:`\max(\hat{y}, \text{tiny})`, tiny the smallest normal number of the dtype, so log is finite."""
    return np.maximum(y_prob, np.finfo(y_prob.dtype).tiny)


def cross_entropy(y_prob, y_true) -> float:
    r"""Cross-entropy of predicted probabilities, note 2's classification loss.

    Per sample, note 2's formula, with :math:`i` running over the :math:`k` classes:

    .. math::
        L(\hat{y}, y) = -\sum_{i=1}^{k} y_i \log \hat{y}_i

    and, like PyTorch, we average it over the :math:`n` samples (rows). To stay finite where
    :math:`\hat{y}_i = 0`, the log is clipped at a floor,
    :math:`\log \max(\hat{y}_i, \text{tiny})` with tiny ``= np.finfo(dtype).tiny``
    (about :math:`2.2 \times 10^{-308}` in float64). Then a term with :math:`y_i = 0` is
    :math:`0 \cdot (\text{finite}) = 0`, the convention :math:`0 \log 0 := 0`, and a confident wrong
    prediction (:math:`\hat{y}_i = 0` for the true class) costs :math:`-\log(\text{tiny}) \approx 708`
    per sample: large but finite. For logits, prefer the stable :func:`softmax_cross_entropy`.

    Parameters
    ----------
    y_prob : array_like, shape (n, k)
        Predicted probabilities :math:`\hat{y}` (rows need not be normalised, values in [0, 1]).
    y_true : array_like, shape (n, k) or (n,)
        One-hot (or soft-label) rows :math:`y`, or integer class labels in ``0, ..., k-1``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``y_prob`` is not (n, k) or holds values outside [0, 1], or ``y_true`` holds bad labels,
        rows that are not probability vectors, or a shape that does not fit ``y_prob``.
    """
    y_prob = _probabilities(y_prob)
    y = _targets("y_prob", y_prob, y_true)
    # 0.0 - sum, not -sum: a perfect prediction gives 0.0, not -0.0
    return float(0.0 - np.sum(y * np.log(_floored(y_prob))) / y_prob.shape[0])


def cross_entropy_grad(y_prob, y_true) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to the probabilities.

    .. math::
        \frac{\partial L}{\partial \hat{y}_i} = -\frac{y_i}{n\,\hat{y}_i}

    with the same floor, :math:`\hat{y}_i \to \max(\hat{y}_i, \text{tiny})`, so it is finite everywhere
    (and 0 wherever :math:`y_i = 0`).
    """
    y_prob = _probabilities(y_prob)
    y = _targets("y_prob", y_prob, y_true)
    return -y / (y_prob.shape[0] * _floored(y_prob))


def _shifted_exp(z: np.ndarray):
    """``(z - max, exp(z - max), sum of it)`` along the last axis: the shared first half of softmax and
    log_softmax. A logit of -inf gives exp 0; a span of logits beyond the float range (+-1e308) gives
    -inf, not a warning."""
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, np.sum(e, axis=-1, keepdims=True)


def softmax(logits) -> np.ndarray:
    r"""Softmax along the last axis, computed stably.

    .. math::
        \mathrm{softmax}(z)_i = \frac{e^{z_i - \max_j z_j}}{\sum_k e^{z_k - \max_j z_j}}

    Subtracting the row maximum changes nothing mathematically, but keeps every exponent
    :math:`\le 0`, so ``exp`` cannot overflow for huge logits.
    """
    _, e, total = _shifted_exp(_checks.float_array("logits", logits))
    return e / total


def log_softmax(logits) -> np.ndarray:
    r"""Logarithm of the softmax along the last axis, computed stably (no log of a rounded-off 0).

    .. math::
        \log \mathrm{softmax}(z)_i = z_i - m - \log \sum_k e^{z_k - m}, \qquad m = \max_j z_j
    """
    shifted, _, total = _shifted_exp(_checks.float_array("logits", logits))
    return shifted - np.log(total)


def softmax_cross_entropy(logits, y_true) -> float:
    r"""Cross-entropy of :math:`\hat{y} = \mathrm{softmax}(z)`, taken from the logits :math:`z` stably.

    .. math::
        L(z, y) = -\frac{1}{n} \sum_{\text{samples}} \sum_{i=1}^{k} y_i \log \mathrm{softmax}(z)_i

    Note 2's cross-entropy of :math:`\hat{y} = \mathrm{softmax}(z)`, averaged over samples; equals
    ``torch.nn.functional.cross_entropy(logits, target)``. Through :func:`log_softmax` it never takes
    the log of a probability that rounded to 0, so it is finite even for logits like
    :math:`\pm 1000`. Only the terms with :math:`y_i > 0` are summed (:math:`0 \log 0 := 0`), so a
    masked class (logit :math:`-\infty`) or logits spanning :math:`\pm 10^{308}` give the finite loss
    torch gives: for logits :math:`(-\infty, 0, 1)` and label 2, :math:`\ln(1 + e) - 1 = 0.3133`.

    Parameters
    ----------
    logits : array_like, shape (n, k)
        Unnormalised scores :math:`z`.
    y_true : array_like, shape (n, k) or (n,)
        One-hot (or soft-label) rows, or integer class labels in ``0, ..., k-1``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``logits`` is not (n, k) or ``y_true`` does not fit it (see :func:`cross_entropy`).
    """
    return softmax_cross_entropy_and_grad(logits, y_true, grad=False)[0]


def softmax_cross_entropy_grad(logits, y_true) -> np.ndarray:
    r"""Gradient of :func:`softmax_cross_entropy` with respect to the logits.

    .. math::
        \frac{\partial L}{\partial z_i} = \frac{\mathrm{softmax}(z)_i - y_i}{n}

    (this simple form uses :math:`\sum_i y_i = 1` in each row, which ``y_true`` is checked for).
    """
    return softmax_cross_entropy_and_grad(logits, y_true)[1]


def softmax_cross_entropy_and_grad(logits, y_true, grad: bool = True) -> tuple[float, np.ndarray | None]:
    r""":func:`softmax_cross_entropy` and its gradient :func:`softmax_cross_entropy_grad` in one call.

    .. math::
        L = -\frac{1}{n} \sum_{\text{samples}} \sum_{i:\, y_i > 0} y_i \log \mathrm{softmax}(z)_i,
        \qquad \frac{\partial L}{\partial z_i} = \frac{\mathrm{softmax}(z)_i - y_i}{n}

    The arguments are checked once and the exponentials computed once; integer labels are used as
    indices, with no one-hot array. The model's ``loss_and_grad`` calls this. ``grad=False`` skips
    the gradient (returns ``(L, None)``).
    """
    z = _class_scores("logits", logits)
    labels, rows = _labels_or_rows("logits", z, y_true)
    n = z.shape[0]
    shifted, e, total = _shifted_exp(z)
    log_p = shifted - np.log(total)
    if labels is not None:
        terms = log_p[np.arange(n), labels]
    else:
        terms = np.multiply(rows, log_p, out=np.zeros_like(log_p), where=rows > 0)  # 0 log 0 := 0
    with np.errstate(over="ignore"):  # losses near 1e308 sum to inf, as in torch
        loss = float(0.0 - np.sum(terms) / n)  # 0.0 - sum, not -sum: a perfect prediction gives 0.0
    if not grad:
        return loss, None
    dz = e / total
    if labels is not None:
        dz[np.arange(n), labels] -= 1
    else:
        dz -= rows
    return loss, dz / n


# ---------------------------------------------------------------------------------------------------
# Hinge
# ---------------------------------------------------------------------------------------------------

def _signed_labels(scores, y_true) -> tuple[np.ndarray, np.ndarray]:
    scores, y = _pair("scores", scores, "y_true", y_true)
    if not np.all((y == 1) | (y == -1)):
        raise ValueError("y_true must hold labels in {-1, +1}")
    return scores, y


def hinge(scores, y_true) -> float:
    r"""Hinge loss, note 2's SVM-style loss, averaged over all elements.

    .. math::
        L(\hat{y}, y) = \max(0,\ 1 - y \cdot \hat{y})

    It is 0 once the margin :math:`y \cdot \hat{y}` reaches 1, and grows linearly below it.

    Parameters
    ----------
    scores : array_like
        Raw scores :math:`\hat{y}` (not probabilities).
    y_true : array_like
        Labels :math:`y \in \{-1, +1\}`, the same shape.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ (naming ``scores`` and ``y_true``) or a label is not -1 or +1.
    """
    scores, y = _signed_labels(scores, y_true)
    return float(np.mean(np.maximum(0, 1 - y * scores)))


def hinge_grad(scores, y_true) -> np.ndarray:
    r"""A subgradient of :func:`hinge` with respect to the scores.

    .. math::
        \frac{\partial L}{\partial \hat{y}_i} =
        \begin{cases} -y_i / n & \text{if } 1 - y_i \hat{y}_i > 0 \\ 0 & \text{otherwise} \end{cases}

    At the kink :math:`y_i \hat{y}_i = 1` the loss has no derivative; any value between
    :math:`-y_i/n` and 0 is a subgradient, and we choose 0 (as PyTorch's ReLU derivative at 0 does).
    """
    scores, y = _signed_labels(scores, y_true)
    return np.where(1 - y * scores > 0, -y / scores.size, 0.0).astype(scores.dtype, copy=False)
