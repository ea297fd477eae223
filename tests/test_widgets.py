"""The explorer: one picture per combination, each control linked in the browser to its stacks."""
import base64
import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import pytest  # noqa: E402

from optlib import widgets  # noqa: E402


def render(lr, mode):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_title(f"{lr} {mode}")
    return fig


def pictures(ex):
    """The explorer's frames, in order: (PNG bytes, alt text) from each frame's <img>."""
    def walk(widget):
        if isinstance(widget, widgets.widgets.HTML):
            src, alt = re.fullmatch(r'<img src="data:image/png;base64,([^"]*)" alt="([^"]*)" .*>',
                                    widget.value).groups()
            return [(base64.b64decode(src), alt)]
        return [frame for child in widget.children for frame in walk(child)]
    return walk(ex.children[1])


def test_explorer_precomputes_every_combination_and_links_each_control():
    calls = []
    ex = widgets.explorer(lambda **kw: (calls.append(kw), render(**kw))[1],
                          {"lr": [0.1, 0.2, 0.3], "mode": ["inside", "outside"]}, initial={"lr": 0.2})
    assert len(calls) == 6 and {(c["lr"], c["mode"]) for c in calls} == {
        (lr, m) for lr in (0.1, 0.2, 0.3) for m in ("inside", "outside")}
    controls, outer = ex.children[0].children, ex.children[1]
    assert [type(c).__name__ for c in controls] == ["SelectionSlider", "ToggleButtons"]
    assert outer.selected_index == 1 and len(outer.children) == 3  # starts at lr = 0.2
    assert all(len(inner.children) == 2 for inner in outer.children)
    assert all(png[:4] == b"\x89PNG" for png, _ in pictures(ex))
    assert repr(ex) == "Explorer(lr: 3 values, mode: 2 values; 6 pictures)"
    assert plt.get_fignums() == []  # every figure closed
    from ipywidgets.widgets.widget import _instances  # every live widget, by model id
    links = [w for w in _instances.values() if type(w).__name__ == "Link"]
    linked = {(link.source[0].model_id, link.target[0].model_id) for link in links}
    assert (controls[0].model_id, outer.model_id) in linked
    assert all((controls[1].model_id, inner.model_id) in linked for inner in outer.children)


def test_every_picture_has_alt_text_for_its_values():
    controls = {"lr": [0.1, 0.25], "mode": ["a", "b & c"]}
    default = widgets.explorer(render, controls, labels={"lr": "learning rate α"})
    assert [alt for _, alt in pictures(default)] == [  # (& escaped in the HTML)
        "Figure for learning rate α = 0.1, mode = a",
        "Figure for learning rate α = 0.1, mode = b &amp; c",
        "Figure for learning rate α = 0.25, mode = a",
        "Figure for learning rate α = 0.25, mode = b &amp; c"]
    formatted = widgets.explorer(render, controls, alt="Path at α = {lr} ({mode})")
    assert pictures(formatted)[3][1] == "Path at α = 0.25 (b &amp; c)"
    called = widgets.explorer(render, controls, alt=lambda lr, mode: f"{mode.upper()} {lr * 2}")
    assert pictures(called)[0][1] == "A 0.2"


def pixels(png):
    return np.asarray(PIL.Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.mark.parametrize("animated", [False, True])
def test_a_figure_updated_in_place_gives_the_pictures_of_new_figures(animated, monkeypatch):
    full_draws = []
    draw = widgets.FigureCanvasAgg.draw
    monkeypatch.setattr(widgets.FigureCanvasAgg, "draw",
                        lambda canvas: (full_draws.append(1), draw(canvas))[1])
    fig, ax = plt.subplots(figsize=(2, 2))
    (line,) = ax.plot([0, 1], [0, 0], animated=animated, linewidth=4)
    ax.plot([0, 1], [1, 1], color="k", linewidth=6, zorder=1)  # under the moving line
    ax.set_ylim(-1, 3)
    legend = ax.legend([line], ["?"], loc="upper left")
    (label,) = legend.get_texts()
    for artist in (ax.title, legend, label):  # the label is drawn by its legend, once
        artist.set_animated(animated)

    def update(height):
        line.set_ydata([0, height])
        ax.title.set_text(f"height {height}")
        label.set_text(f"to {height}")
        return fig

    def afresh(height):
        fig, ax = plt.subplots(figsize=(2, 2))
        (line,) = ax.plot([0, 1], [0, height], linewidth=4)
        ax.plot([0, 1], [1, 1], color="k", linewidth=6, zorder=1)
        ax.set_ylim(-1, 3)
        ax.legend([line], [f"to {height}"], loc="upper left")
        ax.set_title(f"height {height}")
        return fig

    ex = widgets.explorer(update, {"height": [0, 1, 2]})
    assert len(full_draws) == (1 if animated else 3)  # animated: one draw, then only line and title
    assert plt.get_fignums() == []  # closed
    frames = [pixels(png) for png, _ in pictures(ex)]
    for height, frame in zip([0, 1, 2], frames):
        np.testing.assert_array_equal(frame, pixels(widgets.figure_png(afresh(height))))
    plt.close("all")


def test_same_figures_give_the_same_bytes():
    assert widgets.figure_png(render(0.1, "a")) == widgets.figure_png(render(0.1, "a"))
    plt.close("all")


@pytest.mark.parametrize("controls, initial, alt, match", [
    ({}, None, None, "controls"),
    ({"lr": []}, None, None, "lr"),
    ({"lr": [0.1]}, {"mu": 0.9}, None, "initial"),
    ({"lr": [0.1]}, {"lr": 0.5}, None, "initial"),
    ({"a": list(range(20)), "b": list(range(20))}, None, None, "MAX_FRAMES"),
    ({"lr": [0.1], "mode": ["a"]}, None, 3, "alt"),
    ({"lr": [0.1], "mode": ["a"]}, None, " ", "alt"),
])
def test_bad_controls(controls, initial, alt, match):
    with pytest.raises(ValueError, match=match):
        widgets.explorer(render, controls, initial=initial, alt=alt)
    plt.close("all")
