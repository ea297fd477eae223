"""The optimizers at their boundary (issue 13): dtypes, aliasing, strides, numpy's error state, refusals.

Every behaviour either works exactly (the same bits as a plain reference run) or is refused with
nothing changed (theta, state, step count, scratch). Properties run over dtypes, shapes, strides and
positions in the blocks the engine cuts the arrays into (tiny blocks, so that a few dozen entries
span many of them). Each test names the item of issue 13 it covers; each failed on the engine
before the boundary rule (optlib.optimizers.accept_gradient) and the exact look-ahead point.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlib import SGD, Adam, Nesterov, accept_gradient
from optlib.optimizers import OPTIMIZERS
from test_optimizers import block_bytes  # tests/ is on sys.path (pytest's default import mode)

NAMES = list(OPTIMIZERS)
ADAPTIVE = [name for name, cls in OPTIMIZERS.items() if not cls.float16]
BLOCKS = st.sampled_from([8, 24, 40, 64, 1 << 20])  # bytes per block: 1 to 8 float64s, or one block


def grad(x):
    """An elementwise gradient (any shape, strides and dtype in, same dtype out)."""
    return 2 * x - np.sin(3 * x)


def snapshot(opt, theta):
    """Everything a refused step must leave as it was."""
    return (theta.copy(), opt.t, opt.state_nbytes, opt.scratch_nbytes,
            [None if getattr(opt, n) is None else getattr(opt, n).copy() for n in opt.state_arrays],
            {n: getattr(opt, n) for n in opt.state_scalars})


def assert_unchanged(before, opt, theta):
    theta0, t, state_nbytes, scratch_nbytes, arrays, scalars = before
    np.testing.assert_array_equal(theta, theta0, strict=True)
    assert np.array_equal(np.signbit(theta), np.signbit(theta0))  # not even the sign of a zero
    assert (opt.t, opt.state_nbytes, opt.scratch_nbytes) == (t, state_nbytes, scratch_nbytes)
    for name, value in zip(opt.state_arrays, arrays):
        if value is None:
            assert getattr(opt, name) is None
        else:
            np.testing.assert_array_equal(getattr(opt, name), value, strict=True)
    assert {n: getattr(opt, n) for n in opt.state_scalars} == scalars


def warmed_up(name, theta, steps):
    opt = OPTIMIZERS[name](0.01)
    for _ in range(steps):
        opt.step(theta, grad)
    return opt


# --- item 1: a gradient in another dtype is computed in theta's dtype --------------------------------------

@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(NAMES), theta_dtype=st.sampled_from([np.float32, np.float64]),
       g_dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8]),
       n=st.integers(1, 40), block=BLOCKS, seed=st.integers(0, 2**16))
def test_a_gradient_of_another_dtype_is_the_gradient_converted_first(name, theta_dtype, g_dtype, n, block, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n).astype(theta_dtype)
    values = rng.normal(scale=3, size=n)
    g = values.astype(g_dtype) if np.issubdtype(g_dtype, np.floating) else np.abs(values * 10).astype(g_dtype)
    with block_bytes(block):
        mixed, reference = OPTIMIZERS[name](0.01), OPTIMIZERS[name](0.01)
        a, b = x0.copy(), x0.copy()
        for _ in range(3):
            mixed.step(a, lambda x: g)
            reference.step(b, lambda x: g.astype(theta_dtype))
    assert a.dtype == theta_dtype
    np.testing.assert_array_equal(a, b)


def test_float16_gradients_of_the_issue():
    theta = np.ones(3, dtype=np.float32)
    Adam(1e-3).step(theta, lambda x: np.full(3, 1e-4, dtype=np.float16))
    np.testing.assert_allclose(theta, 1 - 1e-3, rtol=1e-6)  # was 1 - 10: (1 - beta2) g^2 underflowed to 0
    theta = np.ones(3)
    SGD(1e-8).step(theta, lambda x: np.ones(3, dtype=np.float16))
    assert np.all(theta == 1 - 1e-8)  # was 1: 1e-8 * g in float16 is 0


# --- item 2: finite in the gradient's dtype but not in theta's -----------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_a_gradient_too_large_for_theta_is_refused(name):
    theta = np.linspace(-1, 1, 9, dtype=np.float32)
    opt = warmed_up(name, theta, 2)
    before = snapshot(opt, theta)
    huge = np.zeros(9)
    huge[4] = 1e39  # a float64, above float32's largest 3.4e38
    with pytest.raises(FloatingPointError, match="float32"):
        opt.step(theta, lambda x: huge)
    assert_unchanged(before, opt, theta)


# --- item 3: gradients that are not real numbers -------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [
    np.ones(5, dtype=complex), np.array([1.0, 2, 3, 4, 5], dtype=object), np.ones(5, dtype=bool),
    np.array(list("abcde")), np.ones(5, dtype="datetime64[s]"),
], ids=["complex", "object", "bool", "str", "datetime"])
def test_a_gradient_that_is_not_real_numbers_is_refused(name, bad):
    theta = np.linspace(-1, 1, 5)
    opt = warmed_up(name, theta, 2)
    before = snapshot(opt, theta)
    with pytest.raises(ValueError, match=str(bad.dtype).split("[")[0]):
        opt.step(theta, lambda x: bad)
    assert_unchanged(before, opt, theta)


def test_accept_gradient_directly():
    theta = np.zeros(3, dtype=np.float32)
    g = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    assert accept_gradient(g, theta) is g                      # nothing to do: no copy
    assert accept_gradient(g, theta, written=[g]) is not g     # overlaps a state array: copied
    assert accept_gradient(theta, theta) is not theta          # overlaps theta: copied
    assert accept_gradient([1, 2, 3], theta).dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        accept_gradient(np.ones(4), theta)
    with pytest.raises(FloatingPointError, match="step 7"):
        accept_gradient(np.array([0, np.nan, 0]), theta, step=7)


# --- item 4: numpy's error state cannot stop a step half-way ---------------------------------------------

@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(NAMES), where=st.integers(0, 29), block=BLOCKS)
def test_an_overflow_under_errstate_raise_does_not_stop_the_step_half_way(name, where, block):
    x0 = np.linspace(-1, 1, 30, dtype=np.float32)
    g = np.full(30, 0.5, dtype=np.float32)
    g[where] = 3e38  # finite; lr * g, g**2 or the state overflow in float32 at this entry
    results = []
    for errors in ("raise", "ignore"):
        with block_bytes(block), np.errstate(all=errors):
            opt, theta = OPTIMIZERS[name](1e3), x0.copy()
            opt.step(theta, lambda x: g)
            opt.step(theta, lambda x: g)
        results.append(theta)
    np.testing.assert_array_equal(results[0], results[1])  # the whole step, as without the error state
    assert np.all(results[0][np.arange(30) != where] != x0[np.arange(30) != where])


# --- item 5: a gradient that is a view of theta --------------------------------------------------------------

VIEWS = {
    "reversed": lambda x: x[::-1],
    "rolled": lambda x: np.roll(x, 1),  # a copy: the control, which the old engine got right too
    "itself": lambda x: x,
}


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(NAMES), view=st.sampled_from(["reversed", "rolled", "itself"]),
       n=st.integers(2, 40), block=BLOCKS)
def test_a_gradient_that_is_a_view_of_theta_is_read_before_theta_is_written(name, view, n, block):
    x0 = np.linspace(-1, 2, n)
    with block_bytes(block):
        aliased, reference = OPTIMIZERS[name](0.1), OPTIMIZERS[name](0.1)
        a, b = x0.copy(), x0.copy()
        for _ in range(3):
            aliased.step(a, lambda x: VIEWS[view](x))
            reference.step(b, lambda x: np.array(VIEWS[view](x)))  # the gradient as a fresh array
    np.testing.assert_array_equal(a, b)


def test_a_gradient_that_is_a_transposed_view_of_a_matrix_theta():
    x0 = np.arange(16.0).reshape(4, 4) / 10
    for name in NAMES:
        with block_bytes(16):
            a, b = x0.copy(), x0.copy()
            OPTIMIZERS[name](0.1).step(a, lambda x: x.T)
            OPTIMIZERS[name](0.1).step(b, lambda x: x.T.copy())
        np.testing.assert_array_equal(a, b)


# --- item 6: Nesterov's refused step leaves theta exactly -----------------------------------------------

@settings(max_examples=60, deadline=None)
@given(tiny=st.floats(1e-30, 1e-10), sign=st.sampled_from([-1, 1]), mu=st.floats(0.5, 0.99),
       where=st.integers(0, 19), block=BLOCKS)
def test_nesterov_refused_step_restores_theta_exactly(tiny, sign, mu, where, block):
    theta = np.full(20, sign * tiny)  # entries far below one rounding of mu * u
    with block_bytes(block):
        opt = Nesterov(1.0, mu=mu)
        opt.step(theta, lambda x: np.full(20, -1.0))  # u = -1 everywhere
        theta[:] = sign * tiny
        before = snapshot(opt, theta)

        def bad(x):
            g = np.ones(20)
            g[where] = np.nan
            return g

        with pytest.raises(FloatingPointError, match="theta was left unchanged"):
            opt.step(theta, bad)
    assert_unchanged(before, opt, theta)


def test_nesterov_scratch_is_one_copy_of_theta():
    theta = np.ones((10, 10), dtype=np.float32)
    opt = Nesterov(0.1)
    assert opt.scratch_nbytes == 0
    opt.step(theta, grad)
    assert opt.scratch_nbytes == theta.nbytes and opt.state_nbytes == theta.nbytes


# --- item 7 is tests/test_optimizers.py::test_the_rule_sees_blocks_of_block_bytes_whatever_came_before -----

# --- item 8 (and every refusal): nothing changes, at any step and block position --------------------------

@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(NAMES), bad=st.sampled_from([np.nan, np.inf, -np.inf]),
       at_step=st.integers(0, 3), where=st.integers(0, 36), block=BLOCKS,
       dtype=st.sampled_from([np.float32, np.float64]))
def test_a_non_finite_gradient_is_refused_with_nothing_changed(name, bad, at_step, where, block, dtype):
    theta = np.linspace(-1, 1, 37).astype(dtype)
    with block_bytes(block):
        opt = warmed_up(name, theta, at_step)
        before = snapshot(opt, theta)

        def bad_grad(x):
            g = grad(x)
            g[where] = bad
            return g

        with pytest.raises(FloatingPointError, match=f"step {at_step}"):
            opt.step(theta, bad_grad)
    assert_unchanged(before, opt, theta)


@pytest.mark.parametrize("name", NAMES)
def test_a_refused_first_step_allocates_nothing(name):
    opt, theta = OPTIMIZERS[name](0.1), np.ones(6)
    with pytest.raises(FloatingPointError):
        opt.step(theta, lambda x: np.full(6, np.inf))
    assert opt.state_nbytes == 0 and opt.scratch_nbytes == 0 and opt.t == 0
    assert all(getattr(opt, n) is None for n in opt.state_arrays)


@pytest.mark.parametrize("name", NAMES)
def test_a_gradient_of_the_wrong_shape_is_refused_with_nothing_changed(name):
    theta = np.ones(3)
    opt = warmed_up(name, theta, 1)
    before = snapshot(opt, theta)
    with pytest.raises(ValueError, match="grad_fn"):
        opt.step(theta, lambda x: np.ones(4))
    assert_unchanged(before, opt, theta)


# --- item 11: any strided theta, in place, the same bits as a contiguous one -----------------------------

@st.composite
def strided_views(draw):
    """(base array, view of it): 1 to 3 axes, steps of -3 to 3, maybe transposed."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    base = np.random.default_rng(draw(st.integers(0, 99))).normal(size=shape).astype(dtype)
    steps = draw(st.lists(st.sampled_from([-3, -2, -1, 1, 2, 3]), min_size=ndim, max_size=ndim))
    view = base[tuple(slice(None, None, s) for s in steps)]
    if draw(st.booleans()):
        view = view.transpose(draw(st.permutations(range(ndim))))
    if draw(st.booleans()):
        view = np.asfortranarray(view)  # a Fortran-order theta of its own
        base = view
    return base, view


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(NAMES), pair=strided_views(), block=BLOCKS)
def test_any_strided_theta_is_updated_in_place_as_a_contiguous_one(name, pair, block):
    base, theta = pair
    outside = base.copy()
    contiguous = np.array(theta, order="C")  # a copy, even of a contiguous theta
    with block_bytes(block):
        strided_opt, contiguous_opt = OPTIMIZERS[name](0.05), OPTIMIZERS[name](0.05)
        for _ in range(3):
            assert strided_opt.step(theta, grad) is theta
            contiguous_opt.step(contiguous, grad)
    np.testing.assert_array_equal(theta, contiguous, strict=True)
    for name_ in strided_opt.state_arrays:
        np.testing.assert_array_equal(getattr(strided_opt, name_), getattr(contiguous_opt, name_))
    if base is not theta:  # the entries of base that theta does not view are untouched
        np.copyto(theta, np.nan)
        untouched = ~np.isnan(base)
        np.testing.assert_array_equal(base[untouched], outside[untouched])


def test_a_column_of_a_matrix_and_a_transposed_matrix_against_torch():
    torch = pytest.importorskip("torch")
    weights = np.random.default_rng(0).normal(size=(6, 5))
    for view in (lambda w: w[:, 2], lambda w: w.T):
        ours_base = weights.copy()
        theta = view(ours_base)
        p = torch.nn.Parameter(torch.tensor(np.ascontiguousarray(view(weights))))
        theirs = torch.optim.Adam([p], lr=0.1)
        opt = Adam(0.1)
        for _ in range(5):
            opt.step(theta, grad)
            p.grad = torch.from_numpy(grad(p.detach().numpy().copy()))
            theirs.step()
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_zero_d_and_empty_theta():
    for name in NAMES:
        scalar = np.array(1.5)
        OPTIMIZERS[name](0.1).step(scalar, grad)
        assert scalar.shape == () and scalar != 1.5
        empty = np.ones((0, 3))
        OPTIMIZERS[name](0.1).step(empty, grad)
        assert empty.shape == (0, 3)


# --- float16 theta: the rules that square the gradient refuse it, as torch's give -inf -------------------

@pytest.mark.parametrize("name", ADAPTIVE)
def test_float16_theta_is_refused_by_the_rules_that_square_gradients(name):
    theta = np.ones(4, dtype=np.float16)
    with pytest.raises(ValueError, match="float16"):
        OPTIMIZERS[name](1e-3).step(theta, lambda x: np.full(4, 1e-4, dtype=np.float16))
    assert np.all(theta == 1)


def test_torch_gives_inf_there():
    torch = pytest.importorskip("torch")
    for name in ("Adam", "Adagrad", "RMSprop"):
        p = torch.nn.Parameter(torch.ones(4, dtype=torch.float16))
        p.grad = torch.full((4,), 1e-4, dtype=torch.float16)
        getattr(torch.optim, name)([p], lr=1e-3).step()
        assert not torch.isfinite(p).any(), name


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ADAPTIVE])
def test_float16_theta_works_for_the_other_rules(name):
    x0 = np.linspace(-1, 1, 9).astype(np.float16)
    a, b = x0.copy(), x0.astype(np.float32)
    OPTIMIZERS[name](0.125).step(a, grad)
    OPTIMIZERS[name](0.125).step(b, grad)
    assert a.dtype == np.float16
    np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-3)
