"""Chapter 4's statements about PyTorch's adaptive optimizers, checked against torch.optim itself.

The chapter's conventions table says which defaults differ between optlib and PyTorch (so that the same
named settings are not the same run), and that with the same settings the methods agree.
"""
import inspect

import numpy as np
import pytest

from optlib import Adagrad, Adam, RMSProp


def default(cls, name):
    return inspect.signature(cls).parameters[name].default


def test_the_defaults_the_chapter_states():
    torch = pytest.importorskip("torch")
    # RMSProp: optlib's beta = 0.9 (Tieleman and Hinton), PyTorch's alpha = 0.99; eps 1e-8 in both
    assert default(RMSProp, "beta") == 0.9 and default(torch.optim.RMSprop, "alpha") == 0.99
    assert default(RMSProp, "eps") == default(torch.optim.RMSprop, "eps") == 1e-8
    # Adagrad: optlib's eps = 1e-8, PyTorch's 1e-10; both start the cache at 0
    assert default(Adagrad, "eps") == 1e-8 and default(torch.optim.Adagrad, "eps") == 1e-10
    assert default(torch.optim.Adagrad, "initial_accumulator_value") == 0
    # Adam: the same betas and eps
    assert default(torch.optim.Adam, "betas") == (default(Adam, "beta1"), default(Adam, "beta2"))
    assert default(Adam, "eps") == default(torch.optim.Adam, "eps") == 1e-8


def test_with_the_defaults_of_each_rmsprop_differs_and_with_the_same_settings_it_agrees():
    torch = pytest.importorskip("torch")
    target = np.array([1.0, -2.0, 0.5])

    def grad(x):
        return 2 * (x - target) * np.array([1.0, 10.0, 0.1])

    def run_torch(**settings):
        p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.RMSprop([p], lr=0.01, **settings)
        for _ in range(50):
            opt.zero_grad()
            p.grad = torch.from_numpy(grad(p.detach().numpy().copy()))
            opt.step()
        return p.detach().numpy()

    def run_ours(optimizer):
        theta = np.zeros(3)
        for _ in range(50):
            optimizer.step(theta, grad)
        return theta

    np.testing.assert_allclose(run_ours(RMSProp(0.01, beta=0.99)), run_torch(), rtol=1e-10, atol=1e-12)
    assert np.abs(run_ours(RMSProp(0.01)) - run_torch()).max() > 1e-2      # beta 0.9 against 0.99
