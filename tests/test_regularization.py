"""Penalties against finite differences and formulas; dropout's statistics; decoupled weight decay vs PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlib.functions import numerical_grad
from optlib.regularization import (decoupled_weight_decay, dropout, dropout_grad, l1_penalty, l1_penalty_grad,
                                   l2_penalty, l2_penalty_grad)




# --- penalties ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0])
def test_l2_grad_matches_finite_differences(shape, lam):
    w = np.random.default_rng(0).normal(size=shape)
    fd = numerical_grad(lambda v: l2_penalty(v, lam), w)
    np.testing.assert_allclose(l2_penalty_grad(w, lam), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0])
def test_l1_grad_matches_finite_differences_away_from_zero(shape, lam):
    w = np.random.default_rng(1).normal(size=shape)
    w[np.abs(w) < 0.1] += 0.5  # |w| has a kink at 0
    fd = numerical_grad(lambda v: l1_penalty(v, lam), w)
    np.testing.assert_allclose(l1_penalty_grad(w, lam), fd, rtol=1e-6, atol=1e-8)


def test_penalty_formulas():
    w = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert l2_penalty(w, 0.5) == pytest.approx(0.5 * (1 + 4 + 0 + 9))
    assert l1_penalty(w, 0.5) == pytest.approx(0.5 * (1 + 2 + 0 + 3))
    np.testing.assert_array_equal(l1_penalty_grad(w, 0.5), [[0.5, -0.5], [0.0, 0.5]])  # 0 at w = 0


def test_l2_gradient_is_twice_torch_weight_decay():
    """Note 2's lam * sum w^2 has gradient 2 lam w; PyTorch's weight_decay=lam adds lam w."""
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(2).normal(size=6)
    lam, lr = 0.1, 0.5
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.SGD([p], lr=lr, weight_decay=2 * lam)
    p.grad = torch.zeros_like(p)  # loss without the penalty contributes nothing
    opt.step()
    np.testing.assert_allclose(w0 - lr * l2_penalty_grad(w0, lam), p.detach().numpy(), rtol=1e-14)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=10), st.floats(0, 10))
def test_penalties_are_non_negative_and_linear_in_lam(values, lam):
    w = np.array(values)
    assert l2_penalty(w, lam) >= 0 and l1_penalty(w, lam) >= 0
    assert l2_penalty(w, 2 * lam) == pytest.approx(2 * l2_penalty(w, lam))
    assert l1_penalty(w, 2 * lam) == pytest.approx(2 * l1_penalty(w, lam))
    assert l2_penalty(w, 0.0) == 0.0 and l1_penalty(w, 0.0) == 0.0


@pytest.mark.parametrize("fn", [l2_penalty, l2_penalty_grad, l1_penalty, l1_penalty_grad])
@pytest.mark.parametrize("lam", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_bad_lam(fn, lam):
    with pytest.raises(ValueError, match="lam"):
        fn(np.ones(3), lam)


def test_penalty_grads_do_not_mutate_w():
    w = np.array([1.0, -2.0, 0.0])
    before = w.copy()
    l2_penalty_grad(w, 0.3), l1_penalty_grad(w, 0.3)
    np.testing.assert_array_equal(w, before)


# --- dropout ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_expectation(p):
    rng = np.random.default_rng(3)
    n = 200_000
    x = np.full(n, 2.0)
    y, mask = dropout(x, p, rng)
    # mask ~ Bernoulli(1 - p): its fraction has std sqrt(p(1-p)/n); allow 5 standard deviations
    q = 1 - p
    assert abs(mask.mean() - q) < 5 * np.sqrt(p * q / n)
    # y_i = x_i m_i / q has mean x_i and std x_i sqrt(p/q); the sample mean has that std / sqrt(n)
    assert abs(y.mean() - 2.0) < 5 * 2.0 * np.sqrt(p / q / n)
    # each y is either 0 (dropped) or x / (1 - p) (kept)
    np.testing.assert_allclose(y[mask], 2.0 / q)
    assert np.all(y[~mask] == 0)


def test_dropout_mask_is_the_documented_draw():
    x = np.random.default_rng(4).normal(size=(3, 5))
    y, mask = dropout(x, 0.3, np.random.default_rng(5))
    expected_mask = np.random.default_rng(5).random(x.shape) >= 0.3
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_array_equal(y, x * expected_mask / 0.7)
    assert mask.dtype == bool and y.shape == x.shape


def test_dropout_eval_mode_is_identity_and_draws_nothing():
    rng = np.random.default_rng(6)
    state = rng.bit_generator.state
    x = np.random.default_rng(7).normal(size=(4, 3))
    y, mask = dropout(x, 0.5, rng, training=False)
    np.testing.assert_array_equal(y, x)
    assert mask.all() and mask.shape == x.shape
    assert rng.bit_generator.state == state
    y[0, 0] = 99.0  # a copy: the caller's x is untouched
    assert x[0, 0] != 99.0
    y2, _ = dropout(x, 0.5, None, training=False)  # no generator needed in eval mode
    np.testing.assert_array_equal(y2, x)


def test_dropout_p0_is_identity_and_p1_is_zero():
    x = np.random.default_rng(8).normal(size=100)
    y, mask = dropout(x, 0.0, np.random.default_rng(9))
    np.testing.assert_array_equal(y, x)
    assert mask.all()
    with np.errstate(all="raise"):  # no division by zero
        y, mask = dropout(x, 1.0, np.random.default_rng(9))
        np.testing.assert_array_equal(y, np.zeros_like(x))
        assert not mask.any()
        np.testing.assert_array_equal(dropout_grad(np.ones_like(x), mask, 1.0), np.zeros_like(x))


@pytest.mark.parametrize("p", [0.0, 0.25, 0.6])
def test_dropout_grad_matches_finite_differences(p):
    """With the mask fixed, y is linear in x; the backward pass is its Jacobian transposed."""
    rng = np.random.default_rng(10)
    x, upstream = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    _, mask = dropout(x, p, np.random.default_rng(11))

    def loss(v):
        y, _ = dropout(v, p, np.random.default_rng(11))  # same seed, same mask
        return float(np.sum(upstream * y))

    np.testing.assert_allclose(dropout_grad(upstream, mask, p), numerical_grad(loss, x), rtol=1e-6, atol=1e-9)


def test_dropout_matches_torch_scaling():
    """torch's dropout keeps x / (1 - p) where it keeps a unit, 0 elsewhere: the same inverted form."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.ones(10_000, dtype=torch.float64)
    p = 0.3
    t = torch.nn.functional.dropout(x, p=p, training=True).numpy()
    ours, _ = dropout(x.numpy(), p, np.random.default_rng(12))
    assert set(np.unique(t)) == set(np.unique(ours)) == {0.0, 1 / (1 - p)}
    np.testing.assert_array_equal(dropout(x.numpy(), p, None, training=False)[0],
                                  torch.nn.functional.dropout(x, p=p, training=False).numpy())


@pytest.mark.parametrize("p", [-0.1, 1.1, float("nan"), "0.5", None])
def test_dropout_bad_p(p):
    with pytest.raises(ValueError, match="p"):
        dropout(np.ones(3), p, np.random.default_rng(0))
    with pytest.raises(ValueError, match="p"):
        dropout_grad(np.ones(3), np.ones(3, dtype=bool), p)


def test_dropout_bad_rng_and_mask():
    with pytest.raises(ValueError, match="rng"):
        dropout(np.ones(3), 0.5, np.random.RandomState(0))
    with pytest.raises(ValueError, match="mask"):
        dropout_grad(np.ones(3), np.ones(3), 0.5)
    with pytest.raises(ValueError, match="dy and mask"):
        dropout_grad(np.ones(3), np.ones(4, dtype=bool), 0.5)


# --- decoupled weight decay ---------------------------------------------------------------------------

def test_decoupled_weight_decay_in_place():
    theta = np.array([1.0, -2.0, 4.0])
    out = decoupled_weight_decay(theta, lr=0.1, weight_decay=0.5)
    assert out is theta
    np.testing.assert_allclose(theta, np.array([1.0, -2.0, 4.0]) * (1 - 0.05), rtol=1e-15)


def test_decoupled_weight_decay_matches_torch_adamw_with_zero_gradient():
    """With a zero gradient Adam's step is 0, so AdamW's update is the decay alone."""
    torch = pytest.importorskip("torch")
    theta = np.random.default_rng(13).normal(size=7)
    p = torch.nn.Parameter(torch.tensor(theta))
    opt = torch.optim.AdamW([p], lr=0.01, weight_decay=0.3)
    for _ in range(5):
        p.grad = torch.zeros_like(p)
        opt.step()
        decoupled_weight_decay(theta, 0.01, 0.3)
    np.testing.assert_array_equal(theta, p.detach().numpy())


def test_decoupled_weight_decay_equals_l2_gradient_for_sgd():
    """For SGD, decay lr*wd*theta is one step on the penalty (wd/2)||theta||^2, i.e. note 2's lam = wd/2."""
    theta = np.random.default_rng(14).normal(size=5)
    lr, wd = 0.1, 0.4
    sgd_l2 = theta - lr * l2_penalty_grad(theta, wd / 2)
    np.testing.assert_allclose(decoupled_weight_decay(theta.copy(), lr, wd), sgd_l2, rtol=1e-15)


def test_decoupled_weight_decay_bad_input():
    with pytest.raises(ValueError, match="theta"):
        decoupled_weight_decay([1.0, 2.0], 0.1, 0.1)
    with pytest.raises(ValueError, match="theta"):
        decoupled_weight_decay(np.array([1, 2]), 0.1, 0.1)
    with pytest.raises(ValueError, match="lr"):
        decoupled_weight_decay(np.ones(2), 0.0, 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        decoupled_weight_decay(np.ones(2), 0.1, -0.1)
