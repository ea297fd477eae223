"""The plotting helpers: the book's colours and figures that carry what the chapters promise."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from optlib import SGD, Adam, booth, minimize  # noqa: E402
from optlib import plotting  # noqa: E402


def test_each_optimizer_keeps_its_colour_whatever_the_label_says():
    assert plotting.color_for("Adam") == plotting.COLORS["Adam"]
    assert plotting.color_for("Adagrad: rare features") == plotting.COLORS["Adagrad"]
    assert plotting.color_for("Momentum (note 1)") == plotting.COLORS["Momentum"]
    assert plotting.color_for("something else", 3) == "C3"


def test_paths_draws_every_trajectory_with_title_labels_and_legend():
    runs = {name: minimize(booth, booth.start, opt, 20).x for name, opt in [("SGD", SGD(0.05)), ("Adam", Adam(0.5))]}
    fig, ax = plt.subplots()
    plotting.paths(booth, runs, ax)
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"SGD", "Adam", "minimum"} <= set(labels)
    sgd_line = ax.get_lines()[labels.index("SGD")]
    np.testing.assert_array_equal(sgd_line.get_xydata(), runs["SGD"])
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    plt.close(fig)


def test_loss_curves_on_a_log_scale():
    fig, ax = plt.subplots()
    plotting.loss_curves({"SGD": [1.0, 0.1, 0.01]}, ax, title="t")
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [1.0, 0.1, 0.01])
    plt.close(fig)
