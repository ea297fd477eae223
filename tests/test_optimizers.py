"""Optimizers against direct transcriptions of the notes' formulas, against torch.optim, and the contract.

The tables here are read from the registry (optlib.OPTIMIZERS): a registered optimizer is tested
against torch.optim if it names its torch equivalent, and against its whole-array rule and the
optimizer contract in any case (tests/test_registry.py registers a dummy and checks it appears).
The boundary (dtypes, aliasing, strides, error states, refusals) is tested in tests/test_boundary.py.
"""
import inspect
import math
import tracemalloc
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlib import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, AMSGrad, EMAMomentum, Momentum, NAdam, Nesterov, RAdam,
                    RMSProp)
from optlib import optimizers as opt_module
from optlib.optimizers import OPTIMIZERS, Optimizer

STEPS = 60
LR = 0.01  # the rate of the registry-wide tables: stable for every rule on make_problem's gradients


def make_problem(n=37, seed=0):
    """A non-quadratic smooth loss with a gradient of mixed scales: g(x) = A x - b + 0.1 x^3."""
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    A = M @ M.T / n + np.diag(np.geomspace(1e-3, 10, n))
    b = rng.normal(size=n)
    x0 = rng.normal(size=n)
    return (lambda x: A @ x - b + 0.1 * x**3), x0


def big_problem(n, seed=1):
    """An elementwise gradient for arrays of many blocks."""
    return (lambda x: 2 * x - np.sin(3 * x)), np.random.default_rng(seed).normal(size=n)


@contextmanager
def block_bytes(n):
    """Run the engine with blocks of n bytes (restored afterwards)."""
    old, opt_module.BLOCK_BYTES = opt_module.BLOCK_BYTES, n
    try:
        yield
    finally:
        opt_module.BLOCK_BYTES = old


def registered():
    """The registry, read when called (so an optimizer registered by a test is in it)."""
    return list(OPTIMIZERS.values())


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


def adamw_ref(x, grad, lr, beta1, beta2, eps, weight_decay, steps):
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = grad(x)
        x = x * (1 - lr * weight_decay)                          # decoupled decay
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        x = x - lr * ((m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps))
    return x


def amsgrad_ref(x, grad, lr, beta1, beta2, eps, steps):
    m, v, v_max = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = np.maximum(v_max, v)
        x = x - lr * ((m / (1 - beta1**t)) / (np.sqrt(v_max / (1 - beta2**t)) + eps))
    return x


def nadam_ref(x, grad, lr, beta1, beta2, eps, psi, steps):
    m, v, mu_product = np.zeros_like(x), np.zeros_like(x), 1.0
    for t in range(1, steps + 1):
        g = grad(x)
        mu, mu_next = beta1 * (1 - 0.5 * 0.96 ** (t * psi)), beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = mu_product * mu
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        denom = np.sqrt(v / (1 - beta2**t)) + eps
        x = x - lr * (1 - mu) / (1 - mu_product) * (g / denom)
        x = x - lr * mu_next / (1 - mu_product * mu_next) * (m / denom)
    return x


def radam_ref(x, grad, lr, beta1, beta2, eps, steps):
    m, v = np.zeros_like(x), np.zeros_like(x)
    rho_inf = 2 / (1 - beta2) - 1
    for t in range(1, steps + 1):
        g = grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            x = x - m_hat * lr * (math.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)) * r
        else:
            x = x - m_hat * lr
    return x


def adamax_ref(x, grad, lr, beta1, beta2, eps, steps):
    m, u = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = grad(x)
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g) + eps)
        x = x - lr / (1 - beta1**t) * (m / u)
    return x


def adadelta_ref(x, grad, lr, rho, eps, steps):
    avg_sq_grad, avg_sq_delta = np.zeros_like(x), np.zeros_like(x)
    for _ in range(steps):
        g = grad(x)
        avg_sq_grad = rho * avg_sq_grad + (1 - rho) * g**2
        delta = np.sqrt(avg_sq_delta + eps) / np.sqrt(avg_sq_grad + eps) * g
        avg_sq_delta = rho * avg_sq_delta + (1 - rho) * delta**2
        x = x - lr * delta
    return x


# name -> [(optimizer, transcription)]; every registered optimizer of the course needs one
TRANSCRIPTIONS = {
    "SGD": [(lambda: SGD(0.05), lambda x, g: sgd_ref(x, g, 0.05, STEPS))],
    "Momentum": [(lambda: Momentum(0.02, mu=0.8), lambda x, g: momentum_ref(x, g, 0.02, 0.8, STEPS))],
    "EMAMomentum": [(lambda: EMAMomentum(0.1, beta=0.7), lambda x, g: ema_momentum_ref(x, g, 0.1, 0.7, STEPS))],
    "Nesterov": [(lambda: Nesterov(0.02, mu=0.85), lambda x, g: nesterov_ref(x, g, 0.02, 0.85, STEPS))],
    "Adagrad": [(lambda: Adagrad(0.3, eps=1e-6), lambda x, g: adagrad_ref(x, g, 0.3, 1e-6, STEPS))],
    "RMSProp": [
        (lambda: RMSProp(0.01, beta=0.95, eps=1e-6), lambda x, g: rmsprop_ref(x, g, 0.01, 0.95, 1e-6, STEPS)),
        (lambda: RMSProp(0.01, beta=0.95, eps=1e-3, eps_inside_sqrt=True),
         lambda x, g: rmsprop_ref(x, g, 0.01, 0.95, 1e-3, STEPS, eps_inside_sqrt=True)),
    ],
    "Adam": [
        (lambda: Adam(0.01, 0.8, 0.99, 1e-7), lambda x, g: adam_ref(x, g, 0.01, 0.8, 0.99, 1e-7, STEPS)),
        (lambda: Adam(0.01, 0.8, 0.99, 1e-7, bias_correction=False),
         lambda x, g: adam_ref(x, g, 0.01, 0.8, 0.99, 1e-7, STEPS, bias_correction=False)),
    ],
    "AdamW": [(lambda: AdamW(0.01, 0.8, 0.99, 1e-7, weight_decay=0.1),
               lambda x, g: adamw_ref(x, g, 0.01, 0.8, 0.99, 1e-7, 0.1, STEPS))],
    "AMSGrad": [(lambda: AMSGrad(0.01, 0.8, 0.99, 1e-7), lambda x, g: amsgrad_ref(x, g, 0.01, 0.8, 0.99, 1e-7, STEPS))],
    "NAdam": [(lambda: NAdam(0.01, 0.8, 0.99, 1e-7, momentum_decay=0.05),
               lambda x, g: nadam_ref(x, g, 0.01, 0.8, 0.99, 1e-7, 0.05, STEPS))],
    "RAdam": [(lambda: RAdam(0.01, 0.8, 0.99, 1e-7), lambda x, g: radam_ref(x, g, 0.01, 0.8, 0.99, 1e-7, STEPS))],
    "Adamax": [(lambda: Adamax(0.01, 0.8, 0.99, 1e-7), lambda x, g: adamax_ref(x, g, 0.01, 0.8, 0.99, 1e-7, STEPS))],
    "Adadelta": [(lambda: Adadelta(0.5, rho=0.8, eps=1e-5), lambda x, g: adadelta_ref(x, g, 0.5, 0.8, 1e-5, STEPS))],
}
CASES = [case for cases in TRANSCRIPTIONS.values() for case in cases]


def test_every_registered_optimizer_of_the_course_has_a_transcription():
    assert set(TRANSCRIPTIONS) == {name for name, cls in OPTIMIZERS.items() if cls.__module__ == "optlib.optimizers"}


@pytest.mark.parametrize("make, reference", CASES)
@pytest.mark.parametrize("n", [37, 20_000])  # 20 000 spans several blocks, the last one partial
def test_bit_exact_against_transcription(make, reference, n):
    grad, x0 = make_problem(n) if n < 1000 else big_problem(n)
    opt, theta = make(), x0.copy()
    for _ in range(STEPS):
        opt.step(theta, grad)
    expected = reference(x0.copy(), grad)
    assert not np.allclose(expected, x0)           # the run went somewhere
    np.testing.assert_array_equal(theta, expected)  # same operations in the same order: same bits


def test_nesterov_against_transcription():
    # the look-ahead point has its own array: the same bits as the transcription, at every size
    for n in (37, 20_000):
        grad, x0 = make_problem(n) if n < 1000 else big_problem(n)
        opt, theta = Nesterov(0.02, mu=0.85), x0.copy()
        for _ in range(STEPS):
            opt.step(theta, grad)
        np.testing.assert_array_equal(theta, nesterov_ref(x0.copy(), grad, 0.02, 0.85, STEPS))


# --- the engine: blocks change nothing, no rule has its own step ---------------------------------------

def run(opt, theta, grad, steps):
    for _ in range(steps):
        opt.step(theta, grad)
    return theta


@pytest.mark.parametrize("cls", registered(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_step_is_the_rule_on_whole_arrays(cls, dtype):
    """The rule applied to the whole arrays at once (one block) against many blocks of 64 bytes, the
    last one partial: bit for bit, state included."""
    grad, x0 = big_problem(1001)
    x0 = x0.astype(dtype)
    with block_bytes(1 << 40):
        whole = cls(LR)
        expected = run(whole, x0.copy(), grad, 12)
    with block_bytes(64):
        blocked = cls(LR)
        got = run(blocked, x0.copy(), grad, 12)
    np.testing.assert_array_equal(got, expected)
    for name in cls.state_arrays:
        np.testing.assert_array_equal(getattr(blocked, name), getattr(whole, name))
    assert got.dtype == dtype


def test_no_optimizer_overrides_the_engine():
    for cls in registered():
        for method in ("step", "__init__", "hyperparameters", "__repr__", "_check_theta", "reset"):
            assert getattr(cls, method) is getattr(Optimizer, method), (cls.__name__, method)


def test_the_rule_sees_blocks_of_block_bytes_whatever_came_before():
    """issue 13, item 7: after a step on one parameter, a step on a million still works on blocks of
    BLOCK_BYTES (the old SGD kept a one-element scratch and took a million one-element blocks)."""
    opt, sizes = SGD(0.1), []
    rule = opt.update
    opt.update = lambda theta, g, **scalars: (sizes.append(theta.size), rule(theta, g, **scalars))
    opt.step(np.ones(1), lambda x: x)
    assert sizes == [1]
    sizes.clear()
    n, per_block = 10**6, opt_module.BLOCK_BYTES // 8
    opt.step(np.ones(n), lambda x: np.ones_like(x))
    assert len(sizes) == math.ceil(n / per_block) and max(sizes) == per_block and sum(sizes) == n


# --- declared hyperparameters -----------------------------------------------------------------------------

@pytest.mark.parametrize("cls", registered(), ids=lambda c: c.__name__)
def test_signature_repr_and_hyperparameters_follow_the_declarations(cls):
    names = list(cls._hyperparameters)
    assert names[0] == "lr" and list(inspect.signature(cls).parameters) == names
    opt = cls(0.25)
    assert opt.hyperparameters() == {"lr": 0.25, **cls.defaults}
    assert list(opt.hyperparameters()) == names
    assert repr(opt) == f"{cls.__name__}(" + ", ".join(f"{k}={v!r}" for k, v in opt.hyperparameters().items()) + ")"
    assert eval(repr(opt), {cls.__name__: cls}).hyperparameters() == opt.hyperparameters()
    positional = cls(*opt.hyperparameters().values())
    assert positional.hyperparameters() == opt.hyperparameters()
    with pytest.raises(TypeError):
        cls()  # lr has no default
    with pytest.raises(TypeError):
        cls(0.1, not_a_hyperparameter=1)


def test_assignments_are_checked_like_the_constructor():
    opt = Adam(0.1)
    for name, bad in [("beta1", 1.0), ("eps", 0.0), ("bias_correction", 1), ("lr", -1.0)]:
        with pytest.raises(ValueError, match=name):
            setattr(opt, name, bad)
    opt.beta1 = 0.5
    assert opt.hyperparameters()["beta1"] == 0.5


@pytest.mark.parametrize("cls", registered(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf"), "0.1", True, None])
def test_bad_lr(cls, lr):
    with pytest.raises(ValueError, match="lr"):
        cls(lr)


@pytest.mark.parametrize("cls", registered(), ids=lambda c: c.__name__)
def test_lr_zero_is_a_step_that_changes_nothing(cls):
    """issue 13, item 10: torch.optim accepts lr = 0 (so ReduceLROnPlateau may reach it); so do we."""
    grad, x0 = make_problem()
    opt, theta = cls(0.0), x0.copy()
    run(opt, theta, grad, 3)
    np.testing.assert_array_equal(theta, x0)
    assert opt.t == 3


@pytest.mark.parametrize("make, name", [
    (lambda v: Momentum(0.1, mu=v), "mu"), (lambda v: Nesterov(0.1, mu=v), "mu"),
    (lambda v: EMAMomentum(0.1, beta=v), "beta"), (lambda v: RMSProp(0.1, beta=v), "beta"),
    (lambda v: Adam(0.1, beta1=v), "beta1"), (lambda v: Adam(0.1, beta2=v), "beta2"),
])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_decay(make, name, value):
    with pytest.raises(ValueError, match=name):
        make(value)


@pytest.mark.parametrize("cls", [cls for cls in registered() if "eps" in cls._hyperparameters])
@pytest.mark.parametrize("eps", [0, -1e-8, float("nan")])
def test_bad_eps(cls, eps):
    with pytest.raises(ValueError, match="eps"):
        cls(0.1, eps=eps)


@pytest.mark.parametrize("cls, name", [(RMSProp, "eps_inside_sqrt"), (Adam, "bias_correction")])
@pytest.mark.parametrize("value", [0, 1, None, "yes"])
def test_bad_flags(cls, name, value):
    with pytest.raises(ValueError, match=name):
        cls(0.1, **{name: value})


def test_make_and_default_hyperparameters():
    assert repr(opt_module.make("Adam", 0.01)) == repr(Adam(0.01))
    assert opt_module.make("Momentum", 0.1, mu=0.5).mu == 0.5
    assert opt_module.default_hyperparameters("RMSProp") == {"beta": 0.9, "eps": 1e-8, "eps_inside_sqrt": False}
    assert opt_module.default_hyperparameters("SGD") == {}
    for name, cls in OPTIMIZERS.items():
        assert cls(1.0, **opt_module.default_hyperparameters(name)).hyperparameters() == cls(1.0).hyperparameters()
    with pytest.raises(ValueError, match="name"):
        opt_module.make("Adamm", 0.1)
    with pytest.raises(ValueError, match="name"):
        opt_module.default_hyperparameters("sgd")


# --- the hooks ---------------------------------------------------------------------------------------------

def test_nesterov_asks_for_the_gradient_at_the_look_ahead_point():
    grad, x0 = make_problem()
    opt, theta, seen = Nesterov(0.01, mu=0.9), x0.copy(), []
    for _ in range(5):
        expected_point = theta - opt.mu * (opt.u if opt.u is not None else 0)
        opt.step(theta, lambda x: (seen.append(x.copy()), grad(x))[1])
        np.testing.assert_array_equal(seen[-1], expected_point)
    assert len(seen) == 5  # once per step


def test_every_other_optimizer_asks_once_at_theta():
    grad, x0 = make_problem()
    for cls in registered():
        if cls.gradient_point is not None:
            continue
        opt, theta = cls(LR), x0.copy()
        for _ in range(3):
            calls = []
            opt.step(theta, lambda x: (calls.append(x), grad(x))[1])
            assert len(calls) == 1 and calls[0] is theta  # theta itself, no copy


def test_step_scalars_take_the_step_number_from_one():
    opt, seen = Adam(0.1), []
    scalars = opt.step_scalars
    opt.step_scalars = lambda t, lr: (seen.append((t, lr)), scalars(t, lr))[1]
    theta = np.ones(3)
    for _ in range(3):
        opt.step(theta, lambda x: x)
    assert seen == [(1, 0.1), (2, 0.1), (3, 0.1)]
    assert scalars(2, 0.1) == {"lr": 0.1, "bc1": 1 - 0.9**2, "bc2": 1 - 0.999**2}


# --- the equivalences the docstrings state ------------------------------------------------------------------

def test_note2_momentum_is_note1_momentum_rescaled():
    """Momentum's docstring: with beta = mu and alpha = eta (1 - beta), u_t = eta v_t at every step."""
    grad, x0 = make_problem()
    beta, eta = 0.9, 0.05
    a, b = x0.copy(), x0.copy()
    note1, note2 = Momentum(eta * (1 - beta), mu=beta), EMAMomentum(eta, beta=beta)
    for _ in range(STEPS):
        note1.step(a, grad)
        note2.step(b, grad)
        np.testing.assert_allclose(note1.u, eta * note2.v, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(note1.u, note1.lr / (1 - beta) * note2.v, rtol=1e-12, atol=1e-15)
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
    assert round((1 - beta1) / math.sqrt(1 - beta2), 2) == 3.16  # "3.16 for the defaults"
    np.testing.assert_allclose(steps[0], 1e-3 * np.sign(g), rtol=1e-9)  # corrected: lr * sign(g)


def test_adamw_is_chapter_8s_decoupled_weight_decay_then_adam():
    from optlib.regularization import decoupled_weight_decay
    grad, x0 = make_problem()
    adamw, adam = AdamW(0.01, weight_decay=0.2), Adam(0.01)
    a, b = x0.copy(), x0.copy()
    for t in range(STEPS):
        adamw.step(a, grad)
        g = grad(b)                                   # the gradient before the decay, as in AdamW
        decoupled_weight_decay(b, 0.01, 0.2)          # the teaching form of chapter 8
        adam.step(b, lambda x: g)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(adamw.m, adam.m)
    assert not np.allclose(a, run(Adam(0.01), x0.copy(), grad, STEPS))  # the decay did something


def test_amsgrad_denominator_never_shrinks_and_adam_s_can():
    rng = np.random.default_rng(2)
    gradients = [rng.normal(size=5) * (10 if t < 5 else 0.1) for t in range(40)]  # large, then small
    opt, theta, previous = AMSGrad(0.01), np.zeros(5), None
    adam, adam_theta, adam_v = Adam(0.01), np.zeros(5), []
    for g in gradients:
        opt.step(theta, lambda x: g)
        adam.step(adam_theta, lambda x: g)
        adam_v.append(adam.v.copy())
        if previous is not None:
            assert np.all(opt.v_max >= previous)
        previous = opt.v_max.copy()
        np.testing.assert_array_equal(opt.v_max, np.maximum.reduce(adam_v))
    assert np.any(adam_v[-1] < adam_v[4])  # Adam's v fell once the gradients shrank


def test_nadam_mu_product_is_committed_only_when_a_step_is_accepted():
    opt, theta = NAdam(0.01), np.ones(4)
    expected = 1.0
    for t in range(1, 4):
        opt.step(theta, lambda x: x)
        expected *= opt.momentum(t)
        assert opt.mu_product == expected
    with pytest.raises(FloatingPointError):
        opt.step(theta, lambda x: np.full(4, np.nan))
    assert opt.mu_product == expected and opt.t == 3
    assert 0.45 < opt.momentum(1) < opt.momentum(1000) < 0.9  # from about beta1 / 2 toward beta1
    opt.reset()
    assert opt.mu_product == 1.0


def test_radam_takes_momentum_steps_until_rho_exceeds_5():
    opt = RAdam(0.1)
    rects = [opt.rectification(t) for t in range(1, 9)]
    assert rects[:5] == [None] * 5 and all(0 < r < 1 for r in rects[5:])  # step 6 for beta2 = 0.999
    theta, g = np.zeros(3), np.array([1.0, -2.0, 0.5])
    opt.step(theta, lambda x: g)
    np.testing.assert_allclose(theta, -0.1 * g, rtol=1e-15)  # m_hat = g: a plain momentum step
    assert opt.rectification(10**6) == pytest.approx(1, abs=1e-3)


def test_adamax_is_the_infinity_norm_limit():
    g = np.array([3.0, -4.0])
    opt, theta = Adamax(0.1, eps=1e-12), np.zeros(2)
    opt.step(theta, lambda x: g)
    np.testing.assert_allclose(opt.u, np.abs(g) + 1e-12)
    np.testing.assert_allclose(theta, -0.1 * np.sign(g), rtol=1e-9)  # first step: lr sign(g)


def test_adadelta_first_step_is_about_root_eps():
    opt, theta = Adadelta(1.0, rho=0.9, eps=1e-6), np.zeros(3)
    g = np.array([1.0, -100.0, 0.01])
    opt.step(theta, lambda x: g)
    expected = -np.sqrt(1e-6) / np.sqrt(0.1 * g**2 + 1e-6) * g
    np.testing.assert_allclose(theta, expected, rtol=1e-12)
    assert np.all(np.abs(theta[:2]) < 1e-2) and np.all(np.abs(theta[:2]) > 1e-3)


def test_adagrad_effective_rate_only_shrinks():
    grad, x0 = make_problem()
    opt, theta, rates = Adagrad(0.1), x0.copy(), []
    for _ in range(30):
        opt.step(theta, grad)
        rates.append(0.1 / (np.sqrt(opt.cache) + opt.eps))
    assert all(np.all(later <= earlier) for earlier, later in zip(rates, rates[1:]))


def test_ema_is_the_transcription_bit_for_bit():
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        avg, x = rng.normal(size=1000).astype(dtype), rng.normal(size=1000).astype(dtype)
        expected = 0.93 * avg + (1 - 0.93) * x
        np.testing.assert_array_equal(opt_module.ema_(avg, x, 0.93), expected)
        np.testing.assert_array_equal(avg, expected)


def test_bias_correction_is_the_weight_a_moving_average_from_zero_gives_a_constant():
    """bias_correction's docstring: from 0, a moving average of a constant c is (1 - beta^t) c."""
    for beta in (0.5, 0.9, 0.999):
        avg = np.zeros(1)
        for t in range(1, 30):
            opt_module.ema_(avg, np.array([3.0]), beta)
            assert avg[0] == pytest.approx(3.0 * opt_module.bias_correction(beta, t), rel=1e-12)
            assert avg[0] / opt_module.bias_correction(beta, t) == pytest.approx(3.0, rel=1e-12)


def test_rmsprop_s_two_epsilons_part_only_for_tiny_gradients():
    """RMSProp's docstring: note 1's sqrt(cache) + eps and note 2's sqrt(cache + eps) differ where
    sqrt(cache) is comparable to eps or sqrt(eps)."""
    steps = {}
    for scale in (1.0, 1e-5):
        for inside in (False, True):
            theta = np.zeros(2)
            RMSProp(0.1, eps=1e-8, eps_inside_sqrt=inside).step(theta, lambda x: np.array([1.0, -2.0]) * scale)
            steps[scale, inside] = theta
    np.testing.assert_allclose(steps[1.0, True], steps[1.0, False], rtol=1e-6)
    assert np.all(np.abs(steps[1e-5, True]) < 0.7 * np.abs(steps[1e-5, False]))


def test_adamax_is_the_limit_of_the_lp_moving_norm():
    """Adamax's docstring: (sum_i (1 - beta2) beta2^{p (t - i)} |g_i|^p)^{1/p} -> max_i beta2^{t - i} |g_i|."""
    rng = np.random.default_rng(0)
    gradients, beta2 = rng.normal(size=(20, 3)), 0.9
    opt, theta = Adamax(0.01, beta2=beta2, eps=1e-300), np.zeros(3)
    for g in gradients:
        opt.step(theta, lambda x: g)
    t, p = len(gradients), 400.0
    ages = np.arange(t - 1, -1, -1)[:, None]  # t - i for i = 1..t
    log_terms = p * (ages * np.log(beta2) + np.log(np.abs(gradients))) + np.log(1 - beta2)
    lp_norm = np.exp(np.logaddexp.reduce(log_terms, axis=0) / p)
    np.testing.assert_allclose(lp_norm, opt.u, rtol=0.02)
    np.testing.assert_allclose(opt.u, (beta2 ** ages * np.abs(gradients)).max(axis=0), rtol=1e-12)


def test_rms_scaled_both_epsilons():
    g, cache = np.array([1.0, -2.0]), np.array([4.0, 0.0])
    np.testing.assert_array_equal(opt_module.rms_scaled(g, cache, 0.5), g / (np.sqrt(cache) + 0.5))
    np.testing.assert_array_equal(opt_module.rms_scaled(g, cache, 0.5, eps_inside_sqrt=True), g / np.sqrt(cache + 0.5))


# --- torch.optim: every registered optimizer that names its torch equivalent -----------------------------

# non-default settings tried besides each optimizer's defaults
EXTRA_SETTINGS = {
    "Momentum": [dict(mu=0.8)],
    "Nesterov": [dict(mu=0.85)],
    "Adagrad": [dict(eps=1e-6)],
    "RMSProp": [dict(beta=0.95, eps=1e-6)],
    "Adam": [dict(beta1=0.8, beta2=0.99, eps=1e-7)],
    "AdamW": [dict(beta1=0.8, beta2=0.99, eps=1e-7, weight_decay=0.3)],
    "AMSGrad": [dict(beta1=0.8, beta2=0.99, eps=1e-7)],
    "NAdam": [dict(beta1=0.8, beta2=0.99, eps=1e-7, momentum_decay=0.05)],
    "RAdam": [dict(beta1=0.8, beta2=0.99, eps=1e-7)],
    "Adamax": [dict(beta1=0.8, beta2=0.99, eps=1e-7)],
    "Adadelta": [dict(rho=0.8, eps=1e-5), dict(lr=1.0)],  # lr = 1: the paper's, where the steps are not tiny
}


def decaying(t):
    """A schedule for the torch comparison: the rate falls by a factor of 20 over 300 steps."""
    return LR * 0.99**t


def torch_cases() -> list:
    """(id, constructor) for every registered optimizer and setting that has a torch equivalent, with a
    constant rate and, where the docstring says it matches torch under a schedule, a decaying one."""
    cases = []
    for name, cls in OPTIMIZERS.items():
        for extra in [{}] + EXTRA_SETTINGS.get(name, []):
            extra = dict(extra)
            lr = extra.pop("lr", LR)
            if cls(lr, **extra).torch_equivalent() is None:
                continue
            label = name + "".join(f"-{k}={v}" for k, v in (({"lr": lr} if lr != LR else {}) | extra).items())
            cases.append((label, lambda cls=cls, lr=lr, extra=extra: cls(lr, **extra)))
            if cls.torch_schedules:
                schedule = (lambda t, lr=lr: lr * 0.99**t)  # the rate falls by a factor of 20 over 300 steps
                cases.append((label + "-schedule", lambda cls=cls, s=schedule, extra=extra: cls(s, **extra)))
    return cases


def noisy_gradients(steps, n=37, sigma=0.1, seed=4):
    """make_problem's gradient plus a fixed sequence of noise vectors, one per call: a stochastic
    gradient that never vanishes. Near a stationary point the scale-free rules (RMSProp's
    g / sqrt(cache)) would divide one rounding error by another and two correct implementations would
    part; with noise of scale sigma their relative difference stays at rounding level."""
    grad, x0 = make_problem(n)
    noise = sigma * np.random.default_rng(seed).normal(size=(steps, n))

    def new_run():
        calls = iter(noise)
        return lambda x: grad(x) + next(calls)
    return new_run, x0


def against_torch(torch, opt, steps=300):
    """Run opt and its torch.optim equivalent side by side in float64 on the same stochastic
    gradients; compare after every step (to 1e-10; the issue asks 1e-9). torch keeps scalar state (NAdam's running product, the step
    counts) in its default dtype: float64 for the comparison, as optlib's Python floats."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _against_torch(torch, opt, steps)
    finally:
        torch.set_default_dtype(default)


def _against_torch(torch, opt, steps):
    new_run, x0 = noisy_gradients(steps)
    ours_grad, their_grad = new_run(), new_run()
    name, kwargs = opt.torch_equivalent()
    p = torch.tensor(x0.copy(), dtype=torch.float64, requires_grad=True)
    theirs = getattr(torch.optim, name)([p], lr=opt.lr_at(0), foreach=False, **kwargs)
    theta = x0.copy()
    for t in range(steps):
        theirs.param_groups[0]["lr"] = opt.lr_at(t)
        theirs.zero_grad()
        p.grad = torch.from_numpy(their_grad(p.detach().numpy().copy()))
        theirs.step()
        opt.step(theta, ours_grad)
        np.testing.assert_allclose(opt.torch_view(theta), p.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert not np.allclose(theta, x0)


TORCH_CASES = torch_cases()


@pytest.mark.parametrize("name, make", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_against_torch(name, make):
    torch = pytest.importorskip("torch")
    against_torch(torch, make())


def test_torch_tables_cover_the_registry():
    with_torch = {label.split("-")[0] for label, _ in TORCH_CASES}
    assert with_torch == {name for name, cls in OPTIMIZERS.items() if cls(LR).torch_equivalent() is not None}
    assert {"SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adam", "AdamW", "AMSGrad", "NAdam", "RAdam",
            "Adamax", "Adadelta"} <= with_torch
    assert {label for label, _ in TORCH_CASES if label.endswith("-schedule")} >= {
        name + "-schedule" for name in ("AdamW", "AMSGrad", "NAdam", "RAdam", "Adamax", "Adadelta")}


def test_nesterov_against_torch_reparametrized():
    torch = pytest.importorskip("torch")
    opt = Nesterov(0.02, mu=0.85)
    against_torch(torch, opt, steps=STEPS)  # compares opt.torch_view(theta) = theta - mu u with torch's θ
    np.testing.assert_array_equal(opt.torch_view(np.ones(37)), 1 - opt.mu * opt.u)


def test_torch_dampening_is_not_note2_momentum():
    torch = pytest.importorskip("torch")
    grad, x0 = make_problem()
    theta = x0.copy()
    EMAMomentum(0.1, beta=0.9).step(theta, grad)
    p = torch.tensor(x0.copy(), requires_grad=True)
    theirs = torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.9)
    p.grad = torch.from_numpy(grad(x0.copy()))
    theirs.step()
    assert np.max(np.abs(theta - p.detach().numpy())) > 1e-3  # torch's first buffer is g, undamped


def test_momentum_parts_from_torch_under_a_schedule():
    """Why Momentum and Nesterov are compared with torch at a constant rate only (their docstrings)."""
    torch = pytest.importorskip("torch")
    with pytest.raises(AssertionError):
        against_torch(torch, Momentum(decaying, mu=0.9), steps=30)


# --- contract: in place, dtype kept, state and memory ----------------------------------------------------

@pytest.mark.parametrize("cls", registered(), ids=lambda c: c.__name__)
def test_in_place_dtype_and_state_nbytes(cls):
    theta = np.ones((3, 4), dtype=np.float32)
    opt = cls(0.01)
    assert opt.state_nbytes == 0
    out = opt.step(theta, lambda x: x - 0.5)
    assert out is theta and theta.dtype == np.float32 and not np.all(theta == 1)
    assert opt.state_nbytes == len(cls.state_arrays) * theta.nbytes
    for name in cls.state_arrays:
        assert getattr(opt, name).dtype == np.float32 and getattr(opt, name).shape == (3, 4)
    assert opt.t == 1


def test_state_nbytes_matches_note1_memory_lines():
    n = 1000
    theta = np.zeros(n)
    note1_arrays = {"SGD": 0, "Momentum": 1, "EMAMomentum": 1, "Nesterov": 1, "Adagrad": 1, "RMSProp": 1, "Adam": 2,
                    # beyond the notes: each docstring's memory line
                    "AdamW": 2, "AMSGrad": 3, "NAdam": 2, "RAdam": 2, "Adamax": 2, "Adadelta": 2}
    assert set(note1_arrays) == set(TRANSCRIPTIONS)  # every optimizer of the course has its memory line here
    for name, arrays in note1_arrays.items():
        opt = OPTIMIZERS[name](0.1)
        opt.step(theta.copy(), lambda x: x + 1)
        assert opt.state_nbytes == arrays * n * 8, name


@pytest.mark.parametrize("cls", registered(), ids=lambda c: c.__name__)
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
    first = allocated_during(lambda: opt.step(theta, grad))  # creates the state (and Nesterov's point)
    later = allocated_during(lambda: opt.step(theta, grad))
    temporaries = opt_module.MAX_TEMPORARIES * opt_module.BLOCK_BYTES
    assert later <= temporaries + (64 << 10), f"{cls.__name__} allocated {later / 2**20:.1f} MiB in a step"
    # the first step: the state (note 1's memory line), Nesterov's look-ahead point, block temporaries
    assert opt.scratch_nbytes == (theta.nbytes if cls.gradient_point is not None else 0)
    assert first - opt.state_nbytes - opt.scratch_nbytes <= temporaries + (64 << 10)


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


def test_new_parameters_need_reset():
    opt = Momentum(0.1)
    opt.step(np.ones(3), lambda x: x)
    with pytest.raises(ValueError, match="theta"):
        opt.step(np.ones(4), lambda x: x)
    opt.reset()
    assert opt.t == 0 and opt.u is None and opt.state_nbytes == 0
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


@pytest.mark.parametrize("bad, match", [([1.0, 2.0], "theta"), (np.array([1, 2]), "theta")])
def test_bad_theta(bad, match):
    with pytest.raises(ValueError, match=match):
        SGD(0.1).step(bad, lambda x: x)


def test_read_only_theta_is_refused():
    theta = np.ones(3)
    theta.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        SGD(0.1).step(theta, lambda x: x)


# --- the finite check ------------------------------------------------------------------------------------

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
        assert not opt_module.all_finite(y[::-1])  # strided views: read a block at a time
        matrix = y[:n - n % 5].reshape(-1, 5).T
        assert opt_module.all_finite(matrix) == (where >= n - n % 5)


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
    for array in (x, x[::2]):      # contiguous, and strided (read a block at a time)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            assert opt_module.all_finite(array)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak - before <= 2 * opt_module.BLOCK_BYTES


def test_huge_but_finite_gradient_is_accepted():
    theta = np.zeros(4)
    SGD(1e-300).step(theta, lambda x: np.full(4, 1e308))  # the sum overflows; every entry is finite
    np.testing.assert_allclose(theta, -1e8)


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
