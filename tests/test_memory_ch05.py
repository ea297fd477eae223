"""Chapter 5's state table against an independent reference: the state torch.optim keeps.

After one step on a float32 parameter of P entries, the parameter-sized tensors in
``optimizer.state[p]`` must take the bytes optlib's ``state_nbytes`` reports, which is note 1's
memory line k P s (k = 0 for SGD, 1 for momentum, Nesterov, Adagrad and RMSProp, 2 for Adam).
torch keeps one more number, the step count, which is not parameter-sized.
"""
from __future__ import annotations

import numpy as np
import pytest

import optlib

P = 1000
NOTES_K = {"SGD": 0, "Momentum": 1, "Nesterov": 1, "Adagrad": 1, "RMSProp": 1, "Adam": 2}
WITH_TORCH = [name for name, cls in optlib.OPTIMIZERS.items()
              if cls(lr=0.01).torch_equivalent() is not None]


def torch_state_bytes(torch, name: str, steps: int = 1, **kwargs) -> tuple[int, int]:
    """(bytes of parameter-sized state tensors, number of other state entries) after ``steps`` steps."""
    p = torch.zeros(P, dtype=torch.float32, requires_grad=True)
    opt = getattr(torch.optim, name)([p], lr=0.01, foreach=False, **kwargs)
    for _ in range(steps):
        p.grad = torch.ones(P, dtype=torch.float32)
        opt.step()
    state = opt.state[p]
    sized = [t for t in state.values() if torch.is_tensor(t) and t.numel() == P]
    return sum(t.numel() * t.element_size() for t in sized), len(state) - len(sized)


def optlib_state_bytes(name: str) -> int:
    opt = optlib.make(name, 0.01)
    opt.step(np.zeros(P, dtype=np.float32), lambda th: np.ones_like(th))
    return opt.state_nbytes


@pytest.mark.parametrize("name", WITH_TORCH)
def test_torch_keeps_the_state_bytes_optlib_counts(name):
    torch = pytest.importorskip("torch")
    torch_name, kwargs = optlib.make(name, 0.01).torch_equivalent()
    sized_bytes, others = torch_state_bytes(torch, torch_name, **kwargs)
    assert sized_bytes == optlib_state_bytes(name)
    assert others <= 2  # the step count (and NAdam's running product): numbers, not arrays


@pytest.mark.parametrize("name", sorted(NOTES_K))
def test_the_notes_optimizers_keep_k_arrays_in_torch(name):
    torch = pytest.importorskip("torch")
    torch_name, kwargs = optlib.make(name, 0.01).torch_equivalent()
    sized_bytes, _ = torch_state_bytes(torch, torch_name, **kwargs)
    assert sized_bytes == NOTES_K[name] * P * 4


def test_torch_variants_keep_one_array_more():
    """RMSprop(centered=True) keeps the mean gradient too; Adam(amsgrad=True) the running max of v."""
    torch = pytest.importorskip("torch")
    assert torch_state_bytes(torch, "RMSprop", centered=True)[0] == 2 * P * 4
    assert torch_state_bytes(torch, "Adam", amsgrad=True)[0] == 3 * P * 4


def test_the_state_stays_the_same_size_over_steps():
    torch = pytest.importorskip("torch")
    assert torch_state_bytes(torch, "Adam", steps=5)[0] == 2 * P * 4
