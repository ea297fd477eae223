"""Schedules against their closed forms and PyTorch's schedulers; ReduceLROnPlateau step for step vs torch."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlib.optimizers import SGD
from optlib.schedules import ReduceLROnPlateau, constant, exponential_decay, step_decay


# --- closed forms -------------------------------------------------------------------------------------

def test_constant():
    s = constant(0.3)
    assert [s(t) for t in (0, 1, 10, 10**6)] == [0.3] * 4


@pytest.mark.parametrize("lr0, lam", [(0.1, 0.01), (1.0, 0.5), (0.05, 0.0)])
def test_exponential_decay_closed_form(lr0, lam):
    s = exponential_decay(lr0, lam)
    for t in range(50):
        assert s(t) == lr0 * math.exp(-lam * t)
    assert s(0) == lr0


def test_step_decay_closed_form():
    s = step_decay(1.0, 0.5, 3)
    assert [s(t) for t in range(10)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_numpy_integer_steps_are_accepted():
    assert exponential_decay(0.1, 0.2)(np.int64(3)) == 0.1 * math.exp(-0.6)


def test_reprs():
    assert repr(exponential_decay(0.1, 0.01)) == "exponential_decay(lr0=0.1, lam=0.01)"
    assert repr(constant(0.1)) == "constant(lr0=0.1)"
    assert repr(step_decay(0.1, 0.5, 10)) == "step_decay(lr0=0.1, factor=0.5, every=10)"


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-4, 10), st.floats(0, 1), st.integers(0, 500), st.integers(0, 500))
def test_exponential_decay_multiplies_over_time(lr0, lam, t, s):
    """eta_{t+s} eta_0 = eta_t eta_s: a fixed fraction is lost per step, and the rate never increases."""
    f = exponential_decay(lr0, lam)
    assert f(t + s) * lr0 == pytest.approx(f(t) * f(s), rel=1e-12, abs=1e-300)
    assert f(t + 1) <= f(t)


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-4, 10), st.floats(0.01, 1), st.integers(1, 20), st.integers(0, 300))
def test_step_decay_is_piecewise_constant(lr0, factor, every, t):
    f = step_decay(lr0, factor, every)
    start = (t // every) * every
    assert f(t) == f(start)
    assert f(start + every) == pytest.approx(f(start) * factor, rel=1e-12, abs=1e-300)


# --- against torch's schedulers -----------------------------------------------------------------------

def torch_lrs(torch, make_scheduler, lr0, steps):
    """The lr torch's optimizer uses at each step t = 0 .. steps-1."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr0)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("lr0, lam", [(0.1, 0.01), (1.0, 0.2), (0.5, 0.0)])
def test_exponential_decay_matches_torch_exponential_lr(lr0, lam):
    torch = pytest.importorskip("torch")
    expected = torch_lrs(torch, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=math.exp(-lam)),
                         lr0, 50)
    s = exponential_decay(lr0, lam)
    # torch multiplies by gamma once per step, so only rounding separates the two
    np.testing.assert_allclose([s(t) for t in range(50)], expected, rtol=1e-12)


@pytest.mark.parametrize("lr0, factor, every", [(0.1, 0.5, 5), (1.0, 0.1, 1), (0.3, 0.9, 7), (0.2, 1.0, 3)])
def test_step_decay_matches_torch_step_lr(lr0, factor, every):
    torch = pytest.importorskip("torch")
    expected = torch_lrs(torch, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=every, gamma=factor),
                         lr0, 50)
    s = step_decay(lr0, factor, every)
    np.testing.assert_allclose([s(t) for t in range(50)], expected, rtol=1e-12)


def test_schedule_drives_an_optimizer():
    """Step t of an optlib optimizer uses the schedule's value at t."""
    theta = np.array([1.0])
    opt = SGD(lr=exponential_decay(0.5, 0.3))
    expected = 1.0
    for t in range(5):
        opt.step(theta, lambda th: np.ones_like(th))
        expected -= 0.5 * math.exp(-0.3 * t)
    assert theta[0] == pytest.approx(expected, rel=1e-12)


# --- bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("t", [-1, 1.5, 2.0, "3", True, None])
@pytest.mark.parametrize("s", [constant(0.1), exponential_decay(0.1, 0.1), step_decay(0.1, 0.5, 2)])
def test_bad_t(s, t):
    with pytest.raises(ValueError, match="t must"):
        s(t)


@pytest.mark.parametrize("make, name", [
    (lambda: constant(0.0), "lr0"),
    (lambda: constant(-1.0), "lr0"),
    (lambda: exponential_decay(0.0, 0.1), "lr0"),
    (lambda: exponential_decay(0.1, -0.1), "lam"),
    (lambda: exponential_decay(0.1, float("nan")), "lam"),
    (lambda: step_decay(0.0, 0.5, 2), "lr0"),
    (lambda: step_decay(0.1, 0.0, 2), "factor"),
    (lambda: step_decay(0.1, 1.5, 2), "factor"),
    (lambda: step_decay(0.1, 0.5, 0), "every"),
    (lambda: step_decay(0.1, 0.5, 2.5), "every"),
])
def test_bad_schedule_arguments(make, name):
    with pytest.raises(ValueError, match=name):
        make()


# --- ReduceLROnPlateau --------------------------------------------------------------------------------

def metric_sequences():
    """Metric sequences with improvements, plateaus, tiny (sub-threshold) gains and noise."""
    rng = np.random.default_rng(0)
    seqs = [
        [1.0] * 40,                                            # flat from the start
        list(np.linspace(1, 0.1, 15)) + [0.1] * 40,            # improves, then a long plateau
        [1.0, 0.9, 0.8] + [0.8 * (1 - 5e-5)] * 30,             # gains below the relative threshold
        list(1 + 0.1 * np.sin(np.arange(60))),                 # oscillates
    ]
    for _ in range(6):
        steps = rng.choice([-0.05, 0.0, 0.0, 0.02], size=80)   # plateaus interleaved with drops
        seqs.append(list(np.maximum(2.0 + np.cumsum(steps), 0.01) + rng.normal(scale=1e-3, size=80)))
    return seqs


SETTINGS = [
    dict(factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0.0),   # torch's defaults
    dict(factor=0.5, patience=0, threshold=1e-4, cooldown=0, min_lr=0.0),
    dict(factor=0.5, patience=2, threshold=1e-3, cooldown=3, min_lr=0.0),
    dict(factor=0.3, patience=1, threshold=0.0, cooldown=1, min_lr=0.01),     # min_lr reached
    dict(factor=0.9, patience=3, threshold=1e-2, cooldown=2, min_lr=0.05),
]


def assert_matches_torch(torch, metrics, lr0, **kwargs):
    t_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr0)
    t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kwargs)
    ours = ReduceLROnPlateau(SimpleNamespace(lr=lr0), **kwargs)
    for m in metrics:
        t_sched.step(m)
        lr = ours.step(m)
        assert lr == t_opt.param_groups[0]["lr"] == ours.optimizer.lr == ours.last_lr
        assert ours.best == t_sched.best
        assert ours.num_bad_epochs == t_sched.num_bad_epochs
        assert ours.cooldown_counter == t_sched.cooldown_counter
    return ours


@pytest.mark.parametrize("kwargs", SETTINGS)
@pytest.mark.parametrize("i", range(len(metric_sequences())))
def test_reduce_on_plateau_matches_torch(i, kwargs):
    torch = pytest.importorskip("torch")
    metrics = metric_sequences()[i]
    ours = assert_matches_torch(torch, metrics, 0.1, **kwargs)
    assert len(ours.history) == len(metrics)


def test_reduce_on_plateau_reaches_min_lr_and_stays():
    torch = pytest.importorskip("torch")
    ours = assert_matches_torch(torch, [1.0] * 30, 0.1, factor=0.5, patience=0, min_lr=0.02)
    assert ours.history[0] == 0.1            # the first call sets the baseline
    assert ours.history[1] == 0.05           # one bad epoch > patience 0: cut
    assert ours.history[-1] == 0.02          # floored at min_lr
    assert ours.history[:4] == [0.1, 0.05, 0.025, 0.02]


@settings(max_examples=60, deadline=None)
@given(metrics=st.lists(st.sampled_from([0.5, 0.8, 1.0, 1.0, 1.0, 1.2, 0.79995]), min_size=1, max_size=40),
       factor=st.sampled_from([0.1, 0.5, 0.9]), patience=st.integers(0, 4), cooldown=st.integers(0, 3),
       min_lr=st.sampled_from([0.0, 1e-3, 0.04]), threshold=st.sampled_from([0.0, 1e-4, 0.1]))
def test_reduce_on_plateau_matches_torch_property(metrics, factor, patience, cooldown, min_lr, threshold):
    torch = pytest.importorskip("torch")
    assert_matches_torch(torch, metrics, 0.1, factor=factor, patience=patience, cooldown=cooldown,
                         min_lr=min_lr, threshold=threshold)


@settings(max_examples=300, deadline=None)
@given(metrics=st.lists(st.one_of(st.sampled_from([0.5, 0.8, 1.0, 1.0, 1.0, 1.2, 0.79995, -0.3, 0.0, np.nan]),
                                  st.floats(-2, 2)), min_size=1, max_size=50),
       mode=st.sampled_from(["min", "max"]), threshold_mode=st.sampled_from(["rel", "abs"]),
       factor=st.sampled_from([0.1, 0.5, 0.9]), patience=st.integers(0, 4), cooldown=st.integers(0, 3),
       min_lr=st.sampled_from([0.0, 1e-3, 0.04]), threshold=st.sampled_from([0.0, 1e-4, 0.1, 0.5]),
       eps=st.sampled_from([0.0, 1e-8, 1e-3]))
def test_reduce_on_plateau_matches_torch_in_every_mode(metrics, mode, threshold_mode, factor, patience, cooldown,
                                                        min_lr, threshold, eps):
    """issue 13, item 10: torch's four forms, nan metrics and ties included (floats drawn from a few values)."""
    torch = pytest.importorskip("torch")
    assert_matches_torch(torch, metrics, 0.1, mode=mode, threshold_mode=threshold_mode, factor=factor,
                         patience=patience, cooldown=cooldown, min_lr=min_lr, threshold=threshold, eps=eps)


def test_max_mode_is_not_min_mode_on_the_negated_metric():
    torch = pytest.importorskip("torch")
    metrics = [1.0, 1.05, 1.08, 1.1]  # rising by less than 10% of the best each time
    maximize = assert_matches_torch(torch, metrics, 0.1, mode="max", threshold=0.1, patience=0)
    negated = assert_matches_torch(torch, [-m for m in metrics], 0.1, mode="min", threshold=0.1, patience=0)
    assert maximize.history != negated.history


def test_eps_zero_takes_the_rate_to_zero_and_the_optimizer_keeps_stepping():
    torch = pytest.importorskip("torch")
    ours = assert_matches_torch(torch, [1.0] * 1200, 0.1, factor=0.5, patience=0, eps=0.0)
    assert ours.last_lr == 0.0  # 0.1 halved until it underflows, as in torch
    opt, theta = SGD(lr=0.1), np.array([1.0, -2.0])
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=0, eps=0.0)
    for _ in range(1200):
        sched.step(1.0)
        opt.step(theta, lambda x: x)  # never raises, even at lr = 0
    assert opt.lr == 0.0 and np.all(np.isfinite(theta))
    before = theta.copy()
    opt.step(theta, lambda x: x)
    np.testing.assert_array_equal(theta, before)


def test_reduce_on_plateau_works_with_an_optlib_optimizer():
    opt = SGD(lr=0.1)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    for m in [1.0, 1.0, 1.0]:
        sched.step(m)
    assert opt.lr == 0.05
    assert sched.history == [0.1, 0.1, 0.05]


def test_reduce_on_plateau_refuses_a_schedule_lr():
    with pytest.raises(ValueError, match="optimizer"):
        ReduceLROnPlateau(SGD(lr=exponential_decay(0.1, 0.01)))
    with pytest.raises(ValueError, match="optimizer"):
        ReduceLROnPlateau(object())
    holder = SimpleNamespace(lr=0.1)
    sched = ReduceLROnPlateau(holder)
    holder.lr = constant(0.1)
    with pytest.raises(ValueError, match="optimizer"):
        sched.step(1.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(factor=1.0), "factor"),
    (dict(factor=0.0), "factor"),
    (dict(factor=-0.5), "factor"),
    (dict(patience=-1), "patience"),
    (dict(patience=1.5), "patience"),
    (dict(threshold=-1e-4), "threshold"),
    (dict(cooldown=-1), "cooldown"),
    (dict(cooldown=0.5), "cooldown"),
    (dict(min_lr=-0.1), "min_lr"),
    (dict(mode="maximize"), "mode"),
    (dict(threshold_mode="relative"), "threshold_mode"),
    (dict(eps=-1e-8), "eps"),
])
def test_reduce_on_plateau_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ReduceLROnPlateau(SimpleNamespace(lr=0.1), **kwargs)
