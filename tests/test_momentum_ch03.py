"""Chapter 3's statements about PyTorch's momentum, checked against torch.optim.SGD itself.

The chapter shows them with a numpy transcription of ``torch/optim/sgd.py`` (readers need not install
torch); here the real optimizer, with a real scheduler, runs the chapter's problem: Rosenbrock's function
from its classic start, with a step decay that halves the rate every 100 steps.

- a constant rate: ``SGD(lr, momentum=mu)`` is note 1's ``Momentum(lr, mu)``;
- under a schedule it rescales its whole buffer, so it is note 2's ``EMAMomentum`` with ``beta = mu`` and
  ``eta_t = lr_t / (1 - mu)``, and no longer note 1 with ``alpha_t = lr_t``;
- ``dampening=beta`` is not note 2: its first buffer is the raw gradient, so its first step is
  ``1 / (1 - beta)`` times note 2's;
- ``nesterov=True`` holds note 1's look-ahead points ``theta - mu u``.
"""
import numpy as np
import pytest

from optlib import EMAMomentum, Momentum, Nesterov, rosenbrock, step_decay

MU, LR, STEPS, EVERY = 0.9, 0.001, 400, 100


def torch_path(torch, steps, scheduler=None, **sgd):
    """The parameters after each step of torch.optim.SGD(**sgd) on Rosenbrock (float64)."""
    p = torch.tensor(rosenbrock.start.copy(), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], **sgd)
    sched = scheduler(opt) if scheduler else None
    path = []
    for _ in range(steps):
        opt.zero_grad()
        p.grad = torch.from_numpy(rosenbrock.grad(p.detach().numpy().copy()))
        opt.step()
        if sched:
            sched.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def optlib_path(optimizer, steps, look_ahead=False):
    theta, path = rosenbrock.start.copy(), []
    for _ in range(steps):
        optimizer.step(theta, rosenbrock.grad)
        path.append(theta - optimizer.mu * optimizer.u if look_ahead else theta.copy())
    return np.array(path)


def test_constant_rate_is_note_1():
    torch = pytest.importorskip("torch")
    theirs = torch_path(torch, STEPS, lr=LR, momentum=MU)
    np.testing.assert_allclose(optlib_path(Momentum(LR, MU), STEPS), theirs, rtol=1e-12, atol=1e-14)


def test_under_step_decay_it_is_note_2_and_not_note_1():
    torch = pytest.importorskip("torch")
    step_lr = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=EVERY, gamma=0.5)  # noqa: E731
    theirs = torch_path(torch, STEPS, step_lr, lr=LR, momentum=MU)
    note2 = optlib_path(EMAMomentum(step_decay(LR / (1 - MU), 0.5, EVERY), beta=MU), STEPS)
    note1 = optlib_path(Momentum(step_decay(LR, 0.5, EVERY), MU), STEPS)
    np.testing.assert_allclose(note2, theirs, rtol=1e-12, atol=1e-14)
    # note 1 keeps its velocity at a drop: the same up to the first drop, then apart (the chapter: 0.019)
    np.testing.assert_allclose(note1[:EVERY], theirs[:EVERY], rtol=1e-12, atol=1e-14)
    assert np.abs(note1 - theirs).max() > 1e-2


def test_dampening_first_step_is_1_over_1_minus_beta_times_note_2():
    torch = pytest.importorskip("torch")
    theirs = torch_path(torch, 1, lr=0.01, momentum=MU, dampening=MU)[0] - rosenbrock.start
    ours = optlib_path(EMAMomentum(0.01, beta=MU), 1)[0] - rosenbrock.start
    np.testing.assert_allclose(theirs / ours, 1 / (1 - MU), rtol=1e-12)


def test_nesterov_parameters_are_note_1_look_ahead_points():
    torch = pytest.importorskip("torch")
    theirs = torch_path(torch, 1500, lr=LR, momentum=MU, nesterov=True)
    phi = optlib_path(Nesterov(LR, MU), 1500, look_ahead=True)
    np.testing.assert_allclose(phi, theirs, rtol=1e-12, atol=1e-12)
    assert np.abs(optlib_path(Nesterov(LR, MU), 1500) - theirs).max() > 0.1  # not the iterates themselves
