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


def test_compact_png_is_the_same_picture_in_a_fraction_of_the_bytes():
    import io

    import PIL.Image

    fig, ax = plt.subplots()
    plotting.paths(booth, {"SGD": minimize(booth, booth.start, SGD(0.05), 30).x}, ax)
    full = io.BytesIO()
    fig.savefig(full, format="png", bbox_inches="tight")
    compact = plotting.compact_png(fig)
    plt.close(fig)
    original, quantized = (PIL.Image.open(io.BytesIO(data)) for data in (full.getvalue(), compact))
    assert quantized.mode == "P" and len(quantized.getpalette()) // 3 <= 256
    assert quantized.size == original.size
    error = np.abs(np.asarray(quantized.convert("RGBA"), float) - np.asarray(original.convert("RGBA"), float))
    assert error.mean() < 3 and np.mean(error > 32) < 0.001  # to the eye the same picture
    assert len(compact) < 0.5 * len(full.getvalue())


def test_use_style_shows_notebook_figures_as_compact_png():
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell.instance()
    try:
        plotting.use_style()
        formatter = shell.display_formatter.formatters["image/png"]
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        assert formatter.lookup(fig) is plotting.compact_png
        assert formatter(fig) == plotting.compact_png(fig)
        plt.close(fig)
    finally:
        shell.display_formatter.formatters["image/png"].pop(Figure, None)
        InteractiveShell.clear_instance()


def test_a_notebook_that_calls_use_style_shows_its_figures_as_compact_png(tmp_path):
    """In a real kernel with the inline backend (which registers its own PNG formatter when it loads)."""
    import base64
    import io

    import nbformat
    import PIL.Image
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "import matplotlib.pyplot as plt\nfrom optlib import plotting\nplotting.use_style()",
        "plt.plot([0, 1], [1, 0])\nplt.show()")])
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    pngs = [output["data"]["image/png"] for output in nb.cells[1].outputs if "image/png" in output.get("data", {})]
    assert len(pngs) == 1
    assert PIL.Image.open(io.BytesIO(base64.b64decode(pngs[0]))).mode == "P"
