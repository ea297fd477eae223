"""The explorer: one picture per combination, each control linked in the browser to its stacks."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from optlib import widgets  # noqa: E402


def render(lr, mode):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_title(f"{lr} {mode}")
    return fig


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
    assert all(bytes(img.value[:4]) == b"\x89PNG" for inner in outer.children for img in inner.children)
    assert repr(ex) == "Explorer(lr: 3 values, mode: 2 values; 6 pictures)"
    from ipywidgets.widgets.widget import _instances  # every live widget, by model id
    links = [w for w in _instances.values() if type(w).__name__ == "Link"]
    linked = {(link.source[0].model_id, link.target[0].model_id) for link in links}
    assert (controls[0].model_id, outer.model_id) in linked
    assert all((controls[1].model_id, inner.model_id) in linked for inner in outer.children)


def test_same_figures_give_the_same_bytes():
    assert widgets.figure_png(render(0.1, "a")) == widgets.figure_png(render(0.1, "a"))


@pytest.mark.parametrize("controls, initial, match", [
    ({}, None, "controls"),
    ({"lr": []}, None, "lr"),
    ({"lr": [0.1]}, {"mu": 0.9}, "initial"),
    ({"lr": [0.1]}, {"lr": 0.5}, "initial"),
    ({"a": list(range(20)), "b": list(range(20))}, None, "MAX_FRAMES"),
])
def test_bad_controls(controls, initial, match):
    with pytest.raises(ValueError, match=match):
        widgets.explorer(render, controls, initial=initial)
