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


# --- chapter 12: condition number, preconditioning, line search, Newton ---------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402

from optlib import SGD as _SGD, rosenbrock  # noqa: E402


def rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def random_spd(n, kappa, seed):
    """A symmetric positive definite n×n matrix with eigenvalues from 1 to kappa, random eigenvectors."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return (q * np.geomspace(1.0, kappa, n)) @ q.T


def test_condition_number_is_the_eigenvalue_ratio_and_rotation_invariant():
    A = np.diag([1.0, 100.0])
    assert curvature.condition_number(A) == pytest.approx(100.0, rel=1e-14)
    rotated = rotation(np.pi / 4) @ A @ rotation(np.pi / 4).T
    assert curvature.condition_number(rotated) == pytest.approx(100.0, rel=1e-12)
    B = random_spd(6, 1e3, seed=2)
    assert curvature.condition_number(B) == pytest.approx(1e3, rel=1e-9)
    assert curvature.condition_number(booth.hessian(booth.start)) == pytest.approx(9.0)


def test_condition_number_with_a_preconditioner_is_that_of_P_A():
    B = random_spd(5, 300.0, seed=3)
    P = random_spd(5, 7.0, seed=4)
    eigenvalues = np.sort(np.linalg.eigvals(P @ B).real)  # similar to P^1/2 B P^1/2: real, positive
    assert curvature.condition_number(B, P) == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-9)
    assert curvature.condition_number(B, np.linalg.inv(B)) == pytest.approx(1.0, rel=1e-9)
    d = np.array([0.5, 2.0, 1.0, 3.0, 0.1])
    assert curvature.condition_number(B, d) == pytest.approx(curvature.condition_number(B, np.diag(d)), rel=1e-12)


def test_jacobi_makes_an_axis_aligned_quadratic_perfect_and_does_nothing_when_rotated_by_45_degrees():
    A = np.diag([1.0, 100.0])
    assert curvature.condition_number(A, curvature.diagonal_preconditioner(A)) == pytest.approx(1.0)
    rotated = rotation(np.pi / 4) @ A @ rotation(np.pi / 4).T
    P = curvature.diagonal_preconditioner(rotated)
    np.testing.assert_allclose(P, [1 / 50.5, 1 / 50.5], rtol=1e-12)
    assert curvature.condition_number(rotated, P) == pytest.approx(100.0, rel=1e-12)


def test_preconditioned_with_the_identity_is_sgd():
    f = quadratic(random_spd(4, 50.0, seed=5), b=np.arange(4.0))
    ours = minimize(f, f.start, curvature.Preconditioned(0.01, np.ones(4)), 50)
    full = minimize(f, f.start, curvature.Preconditioned(0.01, np.eye(4)), 50)
    sgd = minimize(f, f.start, _SGD(0.01), 50)
    np.testing.assert_array_equal(ours.x, sgd.x)
    np.testing.assert_allclose(full.x, sgd.x, rtol=1e-13, atol=1e-15)


def test_preconditioned_is_gradient_descent_in_the_variables_z_with_theta_equal_to_root_P_z():
    A, b = random_spd(3, 80.0, seed=6), np.array([1.0, -2.0, 0.5])
    P = random_spd(3, 5.0, seed=7)
    root = curvature._sqrtm(P)
    f = quadratic(A, b)
    g = quadratic(root @ A @ root, root @ b)  # z -> f(root z), up to a constant
    z0 = np.linalg.solve(root, f.start)
    theta_run = minimize(f, f.start, curvature.Preconditioned(0.02, P), 40)
    z_run = minimize(g, z0, _SGD(0.02), 40)
    np.testing.assert_allclose(theta_run.x, z_run.x @ root.T, rtol=1e-10, atol=1e-12)


def test_preconditioned_rate_is_that_of_the_preconditioned_condition_number():
    A = random_spd(5, 400.0, seed=8)
    P = np.diag(1 / np.diag(A))
    eigenvalues = np.sort(np.linalg.eigvals(P @ A).real)
    m, L = eigenvalues[0], eigenvalues[-1]
    lr, best = curvature.optimal_gd(m, L)
    assert best == pytest.approx(curvature.gd_optimal_rate(curvature.condition_number(A, P)))
    f = quadratic(A, start=np.ones(5))
    run = minimize(f, f.start, curvature.Preconditioned(lr, P), 400)
    errors = np.linalg.norm(run.x, axis=1)
    # the error is not measured in P's norm, so allow the window's transient
    assert curvature.measured_rate(errors, 100, 400) == pytest.approx(best, rel=2e-3)


def test_full_preconditioner_inverse_hessian_reaches_the_minimum_in_one_step():
    A, b = random_spd(6, 1e4, seed=9), np.linspace(-1, 1, 6)
    f = quadratic(A, b)
    run = minimize(f, f.start, curvature.Preconditioned(1.0, np.linalg.inv(A)), 1)
    np.testing.assert_allclose(run.x[1], np.linalg.solve(A, b), rtol=1e-9, atol=1e-9)


def test_preconditioned_runs_columns_side_by_side():
    A = rotation(0.3) @ np.diag([1.0, 30.0]) @ rotation(0.3).T
    f = quadratic(A)
    starts = np.array([[1.0, -0.5, 2.0], [0.3, 1.0, -1.0]])
    for P in (np.array([0.5, 0.1]), np.linalg.inv(A) * 0.7):
        batch, opt = starts.copy(), curvature.Preconditioned(0.05, P)
        for _ in range(20):
            opt.step(batch, f.grad)
        for k in range(3):
            one = minimize(f, starts[:, k], curvature.Preconditioned(0.05, P), 20)
            np.testing.assert_allclose(batch[:, k], one.final, rtol=1e-13, atol=1e-15)


def test_preconditioned_refuses_bad_input_and_a_bad_gradient_changes_nothing():
    with pytest.raises(ValueError, match="lr"):
        curvature.Preconditioned(0.0, np.ones(2))
    with pytest.raises(ValueError, match="P"):
        curvature.Preconditioned(0.1, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="P"):
        curvature.Preconditioned(0.1, np.array([[1.0, 2.0], [2.0, 1.0]]))  # indefinite
    with pytest.raises(ValueError, match="P"):
        curvature.Preconditioned(0.1, np.ones((2, 3)))
    opt = curvature.Preconditioned(0.1, np.ones(2))
    theta = np.array([1.0, 2.0])
    with pytest.raises(FloatingPointError):
        opt.step(theta, lambda x: np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        opt.step(theta, lambda x: np.ones(3))
    with pytest.raises(ValueError, match="theta"):
        opt.step(np.ones(3), lambda x: x)
    np.testing.assert_array_equal(theta, [1.0, 2.0])
    assert opt.t == 0


def armijo_holds(f, x, p, lr, c):
    return f(x + lr * p) <= f(x) + c * lr * f.grad(x) @ p


@pytest.mark.parametrize("x", [np.array([-1.2, 1.0]), np.array([0.5, -0.3]), np.array([2.0, 2.0])])
def test_backtracking_returns_the_first_trial_that_passes_armijo(x):
    for p in (-rosenbrock.grad(x), curvature.newton_direction(rosenbrock.hessian(x), rosenbrock.grad(x))[0]):
        found = curvature.backtracking(rosenbrock, x, p, lr=1.0, shrink=0.5, c=1e-4)
        assert armijo_holds(rosenbrock, x, p, found.lr, 1e-4)
        trials = int(round(np.log(found.lr) / np.log(0.5))) + 1
        assert found.evaluations == trials + 1  # the trials and f(x)
        for k in range(trials - 1):  # every longer trial failed
            assert not armijo_holds(rosenbrock, x, p, 0.5 ** k, 1e-4)
        assert found.value == rosenbrock(x + found.lr * p)


def test_backtracking_counts_only_what_it_computes():
    x = np.array([-1.2, 1.0])
    counted = curvature.Counted(rosenbrock)
    p = -rosenbrock.grad(x)
    found = curvature.backtracking(counted, x, p, value=rosenbrock(x), grad=-p)
    assert counted.calls == {"f": found.evaluations, "grad": 0, "hessian": 0}
    found2 = curvature.backtracking(counted, x, p)
    assert found2 == (found.lr, found.value, found.evaluations + 1)
    assert counted.calls == {"f": 2 * found.evaluations + 1, "grad": 1, "hessian": 0}


def test_with_c_one_half_every_step_up_to_one_over_L_passes_on_a_quadratic():
    """The docstring's claim: f(x - a g) = f(x) - a|g|^2 + a^2/2 g'Ag <= f(x) - a/2 |g|^2 when a L <= 1."""
    A = random_spd(4, 100.0, seed=10)
    f = quadratic(A, b=np.ones(4))
    L = np.linalg.eigvalsh(A)[-1]
    rng = np.random.default_rng(11)
    for _ in range(50):
        x = rng.normal(size=4)
        for lr in np.linspace(1e-3, 1.0, 20) / L:
            assert armijo_holds(f, x, -f.grad(x), lr, 0.5)
        assert curvature.backtracking(f, x, -f.grad(x), lr=1.0, c=0.5).lr >= 0.5 / L


def test_backtracking_refuses_an_ascent_direction_and_bad_parameters():
    x = np.array([-1.2, 1.0])
    g = rosenbrock.grad(x)
    with pytest.raises(ValueError, match="descent direction"):
        curvature.backtracking(rosenbrock, x, g)
    for kwargs, name in [({"shrink": 1.0}, "shrink"), ({"c": 0.0}, "c"), ({"lr": -1.0}, "lr"),
                         ({"max_trials": 0}, "max_trials")]:
        with pytest.raises(ValueError, match=name):
            curvature.backtracking(rosenbrock, x, -g, **kwargs)
    with pytest.raises(ValueError, match="sufficient-decrease"):  # at the minimum nothing decreases
        curvature.backtracking(rosenbrock, np.array([1.0, 1.0]), np.array([-1e-3, 0.0]),
                               grad=np.array([1e-3, 0.0]), max_trials=5)


def test_newton_direction_solves_the_system_and_shifts_an_indefinite_hessian():
    H, g = np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, -2.0])
    p, tau = curvature.newton_direction(H, g)
    assert tau == 0.0
    np.testing.assert_allclose(p, -np.linalg.solve(H, g), rtol=1e-14)
    indefinite = np.array([[1.0, 3.0], [3.0, 1.0]])  # eigenvalues 4 and -2
    p, tau = curvature.newton_direction(indefinite, g)
    assert tau > 2.0 and np.linalg.eigvalsh(indefinite + tau * np.eye(2))[0] > 0
    np.testing.assert_allclose((indefinite + tau * np.eye(2)) @ p, -g, rtol=1e-12)
    assert g @ p < 0
    # the smallest of beta, 2 beta, 4 beta, ... that works: half of it does not
    assert np.linalg.eigvalsh(indefinite + tau / 2 * np.eye(2))[0] <= 0
    with pytest.raises(ValueError, match="hessian"):
        curvature.newton_direction(np.eye(3), g)


def test_newton_one_step_on_a_quadratic_whatever_the_condition_number():
    for kappa in (10.0, 1e4, 1e8):
        A, b = random_spd(5, kappa, seed=12), np.arange(1.0, 6.0)
        f = quadratic(A, b, start=np.full(5, 3.0))
        for line_search in (True, False):
            run = curvature.newton(f, f.start, 1, line_search=line_search)
            np.testing.assert_allclose(run.x[1], np.linalg.solve(A, b), rtol=1e-6 if kappa > 1e6 else 1e-10)
            assert (run.grad_evals[1], run.hessian_evals[1]) == (1, 1)
            assert run.f_evals[1] == (2 if line_search else 0)  # f(x0) and the accepted trial alpha = 1


def test_damped_newton_on_rosenbrock_descends_counts_and_converges_quadratically():
    run = curvature.newton(rosenbrock, rosenbrock.start, 100)
    assert not run.diverged and run.steps_taken < 30
    np.testing.assert_allclose(run.final, [1.0, 1.0], atol=1e-10)
    assert np.all(np.diff(run.loss) < 0)  # Armijo: every accepted step decreases f
    np.testing.assert_array_equal(run.grad_evals, np.arange(run.steps_taken + 1))
    np.testing.assert_array_equal(run.hessian_evals, np.arange(run.steps_taken + 1))
    assert np.all(np.diff(run.f_evals) >= 1)
    np.testing.assert_allclose(run.loss, [rosenbrock(x) for x in run.x], rtol=1e-15)
    errors = np.linalg.norm(run.x - 1.0, axis=1)
    last = np.flatnonzero(errors > 1e-7)[-3:]  # the last steps before machine precision
    assert np.all(errors[last + 1] <= 50 * errors[last] ** 2)  # quadratic: the error squared (times ~20)


def test_pure_newton_on_rosenbrock_climbs_before_it_converges():
    run = curvature.newton(rosenbrock, rosenbrock.start, 50, line_search=False)
    np.testing.assert_allclose(run.final, [1.0, 1.0], atol=1e-10)
    assert run.loss.max() > 50 * run.loss[0]  # the full step is not always a descent
    assert run.f_evals[-1] == 0


def test_steepest_descent_takes_armijo_steps_along_the_gradient():
    f = quadratic(rotation(0.4) @ np.diag([1.0, 50.0]) @ rotation(0.4).T, b=np.array([1.0, 2.0]))
    run = curvature.steepest_descent(f, f.start, 300)
    assert np.all(np.diff(run.loss) < 0)
    np.testing.assert_array_equal(run.grad_evals, np.arange(run.steps_taken + 1))
    assert run.hessian_evals[-1] == 0
    for x, x_next in zip(run.x[:20], run.x[1:21]):
        g = f.grad(x)
        lr = np.linalg.norm(x - x_next) / np.linalg.norm(g)
        np.testing.assert_allclose(x_next, x - lr * g, rtol=1e-12, atol=1e-14)
        assert armijo_holds(f, x, -g, lr, 1e-4)
        k = np.log(lr) / np.log(0.5)
        assert abs(k - round(k)) < 1e-9  # a power of shrink
    assert run.loss[-1] - f(f.minima[0]) < 1e-10


def test_gtol_stops_the_run_and_bad_arguments_are_refused():
    run = curvature.newton(rosenbrock, rosenbrock.start, 100, gtol=1e-6)
    assert np.linalg.norm(rosenbrock.grad(run.final)) <= 1e-6
    assert np.linalg.norm(rosenbrock.grad(run.x[-2])) > 1e-6
    for kwargs, name in [({"steps": -1}, "steps"), ({"steps": 1.5}, "steps"), ({"gtol": -1.0}, "gtol"),
                         ({"lr": 0.0}, "lr"), ({"shrink": 0.0}, "shrink"), ({"c": 1.0}, "c")]:
        args = {"steps": 5, **kwargs}
        with pytest.raises(ValueError, match=name):
            curvature.newton(rosenbrock, rosenbrock.start, **args)


def test_counted_counts_and_records():
    counted = curvature.Counted(rosenbrock)
    x = np.array([0.0, 0.0])
    counted.record(x)
    counted(x), counted.grad(x), counted.grad(x), counted.hessian(x)
    counted.record(x + 1)
    result = counted.result()
    assert counted.calls == {"f": 1, "grad": 2, "hessian": 1}
    np.testing.assert_array_equal(result.f_evals, [0, 1])
    np.testing.assert_array_equal(result.grad_evals, [0, 2])
    np.testing.assert_array_equal(result.hessian_evals, [0, 1])
    np.testing.assert_array_equal(result.loss, [1.0, 0.0])
    with pytest.raises(ValueError, match="record"):
        curvature.Counted(rosenbrock).result()


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "Newton-CG"])
def test_counted_agrees_with_scipys_own_counts(method):
    optimize = pytest.importorskip("scipy.optimize")
    counted = curvature.Counted(rosenbrock)
    counted.record(rosenbrock.start)
    res = optimize.minimize(counted, rosenbrock.start, jac=counted.grad, method=method, callback=counted.record,
                            hess=counted.hessian if method == "Newton-CG" else None)
    run = counted.result()
    assert (run.f_evals[-1], run.grad_evals[-1]) <= (res.nfev, res.njev)
    assert counted.calls["f"] == res.nfev and counted.calls["grad"] == res.njev
    if method == "Newton-CG":
        assert counted.calls["hessian"] == res.nhev
    assert run.steps_taken == res.nit
    np.testing.assert_allclose(run.final, res.x, rtol=0, atol=0)


def test_newton_matches_scipys_newton_step_on_a_quadratic():
    """An independent reference: scipy's Newton-CG lands where optlib's one Newton step does."""
    optimize = pytest.importorskip("scipy.optimize")
    f = quadratic(random_spd(4, 100.0, seed=13), b=np.array([1.0, 0.0, -1.0, 2.0]))
    res = optimize.minimize(f, f.start, jac=f.grad, hess=f.hessian, method="Newton-CG", options={"xtol": 1e-12})
    np.testing.assert_allclose(curvature.newton(f, f.start, 1).final, res.x, rtol=1e-8)


def test_the_curvature_section_needs_no_scipy():
    code = ("import sys, numpy as np; from optlib import curvature, rosenbrock; "
            "curvature.newton(rosenbrock, rosenbrock.start, 5); "
            "curvature.steepest_descent(rosenbrock, rosenbrock.start, 5); "
            "curvature.condition_number(np.eye(2)); print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
