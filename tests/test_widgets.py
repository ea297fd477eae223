"""The explorers: batched runs equal minimize's, overlays land where matplotlib draws, every frame is linked."""
import base64
import html
import io
import re
import urllib.parse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from optlib import SGD, Adam, Momentum, Nesterov, booth, curvature, minimize, quadratic, rosenbrock  # noqa: E402
from optlib import widgets  # noqa: E402


# --- minimize_over_lr -------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [SGD, lambda lr: Momentum(lr, 0.9), lambda lr: Nesterov(lr, 0.95)])
def test_runs_over_learning_rates_have_minimizes_iterates_bit_for_bit(make):
    lrs = [0.0003, 0.001, 0.002, 0.0035, 0.01]  # the largest ones blow up, at different steps
    batch = widgets.minimize_over_lr(rosenbrock, rosenbrock.start, make, lrs, 300)
    for lr, got in zip(lrs, batch):
        ref = minimize(rosenbrock, rosenbrock.start, make(lr), 300)
        assert got.diverged == ref.diverged and got.steps_taken == ref.steps_taken
        np.testing.assert_array_equal(got.x, ref.x)
        np.testing.assert_allclose(got.loss, ref.loss, rtol=1e-15, atol=0)  # (f of an array: last bit)
    assert any(r.diverged for r in batch) and not all(r.diverged for r in batch)


class Cliff:
    """f = -x: a constant slope, whose gradient turns infinite past x = 2.5 (the iterate stays finite)."""

    name, start = "cliff", np.zeros(2)

    def __call__(self, x):
        return -np.asarray(x, dtype=float)[0]

    def grad(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x[0] > 2.5, np.inf, -1.0) * np.ones_like(x)


def test_a_run_stops_where_minimize_refuses_a_gradient():
    lrs = [0.1, 0.5, 1.0]
    for lr, got in zip(lrs, widgets.minimize_over_lr(Cliff(), np.zeros(2), SGD, lrs, 10)):
        ref = minimize(Cliff(), np.zeros(2), SGD(lr), 10)
        assert (got.diverged, got.steps_taken) == (ref.diverged, ref.steps_taken)
        np.testing.assert_array_equal(got.x, ref.x)
    assert [r.steps_taken for r in widgets.minimize_over_lr(Cliff(), np.zeros(2), SGD, lrs, 10)] == [10, 6, 3]


def test_runs_over_learning_rates_on_a_quadratic():
    f = quadratic(booth.hessian(booth.start), start=[2.0, -1.0])
    lrs = [0.05, 0.125, 0.2, 0.3]
    for lr, got in zip(lrs, widgets.minimize_over_lr(f, f.start, lambda lr: Momentum(lr, 0.25), lrs, 80)):
        ref = minimize(f, f.start, Momentum(lr, 0.25), 80)
        assert got.diverged == ref.diverged and got.steps_taken == ref.steps_taken
        np.testing.assert_allclose(got.x, ref.x, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("make, lrs, steps, match", [
    (lambda lr: Adam(lr), [0.1], 10, "make"),
    (SGD, [], 10, "lrs"),
    (SGD, [0.1, -0.1], 10, "lrs"),
    (SGD, [0.1], -1, "steps"),
])
def test_runs_over_learning_rates_refuse_bad_input(make, lrs, steps, match):
    with pytest.raises(ValueError, match=match):
        widgets.minimize_over_lr(rosenbrock, rosenbrock.start, make, lrs, steps)


# --- overlays -----------------------------------------------------------------------------------------

def svg_paths(svg: str) -> list:
    """The absolute vertices (SVG units) of each <path> of an overlay, piece by piece."""
    pieces = []
    for d in re.findall(r"<path d='([^']*)'", svg):
        for command, numbers in re.findall(r"([Ml])([-0-9 ]+)", d):
            xy = np.array(re.findall(r"-?\d+", numbers), dtype=float).reshape(-1, 2)
            if command == "M":
                pieces.append([xy[0]])
            else:
                for step in xy:
                    pieces[-1].append(pieces[-1][-1] + step)
    return [np.array(p) for p in pieces]


def panel():
    fig = Figure(figsize=(4, 3), dpi=widgets.DPI)
    ax = fig.add_subplot()
    ax.set(xlim=(0, 10), ylim=(-1, 1))
    return fig, ax


def test_overlay_vertices_are_matplotlibs_display_coordinates():
    fig, ax = panel()
    x = np.arange(11.0)
    y = np.where(x % 2 == 0, -0.5, 0.5)  # a zigzag: no vertex can be dropped
    svg = widgets.overlay_svg(fig, [widgets.line(ax, x, y, color="C1")])
    (piece,) = svg_paths(svg)
    display = ax.transData.transform(np.column_stack([x, y]))
    expected = np.column_stack([display[:, 0], fig.bbox.height - display[:, 1]]) * 10
    np.testing.assert_allclose(piece, expected, atol=0.5)  # integers in tenths of a pixel
    assert f"viewBox='0 0 {fig.bbox.width * 10:.0f} {fig.bbox.height * 10:.0f}'" in svg
    assert "stroke='#ff7f0e'" in svg


def test_overlay_simplifies_straight_runs_and_clips_to_the_axes():
    fig, ax = panel()
    x = np.linspace(0, 20, 1001)  # half of it right of the axes
    svg = widgets.overlay_svg(fig, [widgets.line(ax, x, 0.5 * np.ones_like(x), color="k")])
    (piece,) = svg_paths(svg)
    assert len(piece) <= 3  # a straight line is two points, whatever its number of steps
    box = ax.bbox
    assert piece[:, 0].max() <= (box.x1 + 5) * 10 and piece[:, 0].min() >= (box.x0 - 5) * 10
    huge = widgets.overlay_svg(fig, [widgets.line(ax, [1, 2, 3], [0, 1e200, np.inf], color="k")])
    assert all(np.abs(p).max() < 1e5 for p in svg_paths(huge))  # no overflow, nothing far outside


def test_overlay_markers_and_texts():
    fig, ax = panel()
    dots = widgets.line(ax, [1, 5, 50], [0, 0, 0], color="C0", marker="o", linestyle="None")
    text = ax.text(5, 0.5, "a < b", ha="center", color="C2")
    svg = widgets.overlay_svg(fig, [dots, text])
    assert svg.count("<circle") == 2  # the point at x = 50 is outside the axes
    dots = widgets.overlay_svg(fig, [widgets.line(ax, [1, 5, 50], [0, 0, 0], color="C0", marker=".",
                                                  linestyle="None")])
    (d,) = re.findall(r"<path d='([^']*)'", dots)
    starts = np.cumsum(np.array(re.findall(r"m(-?\d+) (-?\d+)h0", d.replace("-", " -").replace("m ", "m")),
                                dtype=float), axis=0)
    expected = ax.transData.transform([[1, 0], [5, 0]])
    np.testing.assert_allclose(starts / 10, np.column_stack([expected[:, 0], fig.bbox.height - expected[:, 1]]),
                               atol=0.1)  # two dots, where matplotlib puts the points
    assert "a &lt; b</text>" in svg and "text-anchor='middle'" in svg
    with pytest.raises(ValueError, match="markers"):
        widgets.overlay_svg(fig, [widgets.line(ax, [1], [0], color="k", marker="s")])
    with pytest.raises(ValueError, match="dpi"):
        widgets.overlay_svg(Figure(dpi=72), [])


def test_figure_svg_is_the_same_text_every_time():
    def make():
        fig, ax = panel()
        ax.plot([0, 10], [0, 1])
        ax.set_title("α and μ")
        return widgets.figure_svg(fig)
    first = make()
    assert first == make() and first.startswith("<svg") and "α and μ" in first


# --- the explorer -----------------------------------------------------------------------------------------

LRS = [0.0005, 0.001, 0.0015]
MUS = [0.5, 0.9]


@pytest.fixture(scope="module")
def small():
    return widgets.explorer(rosenbrock, [SGD, Momentum, Nesterov], {"lr": LRS, "mu": MUS}, steps=60,
                            initial={"lr": 0.001, "mu": 0.9}, labels={"lr": "learning rate α", "mu": "momentum μ"})


def links():
    from ipywidgets.widgets.widget import _instances
    return {(w.source[0].model_id, w.target[0].model_id) for w in list(_instances.values())
            if type(w).__name__ == "Link"}


def frames(widget) -> list:
    """The HTML frames under a widget, in order."""
    if isinstance(widget, widgets.widgets.HTML):
        return [widget]
    return [f for child in widget.children for f in frames(child)]


def images(frame) -> list:
    """(SVG text, alt) of each <img> of a frame."""
    found = re.findall(r'<img src="data:image/svg\+xml,([^"]*)" alt="([^"]*)"', frame.value)
    return [(urllib.parse.unquote(src), html.unescape(alt)) for src, alt in found]


def test_each_layer_has_frames_for_its_own_controls_only(small):
    controls, toggles, picture = small.children
    lr, mu = controls.children
    assert [type(c).__name__ for c in (lr, mu)] == ["SelectionSlider", "ToggleButtons"]  # (2 values: buttons)
    assert lr.value == 0.001 and mu.value == 0.9
    background, *layers = picture.children
    assert len(layers) == 3 and len(toggles.children) == 3
    sgd, momentum, nesterov = (stack.children[0] for stack in layers)  # inside show/hide
    assert len(frames(sgd)) == len(LRS)
    assert len(frames(momentum)) == len(frames(nesterov)) == len(LRS) * len(MUS)
    # what a notebook shows before the widget runs: whole (ipywidgets cuts it at 110 characters)
    assert repr(small) == "Explorer(SGD, Momentum, Nesterov over lr (3), mu (2); 15 frames): run the cell to show it"
    assert len(repr(small)) <= widgets.REPR_LENGTH == 110
    assert small._repr_mimebundle_()["text/plain"] == repr(small)
    linked = links()  # (the control with fewer values is the outer stack: fewer stacks in all)
    assert (lr.model_id, sgd.model_id) in linked and (mu.model_id, momentum.model_id) in linked
    assert len(momentum.children) == len(MUS) and all(len(inner.children) == len(LRS) for inner in momentum.children)
    assert all((lr.model_id, inner.model_id) in linked for inner in momentum.children)
    assert not any(source == mu.model_id and target in {sgd.model_id} | {c.model_id for c in sgd.children}
                   for source, target in linked)  # SGD does not depend on mu
    for (legend, buttons), stack, name in zip((t.children for t in toggles.children), layers,
                                              ["SGD", "Momentum", "Nesterov"]):
        assert (buttons.model_id, stack.model_id) in linked and stack.selected_index == 0
        assert [label for label, _ in buttons._options_full] == ["show", "hide"]
        assert legend.value.endswith(f"</span> {name}") and widgets.plotting.color_for(name) in legend.value
    assert momentum.selected_index == MUS.index(0.9)
    assert momentum.children[0].selected_index == LRS.index(0.001)


def test_a_frame_draws_the_run_of_its_values(small):
    _, _, picture = small.children
    momentum = picture.children[2].children[0]
    frame = momentum.children[MUS.index(0.5)].children[LRS.index(0.0015)]
    (path_svg, path_alt), (loss_svg, loss_alt) = images(frame)
    run = minimize(rosenbrock, rosenbrock.start, Momentum(0.0015, 0.5), 60)
    assert path_alt.startswith("Momentum's path, learning rate α = 0.0015, momentum μ = 0.5: from (-1.2, 1) to")
    assert f"it ends at loss {run.loss[-1]:.2g} after 60 steps" in path_alt
    assert loss_alt.startswith("Momentum's loss, learning rate α = 0.0015, momentum μ = 0.5: from 24.2;")
    # the path starts at the start point and ends at the run's last point, in the panel's pixels
    fig = Figure(figsize=(4.6, 3.7), dpi=widgets.DPI)
    ax = fig.add_subplot()
    with matplotlib.rc_context(widgets._PANEL_STYLE):
        widgets.path_panel(rosenbrock).background(ax)
        fig.tight_layout()
    ends = ax.transData.transform(run.x[[0, -1]])
    ends[:, 1] = fig.bbox.height - ends[:, 1]
    (piece,) = svg_paths(path_svg)
    np.testing.assert_allclose(piece[[0, -1]] / 10, ends, atol=0.1)


def test_backgrounds_and_frames_have_alt_texts_and_the_same_panels(small):
    _, _, picture = small.children

    def below(widget):
        return [widget] + [w for child in getattr(widget, "children", ()) for w in below(child)]
    # no margins from the grid cell down: the overlays are exactly as wide as the background
    assert all(w.layout.margin == "0" and w.layout.width == "100%" for w in below(picture)[1:])
    (bg,) = frames(picture.children[0])
    bg_images = re.findall(r'<img src="data:image/svg\+xml,([^"]*)" alt="([^"]*)"', bg.value)
    assert len(bg_images) == 2
    assert bg_images[0][1].startswith("Contour lines of the rosenbrock function; minimum at (1, 1)")
    for layer in picture.children[1:]:
        for frame in frames(layer.children[0]):
            found = images(frame)
            assert len(found) == 2 and all(alt.strip() for _, alt in found)
            assert all(svg.startswith("<svg") and svg.endswith("</svg>") for svg, _ in found)


def test_a_diverging_run_ends_in_a_cross_and_says_so():
    ex = widgets.explorer(rosenbrock, [Nesterov], {"lr": [0.002], "mu": [0.95]}, steps=100)
    (frame,) = frames(ex.children[2].children[1].children[0])
    (path_svg, path_alt), _ = images(frame)
    run = minimize(rosenbrock, rosenbrock.start, Nesterov(0.002, 0.95), 100)
    assert run.diverged and f"it blows up after {run.steps_taken} steps" in path_alt
    assert path_svg.count("l") > 2 and "M" in path_svg


def test_alt_wording_and_custom_layers():
    f = quadratic(np.diag([1.0, 4.0]), start=[1.0, 1.0])
    calls = []

    def run(lr):
        calls.append(lr)
        return minimize(f, f.start, SGD(lr), 20)

    layer = widgets.Layer("SGD", run, label="plain GD", toggle=False)
    ex = widgets.explorer(f, [layer], {"lr": [0.1, 0.2]}, steps=20,
                          alt=lambda layer, result, lr: f"GD at {lr} ends near {abs(result.x[-1]).max():.0e}")
    assert calls == [0.1, 0.2]
    _, picture = ex.children  # no show/hide row for a layer without toggle
    frame = frames(picture.children[1])[1]
    alts = [alt for _, alt in images(frame)]
    assert alts[0].startswith("plain GD's path, lr = 0.2: from (1, 1) to")
    assert all(alt.endswith(f"GD at 0.2 ends near {0.8 ** 20:.0e}.") for alt in alts)  # |1 - 0.2 * 1|^20
    with pytest.raises(ValueError, match="alt"):
        widgets.explorer(f, [layer], {"lr": [0.1]}, steps=20, alt=lambda layer, result, lr: " ")


def test_a_background_that_depends_on_a_control_is_drawn_for_each_value():
    valleys = {k: quadratic(np.diag([1.0, float(k)]), start=[1.0, 1.0]) for k in (2, 10)}
    def valley(kappa, scale=1.0):  # a parameter with a default that is not a control keeps its default
        assert scale == 1.0
        return valleys[kappa]

    ex = widgets.explorer(valley, [SGD], {"lr": [0.05, 0.1], "kappa": [2, 10]}, steps=10)
    _, _, picture = ex.children
    background, sgd = picture.children
    assert len(frames(background)) == 2 and (ex.children[0].children[1].model_id, background.model_id) in links()
    assert len(frames(sgd.children[0])) == 4  # the run depends on kappa through the function


def test_contours_that_depend_on_a_control_are_a_layer_under_the_paths_over_axes_drawn_once():
    valleys = {k: quadratic(np.diag([1.0, float(k)]), start=[1.0, 1.0]) for k in (2, 10)}
    domain = ((-2.0, 2.0), (-2.0, 2.0))
    ex = widgets.explorer([widgets.path_panel(lambda kappa: valleys[kappa], domain=domain), widgets.loss_panel(10)],
                          [SGD], {"lr": [0.05, 0.1], "kappa": [2, 10]}, function=lambda kappa: valleys[kappa],
                          steps=10)
    controls, _, picture = ex.children
    background, contours, sgd = picture.children
    assert len(frames(background)) == 1  # the axes, once
    assert (controls.children[1].model_id, contours.model_id) in links() and len(frames(contours)) == 2
    assert repr(ex) == "Explorer(SGD over lr (2), kappa (2); 6 frames): run the cell to show it"  # 2 + 4
    (lines_svg, alt), = images(frames(contours)[1])
    assert alt == "Contour lines of the quadratic function; minimum at (0, 0) (stars), kappa = 10."
    assert lines_svg.count("<polygon") == 1 and 12 <= lines_svg.count("<path") <= 15  # the star, the levels
    # the lines are matplotlib's contour lines, in its colours, and the axes are left as they were
    fig = Figure(figsize=(4.6, 3.7), dpi=widgets.DPI)
    ax = fig.add_subplot()
    widgets.path_panel(lambda kappa: valleys[kappa], domain=domain).background(ax)
    lines = widgets._contour_lines(ax, valleys[10], domain, 15, 100)
    assert ax.get_xlabel() == "x" and ax.get_xlim() == (-2.0, 2.0) and not ax.collections and not ax.lines
    reference = widgets.plotting.contour(valleys[10], Figure().add_subplot(), domain=domain, levels=15, resolution=100)
    (contour_set,) = reference.collections
    drawn = [(path, color) for path, color in zip(contour_set.get_paths(), contour_set.get_edgecolor())
             if len(path.vertices)]
    assert len(lines) == len(drawn) + 1
    for got, (path, color) in zip(lines, drawn):
        np.testing.assert_array_equal(got.get_xydata()[np.isfinite(got.get_xydata()[:, 0])], path.vertices)
        assert tuple(got.get_color()) == tuple(color)
    assert lines[-1].get_marker() == "*" and tuple(lines[-1].get_xydata()[0]) == (0.0, 0.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"controls": {}}, "controls"),
    ({"controls": {"lr": []}}, "lr"),
    ({"initial": {"beta": 0.9}}, "initial"),
    ({"initial": {"lr": 0.5}}, "initial"),
    ({"layers": [widgets.Layer("x", lambda lr, beta: None)]}, "beta"),
    ({"controls": {"lr": list(np.linspace(1e-4, 1e-3, 30)), "mu": list(np.linspace(0, 0.9, 30))}}, "MAX_FRAMES"),
    ({"panels": [], "layers": [widgets.Layer("x", lambda lr: None)]}, "panels"),
])
def test_bad_explorers_are_refused(kwargs, match):
    args = {"panels": rosenbrock, "layers": [SGD, Momentum], "controls": {"lr": [0.001], "mu": [0.9]}, "steps": 5}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        widgets.explorer(args.pop("panels"), args.pop("layers"), args.pop("controls"), **args)


# --- the live form ---------------------------------------------------------------------------------------

def test_live_explorer_redraws_only_the_layers_a_control_affects(small):
    live = small.live(lr=(0.0001, 0.0025, 0.0001), mu=(0.0, 0.99, 0.01))
    controls, toggles, picture = live.children
    lr, mu = controls.children
    assert (lr.readout_format, mu.readout_format) == (".4f", ".2f")  # lr 0.0014, not 0.00
    assert lr.value == 0.001 and mu.value == 0.9
    assert picture.children[0] is small.children[2].children[0]  # the same background widget
    overlays = [stack.children[0] for stack in picture.children[1:]]
    before = [o.value for o in overlays]
    mu.value = 0.5
    after_mu = [o.value for o in overlays]
    assert after_mu[0] == before[0] and after_mu[1] != before[1] and after_mu[2] != before[2]
    lr.value = 0.0014
    after_lr = [o.value for o in overlays]
    assert all(a != b for a, b in zip(after_lr, after_mu))
    assert [name for name, _ in live.latencies] == ["mu", "lr"] and all(s > 0 for _, s in live.latencies)
    run = minimize(rosenbrock, rosenbrock.start, Momentum(0.0014, 0.5), 60)
    assert f"learning rate α = 0.0014, momentum μ = 0.5" in after_lr[1]
    assert f"it ends at loss {run.loss[-1]:.2g} after 60 steps" in after_lr[1]
    assert repr(live) == "LiveExplorer(SGD, Momentum, Nesterov; lr 0.0001-0.0025, mu 0-0.99): run the cell to move it"
    with pytest.raises(ValueError, match="unknown"):
        small.live(beta=(0.0, 1.0, 0.1))


# --- the convergence map and the error panel --------------------------------------------------------------

def test_rate_map_and_error_panels_state_the_spectral_radius():
    A = booth.hessian(booth.start)
    eig = np.linalg.eigvalsh(A)
    f = quadratic(A, start=[2.0, -1.0])
    ex = widgets.explorer([widgets.rate_map_panel(eig, lr_max=0.25), widgets.error_panel(40, np.zeros(2),
                                                                                        eigenvalues=eig)],
                          [SGD, Momentum, Nesterov], {"lr": [0.05, 0.125], "mu": [0.25, 0.7]}, function=f,
                          steps=40, initial={"lr": 0.125, "mu": 0.25})
    _, _, picture = ex.children
    (bg,) = frames(picture.children[0])
    assert "optimum α = 0.125, μ = 0.25 (rate 0.5)" in bg.value and "best rate 0.8" in bg.value
    momentum = picture.children[2].children[0]
    frame = momentum.children[1].children[0]  # lr 0.125, mu 0.25
    (map_svg, map_alt), (error_svg, error_alt) = images(frame)
    rho = curvature.heavy_ball_rate(0.125, 0.25, eig)
    assert f"its rate from the spectral radius is {rho:.3g}, so it converges" in map_alt
    assert map_svg.count("<circle") == 1
    assert f"the predicted rate {rho:.3g}" in error_alt
    nesterov = picture.children[3].children[0].children[1].children[0]
    (_, nesterov_alt), _ = images(nesterov)
    assert "so it blows up" in nesterov_alt  # 0.125 is past Nesterov's limit at mu = 0.25
    assert curvature.nesterov_rate(0.125, 0.25, eig) > 1
