"""Explorers: sliders for hyperparameters and a figure that follows, with or without a kernel.

:func:`explorer` draws every combination of the slider values ahead of time and links each slider to
a :class:`!ipywidgets.Stack` of the pictures with :func:`!ipywidgets.jslink`. The link runs in the
browser, so the same widget works in Jupyter, in Binder and on the static website, where there is no
kernel: a slider never does nothing. :func:`live_explorer` is the kernel-only form with continuous
sliders, for readers running the notebook.
"""
from __future__ import annotations

import io
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

#: Above this many pictures the page gets heavy (each is a PNG in the page's widget state).
MAX_FRAMES = 120


def figure_png(fig, dpi: int = 72) -> bytes:
    """The figure as PNG bytes, without the matplotlib version stamp (so reruns give the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


class Explorer(widgets.VBox):
    """The controls above the stacked pictures. Its ``repr`` is short and the same on every run."""

    def __init__(self, controls, stack, summary: str):
        super().__init__([widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")), stack])
        self._summary = summary

    def __repr__(self) -> str:
        return f"Explorer({self._summary})"


def _control(name: str, values: Sequence, value, label: str | None):
    description = label or name
    style = {"description_width": "initial"}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        options = [(f"{v:g}", v) for v in values]
        return widgets.SelectionSlider(options=options, value=value, description=description,
                                       continuous_update=True, style=style)
    options = [(str(v), v) for v in values]
    return widgets.ToggleButtons(options=options, value=value, description=description, style=style)


def explorer(render: Callable[..., "plt.Figure"], controls: dict[str, Sequence], *,
             initial: dict | None = None, labels: dict[str, str] | None = None, dpi: int = 72) -> Explorer:
    """Sliders over ``controls`` and the figure ``render(**values)`` for every combination of values.

    Parameters
    ----------
    render : callable
        ``render(**values)`` returns a matplotlib figure for one combination of the control values.
    controls : dict
        Name -> the list of values it takes. Numbers become a slider, anything else toggle buttons.
    initial : dict, optional
        The values shown first (default: the first of each list).
    labels : dict, optional
        Name -> the label shown beside its control (default: the name).

    Returns
    -------
    Explorer
        A widget that works with or without a kernel: each control's ``index`` is linked in the
        browser (``jslink``) to the ``selected_index`` of the stacks of pictures it chooses between.
    """
    if not controls:
        raise ValueError("controls must name at least one control")
    names = list(controls)
    for name in names:
        if len(controls[name]) == 0:
            raise ValueError(f"controls[{name!r}] has no values")
    n_frames = 1
    for name in names:
        n_frames *= len(controls[name])
    if n_frames > MAX_FRAMES:
        raise ValueError(f"controls give {n_frames} pictures, more than MAX_FRAMES = {MAX_FRAMES}")
    initial = dict(initial or {})
    unknown = set(initial) - set(names)
    if unknown:
        raise ValueError(f"initial names unknown controls: {sorted(unknown)}")
    start = {name: initial.get(name, controls[name][0]) for name in names}
    for name in names:
        if start[name] not in list(controls[name]):
            raise ValueError(f"initial[{name!r}] = {start[name]!r} is not one of controls[{name!r}]")

    widgets_for = [_control(name, list(controls[name]), start[name], (labels or {}).get(name)) for name in names]

    def build(level: int, chosen: dict):
        """A Stack for control ``level`` whose children are the Stacks (or pictures) of the next level."""
        name = names[level]
        children = []
        for value in controls[name]:
            here = {**chosen, name: value}
            if level + 1 == len(names):
                children.append(widgets.Image(value=figure_png(render(**here), dpi=dpi), format="png"))
            else:
                children.append(build(level + 1, here))
        stack = widgets.Stack(children, selected_index=list(controls[name]).index(start[name]))
        widgets.jslink((widgets_for[level], "index"), (stack, "selected_index"))
        return stack

    summary = ", ".join(f"{name}: {len(controls[name])} values" for name in names)
    return Explorer(widgets_for, build(0, {}), f"{summary}; {n_frames} pictures")


def live_explorer(render: Callable[..., "plt.Figure"], **sliders) -> widgets.interactive:
    """Continuous sliders that redraw ``render(**values)`` in a running kernel (not on the website).

    ``sliders`` are ``interact``-style abbreviations such as ``lr=(0.001, 0.5, 0.001)``. Tag the cell
    ``remove-cell`` (the website shows :func:`explorer` instead) and ``nbval-ignore-output`` (what an
    ``interactive`` draws with no front end leaks into the cell's outputs).
    """
    from IPython.display import display

    def draw(**values):
        fig = render(**values)
        display(fig)
        plt.close(fig)

    return widgets.interactive(draw, **sliders)
