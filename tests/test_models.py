"""Tests of optlib.models: backprop against finite differences and torch, the flat layout, memory."""
import numpy as np
import pytest

from optlib.functions import numerical_grad
from optlib.models import MLP, LinearRegression, SoftmaxRegression

RNG = np.random.default_rng(0)
X = RNG.standard_normal((9, 4))
LABELS3 = np.array([0, 1, 2, 0, 1, 2, 2, 1, 0])
TARGETS = RNG.standard_normal(9)




def _check_gradient(model, X, y, **kwargs):
    theta = model.params + 0.1 * np.random.default_rng(1).standard_normal(model.n_params)  # not params
    loss, grad = model.loss_and_grad(theta, X, y, **kwargs)
    assert grad.shape == theta.shape == (model.n_params,)
    fd = numerical_grad(lambda t: model.loss_and_grad(t, X, y, **kwargs)[0], theta)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    return loss


def test_linear_regression_gradient_and_loss():
    model = LinearRegression(4, seed=0)
    loss = _check_gradient(model, X, TARGETS)
    theta = model.params + 0.1 * np.random.default_rng(1).standard_normal(5)
    assert loss == pytest.approx(np.mean((X @ theta[:4] + theta[4] - TARGETS) ** 2), rel=1e-14)


@pytest.mark.parametrize("k", [2, 3])
def test_softmax_regression_gradient(k):
    model = SoftmaxRegression(4, k, seed=0)
    loss = _check_gradient(model, X, LABELS3 % k)
    theta = model.params + 0.1 * np.random.default_rng(1).standard_normal(model.n_params)
    logits = X @ theta[:4 * k].reshape(4, k) + theta[4 * k:]
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert loss == pytest.approx(-np.mean(log_p[np.arange(9), LABELS3 % k]), rel=1e-13)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("dropout", [0.0, 0.4])
@pytest.mark.parametrize("loss", ["softmax_ce", "mse"])
def test_mlp_gradient_matches_finite_differences(activation, dropout, loss):
    out = 3 if loss == "softmax_ce" else 2
    model = MLP([4, 6, 5, out], activation=activation, dropout=dropout, loss=loss, seed=3)
    y = LABELS3 if loss == "softmax_ce" else np.column_stack([TARGETS, -TARGETS])
    # rng=7: every call draws the same dropout masks, so the loss is one smooth function of theta.
    _check_gradient(model, X, y, rng=7)


def test_dropout_masks_follow_the_rng_and_vanish_in_evaluation():
    model = MLP([4, 8, 3], dropout=0.5, seed=0)
    same = [model.loss_and_grad(model.params, X, LABELS3, rng=5)[0] for _ in range(2)]
    assert same[0] == same[1]
    assert model.loss_and_grad(model.params, X, LABELS3, rng=6)[0] != same[0]
    plain = MLP([4, 8, 3], dropout=0.0, seed=0)
    np.testing.assert_array_equal(plain.params, model.params)
    assert model.loss(X, LABELS3) == plain.loss_and_grad(plain.params, X, LABELS3)[0]
    # While training, about p of the hidden units are zeroed and the kept ones scaled by 1/(1 - p).
    big = MLP([4, 400, 3], dropout=0.5, seed=0)
    Xb = np.random.default_rng(2).standard_normal((500, 4))
    big.forward(Xb, training=True, rng=0)
    mask = big.cache[-1]  # the hidden layer's boolean mask
    assert mask.dtype == bool and abs(mask.mean() - 0.5) < 0.01


def test_loss_and_grad_uses_the_given_params_not_model_params():
    model = MLP([4, 5, 3], activation="tanh", seed=0)
    before = model.params.copy()
    other = before + 0.5
    loss_other, grad_other = model.loss_and_grad(other, X, LABELS3)
    np.testing.assert_array_equal(model.params, before)  # untouched
    model.params[:] = other
    loss_moved, grad_moved = model.loss_and_grad(model.params, X, LABELS3)
    assert loss_other == loss_moved
    np.testing.assert_array_equal(grad_other, grad_moved)


def test_weights_and_biases_are_views_into_params():
    model = MLP([3, 4, 2], seed=0)
    (W1, b1), (W2, b2) = model.layers()
    assert all(np.shares_memory(a, model.params) for a in (W1, b1, W2, b2))
    assert (W1.shape, b1.shape, W2.shape, b2.shape) == ((3, 4), (4,), (4, 2), (2,))
    assert model.n_params == 3 * 4 + 4 + 4 * 2 + 2
    model.params[:12] = np.arange(12)  # the first block is W1, row by row
    np.testing.assert_array_equal(W1, np.arange(12).reshape(3, 4))
    assert model.is_weight.sum() == 12 + 8 and not model.is_weight[12:16].any()
    lin = LinearRegression(3, seed=0)
    assert np.shares_memory(lin.w, lin.params) and lin.is_weight.tolist() == [True] * 3 + [False]


def test_layer_grad_norms_match_the_flat_gradient():
    sizes = [4, 7, 6, 5, 3]
    model = MLP(sizes, activation="sigmoid", seed=0)
    _, grad = model.loss_and_grad(model.params, X, LABELS3, training=False)
    expected, offset = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):  # layout: W1 (row-major), b1, W2, b2, ...
        expected.append(np.sqrt(np.sum(grad[offset:offset + n_in * n_out] ** 2)))
        offset += n_in * n_out + n_out
    assert offset == model.n_params
    np.testing.assert_allclose(model.layer_grad_norms(model.params, X, LABELS3), expected, rtol=1e-14)


def test_deep_sigmoid_gradients_vanish_toward_the_input():
    model = MLP([4] + [32] * 8 + [3], activation="sigmoid", seed=0)
    norms = model.layer_grad_norms(model.params, X, LABELS3)
    assert norms[0] < 1e-2 * norms[-1]


@pytest.mark.parametrize("activation, expected_std", [
    ("relu", lambda n_in, n_out: np.sqrt(2 / n_in)),
    ("tanh", lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))),
    ("sigmoid", lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))),
])
def test_default_initialisation_scales(activation, expected_std):
    model = MLP([300, 200, 100], activation=activation, seed=0)
    for W, b in model.layers():
        assert W.std() == pytest.approx(expected_std(*W.shape), rel=0.03)
        assert not b.any()
    scaled = MLP([300, 200], init_scale=0.01, seed=0)
    assert scaled.layers()[0][0].std() == pytest.approx(0.01, rel=0.03)


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_activation_nbytes_by_formula_and_by_the_cache(dropout):
    sizes, batch = [5, 16, 8, 3], 11
    model = MLP(sizes, dropout=dropout, seed=0)
    masks = batch * (16 + 8) * 1 if dropout else 0  # one boolean per hidden unit
    assert model.activation_nbytes(batch) == batch * (5 + 16 + 8 + 3) * 8 + masks
    model.forward(np.ones((batch, 5)), training=True, rng=0)
    assert sum(a.nbytes for a in model.cache) == model.activation_nbytes(batch)
    with pytest.raises(ValueError, match="batch_size"):
        model.activation_nbytes(0)


def test_predictions_and_shapes():
    clf = MLP([4, 5, 3], seed=0)
    logits = clf.decision_function(X)
    assert logits.shape == (9, 3)
    np.testing.assert_array_equal(clf.predict(X), logits.argmax(axis=1))
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-15)
    reg = MLP([4, 5, 1], loss="mse", seed=0)
    assert reg.predict(X).shape == (9,)
    _check_gradient(reg, X, TARGETS)  # 1-D targets for one output
    soft = SoftmaxRegression(4, 3, seed=0)
    np.testing.assert_array_equal(soft.predict(X), soft.forward(X).argmax(axis=1))
    lin = LinearRegression(4, seed=0)
    np.testing.assert_allclose(lin.predict(X), X @ lin.w + lin.b, rtol=1e-15)


@pytest.mark.parametrize("kwargs, name", [
    (dict(sizes=[4]), "sizes"),
    (dict(sizes=[4, 0, 2]), "sizes"),
    (dict(sizes=[4, 2], activation="gelu"), "activation"),
    (dict(sizes=[4, 2], dropout=1.0), "dropout"),
    (dict(sizes=[4, 2], loss="hinge"), "loss"),
    (dict(sizes=[4, 2], init_scale=-1.0), "init_scale"),
])
def test_mlp_refuses_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MLP(**kwargs)


def test_models_refuse_bad_params_and_inputs():
    model = LinearRegression(4)
    with pytest.raises(ValueError, match="params"):
        model.loss_and_grad(np.zeros(3), X, TARGETS)
    with pytest.raises(ValueError, match="X"):
        model.loss_and_grad(model.params, X[:, :3], TARGETS)
    with pytest.raises(ValueError, match="k"):
        SoftmaxRegression(4, 1)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ["softmax_ce", "mse"])
def test_mlp_matches_torch(activation, loss):
    torch = pytest.importorskip("torch")
    sizes = [4, 6, 5, 3]
    model = MLP(sizes, activation=activation, loss=loss, seed=1)
    y = LABELS3 if loss == "softmax_ce" else RNG.standard_normal((9, 3))

    layers = []
    for W, b in model.layers():
        lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))  # torch computes x @ weight.T
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    h = torch.from_numpy(X)
    for lin in layers[:-1]:
        h = act(lin(h))
    out = layers[-1](h)
    if loss == "softmax_ce":
        ref = torch.nn.functional.cross_entropy(out, torch.from_numpy(y))
    else:
        ref = torch.nn.functional.mse_loss(out, torch.from_numpy(y))
    ref.backward()

    value, grad = model.loss_and_grad(model.params, X, y)
    assert value == pytest.approx(ref.item(), rel=1e-12)
    for (gW, gb), lin in zip(model.layers(grad), layers):
        np.testing.assert_allclose(gW, lin.weight.grad.numpy().T, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(gb, lin.bias.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("make", [
    lambda: LinearRegression(3, seed=1),
    lambda: SoftmaxRegression(3, k=4, seed=1),
    lambda: MLP([3, 8, 8, 4], activation="tanh", dropout=0.5, seed=1),
    lambda: MLP([3, 8, 1], activation="relu", loss="mse", seed=1),
])
def test_forward_only_loss_equals_the_loss_of_loss_and_grad(make):
    model = make()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(11, 3))
    k = getattr(model, "k", None) or (model.sizes[-1] if isinstance(model, MLP) else None)
    y = rng.integers(0, k, 11) if k and getattr(model, "loss_name", "softmax_ce") == "softmax_ce" else rng.normal(size=11)
    other = model.params + 0.1 * rng.normal(size=model.n_params)
    assert model.loss(X, y, params=other) == model.loss_and_grad(other, X, y, training=False)[0]


@pytest.mark.parametrize("make, y", [
    (lambda: MLP([3, 5, 4], seed=0), np.array([0, 3, 1, 2, 2, 1])),
    (lambda: MLP([3, 5, 1], loss="mse", seed=0), np.linspace(-1, 1, 6)),
    (lambda: SoftmaxRegression(3, 4, seed=0), np.array([0, 3, 1, 2, 2, 1])),
    (lambda: LinearRegression(3, seed=0), np.linspace(-1, 1, 6)),
])
def test_loss_and_grad_checks_the_targets_once_and_builds_no_one_hot(make, y, monkeypatch):
    from optlib import losses
    calls = []
    for name in ("_labels_or_rows", "_pair", "_targets"):
        original = getattr(losses, name)
        monkeypatch.setattr(losses, name, lambda *a, _f=original, _n=name: (calls.append(_n), _f(*a))[1])
    model = make()
    X = np.random.default_rng(1).normal(size=(6, 3))
    loss, grad = model.loss_and_grad(model.params, X, y)
    assert len(calls) == 1 and calls[0] != "_targets", calls  # one check of y, no one-hot array
    assert loss == model.loss(X, y)
