"""The practice chapters' additions to optlib.training and optlib.data: clipping by global norm and the
update/weight ratio against torch, the learning-rate range test against a torch loop, train's new
clip_norm and step_callback arguments, and the digits."""
import subprocess
import sys

import numpy as np
import pytest

import optlib
from optlib.data import digits_split
from optlib.models import MLP
from optlib.optimizers import SGD, Adam, Momentum
from optlib.training import RangeTest, clip_grad_norm_, lr_range_test, train, update_ratios

RNG = np.random.default_rng(0)
X = RNG.standard_normal((48, 5))
LABELS = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)  # three classes


def torch_mlp(model):
    """A torch copy of an optlib ReLU MLP: its Linear layers, float64, same weights."""
    torch = pytest.importorskip("torch")
    layers = []
    for W, b in model.layers():
        lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))  # torch computes x @ weight.T
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)

    def loss(Xb, yb):
        h = torch.from_numpy(Xb)
        for lin in layers[:-1]:
            h = torch.relu(lin(h))
        return torch.nn.functional.cross_entropy(layers[-1](h), torch.from_numpy(yb))

    return torch, layers, loss


# --- clipping by global norm ------------------------------------------------------------------------

@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_grad_norm_matches_torch_including_the_returned_norm(max_norm):
    torch = pytest.importorskip("torch")
    grads = [RNG.standard_normal(s) for s in [(4, 3), (3,), (7,)]]
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    theirs = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    ours = clip_grad_norm_(grads, max_norm)
    assert ours == pytest.approx(theirs, rel=1e-9)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-9, atol=0)


def test_clipping_keeps_the_direction_and_caps_the_length():
    g = RNG.standard_normal(100) * 10
    original = g.copy()
    norm = clip_grad_norm_(g, 1.0)
    assert norm == pytest.approx(np.linalg.norm(original), rel=1e-12)
    assert np.linalg.norm(g) == pytest.approx(1.0, rel=1e-5)          # 1 / (1 + 1e-6 / norm)
    np.testing.assert_allclose(g / np.linalg.norm(g), original / norm, rtol=1e-12)
    short = RNG.standard_normal(10) * 1e-3
    kept = short.copy()
    clip_grad_norm_(short, 1.0)
    np.testing.assert_array_equal(short, kept)                          # shorter than c: untouched


def test_clipping_huge_and_bad_gradients():
    g = np.array([3e200, 4e200])                                       # the squares overflow
    assert clip_grad_norm_(g, 5.0) == pytest.approx(5e200, rel=1e-12)
    np.testing.assert_allclose(g, [3.0, 4.0], rtol=1e-12)
    bad = np.array([1.0, np.nan, 2.0])
    with pytest.raises(FloatingPointError):
        clip_grad_norm_(bad, 1.0)
    assert bad[0] == 1.0 and bad[2] == 2.0                              # left unchanged
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="grads"):
        clip_grad_norm_([np.ones(3, dtype=int)], 1.0)


def test_train_with_clip_norm_is_a_hand_loop_with_clipping():
    model, hand = MLP([5, 8, 3], seed=3), MLP([5, 8, 3], seed=3)
    history = train(model, X, LABELS, Momentum(0.5), epochs=2, batch_size=16, seed=4, clip_norm=0.3)
    optimizer, rng, norms = Momentum(0.5), np.random.default_rng(4), []

    def clipped(theta, idx):
        g = hand.loss_and_grad(theta, X[idx], LABELS[idx])[1]
        norms.append(clip_grad_norm_(g, 0.3))
        return g

    for _ in range(2):
        order = rng.permutation(48)
        for lo in range(0, 48, 16):
            idx = order[lo:lo + 16]
            optimizer.step(hand.params, lambda t: clipped(t, idx))
    np.testing.assert_array_equal(model.params, hand.params)
    assert history.grad_norm == norms and max(norms) > 0.3           # clipping was active


def test_train_records_gradient_norms_and_calls_step_callback_each_update():
    model, seen = MLP([5, 8, 3], seed=3), []

    def record(m, history):
        seen.append((len(history.update_loss), m.params.copy()))
        return len(history.update_loss) == 5                             # stop after 5 updates

    history = train(model, X, LABELS, SGD(0.1), epochs=3, batch_size=4, seed=0, step_callback=record)
    assert [k for k, _ in seen] == [1, 2, 3, 4, 5] and history.updates == [5] and history.epochs == 1
    assert history.examples_seen == [20]
    np.testing.assert_array_equal(seen[-1][1], model.params)
    fresh = MLP([5, 8, 3], seed=3)
    first = fresh.loss_and_grad(fresh.params, X[np.random.default_rng(0).permutation(48)[:4]],
                                LABELS[np.random.default_rng(0).permutation(48)[:4]])[1]
    assert history.grad_norm[0] == pytest.approx(np.linalg.norm(first), rel=1e-12)
    with pytest.raises(ValueError, match="clip_norm"):
        train(model, X, LABELS, SGD(0.1), epochs=1, clip_norm=-1.0)


# --- update / weight ratio ----------------------------------------------------------------------------

def test_update_ratios_match_a_torch_sgd_step():
    model = MLP([5, 8, 6, 3], seed=2)
    torch, layers, loss = torch_mlp(model)
    before = model.params.copy()
    SGD(0.05).step(model.params, lambda t: model.loss_and_grad(t, X, LABELS)[1])
    ours = update_ratios(model, before, model.params)

    old = [lin.weight.detach().clone() for lin in layers]
    loss(X, LABELS).backward()
    torch.optim.SGD([p for lin in layers for p in lin.parameters()], lr=0.05).step()
    theirs = [(torch.linalg.norm(lin.weight.detach() - w0) / torch.linalg.norm(w0)).item()
              for lin, w0 in zip(layers, old)]
    assert len(ours) == 3
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_update_ratio_formula_on_weights_only():
    model = MLP([2, 3, 2], seed=0)
    before = model.params.copy()
    after = before.copy()
    parts = model.unpack(after)
    parts["W1"][...] *= 1.01                     # moves W1 by exactly 1 % of its norm
    parts["b2"][...] += 5.0                      # biases do not count
    assert update_ratios(model, before, after) == pytest.approx([0.01, 0.0], abs=1e-15)


# --- the learning-rate range test ---------------------------------------------------------------------

def test_range_test_losses_match_a_torch_loop_with_a_geometric_lambda_lr():
    model = MLP([5, 8, 3], seed=5)
    torch, layers, loss = torch_mlp(model)
    before = model.params.copy()
    result = lr_range_test(model, X, LABELS, Adam(1e-3), lr_min=1e-4, lr_max=1.0, steps=30, batch_size=16,
                           seed=7, stop_factor=100.0)
    np.testing.assert_array_equal(model.params, before)                  # the model is left as it was

    params = [p for lin in layers for p in lin.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: (1.0 / 1e-4) ** (t / 29))
    rng, losses, lrs = np.random.default_rng(7), [], []
    while len(losses) < 30:
        order = rng.permutation(48)
        for lo in range(0, 48, 16):
            idx = order[lo:lo + 16]
            optimizer.zero_grad()
            value = loss(X[idx], LABELS[idx])
            value.backward()
            lrs.append(optimizer.param_groups[0]["lr"])
            losses.append(value.item())
            optimizer.step()
            scheduler.step()
    np.testing.assert_allclose(result.lrs, lrs, rtol=1e-12)
    np.testing.assert_allclose(result.losses, losses, rtol=1e-9)


def test_range_test_smoothing_stop_and_suggestions():
    model, optimizer = MLP([5, 16, 3], seed=1), SGD(0.123)
    result = lr_range_test(model, X, LABELS, optimizer, lr_min=1e-3, lr_max=1e4, steps=200, batch_size=8)
    assert optimizer.lr == 0.123 and optimizer.t == 0                    # the optimizer is restored
    # the bias-corrected moving average, recomputed
    s, expected = 0.0, []
    for t, value in enumerate(result.losses):
        s = 0.98 * s + 0.02 * value
        expected.append(s / (1 - 0.98 ** (t + 1)))
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-12)
    # it stopped early, once the smoothed loss passed 4 times its minimum (or stopped being finite)
    assert len(result.lrs) < 200
    last = result.smoothed[-1]
    assert not np.isfinite(last) or last > 4 * np.nanmin(result.smoothed[:-1])
    assert np.all(result.smoothed[:-1] <= 4 * np.minimum.accumulate(result.smoothed[:-1]))
    assert result.lrs[0] == 1e-3 and result.lrs[1] == pytest.approx(1e-3 * 1e7 ** (1 / 199))
    assert result.lr_steepest <= result.lr_at_minimum
    assert "RangeTest(" in repr(result)


def test_range_test_suggestions_on_a_known_curve():
    lrs = np.logspace(-4, 0, 41)
    curve = 2.0 - np.tanh(2 * (np.log10(lrs) + 2.5)) + 50 * lrs ** 2         # falls fastest at 10^-2.5
    result = RangeTest(lrs=lrs, losses=curve, smoothed=curve)
    assert result.lr_steepest == pytest.approx(10 ** -2.5)
    assert result.lr_at_minimum == lrs[np.argmin(curve)] and result.lr_at_minimum > 10 ** -2.5


@pytest.mark.parametrize("kwargs, name", [({"lr_max": 1e-6}, "lr_max"), ({"steps": 1}, "steps"),
                                          ({"stop_factor": 1.0}, "stop_factor"), ({"beta": 1.0}, "beta")])
def test_range_test_refuses_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        lr_range_test(MLP([5, 4, 3]), X, LABELS, SGD(0.1), **kwargs)


# --- the digits ---------------------------------------------------------------------------------------

def test_digits_split_is_a_scaled_partition_of_sklearns_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    pixels, labels = datasets.load_digits(return_X_y=True)
    X_tr, y_tr, X_va, y_va, X_te, y_te = digits_split()
    assert [len(a) for a in (X_tr, X_va, X_te)] == [1077, 360, 360]
    assert X_tr.shape[1] == 64 and 0.0 == X_tr.min() and X_tr.max() == 1.0
    together = np.vstack([X_tr, X_va, X_te]) * 16
    assert np.array_equal(np.sort(together.view(f"V{64 * 8}"), axis=0),
                          np.sort(np.ascontiguousarray(pixels, dtype=float).view(f"V{64 * 8}"), axis=0))
    order = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(X_te * 16, pixels[order[:360]])
    np.testing.assert_array_equal(y_tr, labels[order[720:]])
    assert set(np.unique(y_va)) == set(range(10))
    again = digits_split()
    assert all(np.array_equal(a, b) for a, b in zip(again, (X_tr, y_tr, X_va, y_va, X_te, y_te)))


def test_digits_split_does_not_import_sklearn():
    code = "import sys, optlib; optlib.digits_split(); print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    assert optlib.digits_split is digits_split


def test_digits_split_falls_back_to_load_digits_when_the_file_moves(monkeypatch, tmp_path):
    pytest.importorskip("sklearn.datasets")
    import importlib.util
    from types import SimpleNamespace

    find_spec = importlib.util.find_spec
    fake = SimpleNamespace(origin=str(tmp_path / "sklearn" / "__init__.py"))   # no data file there
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: fake if name == "sklearn" else find_spec(name, *a))
    moved = digits_split()
    monkeypatch.undo()
    assert all(np.array_equal(a, b) for a, b in zip(moved, digits_split()))


def test_digits_split_without_sklearn_says_what_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModuleNotFoundError, match="scikit-learn"):
        digits_split()
