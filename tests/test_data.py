"""Tests of optlib.data: the data sets are what their docstrings say, and determined by the seed."""
import numpy as np
import pytest

from optlib import data


def test_linear_regression_data():
    Xd, yd, w = data.linear_regression_data(30, 4, noise=0.0, seed=1, bias=2.0)
    assert Xd.shape == (30, 4) and yd.shape == (30,) and w.shape == (4,)
    np.testing.assert_allclose(yd, Xd @ w + 2.0, rtol=1e-15)
    noisy = data.linear_regression_data(2000, 2, noise=0.5, seed=1)
    assert np.std(noisy[1] - noisy[0] @ noisy[2]) == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("make", [
    lambda seed: data.linear_regression_data(20, 3, 0.1, seed),
    lambda seed: data.moons(21, 0.1, seed),
    lambda seed: data.sparse_features(20, 6, 0.2, seed),
])
def test_data_is_determined_by_the_seed(make):
    first, again, other = make(5), make(5), make(6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_moons_are_balanced_and_on_unit_circles_without_noise():
    Xm, ym = data.moons(101, noise=0.0, seed=0)
    assert Xm.shape == (101, 2) and ym.shape == (101,) and set(ym.tolist()) == {0, 1}
    assert np.issubdtype(ym.dtype, np.integer)
    assert abs(np.sum(ym == 0) - np.sum(ym == 1)) <= 1
    upper, lower = Xm[ym == 0], Xm[ym == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0, rtol=1e-15)
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0.5)
    even = data.moons(100, noise=0.2, seed=0)[1]
    assert np.sum(even == 0) == np.sum(even == 1) == 50


def test_sparse_features_rare_columns():
    Xs, ys, w, rare = data.sparse_features(5000, 6, rare_prob=0.05, seed=0)
    assert rare.tolist() == [False] * 3 + [True] * 3
    active = (Xs != 0).mean(axis=0)
    np.testing.assert_array_equal(active[~rare], 1.0)
    np.testing.assert_allclose(active[rare], 0.05, atol=0.01)
    np.testing.assert_allclose(ys, Xs @ w, rtol=1e-15)
    with pytest.raises(ValueError, match="rare_prob"):
        data.sparse_features(10, 2, rare_prob=1.5)


def test_train_val_split_is_a_partition():
    Xi = np.arange(20.0).reshape(10, 2)
    yi = np.arange(10)
    Xt, yt, Xv, yv = data.train_val_split(Xi, yi, 0.3, seed=0)
    assert len(Xv) == 3 and len(Xt) == 7
    assert sorted(yt.tolist() + yv.tolist()) == list(range(10))
    np.testing.assert_array_equal(Xt[:, 0], 2 * yt)  # rows stay paired with their labels
    again = data.train_val_split(Xi, yi, 0.3, seed=0)
    np.testing.assert_array_equal(again[3], yv)
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(Xi, yi, 1.0)
    with pytest.raises(ValueError, match="same number"):
        data.train_val_split(Xi, yi[:5], 0.3)


def test_moons_split_partitions_one_draw_of_moons():
    Xt, yt, Xv, yv = data.moons_split(30, 200, noise=0.3, seed=1)
    assert Xt.shape == (30, 2) and yt.shape == (30,) and Xv.shape == (200, 2) and yv.shape == (200,)
    # training and validation together are exactly the points of one draw, each with its label
    X_all, y_all = data.moons(230, noise=0.3, seed=1)
    together = np.column_stack([np.vstack([Xt, Xv]), np.concatenate([yt, yv])])
    drawn = np.column_stack([X_all, y_all])
    np.testing.assert_array_equal(np.unique(together, axis=0), np.unique(drawn, axis=0))
    assert len(np.unique(together, axis=0)) == 230  # no example in both sets
    # without noise every point stays on its own class's half circle through the split
    Xt0, yt0, Xv0, yv0 = data.moons_split(9, 6, noise=0.0, seed=2)
    for Xs, ys in ((Xt0, yt0), (Xv0, yv0)):
        centres = np.where(ys[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
        np.testing.assert_allclose(np.linalg.norm(Xs - centres, axis=1), 1.0, rtol=1e-15)
    # the seed decides the draw and the split
    again, other = data.moons_split(30, 200, noise=0.3, seed=1), data.moons_split(30, 200, 0.3, seed=2)
    np.testing.assert_array_equal(again[0], Xt)
    assert not np.array_equal(other[0], Xt)


@pytest.mark.parametrize("n_train, n_val, name", [(0, 5, "n_train"), (5, 0, "n_val"), (2.5, 5, "n_train")])
def test_moons_split_refuses_empty_sets(n_train, n_val, name):
    with pytest.raises(ValueError, match=name):
        data.moons_split(n_train, n_val)
