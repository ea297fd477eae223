"""Optimizers against direct transcriptions of the notes' formulas, against torch.optim, and on bad input."""
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlib import SGD, Adagrad, Adam, EMAMomentum, Momentum, Nesterov, RMSProp
from optlib import optimizers as opt_module

STEPS = 60


def make_problem(n=37, seed=0):
    """A non-quadratic smooth loss with a gradient of mixed scales: g(x) = A x - b + 0.1 x^3."""
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    A = M @ M.T / n + np.diag(np.geomspace(1e-3, 10, n))
    b = rng.normal(size=n)
    x0 = rng.normal(size=n)
    return (lambda x: A @ x - b + 0.1 * x**3), x0


# --- the readable transcriptions: one line per line of the notes ----------------------------------------

def sgd_ref(x, grad, lr, steps):
    for _ in range(steps):
        x = x - lr * grad(x)
    return x


def momentum_ref(x, grad, lr, mu, steps):
    u = np.zeros_like(x)
    for _ in range(steps):
        u = mu * u + lr * grad(x)
        x = x - u
    return x


def ema_momentum_ref(x, grad, lr, beta, steps):
    v = np.zeros_like(x)
    for _ in range(steps):
        v = beta * v + (1 - beta) * grad(x)
        x = x - lr * v
    return x


def nesterov_ref(x, grad, lr, mu, steps):
    u = np.zeros_like(x)
    for _ in range(steps):
        u = mu * u + lr * grad(x - mu * u)
        x = x - u
    return x


def adagrad_ref(x, grad, lr, eps, steps):
    cache = np.zeros_like(x)
    for _ in range(steps):
        g = grad(x)
        cache = cache + g**2
        x = x - lr * (g / (np.sqrt(cache) + eps))
    return x


def rmsprop_ref(x, grad, lr, beta, eps, steps, eps_inside_sqrt=False):
    cache = np.zeros_like(x)
    for _ in range(steps):
        g = grad(x)
        cache = beta * cache + (1 - beta) * g**2
        denom = np.sqrt(cache + eps) if eps_inside_sqrt else np.sqrt(cache) + eps
        x = x - lr * (g / denom)
    return x


def adam_ref(x, grad, lr, beta1, beta2, eps, steps, bias_correction=True):
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t) if bias_correction else m
        v_hat = v / (1 - beta2**t) if bias_correction else v
        x = x - lr * (m_hat / (np.sqrt(v_hat) + eps))
    return x


CASES = [
    (lambda: SGD(0.05), lambda x, g: sgd_ref(x, g, 0.05, STEPS)),
    (lambda: Momentum(0.02, mu=0.8), lambda x, g: momentum_ref(x, g, 0.02, 0.8, STEPS)),
    (lambda: EMAMomentum(0.1, beta=0.7), lambda x, g: ema_momentum_ref(x, g, 0.1, 0.7, STEPS)),
    (lambda: Adagrad(0.3, eps=1e-6), lambda x, g: adagrad_ref(x, g, 0.3, 1e-6, STEPS)),
    (lambda: RMSProp(0.01, beta=0.95, eps=1e-6), lambda x, g: rmsprop_ref(x, g, 0.01, 0.95, 1e-6, STEPS)),
    (lambda: RMSProp(0.01, beta=0.95, eps=1e-3, eps_inside_sqrt=True),
     lambda x, g: rmsprop_ref(x, g, 0.01, 0.95, 1e-3, STEPS, eps_inside_sqrt=True)),
    (lambda: Adam(0.01, 0.8, 0.99, 1e-7), lambda x, g: adam_ref(x, g, 0.01, 0.8, 0.99, 1e-7, STEPS)),
    (lambda: Adam(0.01, 0.8, 0.99, 1e-7, bias_correction=False),
     lambda x, g: adam_ref(x, g, 0.01, 0.8, 0.99, 1e-7, STEPS, bias_correction=False)),
]


@pytest.mark.parametrize("make, reference", CASES)
@pytest.mark.parametrize("n", [37, 20_000])  # 20 000 spans several blocks, the last one partial
def test_bit_exact_against_transcription(make, reference, n):
    grad, x0 = make_problem(n) if n < 1000 else (lambda x: 2 * x - np.sin(3 * x), np.random.default_rng(1).normal(size=n))
    opt, theta = make(), x0.copy()
    for _ in range(STEPS):
        opt.step(theta, grad)
    expected = reference(x0.copy(), grad)
    assert not np.allclose(expected, x0)           # the run went somewhere
    np.testing.assert_array_equal(theta, expected)  # same operations in the same order: same bits


@pytest.mark.parametrize("n", [37, 20_000])
def test_nesterov_against_transcription(n):
    # Nesterov moves theta to the look-ahead point in place (to keep memory(u) only), so it may differ
    # from the transcription by roundings, never more.
    grad, x0 = make_problem(n) if n < 1000 else (lambda x: 2 * x - np.sin(3 * x), np.random.default_rng(1).normal(size=n))
    opt, theta = Nesterov(0.02, mu=0.85), x0.copy()
    for _ in range(STEPS):
        opt.step(theta, grad)
    np.testing.assert_allclose(theta, nesterov_ref(x0.copy(), grad, 0.02, 0.85, STEPS), rtol=1e-12, atol=1e-13)


def test_nesterov_asks_for_the_gradient_at_the_look_ahead_point():
    grad, x0 = make_problem()
    opt, theta, seen = Nesterov(0.01, mu=0.9), x0.copy(), []
    for _ in range(5):
        expected_point = theta - opt.mu * (opt.u if opt.u is not None else 0)
        opt.step(theta, lambda x: (seen.append(x.copy()), grad(x))[1])
        np.testing.assert_allclose(seen[-1], expected_point, rtol=0, atol=1e-15)
    assert len(seen) == 5  # once per step


def test_every_other_optimizer_asks_once_at_theta():
    grad, x0 = make_problem()
    for make, _ in CASES:
        opt, theta = make(), x0.copy()
        for _ in range(3):
            before, calls = theta.copy(), []
            opt.step(theta, lambda x: (calls.append(x.copy()), grad(x))[1])
            assert len(calls) == 1
            np.testing.assert_array_equal(calls[0], before)


# --- the equivalences the chapters state -----------------------------------------------------------------

def test_note2_momentum_is_note1_momentum_rescaled():
    grad, x0 = make_problem()
    beta, eta = 0.9, 0.05
    a, b = x0.copy(), x0.copy()
    note1, note2 = Momentum(eta * (1 - beta), mu=beta), EMAMomentum(eta, beta=beta)
    for _ in range(STEPS):
        note1.step(a, grad)
        note2.step(b, grad)
        np.testing.assert_allclose(note1.u, eta * note2.v, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_the_two_momentum_forms_part_under_a_schedule():
    grad, x0 = make_problem()
    beta = 0.9
    schedule = lambda t: 0.05 * 0.9**t  # noqa: E731
    a, b = x0.copy(), x0.copy()
    note1 = Momentum(lambda t: schedule(t) * (1 - beta), mu=beta)
    note2 = EMAMomentum(schedule, beta=beta)
    for _ in range(20):
        note1.step(a, grad)
        note2.step(b, grad)
    assert np.max(np.abs(a - b)) > 1e-3


def test_adam_without_beta1_and_bias_correction_is_rmsprop():
    grad, x0 = make_problem()
    a, b = x0.copy(), x0.copy()
    adam, rms = Adam(0.01, beta1=0.0, beta2=0.9, eps=1e-8, bias_correction=False), RMSProp(0.01, beta=0.9, eps=1e-8)
    for _ in range(STEPS):
        adam.step(a, grad)
        rms.step(b, grad)
    np.testing.assert_array_equal(a, b)


def test_adam_first_step_ratio_without_bias_correction():
    beta1, beta2 = 0.9, 0.999
    g = np.array([0.3, -2.0, 5.0])
    steps = []
    for bc in (True, False):
        theta = np.zeros(3)
        Adam(1e-3, beta1, beta2, eps=1e-12, bias_correction=bc).step(theta, lambda x: g)
        steps.append(-theta)
    np.testing.assert_allclose(steps[1] / steps[0], (1 - beta1) / math.sqrt(1 - beta2), rtol=1e-9)
    np.testing.assert_allclose(steps[0], 1e-3 * np.sign(g), rtol=1e-9)  # corrected: lr * sign(g)


def test_adagrad_effective_rate_only_shrinks():
    grad, x0 = make_problem()
    opt, theta, rates = Adagrad(0.1), x0.copy(), []
    for _ in range(30):
        opt.step(theta, grad)
        rates.append(0.1 / (np.sqrt(opt.cache) + opt.eps))
    assert all(np.all(later <= earlier) for earlier, later in zip(rates, rates[1:]))


# --- torch.optim where the conventions meet (BOOK.md's table) -------------------------------------------

def run_torch(torch, make_opt, x0, grad, steps):
    p = torch.tensor(x0.copy(), dtype=torch.float64, requires_grad=True)
    opt = make_opt([p])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        p.grad = torch.from_numpy(grad(p.detach().numpy().copy()))
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def run_ours(opt, x0, grad, steps):
    theta, out = x0.copy(), []
    for _ in range(steps):
        opt.step(theta, grad)
        out.append(theta.copy())
    return out


TORCH_CASES = [
    ("SGD", lambda t, ps: t.optim.SGD(ps, lr=0.05), lambda: SGD(0.05)),
    ("Momentum", lambda t, ps: t.optim.SGD(ps, lr=0.02, momentum=0.8), lambda: Momentum(0.02, mu=0.8)),
    ("Adagrad", lambda t, ps: t.optim.Adagrad(ps, lr=0.3, eps=1e-6), lambda: Adagrad(0.3, eps=1e-6)),
    ("RMSProp", lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.95, eps=1e-6), lambda: RMSProp(0.01, 0.95, 1e-6)),
    ("Adam", lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-7), lambda: Adam(0.01, 0.8, 0.99, 1e-7)),
]


@pytest.mark.parametrize("name, make_torch, make_ours", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_against_torch(name, make_torch, make_ours):
    torch = pytest.importorskip("torch")
    grad, x0 = make_problem()
    ours = run_ours(make_ours(), x0, grad, STEPS)
    theirs = run_torch(torch, lambda ps: make_torch(torch, ps), x0, grad, STEPS)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_nesterov_against_torch_reparametrized():
    torch = pytest.importorskip("torch")
    grad, x0 = make_problem()
    opt, theta = Nesterov(0.02, mu=0.85), x0.copy()
    theirs = run_torch(torch, lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.85, nesterov=True), x0, grad, STEPS)
    for phi in theirs:
        opt.step(theta, grad)
        np.testing.assert_allclose(theta - opt.mu * opt.u, phi, rtol=1e-10, atol=1e-12)  # torch holds θ − μu


def test_torch_dampening_is_not_note2_momentum():
    torch = pytest.importorskip("torch")
    grad, x0 = make_problem()
    ours = run_ours(EMAMomentum(0.1, beta=0.9), x0, grad, 5)
    theirs = run_torch(torch, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.9), x0, grad, 5)
    assert np.max(np.abs(ours[0] - theirs[0])) > 1e-3  # torch's first buffer is g, undamped


# --- contract: in place, dtype kept, state and memory ----------------------------------------------------

@pytest.mark.parametrize("cls", list(opt_module.OPTIMIZERS.values()))
def test_in_place_dtype_and_state_nbytes(cls):
    theta = np.ones((3, 4), dtype=np.float32)
    opt = cls(0.01)
    assert opt.state_nbytes == 0
    out = opt.step(theta, lambda x: x - 0.5)
    assert out is theta and theta.dtype == np.float32 and not np.all(theta == 1)
    arrays = {SGD: 0, Adam: 2}.get(cls, 1)
    assert opt.state_nbytes == arrays * theta.nbytes
    assert opt.t == 1


@pytest.mark.parametrize("cls", list(opt_module.OPTIMIZERS.values()))
def test_peak_memory_of_a_step_is_bounded(cls):
    n = 1_000_000
    theta = np.random.default_rng(0).normal(size=n)
    g_buffer = np.empty_like(theta)

    def grad(x):  # writes into a buffer the caller owns, so only the optimizer's allocations count
        np.multiply(x, 2.0, out=g_buffer)
        return g_buffer

    def allocated_during(fn):
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            fn()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak - before

    opt = cls(1e-3)
    first = allocated_during(lambda: opt.step(theta, grad))  # creates the state and the scratch
    later = allocated_during(lambda: opt.step(theta, grad))
    assert later <= 1 << 20, f"{cls.__name__} allocated {later / 2**20:.1f} MiB during a step"
    # the first step: the state (note 1's memory line), the fixed scratch, and nothing parameter-sized
    assert opt.scratch_nbytes <= 2 * opt_module.BLOCK_BYTES
    assert first - opt.state_nbytes - opt.scratch_nbytes <= 64 << 10


def test_state_nbytes_matches_note1_memory_lines():
    n = 1000
    theta = np.zeros(n)
    note1_arrays = {"SGD": 0, "Momentum": 1, "EMAMomentum": 1, "Nesterov": 1, "Adagrad": 1, "RMSProp": 1, "Adam": 2}
    for name, cls in opt_module.OPTIMIZERS.items():
        opt = cls(0.1)
        opt.step(theta.copy(), lambda x: x + 1)
        assert opt.state_nbytes == note1_arrays[name] * n * 8, name


def test_schedule_is_called_with_the_step_index():
    seen = []
    opt = SGD(lambda t: (seen.append(t), 0.1 / (t + 1))[1])
    theta = np.array([1.0])
    for _ in range(4):
        opt.step(theta, lambda x: np.ones_like(x))
    assert seen == [0, 1, 2, 3]
    assert theta[0] == pytest.approx(1 - 0.1 * (1 + 1 / 2 + 1 / 3 + 1 / 4), rel=1e-15)


def test_lr_is_settable():
    opt, theta = SGD(0.1), np.array([1.0])
    opt.step(theta, lambda x: np.ones_like(x))
    opt.lr = 0.5
    opt.step(theta, lambda x: np.ones_like(x))
    assert theta[0] == pytest.approx(1 - 0.1 - 0.5)


# --- bad input: a clear error naming the argument, state untouched --------------------------------------

@pytest.mark.parametrize("cls", list(opt_module.OPTIMIZERS.values()))
@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.1", True])
def test_bad_lr(cls, lr):
    with pytest.raises(ValueError, match="lr"):
        cls(lr)


@pytest.mark.parametrize("make, name", [
    (lambda v: Momentum(0.1, mu=v), "mu"), (lambda v: Nesterov(0.1, mu=v), "mu"),
    (lambda v: EMAMomentum(0.1, beta=v), "beta"), (lambda v: RMSProp(0.1, beta=v), "beta"),
    (lambda v: Adam(0.1, beta1=v), "beta1"), (lambda v: Adam(0.1, beta2=v), "beta2"),
])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_decay(make, name, value):
    with pytest.raises(ValueError, match=name):
        make(value)


@pytest.mark.parametrize("cls", [Adagrad, RMSProp, Adam])
@pytest.mark.parametrize("eps", [0, -1e-8, float("nan")])
def test_bad_eps(cls, eps):
    with pytest.raises(ValueError, match="eps"):
        cls(0.1, eps=eps)


@pytest.mark.parametrize("cls", list(opt_module.OPTIMIZERS.values()))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("at_step", [0, 4])
def test_non_finite_gradient_is_refused_and_nothing_changes(cls, bad, at_step):
    grad, x0 = make_problem()
    opt, theta = cls(0.01), x0.copy()
    for _ in range(at_step):
        opt.step(theta, grad)
    before = theta.copy()
    state_before = {n: getattr(opt, n).copy() for n in opt._state_names if getattr(opt, n) is not None}

    def bad_grad(x):
        g = grad(x)
        g[7] = bad
        return g

    with pytest.raises(FloatingPointError, match=f"step {at_step}"):
        opt.step(theta, bad_grad)
    if cls is Nesterov and at_step:  # moved back from the look-ahead point: one rounding at most
        np.testing.assert_allclose(theta, before, rtol=1e-15, atol=1e-15)
    else:
        np.testing.assert_array_equal(theta, before)
    for name, value in state_before.items():
        np.testing.assert_array_equal(getattr(opt, name), value)
    assert opt.t == at_step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_entry_anywhere(dtype, bad):
    n = 3 * opt_module.BLOCK_BYTES // np.dtype(dtype).itemsize + 5  # several blocks and a short one
    x = np.ones(n, dtype=dtype)
    assert opt_module.all_finite(x)
    for where in (0, n // 2, n - 1):
        y = x.copy()
        y[where] = bad
        assert not opt_module.all_finite(y)


def test_all_finite_when_the_square_norm_overflows():
    big = np.finfo(np.float32).max
    x = np.full(10, big, dtype=np.float32)  # x . x overflows to inf, yet every entry is finite
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.dot(x, x))
    assert opt_module.all_finite(x)
    x[-1] = np.inf
    assert not opt_module.all_finite(x)
    assert opt_module.all_finite(np.array([]))


def test_all_finite_allocates_no_copy_of_its_input():
    x = np.full(1_000_000, 1e300)  # overflowing square norm: the block-by-block path
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        assert opt_module.all_finite(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before <= opt_module.BLOCK_BYTES


def test_huge_but_finite_gradient_is_accepted():
    theta = np.zeros(4)
    SGD(1e-300).step(theta, lambda x: np.full(4, 1e308))  # the sum overflows; every entry is finite
    np.testing.assert_allclose(theta, -1e8)


@pytest.mark.parametrize("bad, match", [
    ([1.0, 2.0], "theta"), (np.array([1, 2]), "theta"), (np.ones((4, 3))[:, 0], "theta"),
])
def test_bad_theta(bad, match):
    with pytest.raises(ValueError, match=match):
        SGD(0.1).step(bad, lambda x: x)


def test_gradient_of_the_wrong_shape_is_refused():
    theta = np.ones(3)
    with pytest.raises(ValueError, match="grad_fn"):
        Adam(0.1).step(theta, lambda x: np.ones(4))
    np.testing.assert_array_equal(theta, 1)


def test_new_parameters_need_reset():
    opt = Momentum(0.1)
    opt.step(np.ones(3), lambda x: x)
    with pytest.raises(ValueError, match="theta"):
        opt.step(np.ones(4), lambda x: x)
    opt.reset()
    opt.step(np.ones(4), lambda x: x)
    assert opt.state_nbytes == 32


def test_bad_schedule_value_is_refused_before_any_change():
    opt, theta = Adam(lambda t: 0.1 if t < 2 else -1.0), np.ones(3)
    opt.step(theta, lambda x: x)
    opt.step(theta, lambda x: x)
    before, m = theta.copy(), opt.m.copy()
    with pytest.raises(ValueError, match="lr"):
        opt.step(theta, lambda x: x)
    np.testing.assert_array_equal(theta, before)
    np.testing.assert_array_equal(opt.m, m)


# --- properties -----------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(
    eigs=st.lists(st.floats(0.1, 10.0), min_size=2, max_size=4),
    frac=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**16),
)
def test_any_lr_below_two_over_L_decreases_a_convex_quadratic(eigs, frac, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(len(eigs), len(eigs))))
    A = Q @ np.diag(eigs) @ Q.T
    f = lambda x: 0.5 * x @ A @ x  # noqa: E731
    x = rng.normal(size=len(eigs))
    lr = frac * 2 / max(eigs)
    before = f(x)
    SGD(lr).step(x, lambda y: A @ y)
    assert f(x) < before


@pytest.mark.parametrize("cls", list(opt_module.OPTIMIZERS.values()))
def test_scratch_is_a_few_blocks_whatever_the_size(cls):
    sizes = []
    for n in (10**6, 3 * 10**6):  # both larger than a block
        opt = cls(0.1)
        opt.step(np.zeros(n), lambda x: x + 1)
        sizes.append(opt.scratch_nbytes)
    assert sizes[0] == sizes[1] <= 2 * opt_module.BLOCK_BYTES


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_stability_limits_on_a_quadratic(mu):
    # E = lam/2 theta^2: heavy ball converges for lr*lam < 2(1+mu), Nesterov for lr*lam < 2(1+mu)/(1+2mu)
    lam = 3.0
    limits = {Momentum: 2 * (1 + mu), Nesterov: 2 * (1 + mu) / (1 + 2 * mu)}
    for cls, limit in limits.items():
        finals = []
        for factor in (0.98, 1.02):
            theta = np.array([1.0])
            opt = cls(factor * limit / lam, mu=mu)
            for _ in range(3000):
                opt.step(theta, lambda x: lam * x)
            finals.append(abs(theta[0]))
        assert finals[0] < 1e-3 and finals[1] > 1e3, (cls.__name__, finals)
