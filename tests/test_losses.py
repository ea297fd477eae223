"""Losses against their formulas, central finite differences, closed forms and PyTorch."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlib.functions import numerical_grad
from optlib.losses import (cross_entropy, cross_entropy_grad, hinge, hinge_grad, log_softmax, mse, mse_and_grad,
                           mse_grad, softmax, softmax_cross_entropy, softmax_cross_entropy_and_grad,
                           softmax_cross_entropy_grad)

SHAPES = [(1, 1), (4, 3), (7, 5), (10, 2)]




def random_probs(rng, shape, low=0.05):
    """Probability rows bounded away from 0 (the log's steep region would spoil finite differences)."""
    p = rng.uniform(low, 1, size=shape)
    return p / p.sum(axis=1, keepdims=True)


def one_hot(labels, k):
    return np.eye(k)[labels]


# --- gradients against central finite differences ---------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
def test_mse_grad_matches_finite_differences(shape):
    rng = np.random.default_rng(0)
    y_pred, y_true = rng.normal(size=shape), rng.normal(size=shape)
    fd = numerical_grad(lambda p: mse(p, y_true), y_pred)
    np.testing.assert_allclose(mse_grad(y_pred, y_true), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("labels_as", ["one_hot", "integers"])
def test_cross_entropy_grad_matches_finite_differences(shape, labels_as):
    rng = np.random.default_rng(1)
    n, k = shape
    y_prob = random_probs(rng, shape, low=0.2) * 0.9  # stays inside (0, 1) when perturbed
    labels = rng.integers(0, k, size=n)
    y_true = one_hot(labels, k) if labels_as == "one_hot" else labels
    fd = numerical_grad(lambda p: cross_entropy(p, y_true), y_prob)
    np.testing.assert_allclose(cross_entropy_grad(y_prob, y_true), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_cross_entropy_grad_matches_finite_differences(shape):
    rng = np.random.default_rng(2)
    n, k = shape
    logits = rng.normal(scale=3, size=shape)
    y_true = random_probs(rng, shape)  # soft labels exercise the general formula
    fd = numerical_grad(lambda z: softmax_cross_entropy(z, y_true), logits)
    np.testing.assert_allclose(softmax_cross_entropy_grad(logits, y_true), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 2, 3)])
def test_hinge_grad_matches_finite_differences_away_from_the_kink(shape):
    rng = np.random.default_rng(3)
    y_true = rng.choice([-1.0, 1.0], size=shape)
    margins = rng.uniform(-2, 3, size=shape)
    margins[np.abs(margins - 1) < 0.1] += 0.3  # keep every margin clear of the kink at 1
    scores = margins * y_true
    fd = numerical_grad(lambda s: hinge(s, y_true), scores)
    grad = hinge_grad(scores, y_true)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    assert np.any(grad != 0) or np.all(margins > 1)


def test_hinge_subgradient_is_zero_at_the_kink():
    y_true = np.array([1.0, -1.0])
    assert np.array_equal(hinge_grad(np.array([1.0, -1.0]), y_true), [0.0, 0.0])


# --- formulas and closed forms ------------------------------------------------------------------------

def test_mse_is_the_mean_over_all_elements():
    y_pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    y_true = np.array([[0.0, 0.0], [3.0, 6.0]])
    assert mse(y_pred, y_true) == pytest.approx((1 + 4 + 0 + 4) / 4)


@pytest.mark.parametrize("k", [2, 3, 10, 1000])
def test_cross_entropy_of_uniform_probabilities_is_log_k(k):
    n = 5
    y_prob = np.full((n, k), 1 / k)
    labels = np.arange(n) % k
    assert cross_entropy(y_prob, labels) == pytest.approx(math.log(k), rel=1e-12)
    assert softmax_cross_entropy(np.zeros((n, k)), labels) == pytest.approx(math.log(k), rel=1e-12)


def test_cross_entropy_is_mean_of_minus_log_true_class_probability():
    y_prob = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    labels = np.array([0, 2])
    expected = -(math.log(0.7) + math.log(0.5)) / 2
    assert cross_entropy(y_prob, labels) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy(y_prob, one_hot(labels, 3)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_finite_at_zero_probability(dtype):
    # the true class gets probability 0: the loss is -log(tiny), large but finite
    y_prob = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=dtype)
    labels = np.array([0, 0])
    tiny = np.finfo(dtype).tiny
    loss = cross_entropy(y_prob, labels)
    assert math.isfinite(loss)
    assert loss == pytest.approx(-np.log(tiny) / 2, rel=1e-6)
    grad = cross_entropy_grad(y_prob, labels)
    assert np.all(np.isfinite(grad))
    assert grad.dtype == dtype
    # terms with y = 0 contribute 0 even where y_hat = 0 (0 log 0 := 0)
    assert cross_entropy(np.array([[1.0, 0.0]], dtype=dtype), np.array([0])) == 0.0
    assert grad[0, 1] == 0 and grad[1, 1] == 0


def test_softmax_cross_entropy_finite_for_huge_logits():
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 1000.0]])
    labels = np.array([0, 0, 1])
    # exact values: 0 (correct, confident), 2000 (wrong, confident), log 2 (a tie)
    assert softmax_cross_entropy(logits, labels) == pytest.approx((0 + 2000 + math.log(2)) / 3, rel=1e-12)
    grad = softmax_cross_entropy_grad(logits, labels)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, np.array([[0, 0], [-1, 1], [0.5, -0.5]]) / 3, atol=1e-15)
    assert np.all(np.isfinite(log_softmax(logits)))
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0)


def test_hinge_is_zero_for_margins_at_least_one():
    rng = np.random.default_rng(4)
    y_true = rng.choice([-1.0, 1.0], size=20)
    scores = y_true * rng.uniform(1, 5, size=20)
    assert hinge(scores, y_true) == 0.0
    assert np.all(hinge_grad(scores, y_true) == 0)


def test_hinge_formula():
    scores = np.array([0.5, -2.0, 3.0, 0.0])
    y_true = np.array([1.0, 1.0, -1.0, -1.0])
    # 1 - y*s: 0.5, 3, 4, 1
    assert hinge(scores, y_true) == pytest.approx((0.5 + 3 + 4 + 1) / 4)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=8), st.floats(-1e3, 1e3))
def test_softmax_is_a_distribution_invariant_to_shifts(row, shift):
    z = np.array([row])
    s = softmax(z)
    assert np.all(s >= 0)
    assert s.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(softmax(z + shift), s, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(log_softmax(z), np.log(s), rtol=1e-9, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_softmax_cross_entropy_equals_cross_entropy_of_softmax(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2, size=(n, k))
    labels = rng.integers(0, k, size=n)
    assert softmax_cross_entropy(logits, labels) == pytest.approx(cross_entropy(softmax(logits), labels),
                                                                  rel=1e-10)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=10))
def test_mse_is_non_negative_and_zero_only_at_the_target(values):
    y = np.array(values)
    assert mse(y, y) == 0.0
    assert mse(y + 1.0, y) == pytest.approx(1.0)
    assert mse(y, np.zeros_like(y)) >= 0


def test_losses_do_not_mutate_inputs():
    rng = np.random.default_rng(5)
    y_prob, logits = random_probs(rng, (3, 4)), rng.normal(size=(3, 4))
    labels = np.array([0, 3, 1])
    copies = y_prob.copy(), logits.copy(), labels.copy()
    cross_entropy(y_prob, labels), cross_entropy_grad(y_prob, labels)
    softmax_cross_entropy(logits, labels), softmax_cross_entropy_grad(logits, labels), log_softmax(logits)
    for before, after in zip(copies, (y_prob, logits, labels)):
        assert np.array_equal(before, after)


# --- against PyTorch -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4)])
def test_mse_matches_torch(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    y_pred, y_true = rng.normal(size=shape), rng.normal(size=shape)
    p = torch.tensor(y_pred, requires_grad=True)
    loss = torch.nn.functional.mse_loss(p, torch.tensor(y_true))
    loss.backward()
    assert mse(y_pred, y_true) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(mse_grad(y_pred, y_true), p.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_softmax_cross_entropy_matches_torch_cross_entropy(shape, scale):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    n, k = shape
    logits = rng.normal(scale=scale, size=shape)
    labels = rng.integers(0, k, size=n)
    z = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    loss.backward()
    assert softmax_cross_entropy(logits, labels) == pytest.approx(loss.item(), rel=1e-10, abs=1e-12)
    assert softmax_cross_entropy(logits, one_hot(labels, k)) == pytest.approx(loss.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(softmax_cross_entropy_grad(logits, labels), z.grad.numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(log_softmax(logits), torch.log_softmax(torch.tensor(logits), 1).numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(softmax(logits), torch.softmax(torch.tensor(logits), 1).numpy(),
                               rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_matches_torch_nll_of_log_probabilities(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    n, k = shape
    y_prob = random_probs(rng, shape)
    labels = rng.integers(0, k, size=n)
    p = torch.tensor(y_prob, requires_grad=True)
    loss = torch.nn.functional.nll_loss(torch.log(p), torch.tensor(labels))
    loss.backward()
    assert cross_entropy(y_prob, labels) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(cross_entropy_grad(y_prob, labels), p.grad.numpy(), rtol=1e-12)


def test_hinge_matches_torch_autograd_away_from_the_kink():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    y_true = rng.choice([-1.0, 1.0], size=(4, 5))
    scores = rng.normal(scale=2, size=(4, 5))
    s = torch.tensor(scores, requires_grad=True)
    loss = torch.relu(1 - torch.tensor(y_true) * s).mean()
    loss.backward()
    assert hinge(scores, y_true) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(hinge_grad(scores, y_true), s.grad.numpy(), rtol=1e-12)


# --- bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [mse, mse_grad])
def test_mse_shape_mismatch_names_both(fn):
    with pytest.raises(ValueError, match="y_pred and y_true"):
        fn(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("fn", [cross_entropy, cross_entropy_grad])
def test_cross_entropy_bad_input(fn):
    good = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match="y_prob"):
        fn(np.array([[0.5, 1.5, 0.0], [0.2, 0.3, 0.5]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="y_prob"):
        fn(np.array([[-0.1, 0.6, 0.5], [0.2, 0.3, 0.5]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="y_prob"):
        fn(np.array([[np.nan, 0.6, 0.4], [0.2, 0.3, 0.5]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="y_prob"):
        fn(np.full(3, 1 / 3), np.array([0]))
    with pytest.raises(ValueError, match="y_true"):
        fn(good, np.array([0, 3]))
    with pytest.raises(ValueError, match="y_true"):
        fn(good, np.array([-1, 0]))
    with pytest.raises(ValueError, match="y_true"):
        fn(good, np.array([0.0, 1.0]))  # float labels are ambiguous
    with pytest.raises(ValueError, match="y_prob and y_true"):
        fn(good, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="y_prob and y_true"):
        fn(good, np.eye(3))
    with pytest.raises(ValueError, match="y_true"):
        fn(good, np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))  # a row that is not a distribution


@pytest.mark.parametrize("fn", [softmax_cross_entropy, softmax_cross_entropy_grad])
def test_softmax_cross_entropy_bad_input(fn):
    with pytest.raises(ValueError, match="logits and y_true"):
        fn(np.zeros((2, 3)), np.eye(2))
    with pytest.raises(ValueError, match="y_true"):
        fn(np.zeros((2, 3)), np.array([0, 5]))
    with pytest.raises(ValueError, match="logits"):
        fn(np.zeros(3), np.array([0]))


@pytest.mark.parametrize("fn", [hinge, hinge_grad])
def test_hinge_bad_input(fn):
    with pytest.raises(ValueError, match="y_true"):
        fn(np.zeros(3), np.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="scores and y_true"):
        fn(np.zeros(3), np.ones(2))


def test_cross_entropy_of_a_perfect_prediction_is_plus_zero():
    import math
    value = cross_entropy(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]))
    assert value == 0 and math.copysign(1, value) == 1  # prints as 0.0, not -0.0


# --- issue 13, item 9: finite wherever torch's cross-entropy is, with its value -----------------------------

@st.composite
def extreme_logits(draw):
    """Logits with masked classes (-inf) and values spanning the float range, and a label per row."""
    n, k = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    values = st.one_of(st.floats(-50, 50), st.sampled_from([-np.inf, -1e308, 1e308, -1e300, 1e300, 0.0]))
    logits = np.array(draw(st.lists(st.lists(values, min_size=k, max_size=k), min_size=n, max_size=n)))
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    return logits, labels


@settings(max_examples=200, deadline=None)
@given(case=extreme_logits())
def test_softmax_cross_entropy_is_finite_wherever_torchs_is(case):
    torch = pytest.importorskip("torch")
    logits, labels = case
    z = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    with np.errstate(invalid="raise", divide="raise"):  # no nan made on the way (an overflow to inf may be)
        ours = softmax_cross_entropy(logits, labels)
        ours_dense = softmax_cross_entropy(logits, one_hot(labels, logits.shape[1]))
    if np.isfinite(theirs.item()):
        assert ours == pytest.approx(theirs.item(), rel=1e-12, abs=1e-12)
        assert ours_dense == pytest.approx(theirs.item(), rel=1e-12, abs=1e-12)
        theirs.backward()
        np.testing.assert_allclose(softmax_cross_entropy_grad(logits, labels), z.grad.numpy(), rtol=1e-9,
                                   atol=1e-15)
    else:
        assert not np.isfinite(ours) or np.isnan(theirs.item())


def test_the_masked_class_of_the_issue():
    logits = np.array([[-np.inf, 0.0, 1.0]])
    assert softmax_cross_entropy(logits, [2]) == pytest.approx(np.log(1 + np.e) - 1, rel=1e-15)
    assert round(softmax_cross_entropy(logits, [2]), 4) == 0.3133
    np.testing.assert_allclose(softmax_cross_entropy_grad(logits, [2]), [[0, 1 / (1 + np.e), -1 / (1 + np.e)]])
    assert softmax_cross_entropy(np.array([[-1e308, 1e308]]), [1]) == 0.0


def test_loss_and_grad_in_one_call_equal_the_two_calls():
    rng = np.random.default_rng(11)
    logits, labels = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    for y in (labels, one_hot(labels, 4)):
        loss, grad = softmax_cross_entropy_and_grad(logits, y)
        assert loss == softmax_cross_entropy(logits, y)
        np.testing.assert_array_equal(grad, softmax_cross_entropy_grad(logits, y))
        assert softmax_cross_entropy_and_grad(logits, y, grad=False) == (loss, None)
    y_pred, y_true = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    loss, grad = mse_and_grad(y_pred, y_true)
    assert loss == mse(y_pred, y_true)
    np.testing.assert_array_equal(grad, mse_grad(y_pred, y_true))
    with pytest.raises(ValueError, match="y_true"):
        softmax_cross_entropy_and_grad(logits, labels[:3])
