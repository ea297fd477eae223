"""optlib.curvature against the iteration matrices' eigenvalues, closed forms, and runs of the optimizers."""
import numpy as np
import pytest

from optlib import SGD, Momentum, Nesterov, booth, curvature, minimize, quadratic

OPTIMIZER = {"gd": lambda lr, mu: SGD(lr), "heavy_ball": Momentum, "nesterov": Nesterov}


def error_recurrence(method, lr, mu, eigenvalue, e0, steps):
    """e_t along one eigenvector from powers of the iteration matrix, with e_{-1} = e_0 (zero velocity)."""
    M = curvature.iteration_matrix(lr, eigenvalue, mu, method)
    state, out = np.array([e0, e0]), [e0]
    for _ in range(steps):
        state = M @ state
        out.append(state[0])
    return np.array(out)


@pytest.mark.parametrize("method", curvature.METHODS)
@pytest.mark.parametrize("lr, mu", [(0.05, 0.5), (0.15, 0.3), (0.02, 0.9), (0.19, 0.0)])
def test_optlib_iterates_follow_the_iteration_matrix(method, lr, mu):
    """Along each eigenvector of a diagonal quadratic, optlib's iterates are the matrix recurrence."""
    eigenvalues = np.array([1.0, 10.0])
    f = quadratic(np.diag(eigenvalues), start=[1.0, -2.0])
    run = minimize(f, f.start, OPTIMIZER[method](lr, mu), 60)
    assert not run.diverged
    for i, lam in enumerate(eigenvalues):
        expected = error_recurrence(method, lr, mu, lam, f.start[i], 60)
        np.testing.assert_allclose(run.x[:, i], expected, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("method", curvature.METHODS)
def test_rate_is_the_spectral_radius_of_the_iteration_matrices(method):
    rng = np.random.default_rng(0)
    eigenvalues = np.array([0.3, 2.0, 7.5])
    lrs, mus = rng.uniform(0, 0.5, 200), rng.uniform(0, 0.99, 200)
    got = curvature.rate(lrs, eigenvalues, mus, method)
    assert got.shape == (200,)
    for lr, mu, rho in zip(lrs, mus, got):
        mu = 0.0 if method == "gd" else mu
        radius = max(np.abs(np.linalg.eigvals(curvature.iteration_matrix(lr, lam, mu, method))).max()
                     for lam in eigenvalues)
        assert rho == pytest.approx(radius, rel=1e-7, abs=1e-12)
    assert isinstance(curvature.rate(0.1, eigenvalues, 0.5, method), float)


@pytest.mark.parametrize("method", ["heavy_ball", "nesterov"])
def test_the_ends_of_the_spectrum_give_the_rate(method):
    """The docstring's claim: the rate over [m, L] is the larger of the rates at m and at L."""
    rng = np.random.default_rng(1)
    spectrum = np.linspace(0.5, 20.0, 400)
    lrs, mus = rng.uniform(0, 0.2, 300), rng.uniform(0, 0.99, 300)
    np.testing.assert_allclose(curvature.rate(lrs, [0.5, 20.0], mus, method),
                               curvature.rate(lrs, spectrum, mus, method), rtol=1e-12)


def test_gd_rate_is_the_worst_factor_and_heavy_ball_with_no_momentum_is_gd():
    lrs = np.linspace(0.01, 0.3, 30)
    expected = np.maximum(np.abs(1 - lrs * 2.0), np.abs(1 - lrs * 18.0))
    np.testing.assert_allclose(curvature.gd_rate(lrs, [2.0, 18.0]), expected, rtol=1e-14)
    np.testing.assert_allclose(curvature.heavy_ball_rate(lrs, 0.0, [2.0, 18.0]), expected, rtol=1e-14)
    np.testing.assert_allclose(curvature.nesterov_rate(lrs, 0.0, [2.0, 18.0]), expected, rtol=1e-14)


def windowed_rate(errors, start, stop, width):
    """The rate between two windows' largest errors: insensitive to where an oscillation stands."""
    return (errors[stop - width:stop].max() / errors[start - width:start].max()) ** (1 / (stop - start))


@pytest.mark.parametrize("method, lr, mu", [
    ("gd", 0.05, 0.0), ("gd", 0.19, 0.0),
    ("heavy_ball", 0.05, 0.5), ("heavy_ball", 0.15, 0.3), ("heavy_ball", 0.02, 0.9), ("heavy_ball", 0.35, 0.8),
    ("nesterov", 0.05, 0.5), ("nesterov", 0.15, 0.3), ("nesterov", 0.02, 0.9),
])
def test_measured_rates_of_runs_match_the_spectral_radius(method, lr, mu):
    eigenvalues = np.array([1.0, 10.0])
    f = quadratic(np.diag(eigenvalues), start=[1.0, 1.0])
    rho = curvature.rate(lr, eigenvalues, mu, method)
    steps = int(np.ceil(np.log(1e-120) / np.log(rho)))  # (norms square the errors: no underflow)
    steps = min(steps, 3000)
    run = minimize(f, f.start, OPTIMIZER[method](lr, mu), steps)
    errors = np.linalg.norm(run.x, axis=1)
    measured = windowed_rate(errors, steps // 3, steps, 40)
    assert measured == pytest.approx(rho, rel=5e-3)


def test_past_the_stable_learning_rate_a_run_blows_up():
    eigenvalues, mu = [1.0, 10.0], 0.6
    for method in curvature.METHODS:
        limit = curvature.stable_lr(10.0, 0.0 if method == "gd" else mu, method)
        below, above = (curvature.rate(limit * k, eigenvalues, 0.0 if method == "gd" else mu, method)
                        for k in (0.99, 1.01))
        assert below < 1 < above
        f = quadratic(np.diag(eigenvalues), start=[1.0, 1.0])
        run = minimize(f, f.start, OPTIMIZER[method](1.01 * limit, mu), 3000)
        assert run.diverged or np.linalg.norm(run.x[-1]) > 1e6
    assert curvature.stable_lr(10.0, 0.0, "gd") == 0.2
    assert curvature.stable_lr(10.0, mu, "heavy_ball") == pytest.approx(2 * 1.6 / 10)
    ratio = curvature.stable_lr(10.0, mu, "nesterov") / curvature.stable_lr(10.0, mu, "heavy_ball")
    assert ratio == pytest.approx(1 / (1 + 2 * mu))


def test_optimal_parameters_on_booth_and_their_rates():
    m, L = np.linalg.eigvalsh(booth.hessian(booth.start))
    gd_lr, gd_best = curvature.optimal_gd(m, L)
    hb_lr, hb_mu, hb_best = curvature.optimal_heavy_ball(m, L)
    assert (gd_lr, gd_best) == pytest.approx((0.1, 0.8))
    assert (hb_lr, hb_mu, hb_best) == pytest.approx((0.125, 0.25, 0.5))
    assert curvature.gd_optimal_rate(L / m) == pytest.approx(gd_best)
    assert curvature.heavy_ball_optimal_rate(L / m) == pytest.approx(hb_best)
    assert curvature.gd_rate(gd_lr, [m, L]) == pytest.approx(gd_best)
    assert curvature.heavy_ball_rate(hb_lr, hb_mu, [m, L]) == pytest.approx(hb_best)


def test_no_point_of_a_fine_grid_beats_the_optimum():
    m, L = 1.0, 100.0
    hb_lr, hb_mu, hb_best = curvature.optimal_heavy_ball(m, L)
    assert (hb_lr, hb_mu, hb_best) == pytest.approx((4 / 121, 81 / 121, 9 / 11))
    lrs, mus = np.meshgrid(np.linspace(1e-4, 0.06, 601), np.linspace(0, 0.99, 496))
    assert curvature.heavy_ball_rate(lrs, mus, [m, L]).min() >= hb_best - 1e-9
    gd_lr, gd_best = curvature.optimal_gd(m, L)
    assert gd_best == pytest.approx(99 / 101)
    assert curvature.gd_rate(np.linspace(1e-4, 0.03, 3001), [m, L]).min() >= gd_best - 1e-12


def test_measured_rate():
    errors = 3.0 * 0.5 ** np.arange(20)
    assert curvature.measured_rate(errors, 2, 12) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="start"):
        curvature.measured_rate(errors, 12, 2)


@pytest.mark.parametrize("call, match", [
    (lambda: curvature.rate(0.1, [1.0], 0.5, "adam"), "method"),
    (lambda: curvature.rate(0.1, [1.0], 1.0), "mu"),
    (lambda: curvature.rate(-0.1, [1.0], 0.5), "lr"),
    (lambda: curvature.rate(0.1, [0.0, 1.0], 0.5), "eigenvalues"),
    (lambda: curvature.rate(0.1, [], 0.5), "eigenvalues"),
    (lambda: curvature.optimal_heavy_ball(2.0, 1.0), "m <= L"),
    (lambda: curvature.stable_lr(0.0), "L"),
    (lambda: curvature.gd_optimal_rate(0.5), "kappa"),
])
def test_bad_input_is_refused_with_its_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()
