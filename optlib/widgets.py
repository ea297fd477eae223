"""Explorers: sliders for hyperparameters and a figure that follows, with or without a kernel.

:func:`explorer` draws every combination of the slider values ahead of time and links each slider to
a :class:`!ipywidgets.Stack` of the pictures with :func:`!ipywidgets.jslink`. The link runs in the
browser, so the same widget works in Jupyter, in Binder and on the static website, where there is no
kernel: a slider never does nothing. Each picture is an ``<img>`` with alt text that says what it
shows (:class:`!ipywidgets.Image` has no alt attribute). :func:`live_explorer` is the kernel-only form
with continuous sliders, for readers running the notebook.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg

#: Above this many pictures the page gets heavy (each is a PNG in the page's widget state).
MAX_FRAMES = 120


def figure_png(fig, dpi: int = 72) -> bytes:
    """The figure as PNG bytes, without the matplotlib version stamp (so reruns give the same bytes).

    The figure stays open: an explorer's ``render`` may update it and return it again.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _picture(png: bytes, alt: str) -> widgets.HTML:
    """One frame: the PNG inline in an ``<img>`` that carries its alt text."""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return widgets.HTML(f'<img src="{src}" alt="{html.escape(alt)}" '
                        'style="display:block; max-width:100%; height:auto">')


class _Frames:
    """PNGs of the figures ``render`` returns; a figure returned again is redrawn only in part.

    Matplotlib leaves artists marked ``animated`` out of a canvas draw, and does not mark the
    figure stale when they change. So while the figure is not stale, only its animated artists
    changed: they are drawn, in z-order, over a copy of the last full draw (blitting).
    """

    def __init__(self, dpi: int):
        self.dpi, self.figure, self.background = dpi, None, None

    def png(self, fig) -> bytes:
        if fig is not self.figure:
            self.close()
            self.figure = fig
        fig.dpi = self.dpi  # (no change, and no redraw, when it already has this dpi)
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        if fig.stale or self.background is None:
            canvas.draw()
            self.background = canvas.copy_from_bbox(fig.bbox)
        else:
            canvas.restore_region(self.background)
        animated = fig.findobj(lambda a: a.get_animated())
        inside = {id(part) for artist in animated for part in artist.findobj(include_self=False)}
        for artist in sorted(animated, key=lambda a: a.get_zorder()):
            if id(artist) not in inside:  # (a legend's animated texts are drawn with the legend)
                fig.draw_artist(artist)
        fig.stale = False  # (drawing a legend marks parts of it, and so the figure, stale)
        buffer = io.BytesIO()
        PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buffer, format="png")
        return buffer.getvalue()

    def close(self) -> None:
        if self.figure is not None:
            plt.close(self.figure)
        self.figure, self.background = None, None


class Explorer(widgets.VBox):
    """The controls above the stacked pictures. Its ``repr`` is short and the same on every run."""

    def __init__(self, controls, stack, summary: str):
        super().__init__([widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")), stack])
        self._summary = summary

    def __repr__(self) -> str:
        return f"Explorer({self._summary})"


def _shown(value) -> str:
    """A control value as its slider or button shows it."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _control(name: str, values: Sequence, value, label: str | None):
    description = label or name
    style = {"description_width": "initial"}
    options = [(_shown(v), v) for v in values]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return widgets.SelectionSlider(options=options, value=value, description=description,
                                       continuous_update=True, style=style)
    return widgets.ToggleButtons(options=options, value=value, description=description, style=style)


def _alt_text(alt, labels: dict[str, str]) -> Callable[..., str]:
    """``alt`` (None, a format string or a callable of the control values) as a callable."""
    if alt is None:
        return lambda **values: "Figure for " + ", ".join(
            f"{labels.get(name, name)} = {_shown(value)}" for name, value in values.items())
    if isinstance(alt, str):
        return lambda **values: alt.format(**values)
    if callable(alt):
        return alt
    raise ValueError(f"alt must be None, a format string or a callable, not {type(alt).__name__}")


def explorer(render: Callable[..., "plt.Figure"], controls: dict[str, Sequence], *,
             initial: dict | None = None, labels: dict[str, str] | None = None,
             alt: str | Callable[..., str] | None = None, dpi: int = 72) -> Explorer:
    """Sliders over ``controls`` and the figure ``render(**values)`` for every combination of values.

    Parameters
    ----------
    render : callable
        ``render(**values)`` returns a matplotlib figure for one combination of the control values.
        It may return the same figure every time after updating its artists (``line.set_data``,
        ``text.set_text``, ...): much faster than a new figure per picture, as the layout, the text
        and the contours are computed once. Faster still, mark the artists it changes
        ``animated=True``: each picture then draws only those, in z-order, on top of one drawing of
        the rest (so mark what must stay above them too, such as a legend). Change a title with
        ``ax.title.set_text``: ``ax.set_title`` marks the whole axes changed, so redrawn. The
        figures are drawn at ``dpi`` and closed at the end.
    controls : dict
        Name -> the list of values it takes. Numbers become a slider, anything else toggle buttons.
    initial : dict, optional
        The values shown first (default: the first of each list).
    labels : dict, optional
        Name -> the label shown beside its control (default: the name).
    alt : str or callable, optional
        Each picture's alt text: a format string over the control names
        (``"SGD at learning rate {lr}"``) or ``alt(**values)`` returning the text, called after
        ``render(**values)`` (so it may describe what render just computed). Default: "Figure for"
        and each control's label and value.
    dpi : int
        Resolution of the pictures.

    Returns
    -------
    Explorer
        A widget that works with or without a kernel: each control's ``index`` is linked in the
        browser (``jslink``) to the ``selected_index`` of the stacks of pictures it chooses between.

    Raises
    ------
    ValueError
        If ``controls`` is empty or has an empty list, there are more than :data:`MAX_FRAMES`
        combinations, ``initial`` names an unknown control or value, or ``alt`` is not a string or
        callable or gives an empty text.
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
    labels = labels or {}
    alt_for = _alt_text(alt, labels)

    widgets_for = [_control(name, list(controls[name]), start[name], labels.get(name)) for name in names]
    frames = _Frames(dpi)

    def picture(values: dict) -> widgets.HTML:
        with plt.rc_context({"figure.dpi": dpi}):  # layout and picture at one dpi: text measured once
            fig = render(**values)
        text = str(alt_for(**values))
        if not text.strip():
            raise ValueError(f"alt gave an empty text for {values}")
        return _picture(frames.png(fig), text)

    def build(level: int, chosen: dict):
        """A Stack for control ``level`` whose children are the Stacks (or pictures) of the next level."""
        name = names[level]
        children = []
        for value in controls[name]:
            here = {**chosen, name: value}
            children.append(picture(here) if level + 1 == len(names) else build(level + 1, here))
        stack = widgets.Stack(children, selected_index=list(controls[name]).index(start[name]))
        widgets.jslink((widgets_for[level], "index"), (stack, "selected_index"))
        return stack

    try:
        stack = build(0, {})
    finally:
        frames.close()
    summary = ", ".join(f"{name}: {len(controls[name])} values" for name in names)
    return Explorer(widgets_for, stack, f"{summary}; {n_frames} pictures")


def live_explorer(render: Callable[..., "plt.Figure"], **sliders) -> widgets.interactive:
    """Continuous sliders that redraw ``render(**values)`` in a running kernel (not on the website).

    ``sliders`` are ``interact``-style abbreviations such as ``lr=(0.001, 0.5, 0.001)``. Tag the cell
    ``remove-cell`` (the website shows :func:`explorer` instead) and ``nbval-ignore-output`` (what an
    ``interactive`` draws with no front end leaks into the cell's outputs).
    """
    from IPython.display import Image, display

    def draw(**values):
        with plt.rc_context({"figure.dpi": 72}):  # the explorer's size; one layout and one drawing
            fig = render(**values)
        display(Image(figure_png(fig, dpi=72)))
        plt.close(fig)

    return widgets.interactive(draw, **sliders)
