"""Tests of optlib.functions: gradients and Hessians by finite differences, minima, GD closed forms."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from optlib import functions as F
from optlib.functions import beale, booth, himmelblau, minimize, quadratic, rastrigin, rosenbrock, saddle
from optlib.optimizers import SGD

NAMED = [rosenbrock, beale, booth, himmelblau, rastrigin, saddle]
QUAD3 = quadratic([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]], [1.0, -2.0, 0.5])
ALL = NAMED + [quadratic([[2.0, 0.5], [0.5, 1.0]], [1.0, 1.0]), QUAD3]


def _dim(f):
    """f's dimension; 2 (its plotting plane) for a function of any dimension (rastrigin)."""
    return f.dim or 2


def _random_points(f, count=5, seed=0):
    """Points inside f's plotting window (all coordinates in [-2, 2] for n != 2)."""
    rng = np.random.default_rng(seed)
    if _dim(f) == 2:
        (x0, x1), (y0, y1) = f.domain
        return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])
    return rng.uniform(-2, 2, (count, _dim(f)))


def _fd_grad(fun, x, h=1e-6):
    """Central finite differences of a scalar function (or, row by row, of a vector function)."""
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h * max(1.0, abs(x[i]))
        cols.append((np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * e[i]))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.name + str(_dim(f)))
def test_grad_matches_central_differences(f):
    for x in _random_points(f):
        g = f.grad(x)
        assert g.shape == x.shape
        scale = 1.0 + np.abs(g).max()
        np.testing.assert_allclose(g, _fd_grad(f, x), rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.name + str(_dim(f)))
def test_hessian_matches_differences_of_grad(f):
    for x in _random_points(f, seed=1):
        H = f.hessian(x)
        assert H.shape == (_dim(f), _dim(f))
        np.testing.assert_allclose(H, H.T, rtol=0, atol=0)
        scale = 1.0 + np.abs(H).max()
        # _fd_grad of the vector grad puts d/dx_j in the last axis: entry [i, j] = d^2 f / dx_i dx_j.
        np.testing.assert_allclose(H, _fd_grad(f.grad, x), rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.name + str(_dim(f)))
def test_grid_calls_agree_with_pointwise_calls(f):
    points = _random_points(f, count=12, seed=2)
    grid = points.T.reshape(_dim(f), 3, 4)  # shape (n, 3, 4)
    values, grads, hessians = f(grid), f.grad(grid), f.hessian(grid)
    assert values.shape == (3, 4) and grads.shape == (_dim(f), 3, 4) and hessians.shape == (_dim(f), _dim(f), 3, 4)
    for k, x in enumerate(points):
        i, j = divmod(k, 4)
        assert values[i, j] == pytest.approx(f(x), rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(grads[:, i, j], f.grad(x), rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(hessians[:, :, i, j], f.hessian(x), rtol=1e-13, atol=1e-12)


def test_meshgrid_call_for_contour_plots():
    X, Y = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 3, 7))
    Z = rosenbrock(np.stack([X, Y]))
    assert Z.shape == (7, 5)
    np.testing.assert_allclose(Z, (1 - X) ** 2 + 100 * (Y - X ** 2) ** 2, rtol=1e-15)


@pytest.mark.parametrize("f", [rosenbrock, beale, booth, himmelblau, rastrigin], ids=lambda f: f.name)
def test_minima_have_zero_gradient_and_value_zero(f):
    assert len(f.minima) >= 1
    for m in f.minima:
        assert np.abs(f.grad(m)).max() < 1e-10
        assert f(m) == pytest.approx(0.0, abs=1e-20)
        assert np.all(np.linalg.eigvalsh(f.hessian(m)) > 0)  # a true minimum, not a saddle


def test_listed_minima_locations():
    np.testing.assert_array_equal(rosenbrock.minima[0], [1.0, 1.0])
    np.testing.assert_array_equal(beale.minima[0], [3.0, 0.5])
    np.testing.assert_array_equal(booth.minima[0], [1.0, 3.0])
    np.testing.assert_array_equal(rastrigin.minima[0], [0.0, 0.0])
    assert saddle.minima == []
    # Himmelblau: (3, 2) and the three irrational minima, against published 6-decimal values.
    published = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    assert len(himmelblau.minima) == 4
    for m, p in zip(himmelblau.minima, published):
        np.testing.assert_allclose(m, p, atol=1e-6)


def test_booth_hessian_and_quadratic_attributes():
    np.testing.assert_array_equal(booth.hessian(np.array([0.3, -2.0])), [[10, 8], [8, 10]])
    q = quadratic([[10.0, 8.0], [8.0, 10.0]], [34.0, 38.0])  # booth minus its constant term
    assert (q.m, q.L) == pytest.approx((2.0, 18.0), rel=1e-14)
    np.testing.assert_allclose(q.minima[0], [1.0, 3.0], rtol=1e-14)
    x = np.array([0.7, -1.2])
    assert q(x) + 74 == pytest.approx(booth(x), rel=1e-14)  # booth = q + 7^2 + 5^2
    np.testing.assert_array_equal(q.hessian(x), q.A)
    np.testing.assert_array_equal(q.hessian(), [[10, 8], [8, 10]])


def test_quadratic_value_formula_and_indefinite_minima():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues -1 and 3: a saddle
    q = quadratic(A, [1.0, 0.0])
    assert q.minima == [] and q.m == pytest.approx(-1.0) and q.L == pytest.approx(3.0)
    x = np.array([0.5, -2.0])
    assert q(x) == pytest.approx(0.5 * x @ A @ x - x[0], rel=1e-15)
    assert quadratic(np.eye(3)).minima[0].tolist() == [0.0, 0.0, 0.0]  # b defaults to 0


@pytest.mark.parametrize("A, b, name", [
    (np.ones((2, 3)), None, "A"),
    (np.ones(3), None, "A"),
    (np.array([[1.0, 2.0], [0.0, 1.0]]), None, "A"),  # not symmetric
    (np.eye(2), np.ones(3), "b"),
    (np.eye(2), np.ones((2, 1)), "b"),
])
def test_quadratic_validates_A_and_b(A, b, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        quadratic(A, b)


def test_bad_point_shape_is_refused():
    with pytest.raises(ValueError, match="x"):
        rosenbrock(np.zeros(3))
    with pytest.raises(ValueError, match="x"):
        QUAD3.grad(np.zeros(2))


# --- gradient descent, closed forms -----------------------------------------------------------------

def test_gd_on_booth_shrinks_error_by_exactly_0_8_per_step():
    # Hessian eigenvalues 2 and 18; lr 0.1 gives factors 1 - 0.2 = 0.8 and 1 - 1.8 = -0.8.
    result = minimize(booth, booth.start, SGD(0.1), 30)
    errors = np.linalg.norm(result.x - booth.minima[0], axis=1)
    assert not result.diverged and result.steps_taken == 30
    np.testing.assert_allclose(errors[1:] / errors[:-1], 0.8, rtol=0, atol=1e-12)


def test_gd_on_booth_diverges_past_2_over_L():
    critical = 2 / 18  # 2/L = 1/9
    x_star, steps = booth.minima[0], 300
    start_error = np.linalg.norm(booth.start - x_star)
    above = minimize(booth, booth.start, SGD(critical * 1.01), steps)
    assert above.diverged or np.linalg.norm(above.final - x_star) > 10 * start_error
    below = minimize(booth, booth.start, SGD(critical * 0.99), steps)
    assert not below.diverged
    assert np.linalg.norm(below.final - x_star) < 1e-2 * start_error


def test_minimize_reports_divergence_with_a_finite_path():
    result = minimize(rosenbrock, rosenbrock.start, SGD(1.0), 100)
    assert result.diverged
    assert result.steps_taken < 100
    assert result.x.shape == (result.steps_taken + 1, 2) and result.loss.shape == (result.steps_taken + 1,)
    assert np.all(np.isfinite(result.x)) and np.all(np.isfinite(result.loss))
    np.testing.assert_array_equal(result.final, result.x[-1])
    assert "diverged" in repr(result) and len(repr(result)) < 200


def test_minimize_path_and_copy_semantics():
    x0 = np.array([-1.0, 2.0])
    result = minimize(booth, x0, SGD(0.05), 4)
    np.testing.assert_array_equal(x0, [-1.0, 2.0])  # not modified
    np.testing.assert_array_equal(result.x[0], x0)
    for t in range(4):  # theta_{t+1} = theta_t - lr * grad(theta_t)
        np.testing.assert_allclose(result.x[t + 1], result.x[t] - 0.05 * booth.grad(result.x[t]), rtol=1e-15)
        assert result.loss[t] == booth(result.x[t])
    assert minimize(booth, x0.astype(np.float32), SGD(0.05), 2).x.dtype == np.float32
    assert minimize(booth, [0, 0], SGD(0.05), 2).x.dtype == np.float64
    assert minimize(booth, x0, SGD(0.05), 0).x.shape == (1, 2)
    with pytest.raises(ValueError, match="steps"):
        minimize(booth, x0, SGD(0.05), -1)


@st.composite
def spd_quadratics(draw):
    n = draw(st.sampled_from([2, 3]))
    M = draw(hnp.arrays(np.float64, (n, n), elements=st.floats(-1, 1)))
    Q, _ = np.linalg.qr(M + 3 * np.eye(n))  # an orthonormal basis
    eigenvalues = np.array(draw(st.lists(st.floats(0.1, 10), min_size=n, max_size=n)))
    A = Q @ np.diag(eigenvalues) @ Q.T
    b = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-3, 3)))
    x = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-3, 3)))
    return quadratic((A + A.T) / 2, b), x


@settings(max_examples=60, deadline=None)
@given(problem=spd_quadratics(), fraction=st.floats(0.01, 0.99))
def test_one_gd_step_below_2_over_L_does_not_increase_f(problem, fraction):
    f, x = problem
    lr = fraction * 2 / f.L
    g = f.grad(x)
    f0 = f(x)
    f1 = f(SGD(lr).step(x.copy(), f.grad))
    # Exactly: f1 - f0 = -lr |g|^2 + lr^2/2 g^T A g <= -lr |g|^2 (1 - lr L / 2) < 0.
    assert f1 <= f0 + 1e-12 * (1 + abs(f0))
    if np.linalg.norm(g) > 0.1:  # away from the minimum the decrease is well above rounding
        assert f1 < f0
        assert f0 - f1 == pytest.approx(lr * g @ g - 0.5 * lr ** 2 * g @ f.A @ g, rel=1e-6, abs=1e-10)


def test_every_named_function_has_its_plotting_attributes():
    for f in NAMED:
        assert isinstance(f, F.TestFunction)
        (x0, x1), (y0, y1) = f.domain
        assert x0 < f.start[0] < x1 and y0 < f.start[1] < y1
        assert f.name in repr(f)


def test_numerical_grad_against_a_closed_form():
    from optlib.functions import numerical_grad
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    np.testing.assert_allclose(numerical_grad(lambda v: np.sum(v**3), x), 3 * x**2, rtol=1e-8)
    np.testing.assert_array_equal(x, [[0.5, -1.0], [2.0, 0.1]])  # the point is not modified
    with pytest.raises(ValueError, match="h"):
        numerical_grad(lambda v: 0.0, x, h=0)


# --- Rastrigin in any dimension (issue 12, item 7) ---------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_rastrigin_in_any_dimension(n):
    rng = np.random.default_rng(n)
    x = rng.uniform(-5.12, 5.12, n)
    expected = 10 * n + sum(xi ** 2 - 10 * np.cos(2 * np.pi * xi) for xi in x)
    for f in (rastrigin, F.Rastrigin(dim=n)):
        assert f(x) == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(f.grad(x), F.numerical_grad(f, x), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(f.hessian(x), _fd_grad(f.grad, x), rtol=1e-6, atol=1e-4)
        assert f(np.zeros(n)) == 0 and f.f_star == 0
    fixed = F.Rastrigin(dim=n)
    assert fixed.minima[0].shape == (n,) and fixed.start.shape == (n,)
    grid = rng.uniform(-1, 1, (n, 3, 4))
    np.testing.assert_allclose(rastrigin(grid), [[rastrigin(grid[:, i, j]) for j in range(4)] for i in range(3)])


def test_every_lattice_point_is_near_a_local_minimum_of_rastrigin_in_5d():
    # the argument of chapter 7: local minima multiply with the dimension; one lattice point checked
    f = F.Rastrigin(dim=5)
    x = np.array([1.0, -2.0, 0.0, 3.0, -1.0])
    for _ in range(50):  # Newton's method from the lattice point converges to the nearby minimum
        x = x - np.linalg.solve(f.hessian(x), f.grad(x))
    assert np.abs(f.grad(x)).max() < 1e-10 and np.all(np.linalg.eigvalsh(f.hessian(x)) > 0)
    assert np.abs(x - np.round(x)).max() < 0.02 and f(x) > 10  # about k (1 - 1/(2 pi^2 A)) for lattice k


def test_rastrigin_refuses_bad_arguments():
    with pytest.raises(ValueError, match="x"):
        rastrigin(np.zeros(0))
    with pytest.raises(ValueError, match="x"):
        F.Rastrigin(dim=3)(np.zeros(4))
    with pytest.raises(ValueError, match="dim"):
        F.Rastrigin(dim=0)
    with pytest.raises(ValueError, match="A"):
        F.Rastrigin(A=-1.0)


# --- f*, the first step below a tolerance, the race ------------------------------------------------------

def test_f_star_of_every_function():
    for f in (rosenbrock, beale, booth, himmelblau, rastrigin):
        assert f.f_star == 0.0 == f(f.minima[0])
    assert saddle.f_star == -np.inf and saddle(np.array([0.0, 1e3])) < -1e5  # unbounded below
    A, b = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, 1.0])
    assert quadratic(A, b).f_star == pytest.approx(-0.5 * b @ np.linalg.solve(A, b), rel=1e-14)
    assert quadratic([[1.0, 0.0], [0.0, -1.0]]).f_star == -np.inf
    assert quadratic([[1.0, 0.0], [0.0, 0.0]], [1.0, 0.0]).f_star == pytest.approx(-0.5)  # singular, b in range
    assert quadratic([[1.0, 0.0], [0.0, 0.0]], [1.0, 1.0]).f_star == -np.inf              # b not in range


def test_first_step_at_or_below_a_tolerance():
    result = minimize(booth, booth.start, SGD(0.05), 60)
    gap = result.loss - booth.f_star
    t = result.first_step(1e-3, booth.f_star)
    assert gap[t] <= 1e-3 and np.all(gap[:t] > 1e-3)
    assert result.first_step(1e-3) == t  # f* = 0 by default
    assert result.first_step(-1.0) is None and result.first_step(np.inf) == 0
    escape = minimize(saddle, saddle.start, SGD(0.1), 60)
    s = escape.first_step(-1.0)  # on the saddle: the first step with f <= -1
    assert escape.loss[s] <= -1 < escape.loss[s - 1]
    with pytest.raises(ValueError, match="tol"):
        result.first_step(np.nan)


def test_race_picks_the_best_rate_on_the_grid_with_ties_to_the_smaller():
    names = ["SGD", "Adam"]
    result = F.race([booth, saddle], names, steps=40, borrow={"saddle": "booth"})
    assert result.functions == ["booth", "saddle"] and result.names == names
    for name in names:
        finals = {lr: minimize(booth, booth.start, F.make(name, lr), 40) for lr in F.RACE_GRID}
        score = {lr: np.inf if r.diverged else r.loss[-1] for lr, r in finals.items()}
        best = min(score.values())
        assert result.best_lr["booth", name] == min(lr for lr in F.RACE_GRID if score[lr] == best)
        np.testing.assert_array_equal(result["booth", name].x, finals[result.best_lr["booth", name]].x)
        assert result.best_lr["saddle", name] == result.best_lr["booth", name]  # borrowed
    assert set(result.results) == {(f, n) for f in ("booth", "saddle") for n in names}
    assert len(result.runs) == len(names) * (len(F.RACE_GRID) + 1)


def test_race_counts_a_diverged_run_as_infinite_and_breaks_ties_to_the_smaller_rate():
    # f = x^2 / 2 from x = 1: SGD's x_t = (1 - lr)^t; lr = 2.5 diverges, lr = 1 lands on 0 at once and
    # lr = 0.5 underflows to exactly 0 by step 1100: a tie at 0, won by the smaller rate
    f = quadratic(np.eye(1), start=[1.0])
    result = F.race([f], ["SGD"], grid=[2.5, 1.0, 0.5], steps=1200)
    assert result.runs["quadratic", "SGD", 2.5].diverged
    assert result.runs["quadratic", "SGD", 1.0].loss[-1] == 0 == result.runs["quadratic", "SGD", 0.5].loss[-1]
    assert result.best_lr["quadratic", "SGD"] == 0.5


def test_race_runs_every_registered_racer_by_default():
    result = F.race([booth], steps=3, grid=[0.01])
    assert result.names == [n for n, cls in F.OPTIMIZERS.items() if cls.in_race]
    assert "EMAMomentum" not in result.names


@pytest.mark.parametrize("kwargs, name", [
    (dict(functions=[saddle]), "borrow"), (dict(functions=[booth], names=["sgd"]), "names"),
    (dict(functions=[booth], grid=[0.0]), "grid"), (dict(functions=[booth], grid=[]), "grid"),
    (dict(functions=[booth], steps=-1), "steps"),
    (dict(functions=[saddle, booth], borrow={"saddle": "beale"}), "borrow"),
])
def test_race_refuses_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        F.race(**kwargs)


@pytest.mark.parametrize("f", [rosenbrock, beale, booth, himmelblau, rastrigin, saddle], ids=lambda f: f.name)
def test_a_point_gives_the_bits_of_its_column_in_a_grid(f):
    """A point is computed as a grid of one column: minimize (points) and batched runs (grids) agree bit
    for bit on the elementwise formulas (a quadratic's matrix product sums in an order that may depend on
    the grid, so there only to rounding: tests/test_widgets.py)."""
    rng = np.random.default_rng(0)
    grid = rng.uniform(-3, 3, size=(2, 50))
    values, grads, hessians = f(grid), f.grad(grid), f.hessian(grid)
    for i in range(grid.shape[1]):
        point = grid[:, i].copy()
        assert f(point) == values[i]
        assert np.array_equal(f.grad(point), grads[:, i])
        assert np.array_equal(f.hessian(point), hessians[:, :, i])
