"""optlib.functions.feed_gradients (chapter 13): an optimizer fed a given sequence of gradients."""
import numpy as np
import pytest

from optlib import SGD, AMSGrad, Adam, Momentum
from optlib.functions import feed_gradients


def test_sgd_path_is_the_cumulative_sum_of_the_gradients():
    gradients = np.random.default_rng(0).normal(size=(20, 3))
    start = np.array([1.0, -2.0, 0.5])
    path = feed_gradients(SGD(0.1), gradients, x0=start)
    assert path.shape == (21, 3)
    assert np.allclose(path, start - 0.1 * np.vstack([np.zeros(3), np.cumsum(gradients, axis=0)]),
                       rtol=0, atol=1e-14)


def test_adam_steps_for_a_constant_gradient_are_the_closed_form():
    # bias-corrected m_hat = g and sqrt(v_hat) = |g| from the first step on: each step is lr g / (|g| + eps)
    g = np.array([2.0, -0.5])
    steps = -np.diff(feed_gradients(Adam(1e-3), np.tile(g, (50, 1))), axis=0)
    assert np.allclose(steps, 1e-3 * g / (np.abs(g) + 1e-8), rtol=1e-12, atol=0)


def test_same_bits_as_stepping_by_hand_and_state_carries_on():
    gradients = np.random.default_rng(1).normal(size=(30, 2, 3))
    start = np.random.default_rng(2).normal(size=(2, 3))
    fed = AMSGrad(0.01)
    path = feed_gradients(fed, gradients[:10], x0=start)
    path = np.concatenate([path, feed_gradients(fed, gradients[10:], x0=path[-1])[1:]])
    theta, by_hand = start.copy(), AMSGrad(0.01)
    for t, g in enumerate(gradients, start=1):
        by_hand.step(theta, lambda point: g)
        assert np.array_equal(path[t], theta)
    assert fed.t == by_hand.t == 30 and np.array_equal(fed.v_max, by_hand.v_max)


def test_the_gradient_does_not_depend_on_theta_and_x0_is_not_modified():
    start = np.array([3.0])
    gradients = np.ones((5, 1))
    a = feed_gradients(Momentum(0.1, mu=0.5), gradients, x0=start)
    b = feed_gradients(Momentum(0.1, mu=0.5), gradients)
    assert np.allclose(a - 3.0, b, rtol=0, atol=1e-14) and start[0] == 3.0
    assert feed_gradients(SGD(0.1), np.ones((0, 2))).shape == (1, 2)   # no step: theta_0 alone


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="gradients"):
        feed_gradients(SGD(0.1), 1.0)
    with pytest.raises(ValueError, match="x0"):
        feed_gradients(SGD(0.1), np.ones((3, 2)), x0=np.zeros(3))
    with pytest.raises(FloatingPointError):  # the optimizer refuses a gradient that is not finite
        feed_gradients(SGD(0.1), np.array([[1.0], [np.nan]]))
