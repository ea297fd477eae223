"""Chapter 8's ridge, soft-threshold and ISTA against closed forms, brute force and an independent solver."""
import numpy as np
import pytest

from optlib.regularization import ista, ridge, soft_threshold


def _centred_data(n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.3, 2.0, d)
    w = np.zeros(d)
    w[:3] = [2.0, -1.5, 0.8]
    y = X @ w + 0.5 * rng.standard_normal(n)
    return X - X.mean(axis=0), y - y.mean()


# --- ridge ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lam", [0.01, 0.3, 5.0])
def test_ridge_zeroes_the_gradient_of_the_penalized_mean_squared_error(lam):
    X, y = _centred_data()
    n = len(X)
    w = ridge(X, y, lam)
    gradient = 2 / n * X.T @ (X @ w - y) + 2 * lam * w  # note 2: (1/n)||Xw - y||^2 + lam ||w||^2
    np.testing.assert_allclose(gradient, 0, atol=1e-12)


@pytest.mark.parametrize("lam", [0.01, 0.3, 5.0])
def test_ridge_shrinks_each_eigencomponent_of_least_squares_by_s_over_s_plus_lambda(lam):
    X, y = _centred_data(seed=1)
    n = len(X)
    s, V = np.linalg.eigh(X.T @ X / n)
    least_squares = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(ridge(X, y, lam), V @ (s / (s + lam) * (V.T @ least_squares)), rtol=1e-10)


def test_ridge_without_penalty_is_least_squares_and_matches_sklearn_with_n_lambda():
    X, y = _centred_data(seed=2)
    np.testing.assert_allclose(ridge(X, y, 0.0), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    linear_model = pytest.importorskip("sklearn.linear_model")
    lam = 0.2  # scikit-learn's Ridge minimizes ||Xw - y||^2 + alpha ||w||^2: alpha = n lam
    reference = linear_model.Ridge(alpha=len(X) * lam, fit_intercept=False, solver="cholesky").fit(X, y).coef_
    np.testing.assert_allclose(ridge(X, y, lam), reference, rtol=1e-10)


def test_ridge_refuses_bad_arguments_by_name():
    X, y = _centred_data()
    with pytest.raises(ValueError, match="lam"):
        ridge(X, y, -0.1)
    with pytest.raises(ValueError, match="y"):
        ridge(X, y[:-1], 0.1)
    with pytest.raises(ValueError, match="X"):
        ridge(X[0], y, 0.1)


# --- soft-threshold ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("tau", [0.0, 0.25, 1.0])
def test_soft_threshold_is_the_argmin_of_the_proximal_problem_by_brute_force(tau):
    u = np.array([-2.0, -0.6, -0.25, -0.1, 0.0, 0.1, 0.3, 0.9, 1.7])
    grid = np.linspace(-3, 3, 600_001)  # spacing 1e-5
    brute = np.array([grid[np.argmin(0.5 * (grid - ui) ** 2 + tau * np.abs(grid))] for ui in u])
    np.testing.assert_allclose(soft_threshold(u, tau), brute, atol=1e-5)


def test_soft_threshold_zeroes_exactly_and_moves_the_rest_by_tau():
    u = np.array([2.0, -0.3, 0.5, -1.2, 0.0, -0.5])
    out = soft_threshold(u, 0.5)
    np.testing.assert_array_equal(out, [1.5, 0.0, 0.0, -0.7, 0.0, 0.0])
    assert not np.signbit(out[out == 0]).any()  # +0.0, never -0.0
    with pytest.raises(ValueError, match="tau"):
        soft_threshold(u, -1.0)


# --- ISTA -------------------------------------------------------------------------------------------------

def _lasso_by_coordinate_descent(X, y, lam, sweeps=5000):
    """An independent solver: exact minimization over one weight at a time of (1/n)||Xw - y||^2 + lam |w|_1."""
    n, d = X.shape
    w, col_sq = np.zeros(d), (X ** 2).sum(axis=0)
    for _ in range(sweeps):
        for j in range(d):
            r = y - X @ w + X[:, j] * w[j]  # residual without weight j
            rho = X[:, j] @ r
            # argmin_w (1/n)(col_sq w^2 - 2 rho w) + lam |w|: a soft-threshold at n lam / 2
            w[j] = np.sign(rho) * max(abs(rho) - n * lam / 2, 0.0) / col_sq[j]
    return w


@pytest.mark.parametrize("lam", [0.05, 0.4, 1.5])
def test_ista_converges_to_the_lasso_solution_of_coordinate_descent_and_its_kkt_conditions(lam):
    X, y = _centred_data(seed=3)
    n = len(X)
    lr = n / (2 * np.linalg.eigvalsh(X.T @ X).max())  # 1/L
    w = ista(X, y, lam, lr, steps=5000)[-1]
    np.testing.assert_allclose(w, _lasso_by_coordinate_descent(X, y, lam), atol=1e-9)
    g = 2 / n * X.T @ (X @ w - y)
    on = w != 0
    np.testing.assert_allclose(g[on], -lam * np.sign(w[on]), atol=1e-9)
    assert np.all(np.abs(g[~on]) <= lam + 1e-12)


def test_ista_matches_sklearn_lasso_with_alpha_half_lambda():
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = _centred_data(seed=4)
    n, lam = len(X), 0.3
    w = ista(X, y, lam, n / (2 * np.linalg.eigvalsh(X.T @ X).max()), steps=5000)[-1]
    reference = linear_model.Lasso(alpha=lam / 2, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y).coef_
    np.testing.assert_allclose(w, reference, atol=1e-8)
    np.testing.assert_array_equal(w == 0, reference == 0)


def test_ista_step_is_a_gradient_step_then_soft_threshold_and_lam_max_gives_zero():
    X, y = _centred_data(seed=5)
    n, lam, lr = len(X), 0.2, 0.05
    w0 = np.linspace(-1, 1, X.shape[1])
    path = ista(X, y, lam, lr, steps=3, w0=w0)
    assert path.shape == (4, X.shape[1]) and np.array_equal(path[0], w0)
    np.testing.assert_array_equal(w0, np.linspace(-1, 1, X.shape[1]))  # w0 not modified
    expected = soft_threshold(w0 - lr * 2 / n * X.T @ (X @ w0 - y), lr * lam)
    np.testing.assert_allclose(path[1], expected, rtol=1e-15, atol=1e-15)
    lam_max = 2 / n * np.abs(X.T @ y).max()  # above it w = 0 is the solution, and ISTA stays there
    assert np.all(ista(X, y, lam_max, lr, steps=50) == 0)
    assert np.any(ista(X, y, 0.99 * lam_max, lr, steps=500)[-1] != 0)


def test_ista_refuses_bad_arguments_by_name():
    X, y = _centred_data()
    for kwargs, name in [(dict(lam=-1.0), "lam"), (dict(lr=0.0), "lr"), (dict(steps=-1), "steps"),
                         (dict(steps=2.5), "steps"), (dict(w0=np.zeros(3)), "w0")]:
        arguments = dict(lam=0.1, lr=0.01, steps=5) | kwargs
        with pytest.raises(ValueError, match=name):
            ista(X, y, **arguments)
