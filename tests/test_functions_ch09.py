"""Chapter 9's helpers: many runs at once (minimize_many) against minimize, and noisy gradients (Noisy)."""
import numpy as np
import pytest

import optlib
from optlib.functions import Noisy, minimize, minimize_many

FUNCTIONS = [optlib.rosenbrock, optlib.beale, optlib.booth, optlib.himmelblau, optlib.rastrigin, optlib.saddle]


def _same(one, many):
    return (np.array_equal(one.x, many.x) and np.array_equal(one.loss, many.loss)
            and one.diverged == many.diverged and one.steps_taken == many.steps_taken)


@pytest.mark.parametrize("name", list(optlib.OPTIMIZERS))
def test_minimize_many_is_minimize_column_by_column_for_every_registered_optimizer(name):
    """Every optimizer updates each coordinate on its own: one batch equals separate runs, bit for bit,
    divergent runs included (lr = 1 blows several of them up)."""
    diverged = 0
    for f in FUNCTIONS:
        starts = np.column_stack([f.start, 0.5 * f.start + 0.3, -0.7 * f.start])
        for lr in (1e-3, 0.05, 1.0):
            many = minimize_many(f, starts, optlib.make(name, lr), 60)
            for k in range(starts.shape[1]):
                one = minimize(f, starts[:, k], optlib.make(name, lr), 60)
                assert _same(one, many[k]), (f.name, lr, k)
                diverged += one.diverged
    if name in ("SGD", "Momentum", "Nesterov"):
        assert diverged > 0  # the check covered runs that stop early


def test_minimize_many_stops_each_run_on_its_own():
    # SGD at 0.2 > 2/18 diverges on Booth from anywhere but the minimum, sooner from farther away
    starts = np.array([[1.0, 2.0, 1e50, 1e150], [3.0, 3.0, 1e50, 1e150]])
    many = minimize_many(optlib.booth, starts, optlib.SGD(0.2), 400)
    for k in range(4):
        assert _same(minimize(optlib.booth, starts[:, k], optlib.SGD(0.2), 400), many[k])
    assert not many[0].diverged and many[0].steps_taken == 400 and np.all(many[0].x == [1.0, 3.0])
    assert many[1].diverged and many[3].steps_taken < many[2].steps_taken < many[1].steps_taken


def test_minimize_many_refuses_bad_arguments_with_a_message_naming_them():
    starts = np.zeros((2, 3))
    used = optlib.SGD(0.1)
    used.step(np.zeros(2), lambda x: np.ones(2))
    for args, name in [((optlib.booth, np.zeros(2), optlib.SGD(0.1), 5), "starts"),
                       ((optlib.booth, np.zeros((2, 0)), optlib.SGD(0.1), 5), "starts"),
                       ((optlib.booth, starts, used, 5), "optimizer"),
                       ((optlib.booth, starts, optlib.SGD(0.1), -1), "steps")]:
        with pytest.raises(ValueError, match=name):
            minimize_many(*args)


def test_noisy_gradient_has_the_true_mean_and_variance_sigma_squared_and_the_true_loss():
    f, sigma, n = optlib.beale, 3.0, 200_000
    x = np.repeat(np.array([[0.5], [-0.2]]), n, axis=1)
    draws = Noisy(f, sigma, seed=4).grad(x)
    true = f.grad(np.array([0.5, -0.2]))
    assert np.all(np.abs(draws.mean(axis=1) - true) < 4 * sigma / np.sqrt(n))  # 4 standard errors
    np.testing.assert_allclose(draws.var(axis=1), sigma ** 2, rtol=4 * np.sqrt(2 / n))
    assert abs(np.corrcoef(draws)[0, 1]) < 4 / np.sqrt(n)  # independent coordinates
    noisy = Noisy(f, sigma)
    assert noisy(np.array([1.0, 2.0])) == f(np.array([1.0, 2.0]))  # the loss carries no noise
    assert (noisy.name, noisy.f_star, noisy.domain) == (f.name, f.f_star, f.domain)


def test_noisy_is_seeded_and_a_zero_sigma_column_is_the_true_gradient():
    x = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    a, b = Noisy(optlib.booth, [0.0, 1.0, 5.0], seed=7), Noisy(optlib.booth, [0.0, 1.0, 5.0], seed=7)
    ga, gb = a.grad(x), b.grad(x)
    np.testing.assert_array_equal(ga, gb)
    np.testing.assert_array_equal(ga[:, 0], optlib.booth.grad(x[:, 0]))
    assert not np.array_equal(Noisy(optlib.booth, 1.0, seed=8).grad(x), Noisy(optlib.booth, 1.0, seed=7).grad(x))
    # each column its own sigma: the spread of many draws per column
    many = np.repeat(x[:, :1], 3 * 30_000, axis=1)
    noise = Noisy(optlib.booth, np.tile([0.0, 1.0, 5.0], 30_000), seed=1).grad(many) - optlib.booth.grad(many)
    spread = noise.reshape(2, 30_000, 3).std(axis=1)
    np.testing.assert_array_equal(spread[:, 0], 0.0)
    np.testing.assert_allclose(spread[:, 1:], [[1.0, 5.0], [1.0, 5.0]], rtol=0.02)
    with pytest.raises(ValueError, match="sigma"):
        Noisy(optlib.booth, -1.0)


def test_noise_free_columns_of_a_noisy_batch_are_the_noise_free_runs():
    f = optlib.himmelblau
    starts = np.repeat(f.start[:, None], 4, axis=1)
    runs = minimize_many(Noisy(f, [0.0, 0.0, 2.0, 2.0], seed=0), starts, optlib.make("Adam", 0.1), 80)
    plain = minimize(f, f.start, optlib.make("Adam", 0.1), 80)
    assert _same(plain, runs[0]) and _same(plain, runs[1])
    assert not np.array_equal(runs[2].x, plain.x) and not np.array_equal(runs[2].x, runs[3].x)
