r"""Small models in numpy whose parameters live in ONE flat array, so one optimizer trains them.

A model's weights and biases are views (``reshape`` of slices) into ``model.params``, a flat float64
array. ``optimizer.step(model.params, grad_fn)`` therefore updates the whole model in place, with

.. code-block:: python

    grad_fn = lambda theta: model.loss_and_grad(theta, X, y)[1]

``loss_and_grad(params, X, y)`` computes at the *given* vector ``params``, which need not be
``model.params``: Nesterov evaluates the gradient at a look-ahead point :math:`\theta - \mu u`.
The gradient it returns is flat too, laid out like ``params`` (``model.unpack(grad)`` names its parts).
"""
from __future__ import annotations

import numpy as np

from . import _checks
from .losses import mse, mse_and_grad, softmax, softmax_cross_entropy, softmax_cross_entropy_and_grad
from .regularization import dropout as _dropout
from .regularization import dropout_grad as _dropout_grad

__all__ = ["Model", "LinearRegression", "SoftmaxRegression", "MLP"]


class Model:
    r"""Base class: a flat parameter vector and the named views into it.

    Subclasses set ``self._layout`` (a list of ``(name, shape)``) before calling ``_allocate``; a name
    starting with ``W`` or ``w`` is a weight, one starting with ``b`` a bias (penalties use only weights).
    """

    _layout: list

    def _allocate(self) -> None:
        self.params = np.zeros(sum(int(np.prod(shape)) for _, shape in self._layout))
        self.is_weight = np.zeros(self.n_params, dtype=bool)
        offset = 0
        for name, shape in self._layout:
            size = int(np.prod(shape))
            self.is_weight[offset:offset + size] = name[0] in "Ww"
            offset += size

    @property
    def n_params(self) -> int:
        """Number of parameters (the length of ``params``)."""
        return int(self.params.size)

    def unpack(self, vec=None) -> dict:
        """The named parts of a flat vector (``model.params`` by default) as views, e.g. ``{'W1': ...}``."""
        vec = self.params if vec is None else vec
        parts, offset = {}, 0
        for name, shape in self._layout:
            size = int(np.prod(shape))
            parts[name] = vec[offset:offset + size].reshape(shape)
            offset += size
        return parts

    def _check_params(self, params) -> np.ndarray:
        params = _checks.float_array("params", params)
        if params.shape != (self.n_params,):
            raise ValueError(f"params must have shape ({self.n_params},), got {params.shape}")
        return params

    def _check_X(self, X) -> np.ndarray:
        X = _checks.float_array("X", X)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n, {self.n_inputs}), got {X.shape}")
        return X

    def loss(self, X, y, params=None) -> float:
        """The loss at ``params`` (``model.params`` by default), in evaluation mode (no dropout)."""
        params = self._check_params(self.params if params is None else params)
        return float(self._data_loss(params, self._check_X(X), y))  # a forward pass only

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n_params} params)"


class LinearRegression(Model):
    r"""Linear regression trained on the mean squared error.

    .. math::

        \hat y = X w + b, \qquad
        L(w, b) = \frac{1}{n} \sum_{i=1}^{n} (\hat y_i - y_i)^2,

        \nabla_w L = \frac{2}{n} X^\top (\hat y - y), \qquad
        \nabla_b L = \frac{2}{n} \sum_i (\hat y_i - y_i).

    Parameters
    ----------
    d : int
        Number of features.
    seed : int
        Initial weights :math:`w \sim \mathcal N(0, 1/d)`, :math:`b = 0`.

    Attributes
    ----------
    params : ndarray, shape (d + 1,)
        ``[w, b]``; ``w`` and ``b`` are views into it.
    """

    def __init__(self, d: int, seed: int = 0):
        self.n_inputs = _checks.positive_int("d", d)
        self._layout = [("w", (d,)), ("b", ())]
        self._allocate()
        self.w, self.b = self.unpack().values()
        self.w[...] = np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(d), d)

    def _predict(self, params, X) -> np.ndarray:
        p = self.unpack(params)
        return X @ p["w"] + p["b"]

    def forward(self, X) -> np.ndarray:
        r"""Predictions :math:`\hat y = X w + b`, shape (n,)."""
        return self._predict(self.params, self._check_X(X))

    predict = forward

    def _data_loss(self, params, X, y):
        return mse(self._predict(params, X), y)

    def loss_and_grad(self, params, X, y, rng=None, training=True):
        """(loss, flat gradient) at ``params``. ``rng`` and ``training`` are accepted and unused."""
        params, X = self._check_params(params), self._check_X(X)
        loss, dy = mse_and_grad(self._predict(params, X), y)  # dL/dy_hat; checks y's shape
        grad = np.empty_like(params)
        g = self.unpack(grad)
        g["w"][...] = X.T @ dy
        g["b"][...] = dy.sum()
        return loss, grad


class SoftmaxRegression(Model):
    r"""Multinomial logistic regression: a linear layer and the softmax cross-entropy.

    .. math::

        z = X W + b, \qquad
        L = -\frac{1}{n} \sum_{i=1}^{n} \log \mathrm{softmax}(z_i)_{y_i},

        \nabla_W L = X^\top G, \quad \nabla_b L = \textstyle\sum_i G_i, \quad
        G = \frac{1}{n} (\mathrm{softmax}(z) - Y),

    with :math:`Y` the one-hot labels. With :math:`k = 2` it is logistic regression (in the
    over-parametrized softmax form).

    Parameters
    ----------
    d, k : int
        Number of features and of classes (k >= 2).
    seed : int
        Initial weights :math:`W \sim \mathcal N(0, 1/d)`, :math:`b = 0`.
    """

    def __init__(self, d: int, k: int = 2, seed: int = 0):
        self.n_inputs = _checks.positive_int("d", d)
        self.k = _checks.positive_int("k", k)
        if k < 2:
            raise ValueError(f"k must be >= 2 classes, got {k}")
        self._layout = [("W", (d, k)), ("b", (k,))]
        self._allocate()
        self.W, self.b = self.unpack().values()
        self.W[...] = np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(d), (d, k))

    def _logits(self, params, X) -> np.ndarray:
        p = self.unpack(params)
        return X @ p["W"] + p["b"]

    def forward(self, X) -> np.ndarray:
        """The logits :math:`z = XW + b`, shape (n, k)."""
        return self._logits(self.params, self._check_X(X))

    decision_function = forward

    def predict_proba(self, X) -> np.ndarray:
        r"""Class probabilities :math:`\mathrm{softmax}(z)`, shape (n, k)."""
        return softmax(self.forward(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each example, shape (n,)."""
        return np.argmax(self.forward(X), axis=1)

    def _data_loss(self, params, X, y):
        return softmax_cross_entropy(self._logits(params, X), y)

    def loss_and_grad(self, params, X, y, rng=None, training=True):
        """(loss, flat gradient) at ``params``; ``y`` holds integer labels. ``rng``, ``training`` unused."""
        params, X = self._check_params(params), self._check_X(X)
        loss, G = softmax_cross_entropy_and_grad(self._logits(params, X), y)
        grad = np.empty_like(params)
        g = self.unpack(grad)
        g["W"][...] = X.T @ G
        g["b"][...] = G.sum(axis=0)
        return loss, grad


# ---------------------------------------------------------------------------------------------------
# Multilayer perceptron
# ---------------------------------------------------------------------------------------------------

def _relu(z):
    return np.maximum(z, 0.0)


def _sigmoid(z):
    # 1 / (1 + e^{-z}) written through tanh: no overflow for large |z|.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# Each activation with its derivative written in terms of its OUTPUT h = act(z), so the backward pass
# needs only the stored activations (not the pre-activations z).
_ACTIVATIONS = {
    "relu": (_relu, lambda h: (h > 0).astype(h.dtype)),
    "tanh": (np.tanh, lambda h: 1.0 - h ** 2),
    "sigmoid": (_sigmoid, lambda h: h * (1.0 - h)),
}


class MLP(Model):
    r"""A fully connected network, with backpropagation written out in numpy.

    For layers :math:`l = 1, \dots, L` (sizes :math:`n_0, \dots, n_L`), with :math:`h_0 = X`:

    .. math::

        z_l = a_{l-1} W_l + b_l, \qquad h_l = \sigma(z_l), \qquad a_l = \frac{m_l \odot h_l}{1 - p}
        \quad (l < L), \qquad \text{output } z_L,

    where :math:`a_l = h_l` without dropout and :math:`m_l \sim \mathrm{Bernoulli}(1 - p)` with it
    (inverted dropout, hidden layers only, while training). Backward, with
    :math:`\delta_L = \partial L / \partial z_L`:

    .. math::

        \nabla_{W_l} L = a_{l-1}^\top \delta_l, \quad \nabla_{b_l} L = \textstyle\sum_i \delta_{l,i},
        \quad \delta_{l-1} = \frac{m_{l-1}}{1 - p} \odot (\delta_l W_l^\top) \odot \sigma'(z_{l-1}).

    Parameters
    ----------
    sizes : sequence of int
        ``[n_inputs, hidden..., n_outputs]``, at least two entries.
    activation : {'relu', 'tanh', 'sigmoid'}
        Activation :math:`\sigma` of the hidden layers (the output layer is linear).
    init_scale : float, optional
        ``None``: He initialisation :math:`W \sim \mathcal N(0, 2/n_\text{in})` for ReLU, Glorot
        (Xavier) :math:`\mathcal N(0, 2/(n_\text{in} + n_\text{out}))` for tanh and sigmoid. A float
        :math:`s`: :math:`W \sim s\,\mathcal N(0, 1)` in every layer. Biases start at 0.
    dropout : float
        Probability :math:`p \in [0, 1)` of dropping a hidden unit while training.
    loss : {'softmax_ce', 'mse'}
        Softmax cross-entropy on integer labels, or the mean squared error on targets of shape
        ``(n, n_outputs)`` (or ``(n,)`` when there is one output).
    seed : int
        Seeds the initial weights; the generator then continues as ``model.rng``, the default source
        of dropout masks.

    References
    ----------
    He et al. (2015), Delving deep into rectifiers. ICCV. Glorot & Bengio (2010), Understanding the
    difficulty of training deep feedforward neural networks. AISTATS.
    """

    def __init__(self, sizes, activation: str = "relu", init_scale: float | None = None,
                 dropout: float = 0.0, loss: str = "softmax_ce", seed: int = 0):
        sizes = [_checks.positive_int("sizes", s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least the input and output sizes, got {sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if loss not in ("softmax_ce", "mse"):
            raise ValueError(f"loss must be 'softmax_ce' or 'mse', got {loss!r}")
        if loss == "softmax_ce" and sizes[-1] < 2:
            raise ValueError("sizes must end with >= 2 outputs (classes) for loss='softmax_ce'")
        self.sizes, self.activation, self.loss_name = sizes, activation, loss
        self.dropout = _checks.in_unit_interval("dropout", dropout)
        self.n_inputs, self.n_layers = sizes[0], len(sizes) - 1
        self._layout = []
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self._layout += [(f"W{l}", (n_in, n_out)), (f"b{l}", (n_out,))]
        self._allocate()

        rng = np.random.default_rng(seed)
        for W, _ in self.layers():
            n_in, n_out = W.shape
            if init_scale is not None:
                std = _checks.positive("init_scale", init_scale)
            elif activation == "relu":
                std = np.sqrt(2.0 / n_in)  # He
            else:
                std = np.sqrt(2.0 / (n_in + n_out))  # Glorot / Xavier
            W[...] = std * rng.standard_normal((n_in, n_out))
        self.rng = rng
        self.cache: list = []

    def layers(self, vec=None) -> list:
        """``[(W1, b1), ..., (WL, bL)]``: views into ``vec`` (``model.params`` by default)."""
        parts = list(self.unpack(vec).values())
        return list(zip(parts[0::2], parts[1::2]))

    # --- forward and backward -------------------------------------------------------------------------
    def _forward(self, params, X, training: bool, rng):
        r"""Output :math:`z_L` and the cache the backward pass needs: ``[h_0, ..., h_{L-1}, z_L]`` and
        the hidden layers' dropout masks (empty without dropout)."""
        act, _ = _ACTIVATIONS[self.activation]
        use_dropout = training and self.dropout > 0
        if use_dropout:
            rng = self.rng if rng is None else np.random.default_rng(rng)
        h, acts, masks = X, [X], []
        a = X  # input of the next layer (h after dropout)
        for l, (W, b) in enumerate(self.layers(params), start=1):
            z = a @ W + b
            if l == self.n_layers:
                acts.append(z)
                return z, acts, masks
            h = act(z)
            acts.append(h)
            if use_dropout:
                a, mask = _dropout(h, self.dropout, rng)
                masks.append(mask)
            else:
                a = h

    def _backward(self, params, acts, masks, dout) -> np.ndarray:
        _, act_grad = _ACTIVATIONS[self.activation]
        grad = np.empty_like(params)
        layers, grad_layers = self.layers(params), self.layers(grad)
        delta = dout  # dL/dz_l, starting at the output layer
        for l in range(self.n_layers, 0, -1):  # l = L, ..., 1
            W = layers[l - 1][0]
            gW, gb = grad_layers[l - 1]
            h_prev = acts[l - 1]
            a_prev = h_prev * masks[l - 2] / (1 - self.dropout) if masks and l > 1 else h_prev
            gW[...] = a_prev.T @ delta
            gb[...] = delta.sum(axis=0)
            if l > 1:
                da = delta @ W.T  # dL/da_{l-1}
                dh = _dropout_grad(da, masks[l - 2], self.dropout) if masks else da
                delta = dh * act_grad(h_prev)
        return grad

    def _loss_and_output_grad(self, out, y, grad: bool = True):
        """The loss and dL/d(out) (None with grad=False), the targets checked once."""
        if self.loss_name == "softmax_ce":
            return softmax_cross_entropy_and_grad(out, y, grad=grad)
        y = np.asarray(y)
        if y.ndim == 1 and out.shape[1] == 1:
            y = y[:, None]
        return mse_and_grad(out, y) if grad else (mse(out, y), None)

    def _data_loss(self, params, X, y):
        out = self._forward(params, X.astype(params.dtype, copy=False), False, None)[0]
        return self._loss_and_output_grad(out, y, grad=False)[0]

    def forward(self, X, training: bool = False, rng=None) -> np.ndarray:
        r"""The network's output :math:`z_L` (logits, or regression values), shape (n, n_outputs).

        Evaluation mode (no dropout) unless ``training=True``. The arrays a backward pass would need
        are kept in ``model.cache`` (see :meth:`activation_nbytes`).
        """
        X = self._check_X(X).astype(self.params.dtype, copy=False)
        out, acts, masks = self._forward(self.params, X, training, rng)
        self.cache = acts + masks
        return out

    decision_function = forward

    def predict_proba(self, X) -> np.ndarray:
        r"""Class probabilities :math:`\mathrm{softmax}(z_L)` (for ``loss='softmax_ce'``)."""
        return softmax(self.forward(X))

    def predict(self, X) -> np.ndarray:
        """Classes (argmax of the logits) for ``softmax_ce``; the outputs for ``mse`` (shape (n,) if 1)."""
        out = self.forward(X)
        if self.loss_name == "softmax_ce":
            return np.argmax(out, axis=1)
        return out[:, 0] if out.shape[1] == 1 else out

    def loss_and_grad(self, params, X, y, rng=None, training=True):
        r"""(loss, flat gradient) at ``params``, by one forward and one backward pass.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            Where to evaluate (``model.params`` or any other point, e.g. a look-ahead).
        X : ndarray, shape (n, n_inputs)
        y : ndarray
            Integer labels (n,) for ``softmax_ce``; targets for ``mse``.
        rng : int or np.random.Generator, optional
            Source of the dropout masks (used only if ``dropout > 0`` and ``training``). ``None``
            draws from ``model.rng``; an int seed gives the same masks on every call.
        training : bool
            Apply dropout (if any). The loss is always the plain data loss (no penalty).
        """
        params = self._check_params(params)
        X = self._check_X(X).astype(params.dtype, copy=False)
        out, acts, masks = self._forward(params, X, training, rng)
        loss, dout = self._loss_and_output_grad(out, y)
        return loss, self._backward(params, acts, masks, dout)

    # --- diagnostics ----------------------------------------------------------------------------------
    def layer_grad_norms(self, params, X, y) -> list:
        r"""The Frobenius norm :math:`\lVert \nabla_{W_l} L \rVert` of each layer's weight gradient.

        .. math::

            g_l = \Big( \sum_{ij} \big(\tfrac{\partial L}{\partial (W_l)_{ij}}\big)^2 \Big)^{1/2},
            \qquad l = 1, \dots, L .

        Computed in evaluation mode (no dropout), so it is deterministic. In a deep sigmoid network
        these shrink from the output layer toward the input: the vanishing gradients.
        """
        _, grad = self.loss_and_grad(params, X, y, training=False)
        return [float(np.linalg.norm(gW)) for gW, _ in self.layers(grad)]

    def activation_nbytes(self, batch_size: int) -> int:
        r"""Bytes of the arrays one forward pass stores for the backward pass, for a batch.

        .. math::

            B \cdot \Big( \sum_{l=0}^{L} n_l \Big) \cdot \text{itemsize}
            \;+\; [p > 0]\; B \cdot \Big( \sum_{l=1}^{L-1} n_l \Big) \cdot 1 .

        Counted: the input :math:`h_0 = X`, every hidden activation :math:`h_l` (the derivative of
        :math:`\sigma` is computed from it, so no pre-activation :math:`z_l` is kept) and the output
        :math:`z_L`, each of shape ``(B, n_l)`` in the parameters' dtype (8 bytes for float64); with
        dropout while training, also one boolean mask (1 byte per unit) per hidden layer. Not counted:
        temporaries freed during the pass and the gradients. This is exactly ``model.cache`` after
        ``forward(X, training=True)`` on a batch of that size (the tests check it).
        """
        batch_size = _checks.positive_int("batch_size", batch_size)
        nbytes = batch_size * sum(self.sizes) * self.params.itemsize
        if self.dropout > 0:
            nbytes += batch_size * sum(self.sizes[1:-1]) * np.dtype(bool).itemsize
        return nbytes

    def __repr__(self) -> str:
        return (f"MLP(sizes={self.sizes}, activation={self.activation!r}, dropout={self.dropout}, "
                f"loss={self.loss_name!r}, {self.n_params} params)")
