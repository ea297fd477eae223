"""Tests of optlib.training: batch / stochastic / mini-batch, penalties, schedules, the history."""
import numpy as np
import pytest

from optlib import data
from optlib.models import MLP, LinearRegression, SoftmaxRegression
from optlib.optimizers import SGD, Adam, Momentum
from optlib.training import accuracy, train

X, Y, W_TRUE = data.linear_regression_data(40, 3, noise=0.3, seed=0, bias=0.5)


# --- the three rules -------------------------------------------------------------------------------

def test_batch_gd_is_one_full_batch_step_per_epoch():
    model, hand = LinearRegression(3, seed=1), LinearRegression(3, seed=1)
    history = train(model, X, Y, SGD(0.1), epochs=5)
    theta, losses = hand.params.copy(), []
    for _ in range(5):  # w <- w - lr * (1/n) sum_i grad L_i(w): the full-set mean gradient
        theta = theta - 0.1 * hand.loss_and_grad(theta, X, Y)[1]
        losses.append(hand.loss(X, Y, params=theta))
    np.testing.assert_array_equal(model.params, theta)
    assert history.updates == [1, 2, 3, 4, 5]
    assert history.examples_seen == [40, 80, 120, 160, 200]
    assert history.train_loss == losses
    assert len(history.update_loss) == 5 and history.val_loss is None
    assert history.initial_train_loss == hand.loss(X, Y) and history.update_loss[0] == hand.loss(X, Y)
    # batch_size = n is the same rule.
    again = LinearRegression(3, seed=1)
    train(again, X, Y, SGD(0.1), epochs=5, batch_size=40)
    np.testing.assert_array_equal(again.params, theta)


@pytest.mark.parametrize("batch_size", [1, 7])
def test_stochastic_and_minibatch_match_a_hand_loop(batch_size):
    labels = (X[:, 0] + X[:, 1] > 0).astype(int)
    model, hand = SoftmaxRegression(3, 2, seed=2), SoftmaxRegression(3, 2, seed=2)
    history = train(model, X, labels, Momentum(0.05), epochs=3, batch_size=batch_size, seed=11)
    optimizer, rng, updates = Momentum(0.05), np.random.default_rng(11), 0
    for _ in range(3):
        order = rng.permutation(40)
        for lo in range(0, 40, batch_size):  # the last partial batch (40 = 5*7 + 5) is kept
            idx = order[lo:lo + batch_size]
            optimizer.step(hand.params, lambda t: hand.loss_and_grad(t, X[idx], labels[idx])[1])
            updates += 1
    np.testing.assert_array_equal(model.params, hand.params)
    per_epoch = -(-40 // batch_size)
    assert history.updates == [per_epoch, 2 * per_epoch, 3 * per_epoch] and updates == 3 * per_epoch
    assert len(history.update_loss) == updates
    assert history.examples_seen == [40, 80, 120]


def test_batch_gd_converges_to_least_squares():
    model = LinearRegression(3, seed=0)
    train(model, X, Y, SGD(0.1), epochs=1000)
    design = np.column_stack([X, np.ones(len(X))])
    solution, *_ = np.linalg.lstsq(design, Y, rcond=None)
    np.testing.assert_allclose(model.params, solution, rtol=0, atol=1e-6)


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_penalty_gradient_is_added_on_weights_only(penalty):
    lam, lr = 0.3, 0.1
    model, hand = LinearRegression(3, seed=1), LinearRegression(3, seed=1)
    history = train(model, X, Y, SGD(lr), epochs=1, penalty=penalty, lam=lam)
    theta = hand.params.copy()
    w = theta[:3]  # the bias theta[3] is not penalized
    pen_grad = 2 * lam * w if penalty == "l2" else lam * np.sign(w)
    expected = theta - lr * (hand.loss_and_grad(theta, X, Y)[1] + np.append(pen_grad, 0.0))
    np.testing.assert_allclose(model.params, expected, rtol=1e-15, atol=1e-15)
    w_new = model.params[:3]
    pen = lam * np.sum(w_new ** 2) if penalty == "l2" else lam * np.sum(np.abs(w_new))
    assert history.penalty == [pytest.approx(pen, rel=1e-14)]


def test_l1_makes_weights_sparse_and_l2_shrinks_them():
    Xs, ys, _ = data.linear_regression_data(60, 5, noise=0.1, seed=4)
    lr, lam, weights = 0.01, 1.2, {}
    for penalty in [None, "l2", "l1"]:
        model = LinearRegression(5, seed=0)
        train(model, Xs, ys, SGD(lr), epochs=1000, penalty=penalty, lam=lam if penalty else 0.0)
        weights[penalty] = np.abs(model.params[:5])
    assert np.all(weights["l2"] < weights[None])  # every weight shrinks, none reaches 0
    near_zero = {k: int(np.sum(w < 2 * lr * lam)) for k, w in weights.items()}  # subgradient jitter
    assert near_zero[None] == near_zero["l2"] == 0 and near_zero["l1"] >= 2


# --- history, schedule, callback, divergence ------------------------------------------------------

def test_validation_schedule_and_callback():
    Xt, yt, Xv, yv = data.train_val_split(X, Y, 0.25, seed=0)
    seen, calls = [], []

    class Recorder:  # the part of ReduceLROnPlateau that train uses
        def step(self, metric):
            seen.append(metric)

    model = LinearRegression(3, seed=0)
    history = train(model, Xt, yt, SGD(0.05), epochs=6, batch_size=4, X_val=Xv, y_val=yv,
                    schedule=Recorder(), callback=lambda e, m, h: calls.append(e) or e == 4)
    assert calls == [1, 2, 3, 4] and history.epochs == 4  # returning True stopped after epoch 4
    assert seen == history.val_loss and len(seen) == 4
    assert history.val_loss[-1] == model.loss(Xv, yv)
    assert np.all(np.diff(history.seconds) >= 0) and history.seconds[0] >= 0
    assert history.lr == [0.05] * 4


def test_reduce_on_plateau_lowers_the_rate():
    schedules = pytest.importorskip("optlib.schedules")
    optimizer = SGD(0.05)
    plateau = schedules.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    history = train(LinearRegression(3, seed=0), X, Y, optimizer, epochs=200, schedule=plateau)
    assert optimizer.lr < 0.05 and history.lr[-1] <= 0.05 * 0.5


def test_divergence_is_reported():
    history = train(LinearRegression(3, seed=0), X, Y, SGD(50.0), epochs=500)
    assert history.diverged
    assert history.epochs < 500 and all(np.isfinite(history.update_loss))


def test_mlp_learns_the_moons():
    Xm, ym = data.moons(200, noise=0.1, seed=0)
    model = MLP([2, 16, 16, 2], activation="tanh", seed=0)
    history = train(model, Xm, ym, Adam(0.02), epochs=60, batch_size=32, seed=0)
    assert history.train_loss[-1] < 0.5 * history.initial_train_loss
    assert accuracy(model, Xm, ym) > 0.95


def test_accuracy_counts_matches():
    model = SoftmaxRegression(1, 2, seed=0)
    model.W[...] = [[-1.0, 1.0]]  # predicts class 1 exactly when x > 0
    model.b[...] = 0.0
    assert accuracy(model, np.array([[-2.0], [-1.0], [1.0], [3.0]]), np.array([0, 1, 1, 0])) == 0.5


@pytest.mark.parametrize("kwargs, name", [
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=41), "batch_size"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(epochs=0), "epochs"),
    (dict(epochs=1.5), "epochs"),
    (dict(penalty="l3"), "penalty"),
    (dict(penalty="l2", lam=-1.0), "lam"),
    (dict(lam=0.1), "lam"),
    (dict(X_val=X), "X_val"),
])
def test_bad_arguments_are_refused(kwargs, name):
    args = dict(epochs=1) | kwargs
    with pytest.raises(ValueError, match=name):
        train(LinearRegression(3), X, Y, SGD(0.1), **args)


def test_first_epoch_at_or_below_a_tolerance():
    model = LinearRegression(3, seed=0)
    design = np.column_stack([X, np.ones(len(X))])
    solution, *_ = np.linalg.lstsq(design, Y, rcond=None)
    best = model.loss(X, Y, params=solution)  # the least-squares loss: f* of this regression
    history = train(model, X, Y, SGD(0.1), epochs=60)
    e = history.first_epoch(1e-3, best)
    excess = np.array(history.train_loss) - best
    assert e is not None and excess[e - 1] <= 1e-3 and np.all(excess[:e - 1] > 1e-3)  # epochs count from 1
    assert history.first_epoch(-1.0, best) is None
    assert history.first_epoch(np.inf) == 1
    with pytest.raises(ValueError, match="val"):
        history.first_epoch(1.0, loss="val")
    with pytest.raises(ValueError, match="loss"):
        history.first_epoch(1.0, loss="test")
    with_val = train(LinearRegression(3, seed=0), X, Y, SGD(0.1), epochs=5, X_val=X[:10], y_val=Y[:10])
    v = with_val.first_epoch(np.inf, loss="val")
    assert v == 1
