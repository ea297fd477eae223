"""The practice chapters' schedules (warmup, cosine, SGDR, 1/t, sequential) against their closed forms and
against torch.optim.lr_scheduler, step by step, in float64."""
import math

import pytest

from optlib.optimizers import SGD
from optlib.schedules import (cosine_annealing, cosine_warm_restarts, inverse_time_decay, linear_warmup,
                              sequential, warmup_cosine)


def torch_rates(make_scheduler, lr0, steps):
    """The rate a torch scheduler gives at steps 0, ..., steps - 1 (one scheduler.step() per step)."""
    torch = pytest.importorskip("torch")
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr0)
    scheduler = make_scheduler(torch.optim.lr_scheduler, optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def assert_same_rates(ours, theirs, rel=1e-12):
    for t, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, rel=rel, abs=1e-15), f"step {t}: optlib {a!r}, torch {b!r}"


# --- closed forms -------------------------------------------------------------------------------------

def test_linear_warmup_closed_form():
    s = linear_warmup(1.0, 4, start_factor=0.2)
    assert [s(t) for t in range(7)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0], rel=1e-15)


def test_cosine_annealing_closed_form_and_hold():
    s = cosine_annealing(1.0, 4, eta_min=0.1)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    assert [s(t) for t in range(5)] == pytest.approx(expected, rel=1e-15)
    assert s(2) == pytest.approx(0.55) and s(4) == pytest.approx(0.1)
    assert s(5) == s(100) == s(4)            # holds eta_min after T_max (torch would rise again)


def test_cosine_warm_restarts_restarts_at_lr0():
    s = cosine_warm_restarts(1.0, T_0=3, T_mult=2)
    # cycles of 3, 6, 12 steps: restarts at t = 3 and t = 9
    assert s(0) == s(3) == s(9) == 1.0
    assert s(2) == pytest.approx((1 + math.cos(2 * math.pi / 3)) / 2)
    assert s(8) == pytest.approx((1 + math.cos(5 * math.pi / 6)) / 2)


def test_inverse_time_decay_halves_at_one_over_k_and_satisfies_robbins_monro():
    s = inverse_time_decay(0.5, 0.1)
    assert s(0) == 0.5 and s(10) == 0.25
    partial = [sum(s(t) for t in range(10 ** e)) for e in (3, 4)]
    assert partial[1] - partial[0] == pytest.approx(0.5 / 0.1 * math.log(10), rel=1e-2)   # grows like log t
    assert sum(s(t) ** 2 for t in range(10 ** 4)) < 0.5 ** 2 * (1 + 1 / 0.1)            # bounded


def test_sequential_restarts_each_schedule_at_its_milestone():
    s = sequential([inverse_time_decay(1.0, 1.0), linear_warmup(2.0, 2, 0.5)], [3])
    assert [s(t) for t in range(6)] == pytest.approx([1, 0.5, 1 / 3, 1.0, 1.5, 2.0])


def test_warmup_cosine_is_warmup_then_cosine():
    s = warmup_cosine(1.0, 5, 25, start_factor=0.1, eta_min=0.01)
    w, c = linear_warmup(1.0, 5, 0.1), cosine_annealing(1.0, 20, 0.01)
    assert [s(t) for t in range(26)] == [w(t) for t in range(5)] + [c(t) for t in range(21)]
    assert max(s(t) for t in range(26)) == s(5) == 1.0


@pytest.mark.parametrize("make, name", [
    (lambda: linear_warmup(0.1, 5, start_factor=0), "start_factor"),
    (lambda: linear_warmup(0.1, 0), "warmup_steps"),
    (lambda: linear_warmup(-0.1, 5), "lr0"),
    (lambda: cosine_annealing(0.1, 10, eta_min=0.2), "eta_min"),
    (lambda: cosine_annealing(0.1, 2.5), "T_max"),
    (lambda: cosine_warm_restarts(0.1, 10, T_mult=0), "T_mult"),
    (lambda: inverse_time_decay(0.1, -1), "k"),
    (lambda: sequential([inverse_time_decay(0.1, 1)], [3]), "milestones"),
    (lambda: sequential([inverse_time_decay(0.1, 1), 0.3], [3]), "schedules"),
    (lambda: sequential([inverse_time_decay(0.1, 1)] * 3, [5, 5]), "milestones"),
    (lambda: warmup_cosine(0.1, 10, 10), "total_steps"),
])
def test_bad_arguments_are_refused_by_name(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_reprs_and_use_as_an_optimizer_rate():
    assert repr(inverse_time_decay(0.1, 0.5)) == "inverse_time_decay(lr0=0.1, k=0.5)"
    assert repr(cosine_annealing(0.1, 10)) == "cosine_annealing(lr0=0.1, T_max=10, eta_min=0.0)"
    opt = SGD(lr=warmup_cosine(0.1, 2, 10))
    assert opt.lr_at(0) == pytest.approx(0.001) and opt.lr_at(2) == 0.1


# --- against torch.optim.lr_scheduler -----------------------------------------------------------------

def test_linear_warmup_matches_torch_linear_lr():
    theirs = torch_rates(lambda S, o: S.LinearLR(o, start_factor=0.01, end_factor=1.0, total_iters=50), 0.3, 80)
    assert_same_rates([linear_warmup(0.3, 50, 0.01)(t) for t in range(80)], theirs)


def test_cosine_annealing_matches_torch_up_to_t_max():
    theirs = torch_rates(lambda S, o: S.CosineAnnealingLR(o, T_max=100, eta_min=1e-3), 0.2, 101)
    assert_same_rates([cosine_annealing(0.2, 100, 1e-3)(t) for t in range(101)], theirs)


def test_cosine_warm_restarts_matches_torch():
    theirs = torch_rates(lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=1e-4), 0.1, 120)
    assert_same_rates([cosine_warm_restarts(0.1, 7, 2, 1e-4)(t) for t in range(120)], theirs)


def test_inverse_time_decay_matches_torch_lambda_lr():
    theirs = torch_rates(lambda S, o: S.LambdaLR(o, lambda t: 1 / (1 + 0.05 * t)), 0.4, 200)
    assert_same_rates([inverse_time_decay(0.4, 0.05)(t) for t in range(200)], theirs)


def test_warmup_cosine_matches_torch_sequential_lr():
    def make(S, o):
        warmup = S.LinearLR(o, start_factor=0.01, end_factor=1.0, total_iters=30)
        cosine = S.CosineAnnealingLR(o, T_max=170, eta_min=1e-5)
        return S.SequentialLR(o, [warmup, cosine], milestones=[30])

    theirs = torch_rates(make, 0.05, 200)
    assert_same_rates([warmup_cosine(0.05, 30, 200, 0.01, 1e-5)(t) for t in range(200)], theirs)
