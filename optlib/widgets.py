"""Explorers: sliders for hyperparameters and pictures that follow, with or without a kernel.

:func:`explorer` draws what never moves (contours, axes, labels, the minimum) once, as one vector
background per panel, and each layer (an optimizer's path and loss) separately, as a small SVG
overlay for every combination of the controls that layer depends on. The overlays are stacked over
the background in one grid cell, and each control is linked in the browser (:func:`!ipywidgets.jslink`)
to the :class:`!ipywidgets.Stack` s of overlays it chooses between. So the same widget works in
Jupyter, in Binder and on the static website, where there is no kernel; frames cost kilobytes, and
because the layers are independent their frame counts add (SGD over the learning rates, plus
momentum over the learning rates times the momentum values) instead of multiplying. Each layer has
its own show/hide control; each picture is an ``<img>`` with alt text.

:meth:`Explorer.live` is the same explorer for a running kernel: continuous sliders, and a move
recomputes and redraws only the layers that depend on the control that moved.

:func:`minimize_over_lr` runs one optimizer for many learning rates at once, with exactly the
iterates :func:`~optlib.functions.minimize` gives for each (the explorers' grids use it).
"""
from __future__ import annotations

import html
import inspect
import io
import itertools
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as pyplot
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from . import curvature, plotting
from .functions import MinimizeResult, minimize, minimize_many
from .optimizers import SGD, Momentum, Nesterov

#: Above this many overlays in one explorer the page gets heavy (each is an SVG in the page's state).
MAX_FRAMES = 800

#: Pixels per inch of an explorer's panels (their SVG coordinates are in these pixels).
DPI = 100

# The overlays' coordinates are stored as integers in units of 1 / _SCALE of a pixel.
_SCALE = 10

# A path's vertices are dropped where the line moves less than this (pixels at :data:`DPI`) from
# the line drawn without them: matplotlib's own path simplification, as on screen.
_SIMPLIFY = 0.4

# Text sizes of the panels in points (a panel is 460 px wide at DPI; a phone shows it 358 px wide,
# so 10 points are 11 px there).
_PANEL_STYLE = {"axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10}

# Panels sit side by side down to this width (CSS pixels) each, and wrap onto rows below it.
_PANEL_MIN_WIDTH = 330


# ---------------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------------

def figure_svg(fig) -> str:
    """The whole figure as compact SVG text: vector, so crisp at any size; the same text on every run.

    Text stays text (``svg.fonttype: none``), ids are seeded (``svg.hashsalt``), the metadata and
    the indentation are dropped. The figure stays open.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "optlib"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                     "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"\s*\n\s*", " ", text)
    return re.sub(r">\s+<", "><", text).strip()


def _number(value: float) -> str:
    """A number in an SVG attribute: short, and the same text for the same value."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _path_data(points: np.ndarray, codes: np.ndarray) -> str:
    """SVG path data for integer points: an absolute move to each piece, then relative line steps."""
    parts, previous = [], None
    for (x, y), code in zip(points.tolist(), codes.tolist()):
        if code == Path.MOVETO or previous is None:
            parts.append(f"M{x} {y}")
        elif (x, y) != previous:
            parts.append(f"l{x - previous[0]} {y - previous[1]}")
        previous = (x, y)
    return "".join(parts).replace(" -", "-")


def _display_points(line: Line2D, height: float) -> tuple[np.ndarray, np.ndarray]:
    """A line's points in SVG units, clipped to its axes and simplified, with their path codes."""
    xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
    xy[~np.isfinite(xy).all(axis=1)] = np.nan
    box = line.axes.bbox
    pad = line.get_linewidth() * DPI / 72
    path = Path(xy)
    path.simplify_threshold = _SIMPLIFY
    cleaned = path.cleaned(remove_nans=True, clip=(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad),
                           simplify=True)
    keep = cleaned.codes != Path.STOP
    vertices, codes = cleaned.vertices[keep], cleaned.codes[keep]
    points = np.rint(np.column_stack([vertices[:, 0], height - vertices[:, 1]]) * _SCALE).astype(np.int64)
    return points, codes


def _paint(color, alpha=None) -> str:
    """SVG paint attributes for a matplotlib colour (``none`` for a transparent one)."""
    r, g, b, a = to_rgba(color, alpha)
    if a == 0:
        return "none"
    return to_hex((r, g, b)) + ("" if a == 1 else f"' opacity='{_number(a)}")


_DASHES = {"-": None, "--": (3.7, 1.6), ":": (1, 1.65), "-.": (6.4, 1.6, 1, 1.6)}


def _svg_line(line: Line2D, height: float) -> str:
    """One line: its path, and its markers where they are inside the axes."""
    out = []
    width = line.get_linewidth() * DPI / 72 * _SCALE
    if line.get_linestyle() not in ("None", "", " ", "none") and line.get_linewidth() > 0:
        points, codes = _display_points(line, height)
        if (codes == Path.LINETO).any():  # (nothing to draw without a segment)
            dash = _DASHES.get(line.get_linestyle())
            dasharray = "" if dash is None else " stroke-dasharray='" + " ".join(
                _number(d * width) for d in dash) + "'"
            stroke = _paint(line.get_color(), line.get_alpha())
            out.append(f"<path d='{_path_data(points, codes)}' fill='none' stroke='{stroke}' "
                       f"stroke-width='{_number(width)}' stroke-linejoin='round' stroke-linecap='round'{dasharray}/>")
    marker = line.get_marker()
    if marker not in (None, "None", "", " ", "none"):
        if marker not in ("o", ".", "x", "*"):
            raise ValueError(f"overlays draw the markers 'o', '.', 'x' and '*', not {marker!r}")
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        box = line.axes.bbox
        inside = np.isfinite(xy).all(axis=1) & (xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) \
            & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)
        size = line.get_markersize() * (0.5 if marker == "." else 1.0) * DPI / 72 * _SCALE
        face = _paint(line.get_markerfacecolor(), line.get_alpha())
        edge = _paint(line.get_markeredgecolor(), line.get_alpha())
        edge_width = _number(line.get_markeredgewidth() * DPI / 72 * _SCALE)
        centres = np.rint(np.column_stack([xy[inside, 0], height - xy[inside, 1]]) * _SCALE).astype(np.int64)
        if marker == "." and len(centres):  # dots: one path of zero-length round-capped strokes
            moves = np.diff(centres, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
            d = "".join(f"m{dx} {dy}h0" for dx, dy in moves.tolist()).replace(" -", "-")
            out.append(f"<path d='{d}' stroke='{face}' stroke-width='{_number(size)}' stroke-linecap='round'/>")
            centres = centres[:0]
        for x, y in centres.tolist():
            r = size / 2
            if marker == "o":
                out.append(f"<circle cx='{x:.0f}' cy='{y:.0f}' r='{_number(r)}' fill='{face}' stroke='{edge}' "
                           f"stroke-width='{edge_width}'/>")
            elif marker == "x":
                out.append(f"<path d='M{x - r:.0f} {y - r:.0f}l{2 * r:.0f} {2 * r:.0f}M{x - r:.0f} {y + r:.0f}"
                           f"l{2 * r:.0f}-{2 * r:.0f}' stroke='{edge}' stroke-width='{edge_width}'/>")
            else:  # a five-pointed star
                angles = np.pi / 2 + np.arange(10) * np.pi / 5
                radii = np.where(np.arange(10) % 2 == 0, r, r * 0.4)
                corners = " ".join(f"{x + q * np.cos(a):.0f},{y - q * np.sin(a):.0f}" for q, a in zip(radii, angles))
                out.append(f"<polygon points='{corners}' fill='{face}' stroke='{edge}' stroke-width='{edge_width}'/>")
    return "".join(out)


_ANCHOR = {"left": "start", "center": "middle", "right": "end"}
_BASELINE = {"top": "hanging", "center": "central", "center_baseline": "central", "bottom": "auto",
             "baseline": "auto"}


def _svg_text(text: Text, height: float) -> str:
    """One text: at its anchor point, in its colour and size (the browser's sans-serif font)."""
    x, y = text.get_transform().transform(text.get_position())
    size = text.get_fontsize() * DPI / 72 * _SCALE
    weight = " font-weight='bold'" if text.get_fontweight() in ("bold", 700, "heavy") else ""
    return (f"<text x='{x * _SCALE:.0f}' y='{(height - y) * _SCALE:.0f}' font-size='{_number(size)}' "
            f"font-family='sans-serif' fill='{_paint(text.get_color(), text.get_alpha())}' "
            f"text-anchor='{_ANCHOR[text.get_horizontalalignment()]}' "
            f"dominant-baseline='{_BASELINE[text.get_verticalalignment()]}'{weight}>"
            f"{html.escape(text.get_text(), quote=False)}</text>")


def overlay_svg(fig, artists: Sequence) -> str:
    """SVG of only ``artists`` (lines and texts of ``fig``), in ``fig``'s frame, on a transparent ground.

    Laid over a picture of the rest of the figure at the same width (:func:`figure_svg`), it
    completes it. Lines are clipped to their axes and simplified as matplotlib simplifies them on
    screen (a vertex goes where the line moves by less than 0.4 pixel without it); coordinates are
    integers in tenths of a pixel, so a path of a few hundred steps costs a few hundred bytes.
    """
    if fig.dpi != DPI:
        raise ValueError(f"the figure must have dpi = DPI = {DPI} (it has {fig.dpi}): overlays are in its pixels")
    width, height = fig.bbox.width, fig.bbox.height
    body = []
    for artist in artists:
        if not artist.get_visible():
            continue
        if isinstance(artist, (Line2D, _Line)):
            body.append(_svg_line(artist, height))
        elif isinstance(artist, Text):
            body.append(_svg_text(artist, height))
        else:
            raise ValueError(f"overlays draw lines and texts, not {type(artist).__name__}")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width * _SCALE:.0f} {height * _SCALE:.0f}'>"
            + "".join(body) + "</svg>")


_URI_ESCAPES = str.maketrans({"%": "%25", "#": "%23", '"': "%22", "&": "%26", "\n": " ", "\t": " "})


def _svg_uri(svg: str) -> str:
    """A ``data:`` URI for an SVG in an HTML attribute: percent-encoded, not base64 (gzip packs it).

    Only what would end the attribute (``"``, ``&``) or the URL's data (``#``, ``%``) is escaped,
    and any non-ASCII character (as UTF-8).
    """
    text = svg.translate(_URI_ESCAPES)
    if not text.isascii():
        text = urllib.parse.quote(text, safe="".join(chr(c) for c in range(32, 127)))
    return "data:image/svg+xml," + text


def _img(svg: str, alt: str) -> str:
    return (f'<img src="{_svg_uri(svg)}" alt="{html.escape(alt, quote=False).replace(chr(34), "&quot;")}" '
            f'style="flex:1 1 {_PANEL_MIN_WIDTH}px;min-width:0;max-width:100%;height:auto">')


def _blank(panel: "Panel") -> str:
    """A transparent place-holder with a panel's shape (a layer that draws nothing there)."""
    w, h = panel.size
    return f'<div style="flex:1 1 {_PANEL_MIN_WIDTH}px;min-width:0;aspect-ratio:{w}/{h}"></div>'


def _row(items: Sequence[str]) -> str:
    """Panels side by side, wrapping onto rows on narrow screens: every layer wraps the same way."""
    return ('<div style="display:flex;flex-wrap:wrap;align-items:flex-start;width:100%">' + "".join(items)
            + "</div>")


# ---------------------------------------------------------------------------------------------------
# Runs for many learning rates at once
# ---------------------------------------------------------------------------------------------------

def minimize_over_lr(f, x0, make: Callable[[float], object], lrs: Sequence[float],
                     steps: int) -> list[MinimizeResult]:
    r"""``[minimize(f, x0, make(lr), steps) for lr in lrs]``, computed in one batch: the same iterates.

    In SGD, Momentum and Nesterov the learning rate multiplies the gradient before anything else
    touches it (:math:`u_{t+1} = \mu u_t + \alpha \nabla E`), so the optimizer ``make(1.0)`` fed the
    gradient :math:`\alpha \nabla E` takes exactly the steps of ``make(alpha)``: the product
    :math:`\alpha \nabla E` is the same floating-point number either way. Each learning rate is one
    column of a parameter array of shape ``(n, len(lrs))``, so one step of the optimizer advances
    every run: this is :func:`~optlib.functions.minimize_many` from ``x0`` in every column, with the
    gradient of column :math:`j` multiplied by :math:`\alpha_j` (``f`` and ``f.grad`` must accept
    such columns, as optlib's test functions do). The
    iterates are bit for bit those of :func:`~optlib.functions.minimize`; the losses are ``f`` of
    them, evaluated for all columns at once, so equal to within rounding (numpy may round ``x**2``
    of one number and of an array differently in the last bit). A run stops, as in ``minimize``, at
    its first non-finite gradient, iterate or loss; its column then gets a zero gradient and is
    ignored.

    Parameters
    ----------
    f : TestFunction
    x0 : array_like, shape (n,)
    make : callable
        ``make(lr)`` returns a fresh :class:`~optlib.optimizers.SGD`, :class:`~optlib.optimizers.Momentum`
        or :class:`~optlib.optimizers.Nesterov` with that constant learning rate.
    lrs : sequence of float
        The learning rates, each > 0.
    steps : int
        Steps per run, >= 0.

    Returns
    -------
    list of MinimizeResult
        One per learning rate, in the order of ``lrs``.

    Raises
    ------
    ValueError
        If ``make`` gives another optimizer, ``lrs`` is empty or holds a rate <= 0, or ``steps`` is not
        an integer >= 0.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    alphas = np.asarray(lrs, dtype=float).reshape(-1)
    if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ValueError(f"lrs must be a non-empty list of learning rates > 0, got {list(lrs)!r}")
    optimizer = make(1.0)
    if type(optimizer) not in (SGD, Momentum, Nesterov):
        raise ValueError("make must return an SGD, Momentum or Nesterov optimizer (the ones whose learning "
                         f"rate only scales the gradient), got {type(optimizer).__name__}")
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be one point, of shape (n,), got shape {x0.shape}")
    starts = np.repeat(x0[:, None], alphas.size, axis=1)  # one column per learning rate
    return minimize_many(_ScaledGradient(f, alphas), starts, optimizer, steps)


class _ScaledGradient:
    """``f`` whose gradient is multiplied, column by column, by the learning rates ``alphas``."""

    def __init__(self, f, alphas: np.ndarray):
        self.f, self.alphas = f, alphas

    def __call__(self, x):
        return self.f(x)

    def grad(self, x) -> np.ndarray:
        return self.alphas * np.asarray(self.f.grad(x), dtype=float)  # the product make(alpha) forms


# ---------------------------------------------------------------------------------------------------
# Panels and layers
# ---------------------------------------------------------------------------------------------------

def _parameters(fn: Callable) -> list[str]:
    """The names ``fn`` takes as keyword arguments (for a layer or a background: its controls)."""
    return [name for name, p in inspect.signature(fn).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _uses(fn: Callable, names, skip: int = 0, what: str = "a callable") -> list[str]:
    """The controls ``fn`` depends on: its parameters (after the first ``skip``) that are controls.

    A parameter with a default that is not a control keeps its default; one without must be a control.
    """
    parameters = list(inspect.signature(fn).parameters.values())[skip:]
    missing = [p.name for p in parameters if p.name not in names and p.default is inspect.Parameter.empty
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise ValueError(f"{what} depends on {missing}, which are not in controls")
    return [p.name for p in parameters if p.name in names]


def _is_function(f) -> bool:
    """A test function itself (it has a gradient), as opposed to a callable of controls returning one."""
    return hasattr(f, "grad")


@dataclass
class Panel:
    """One picture of an explorer: a background drawn once, and what each layer draws over it.

    Parameters
    ----------
    background : callable
        ``background(ax, **values)`` draws the part that does not move on a fresh axes and returns
        its alt text. Its parameters after ``ax`` name the controls it depends on (usually none:
        then it is drawn once).
    draw : callable
        ``draw(ax, layer, result, **values)`` adds one layer's lines and texts (see
        :func:`overlay_svg`) for one combination of the controls and returns them; they become an
        overlay and are removed. ``values`` holds every control. An empty list: the layer draws
        nothing on this panel.
    describe : callable
        ``describe(layer, result, summary, **values)`` returns the alt text of that overlay;
        ``summary`` is the sentence saying how the run goes (see :func:`explorer`'s ``alt``).
    size : (float, float)
        Width and height in inches (at :data:`DPI`).
    underlay : callable, optional
        ``underlay(ax, **values)`` returns ``(artists, alt)``: a part of the picture that depends on
        controls (its parameters after ``ax``) but not on any layer, such as a function's contours. It
        becomes a layer of its own under the others, always shown: much lighter and quicker than a
        background per value, whose axes and labels would be drawn again each time.
    """

    background: Callable
    draw: Callable
    describe: Callable
    size: tuple = (4.6, 3.7)
    underlay: Callable | None = None
    underlay_label: str = "backdrop"

    @property
    def controls(self) -> list[str]:
        """The controls its background depends on (resolved against an explorer's controls)."""
        return self.__dict__.get("_controls", _parameters(self.background)[1:])


class _Line:
    """A line for an overlay: what :func:`overlay_svg` reads of a ``Line2D``, at a fraction of its cost."""

    def __init__(self, ax, x, y, color, linewidth, linestyle, marker, markersize, markeredgewidth,
                 markerfacecolor, markeredgecolor, alpha):
        self.axes = ax
        self._xy = np.column_stack([np.atleast_1d(np.asarray(x, dtype=float)),
                                    np.atleast_1d(np.asarray(y, dtype=float))])
        self._style = (color, linewidth, linestyle, marker, markersize, markeredgewidth,
                       color if markerfacecolor is None else markerfacecolor,
                       color if markeredgecolor is None else markeredgecolor, alpha)

    def get_visible(self):
        return True

    def get_transform(self):
        return self.axes.transData

    def get_xydata(self):
        return self._xy

    def get_color(self):
        return self._style[0]

    def get_linewidth(self):
        return self._style[1]

    def get_linestyle(self):
        return self._style[2]

    def get_marker(self):
        return self._style[3]

    def get_markersize(self):
        return self._style[4]

    def get_markeredgewidth(self):
        return self._style[5]

    def get_markerfacecolor(self):
        return self._style[6]

    def get_markeredgecolor(self):
        return self._style[7]

    def get_alpha(self):
        return self._style[8]


def line(ax, x, y, *, color, linewidth: float = 1.5, linestyle: str = "-", marker: str = "None",
         markersize: float = 6, markeredgewidth: float = 1.0, markerfacecolor=None, markeredgecolor=None,
         alpha=None):
    """A line in ``ax``'s data coordinates for :func:`overlay_svg`, not added to ``ax``.

    The arguments are ``Line2D``'s (``linestyle`` one of ``- -- : -.`` or ``None``; ``marker`` one of
    ``o . x *`` or ``None``). Many times cheaper than ``ax.plot``, which also builds a full artist
    and rescales the axes: an explorer draws several lines for each of hundreds of frames.
    """
    return _Line(ax, x, y, color, linewidth, linestyle, marker, markersize, markeredgewidth, markerfacecolor,
                 markeredgecolor, alpha)


def _values_text(values: dict, labels: dict, options: dict | None = None) -> str:
    """ "learning rate α = 0.001, RMSProp's ε = inside √": each control's label and its value's."""
    def shown(name, value):
        for label, option in (options or {}).get(name, []):
            if option is value or (type(option) is type(value) and option == value):
                return label
        return _shown(value)
    return ", ".join(f"{labels.get(name, name)} = {shown(name, value)}" for name, value in values.items())


def run_summary(layer: "Layer", result, **values) -> str:
    """The default end of an overlay's alt text: where the run ends, or when it blows up."""
    if result.diverged:
        return f"it blows up after {result.steps_taken} steps"
    return f"it ends at loss {result.loss[-1]:.2g} after {result.steps_taken} steps"


def _controls_signature(first: str, function) -> inspect.Signature:
    """``(first, *, controls)``: the parameters of ``function`` (with their defaults) if it is a callable."""
    own = [] if _is_function(function) else list(inspect.signature(function).parameters.values())
    return inspect.Signature([inspect.Parameter(first, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
                             + [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default)
                                for p in own])


def path_panel(function, *, domain=None, levels: int = 15, resolution: int = 100, title: str | None = None,
               dots: bool = False, size=(4.6, 3.7)) -> Panel:
    """Contours of a test function (drawn once) and each layer's path on them.

    ``function`` is a :class:`~optlib.functions.TestFunction`, or a callable of some controls that
    returns one (the contours are then drawn for each of their values), with ``levels`` contour
    lines on a grid of ``resolution`` points a side. Each path starts at a black dot; a path that
    blows up ends in a cross. ``dots`` marks every iterate (for short runs: the step lengths show).
    """
    def where(f) -> str:
        minima = getattr(f, "minima", [])
        return "" if not minima else "; minimum at " + ", ".join(
            f"({m[0]:.3g}, {m[1]:.3g})" for m in minima) + " (stars)"

    def contours_and_axes(ax, **values):
        f = function if _is_function(function) else function(**values)
        plotting.contour(f, ax, domain=domain, levels=levels, resolution=resolution)
        ax.set(xlabel="x", ylabel="y")
        ax.set_title(title or f"{f.name}: paths", loc="left")
        return f"Contour lines of the {f.name} function{where(f)}. The paths are drawn over them."

    def axes_only(ax):
        (x0, x1), (y0, y1) = domain
        ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")
        ax.set_title(title or "paths", loc="left")
        return (f"Axes from {x0:g} to {x1:g} in x and from {y0:g} to {y1:g} in y; the contour lines of the "
                "function and the paths are drawn over them.")

    def contours(ax, **values):
        f = function(**values)
        return _contour_lines(ax, f, domain, levels, resolution), f"Contour lines of the {f.name} function{where(f)}"

    contours_and_axes.__signature__ = contours.__signature__ = _controls_signature("ax", function)
    # a function of controls in a fixed window: the axes drawn once, its contours a layer under the paths
    underlay = contours if not _is_function(function) and domain is not None else None
    background = axes_only if underlay else contours_and_axes

    def draw(ax, layer, result, **values):
        xs = np.asarray(result.x)
        artists = [line(ax, xs[:, 0], xs[:, 1], color=layer.color, marker="." if dots else "None",
                        markersize=5),
                   line(ax, xs[0, 0], xs[0, 1], color="k", marker="o", markersize=4)]
        if result.diverged:
            artists.append(line(ax, xs[-1, 0], xs[-1, 1], color=layer.color, marker="x", markersize=8,
                                markeredgewidth=2))
        return artists

    def describe(layer, result, summary, **values):
        xs = np.asarray(result.x)
        settings = _values_text(layer.values(values), layer.labels, layer.options)
        return (f"{layer.label}'s path, {settings}: from ({xs[0, 0]:.3g}, {xs[0, 1]:.3g}) to "
                f"({xs[-1, 0]:.3g}, {xs[-1, 1]:.3g}); {summary}.")

    return Panel(background, draw, describe, size, underlay, "contours")


def _contour_lines(ax, f, domain, levels: int, resolution: int) -> list:
    """:func:`optlib.plotting.contour`'s lines and minima on ``ax``, as overlay lines (``ax`` is left as it was)."""
    kept = (ax.get_xlim(), ax.get_ylim(), ax.get_xlabel(), ax.get_ylabel())
    before = set(ax.get_children())
    plotting.contour(f, ax, domain=domain, levels=levels, resolution=resolution)
    added = [a for a in ax.get_children() if a not in before]
    lines = []
    for artist in added:
        if isinstance(artist, Line2D):  # a minimum's star
            x, y = artist.get_data()
            lines.append(line(ax, x, y, color=artist.get_markerfacecolor(), linestyle="None",
                              marker=artist.get_marker(), markersize=artist.get_markersize(),
                              markeredgecolor=artist.get_markeredgecolor()))
        elif hasattr(artist, "get_paths"):  # the contour set: one path per level, in pieces
            widths = np.broadcast_to(artist.get_linewidth(), len(artist.get_paths()))
            for path, color, width in zip(artist.get_paths(), artist.get_edgecolor(), widths):
                if len(path.vertices) == 0:
                    continue
                xy = path.vertices.astype(float)
                if path.codes is not None:  # a gap (nan) before each new piece
                    starts = np.flatnonzero(path.codes == Path.MOVETO)[1:]
                    xy = np.insert(xy, starts, np.nan, axis=0)
                lines.append(line(ax, xy[:, 0], xy[:, 1], color=tuple(color), linewidth=float(width)))
    for artist in added:
        artist.remove()
    ax.set(xlim=kept[0], ylim=kept[1], xlabel=kept[2], ylabel=kept[3])
    return lines


_SUPERSCRIPTS = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _power_of_ten(value: float, position=None) -> str:
    """A log axis' tick label as plain text, ``10⁻⁸`` (no mathtext: quicker, and the same in SVG)."""
    if value <= 0:
        return ""
    exponent = np.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:g}"
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPTS)


def loss_panel(steps: int, *, ylim=(1e-8, 1e3), ylabel: str = "loss", title: str = "loss",
               minimum: float = 0.0, size=(4.6, 3.7)) -> Panel:
    """Each layer's loss minus ``minimum`` against the step, on a log scale.

    A run that blows up ends in a cross at its last finite value.
    """
    def background(ax):
        ax.set(yscale="log", xlim=(0, steps), ylim=ylim, xlabel="step", ylabel=ylabel)
        ax.set_title(title, loc="left")
        ax.minorticks_off()
        ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
        return (f"Axes for the {ylabel} on a log scale from {ylim[0]:g} to {ylim[1]:g} against the step, "
                f"0 to {steps}. The curves are drawn over them.")

    def draw(ax, layer, result, **values):
        loss = np.asarray(result.loss, dtype=float) - minimum
        artists = [line(ax, np.arange(len(loss)), loss, color=layer.color)]
        if result.diverged:
            artists.append(line(ax, len(loss) - 1, min(loss[-1], ylim[1]), color=layer.color, marker="x",
                                markersize=8, markeredgewidth=2))
        return artists

    def describe(layer, result, summary, **values):
        loss = np.asarray(result.loss, dtype=float) - minimum
        settings = _values_text(layer.values(values), layer.labels, layer.options)
        return f"{layer.label}'s {ylabel}, {settings}: from {loss[0]:.3g}; {summary}."

    return Panel(background, draw, describe, size)


#: The method of :mod:`optlib.curvature` each optimizer runs on a quadratic.
_METHODS = {"SGD": "gd", "Momentum": "heavy_ball", "Nesterov": "nesterov"}


def _method_of(layer: "Layer") -> str:
    if layer.name not in _METHODS:
        raise ValueError(f"no rate on a quadratic for the layer {layer.name!r} (only {sorted(_METHODS)})")
    return _METHODS[layer.name]


def rate_map_panel(eigenvalues, *, lr_max: float, mu_max: float = 0.98, resolution: int = 100,
                   size=(4.6, 3.7)) -> Panel:
    r"""Heavy ball's rate over :math:`(\alpha, \mu)` on a quadratic, with each layer's :math:`(\alpha, \mu)` marked.

    The background is the map of :func:`optlib.curvature.heavy_ball_rate` for the Hessian
    ``eigenvalues`` (its row :math:`\mu = 0` is gradient descent), where it is below 1, in bands of
    0.05; the line where it equals gradient descent's best rate :math:`(\kappa - 1)/(\kappa + 1)`;
    the edge of Nesterov's stable region, :math:`\alpha = 2(1 + \mu)/((1 + 2\mu) L)`
    (:func:`optlib.curvature.stable_lr`); Polyak's optimum :math:`(\alpha^*, \mu^*)` (a star); and
    gradient descent's best :math:`\alpha` on the axis. Each of the layers SGD (at :math:`\mu = 0`),
    Momentum and Nesterov marks its :math:`(\alpha, \mu)`; its alt text gives its own rate.
    """
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    m, L = float(eigenvalues.min()), float(eigenvalues.max())
    gd_lr, gd_best = curvature.optimal_gd(m, L)
    hb_lr, hb_mu, hb_best = curvature.optimal_heavy_ball(m, L)

    def background(ax):
        lrs = np.linspace(0, lr_max, resolution + 1)[1:]
        mus = np.linspace(0, mu_max, resolution)
        grid_lr, grid_mu = np.meshgrid(lrs, mus)
        rates = curvature.heavy_ball_rate(grid_lr, grid_mu, eigenvalues)
        low = np.floor(hb_best * 20) / 20
        bands = ax.contourf(grid_lr, grid_mu, rates, levels=np.arange(low, 1.0001, 0.05), cmap="viridis",
                            extend="neither")
        ax.contourf(grid_lr, grid_mu, rates, levels=[1, np.inf], colors=["0.88"])
        ax.contour(grid_lr, grid_mu, rates, levels=[gd_best], colors="w", linewidths=1.5, linestyles="--")
        ax.plot(curvature.stable_lr(L, mus, "nesterov"), mus, color="k", linewidth=1.5, linestyle=":",
                label="Nesterov's limit")
        ax.plot([], [], color="w", linewidth=1.5, linestyle="--", label=f"rate {gd_best:.2g}: best GD")
        ax.plot(hb_lr, hb_mu, "*", color="gold", markersize=14, markeredgecolor="k", linestyle="none",
                label="optimum")
        ax.plot(gd_lr, 0, "D", color="w", markersize=6, markeredgecolor="k", clip_on=False, linestyle="none",
                label="best GD α")
        ax.fill_between([], [], color="0.88", label="blows up")
        legend = ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.9, facecolor="0.75",
                           edgecolor="none", borderaxespad=0.3)
        legend.set_zorder(1)  # under the marks of the layers: they are drawn over the picture
        ax.figure.colorbar(bands, ax=ax, label="rate", fraction=0.05, pad=0.03)
        ax.set(xlim=(0, lr_max), ylim=(0, mu_max), xlabel="learning rate α", ylabel="momentum μ")
        ax.set_title(f"heavy-ball rate, κ = {L / m:.3g}", loc="left")
        return (f"Map of the heavy-ball rate on a quadratic with Hessian eigenvalues {m:g} and {L:g}, over the "
                f"learning rate α from 0 to {lr_max:g} and the momentum μ from 0 to {mu_max:g}, in colour bands "
                f"of 0.05 where it is below 1 and grey where it blows up. A dashed white line marks where it "
                f"equals gradient descent's best rate {gd_best:.3g} (smaller inside); a dotted black line is the "
                f"edge of Nesterov's stable region (stable to its left); a star marks the optimum α = {hb_lr:.3g}, "
                f"μ = {hb_mu:.3g} (rate {hb_best:.3g}); a diamond gradient descent's best α = {gd_lr:.3g}.")

    def draw(ax, layer, result, **values):
        method = _method_of(layer)
        mu = 0.0 if method == "gd" else values.get("mu", 0.0)
        shape = {"gd": "o", "heavy_ball": "o", "nesterov": "x"}[method]
        return [line(ax, values["lr"], mu, color=layer.color, marker=shape, markersize=11 if shape == "o" else 9,
                     markeredgewidth=2.5 if shape == "x" else 1.5, markeredgecolor="k" if shape == "o" else layer.color,
                     markerfacecolor=layer.color)]

    def describe(layer, result, summary, **values):
        method = _method_of(layer)
        mu = 0.0 if method == "gd" else values.get("mu", 0.0)
        rho = curvature.rate(values["lr"], eigenvalues, mu, method)
        verdict = "converges" if rho < 1 else "blows up"
        return (f"{layer.label} marked on the map at α = {_shown(values['lr'])}, μ = {_shown(mu)}: its rate from "
                f"the spectral radius is {rho:.3g}, so it {verdict}; the run: {summary}.")

    return Panel(background, draw, describe, size)


def error_panel(steps: int, minimum, *, eigenvalues=None, ylim=(1e-12, 1e2), size=(4.6, 3.7)) -> Panel:
    r"""Each layer's distance to ``minimum``, :math:`\|\theta_t - \theta^*\|`, against the step (log scale).

    With ``eigenvalues`` (of a quadratic's Hessian), a dashed line :math:`e_0 \rho^t` shows the rate
    :math:`\rho` that :func:`optlib.curvature.rate` predicts for the layer (SGD, Momentum, Nesterov).
    """
    minimum = np.asarray(minimum, dtype=float)

    def background(ax):
        ax.set(yscale="log", xlim=(0, steps), ylim=ylim, xlabel="step", ylabel="distance to the minimum")
        ax.set_title("error ‖θ − θ*‖" + (" (dashed: ρᵗ)" if eigenvalues is not None else ""), loc="left")
        ax.minorticks_off()
        ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
        return (f"Axes for the distance to the minimum on a log scale from {ylim[0]:g} to {ylim[1]:g} against "
                f"the step, 0 to {steps}. The curves are drawn over them.")

    def predicted(layer, values):
        method = _method_of(layer)
        mu = 0.0 if method == "gd" else values.get("mu", 0.0)
        return curvature.rate(values["lr"], eigenvalues, mu, method)

    def draw(ax, layer, result, **values):
        errors = np.linalg.norm(np.asarray(result.x) - minimum, axis=1)
        artists = [line(ax, np.arange(len(errors)), errors, color=layer.color)]
        if eigenvalues is not None:
            t = np.arange(steps + 1)
            with np.errstate(over="ignore", under="ignore"):
                artists.append(line(ax, t, errors[0] * predicted(layer, values) ** t, color=layer.color,
                                    linewidth=1.0, linestyle="--"))
        if result.diverged:
            artists.append(line(ax, len(errors) - 1, min(errors[-1], ylim[1]), color=layer.color, marker="x",
                                markersize=8, markeredgewidth=2))
        return artists

    def describe(layer, result, summary, **values):
        errors = np.linalg.norm(np.asarray(result.x) - minimum, axis=1)
        theory = "" if eigenvalues is None else f" (the dashed line: the predicted rate {predicted(layer, values):.3g})"
        settings = _values_text(layer.values(values), layer.labels, layer.options)
        return f"{layer.label}'s distance to the minimum, {settings}: from {errors[0]:.3g}; {summary}{theory}."

    return Panel(background, draw, describe, size)


@dataclass
class Layer:
    """What one optimizer (or anything else that moves) draws in an explorer, with its own frames.

    Parameters
    ----------
    name : str
        Its name; an optimizer's name picks its colour (:func:`optlib.plotting.color_for`).
    run : callable
        ``run(**values)`` returns what the panels draw (a :class:`~optlib.functions.MinimizeResult`
        for :func:`path_panel` and :func:`loss_panel`). Its parameters name the controls the layer
        depends on: it has a frame for every combination of their values, and no others.
    label : str, optional
        The text beside its show/hide buttons and in its alt texts (default: ``name``).
    color : str, optional
    toggle : bool
        Whether it has show/hide buttons (else it is always shown).
    batch : callable, optional
        ``batch(list of value dicts)`` returns the list of ``run``'s results for them, computed at
        once (:func:`minimize_over_lr`).
    """

    name: str
    run: Callable
    label: str | None = None
    color: str | None = None
    toggle: bool = True
    batch: Callable | None = None
    labels: dict = field(default_factory=dict, repr=False)  # the controls' labels, set by explorer
    options: dict = field(default_factory=dict, repr=False)  # the controls' (label, value) pairs, too
    underlay_of: int | None = field(default=None, repr=False)  # set for a panel's underlay (see Panel)

    def __post_init__(self):
        self.label = self.label or self.name
        self.color = self.color or plotting.color_for(self.name)

    @property
    def controls(self) -> list[str]:
        """The controls ``run`` depends on (resolved against an explorer's controls)."""
        return self.__dict__.get("_controls", _parameters(self.run))

    def values(self, values: dict) -> dict:
        """The values of the controls this layer depends on, out of all of them."""
        return {name: values[name] for name in self.controls}

    def results(self, combinations: list[dict]) -> list:
        if self.batch is not None:
            return list(self.batch(combinations))
        return [self.run(**c) for c in combinations]


def _optimizer_layer(optimizer, function, controls: list[str], *, steps: int, start=None,
                     name: str | None = None) -> Layer:
    """A layer that runs ``optimizer`` on ``function`` for ``steps`` steps from ``start``.

    ``optimizer`` is an optimizer class or a callable of controls returning an optimizer: those of
    its parameters that are ``controls`` (``lr``, ``mu``, ...) are the layer's; the others keep
    their defaults. ``function`` and ``start`` may be callables of controls too. The runs of SGD,
    Momentum and Nesterov for all learning rates are computed together (:func:`minimize_over_lr`).
    """
    own = [n for n in _parameters(optimizer) if n in controls]
    f_controls = [] if _is_function(function) else _uses(function, controls, what="the function")
    start_controls = _uses(start, controls, what="start") if callable(start) else []
    names = [n for n in controls if n in own or n in f_controls or n in start_controls]

    def resolve(values):
        f = function if _is_function(function) else function(**{n: values[n] for n in f_controls})
        if start is None:
            return f, f.start
        return f, (start(**{n: values[n] for n in start_controls}) if callable(start) else start)

    def run(**values):
        f, x0 = resolve(values)
        return minimize(f, x0, optimizer(**{n: values[n] for n in own}), steps)

    run.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])

    def batch(combinations):
        if not (isinstance(optimizer, type) and optimizer in (SGD, Momentum, Nesterov) and "lr" in own):
            return [run(**c) for c in combinations]
        groups: dict = {}
        for i, c in enumerate(combinations):
            groups.setdefault(tuple((n, c[n]) for n in names if n != "lr"), []).append(i)
        out = [None] * len(combinations)
        for key, indices in groups.items():
            rest = dict(key)
            f, x0 = resolve(rest)
            hyper = {n: rest[n] for n in own if n != "lr"}
            made = minimize_over_lr(f, x0, lambda lr: optimizer(lr=lr, **hyper),
                                    [combinations[i]["lr"] for i in indices], steps)
            for i, r in zip(indices, made):
                out[i] = r
        return out

    return Layer(name or optimizer.__name__, run, batch=batch)


# ---------------------------------------------------------------------------------------------------
# Controls
# ---------------------------------------------------------------------------------------------------

def _shown(value) -> str:
    """A control value as its slider or button shows it (0.0014, not 0.00)."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _options(name: str, values) -> list[tuple[str, object]]:
    """(label, value) pairs from a list of values or a dict label -> value."""
    if isinstance(values, dict):
        options = [(str(k), v) for k, v in values.items()]
    else:
        options = [(_shown(v), v) for v in values]
    if not options:
        raise ValueError(f"controls[{name!r}] has no values")
    return options


def _control(name: str, options, index: int, label: str | None):
    style = {"description_width": "initial"}
    values = [v for _, v in options]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and len(values) > 2:
        return widgets.SelectionSlider(options=options, index=index, description=label or name,
                                       continuous_update=True, style=style,
                                       layout=widgets.Layout(width="min(100%, 26em)"))
    return widgets.ToggleButtons(options=options, index=index, description=label or name,
                                 style={**style, "button_width": "auto"})


def _layer_toggle(layer: Layer) -> tuple[widgets.HBox, widgets.ToggleButtons]:
    """A layer's legend entry (its colour and label) beside its show/hide buttons; and the buttons."""
    swatch = (f'<span style="display:inline-block;width:1.6em;height:0.25em;vertical-align:middle;'
              f'background:{layer.color}"></span> {html.escape(layer.label)}')
    buttons = widgets.ToggleButtons(options=[("show", 0), ("hide", 1)], index=0,
                                    tooltips=[f"show {layer.label}", f"hide {layer.label}"],
                                    style={"button_width": "auto"})
    entry = widgets.HBox([widgets.HTML(swatch), buttons], layout=widgets.Layout(margin="0 1.5em 0 0",
                                                                               align_items="center"))
    return entry, buttons


# ---------------------------------------------------------------------------------------------------
# The explorer
# ---------------------------------------------------------------------------------------------------

class _Drawing:
    """The panels' figures, one per combination of each panel's background controls, drawn once."""

    def __init__(self, panels: list[Panel]):
        self.panels, self.figures, self.svgs, self.layouts = panels, {}, {}, {}

    def axes(self, i: int, values: dict):
        """Panel ``i``'s axes and background alt text for these control values (drawn on first use)."""
        panel = self.panels[i]
        key = (i, tuple(values[n] for n in panel.controls))
        if key not in self.figures:
            fig = Figure(figsize=panel.size, dpi=DPI)  # not pyplot's: never shown by a notebook
            ax = fig.add_subplot()
            with matplotlib.rc_context(_PANEL_STYLE):
                alt = panel.background(ax, **{n: values[n] for n in panel.controls})
                if i in self.layouts:  # the panel's layout for its other values: no jump, no new layout
                    fig.subplots_adjust(**self.layouts[i])
                else:
                    fig.tight_layout()
                    self.layouts[i] = {k: getattr(fig.subplotpars, k)
                                       for k in ("left", "right", "bottom", "top", "wspace", "hspace")}
            self.figures[key] = (fig, ax, str(alt or ""))
        return self.figures[key]

    def background_html(self, values: dict) -> str:
        items = []
        for i, panel in enumerate(self.panels):
            fig, _, alt = self.axes(i, values)
            key = ("svg", i, tuple(values[n] for n in panel.controls))
            if key not in self.svgs:  # (a panel that does not depend on a control is drawn once)
                self.svgs[key] = _img(figure_svg(fig), alt)
            items.append(self.svgs[key])
        return _row(items)

    def frame_html(self, layer: Layer, result, values: dict, summary: Callable = None) -> str:
        summary = "" if layer.underlay_of is not None else (summary or run_summary)(layer, result, **values)
        if layer.underlay_of is None and not str(summary).strip():
            raise ValueError(f"alt gave an empty text for {layer.name} at {values}")
        items = []
        for i, panel in enumerate(self.panels):
            fig, ax, _ = self.axes(i, values)
            if layer.underlay_of is not None:  # a panel's underlay: on its own panel only
                if i != layer.underlay_of:
                    items.append(_blank(panel))
                    continue
                artists, alt = panel.underlay(ax, **layer.values(values))
                settings = _values_text(layer.values(values), layer.labels, layer.options)
                items.append(_img(overlay_svg(fig, artists), f"{alt}, {settings}."))
                continue
            artists = panel.draw(ax, layer, result, **values) or []
            try:
                svg = overlay_svg(fig, artists)
            finally:
                for artist in artists:
                    if not isinstance(artist, _Line):  # (lines made by line() were never added)
                        artist.remove()
            if not artists:
                items.append(_blank(panel))
            else:
                items.append(_img(svg, str(panel.describe(layer, result, summary, **values))))
        return _row(items)

    def close(self):
        self.figures, self.svgs = {}, {}


def _picture(children: list) -> widgets.GridBox:
    """Children stacked in one grid cell: the background first, each layer above the last.

    Every widget from the cell down to the pictures has no margin (widgets have 2 px by default,
    one per level of nesting), so the overlays are exactly as wide as the background.
    """
    for child in children:
        child.layout.grid_area = "picture"
    return widgets.GridBox(children, layout=widgets.Layout(grid_template_areas='"picture"',
                                                           grid_template_columns="minmax(0, 1fr)",
                                                           width="100%"))


class Explorer(widgets.VBox):
    """An explorer (see :func:`explorer`): controls, show/hide buttons, and the stacked pictures.

    Its ``repr`` says what it holds, the same on every run; :meth:`live` gives the kernel form.
    """

    def __init__(self, children, summary: str, spec: dict):
        super().__init__(children)
        self._summary, self._spec = summary, spec

    def __repr__(self) -> str:
        return self._summary

    def live(self, **ranges) -> "LiveExplorer":
        """The same explorer with continuous controls, for a running kernel.

        ``ranges`` gives a control ``(min, max, step)`` (a slider of that step, its readout at the
        step's precision) or a list of values; the others keep the explorer's values. A move
        recomputes and redraws only the layers (and backgrounds) that depend on that control.
        """
        return LiveExplorer(self._spec, ranges)


def explorer(panels, layers: Sequence, controls: dict, *, steps: int | None = None, function=None, start=None,
             initial: dict | None = None, labels: dict | None = None, alt: Callable | None = None) -> Explorer:
    """A kernel-free explorer: controls, and pictures drawn as one background plus a layer per optimizer.

    Parameters
    ----------
    panels : TestFunction, callable or list of Panel
        A test function (or a callable of controls that returns one) gives the two standard panels:
        its contours with the paths (:func:`path_panel`) and the loss against the step
        (:func:`loss_panel`). Or a list of :class:`Panel`.
    layers : list
        Optimizer classes (``[SGD, Momentum, Nesterov]``), ``(name, make)`` pairs where
        ``make(**values)`` returns an optimizer, or :class:`Layer` objects. An optimizer's layer
        depends on those of its parameters that are controls (``lr``, ``mu``: the others keep their
        defaults); it is run on the test function for ``steps`` steps from ``start`` (default: the
        function's ``start``; either may be a callable of controls). SGD, Momentum and Nesterov run
        all their learning rates at once (:func:`minimize_over_lr`).
    controls : dict
        Name -> its values (a list, or a dict label -> value). Three numbers or more become a slider,
        anything else toggle buttons; a control with one value is shown only by the live form. A
        layer's frames are drawn for the combinations of the controls it depends
        on (the parameters of its optimizer or ``run``, and of the panels' backgrounds).
    steps, function, start
        For optimizer layers: the number of steps, the function they run on (default: ``panels``,
        when it is a test function) and the start point.
    initial : dict, optional
        The values shown first (default: the first of each).
    labels : dict, optional
        Name -> the label beside its control and in the alt texts.
    alt : callable, optional
        ``alt(layer, result, **values)`` returns the sentence that ends every overlay's alt text,
        saying how the run goes (default :func:`run_summary`: "it ends at loss 5.6e-08 after 400
        steps", "it blows up after 31 steps"); each panel's text says what it shows before it.

    Returns
    -------
    Explorer
        A widget: each control's ``index`` is linked in the browser (``jslink``) to the
        ``selected_index`` of the stacks of overlays it chooses between; each layer's show/hide
        buttons to a stack of its overlays and nothing.

    Raises
    ------
    ValueError
        If ``controls`` is empty or has an empty list, ``initial`` names an unknown control or value,
        a layer or panel depends on a control that is not in ``controls``, there are more than
        :data:`MAX_FRAMES` overlays, or an alt text is empty.
    """
    spec = _spec(panels, layers, controls, steps=steps, function=function, start=start, initial=initial,
                 labels=labels, alt=alt)
    names, options, start_index = spec["names"], spec["options"], spec["start"]
    panels, layers, labels = spec["panels"], spec["layers"], spec["labels"]
    control_widgets = {n: _control(n, options[n], start_index[n], labels.get(n)) for n in names}
    drawing = _Drawing(panels)
    # one layout and one style model for every frame (each model is a record in the page's state)
    full_width = widgets.Layout(width="100%", margin="0")
    shared = {"layout": full_width, "style": widgets.widgets.widget_string.HTMLStyle()}

    def stacks(depends: list[str], html_for: Callable[[dict], str], chosen: dict | None = None):
        """Nested stacks over the controls in ``depends``; leaves are HTML widgets."""
        chosen = chosen or {}
        if not depends:
            return widgets.HTML(html_for(chosen), **shared)
        name, rest = depends[0], depends[1:]
        if len(options[name]) == 1:  # a fixed value: no stack, no control on the page
            return stacks(rest, html_for, {**chosen, name: options[name][0][1]})
        children = [stacks(rest, html_for, {**chosen, name: value}) for _, value in options[name]]
        stack = widgets.Stack(children, selected_index=start_index[name], layout=full_width)
        widgets.jslink((control_widgets[name], "index"), (stack, "selected_index"))
        return stack

    try:
        bg_controls = [n for n in names if any(n in p.controls for p in panels)]
        some = {n: options[n][start_index[n]][1] for n in names}
        background = stacks(bg_controls, lambda chosen: drawing.background_html({**some, **chosen}))
        background.layout = widgets.Layout(width="100%", margin="0")
        picture_children, toggles, counts = [background], [], []
        for layer in layers:
            # the controls with fewest values outermost: fewer nested stacks (and links) for the same frames
            depends = sorted((n for n in names if n in layer.controls or n in bg_controls),
                             key=lambda n: len(options[n]))
            combinations = [dict(zip(depends, values)) for values in
                            itertools.product(*[[v for _, v in options[n]] for n in depends])]
            results = layer.results(combinations)
            by_key = {tuple(c[n] for n in depends): r for c, r in zip(combinations, results)}
            counts.append((layer.label, len(combinations)))

            def html_for(chosen, layer=layer, depends=depends, by_key=by_key):
                values = {**some, **chosen}
                return drawing.frame_html(layer, by_key[tuple(chosen[n] for n in depends)], values,
                                          spec["alt"])

            frames = stacks(depends, html_for)
            if layer.toggle:
                entry, buttons = _layer_toggle(layer)
                shown = widgets.Stack([frames, widgets.HTML("", **shared)], selected_index=0, layout=full_width)
                widgets.jslink((buttons, "index"), (shown, "selected_index"))
                toggles.append(entry)
                frames = shown
            frames.layout = widgets.Layout(width="100%", margin="0")
            picture_children.append(frames)
    finally:
        drawing.close()
    spec["background"] = background
    shown = [control_widgets[n] for n in names if len(options[n]) > 1]  # (a fixed value is in the alt texts)
    rows = [widgets.HBox(shown, layout=widgets.Layout(flex_flow="row wrap"))]
    if toggles:
        rows.append(widgets.HBox(toggles, layout=widgets.Layout(flex_flow="row wrap")))
    rows.append(_picture(picture_children))
    return Explorer(rows, _summary(spec, counts), spec)


#: ipywidgets cuts a widget's plain-text form (what a notebook shows before its widgets run) at this length.
REPR_LENGTH = 110


def _first_that_fits(*texts: str) -> str:
    """The first text of at most :data:`REPR_LENGTH` characters (else the last, cut)."""
    for text in texts:
        if len(text) <= REPR_LENGTH:
            return text
    return texts[-1][:REPR_LENGTH - 1] + "…"


def _summary(spec: dict, counts: list) -> str:
    """What an explorer holds, in words short enough to be shown whole (its repr, before it runs)."""
    layers = ", ".join(layer.label for layer in spec["layers"] if layer.underlay_of is None)
    moving = [n for n in spec["names"] if len(spec["options"][n]) > 1]
    sized = ", ".join(f"{n} ({len(spec['options'][n])})" for n in moving)
    frames = sum(n for _, n in counts)
    return _first_that_fits(f"Explorer({layers} over {sized}; {frames} frames): run the cell to show it",
                            f"Explorer({layers} over {', '.join(moving)}): run the cell to show it",
                            f"Explorer(over {', '.join(moving)}): run the cell to show it")


def _spec(panels, layers, controls, *, steps, function, start, initial, labels, alt) -> dict:
    """The checked description of an explorer, shared by its static and live forms."""
    if not controls:
        raise ValueError("controls must name at least one control")
    names = list(controls)
    options = {n: _options(n, controls[n]) for n in names}
    initial = dict(initial or {})
    unknown = sorted(set(initial) - set(names))
    if unknown:
        raise ValueError(f"initial names unknown controls: {unknown}")
    start_index = {}
    for n in names:
        values = [v for _, v in options[n]]
        if n in initial and initial[n] not in values:
            raise ValueError(f"initial[{n!r}] = {initial[n]!r} is not one of controls[{n!r}]")
        start_index[n] = values.index(initial[n]) if n in initial else 0
    if _is_function(panels) or (callable(panels) and not isinstance(panels, (list, tuple))):
        if steps is None:
            raise ValueError("steps is needed for the standard panels (the loss axes' length)")
        function = panels if function is None else function
        panels = [path_panel(panels), loss_panel(steps)]
    else:
        panels = list(panels)
        if not panels or not all(isinstance(p, Panel) for p in panels):
            raise ValueError("panels must be a test function, a callable of controls returning one, or a "
                             "non-empty list of Panel")
    labels = dict(labels or {})
    made = []
    for layer in layers:
        if isinstance(layer, Layer):
            made.append(layer)
            continue
        if function is None or steps is None:
            raise ValueError("layers given as optimizers need a function to run on and steps")
        name, optimizer = layer if isinstance(layer, tuple) else (None, layer)
        made.append(_optimizer_layer(optimizer, function, names, steps=steps, start=start, name=name))
    underlays = []
    for i, panel in enumerate(panels):
        if panel.underlay is not None:
            uses = _uses(panel.underlay, names, skip=1, what="a panel's underlay")
            run = lambda **values: None  # noqa: E731  (what it draws depends on the values alone)
            run.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in uses])
            underlays.append(Layer(panel.underlay_label, run, color="k", toggle=False, underlay_of=i))
    made = underlays + made
    for layer in made:
        layer.labels, layer.options = labels, options
        layer.__dict__["_controls"] = _uses(layer.run, names, what=f"layer {layer.name!r}")
    for panel in panels:
        panel.__dict__["_controls"] = _uses(panel.background, names, skip=1, what="a panel's background")
    bg = [n for n in names if any(n in p.controls for p in panels)]
    n_frames = sum(int(np.prod([len(options[n]) for n in names if n in layer.controls or n in bg]))
                   for layer in made)
    if n_frames > MAX_FRAMES:
        raise ValueError(f"the layers have {n_frames} frames in all, more than MAX_FRAMES = {MAX_FRAMES}")
    return {"names": names, "options": options, "start": start_index, "panels": panels, "layers": made,
            "labels": labels, "alt": alt}


# ---------------------------------------------------------------------------------------------------
# The live form
# ---------------------------------------------------------------------------------------------------

def _decimals(step: float) -> int:
    """Digits after the point that show every multiple of ``step`` (0.0001 -> 4, 0.05 -> 2, 1 -> 0)."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _live_control(name: str, spec_range, options, index: int, label: str | None):
    style = {"description_width": "initial"}
    description = label or name
    if isinstance(spec_range, tuple) and len(spec_range) == 3:
        low, high, step = spec_range
        if not (low < high and step > 0):
            raise ValueError(f"{name}=(min, max, step) needs min < max and step > 0, got {spec_range!r}")
        value = options[index][1]
        value = value if isinstance(value, (int, float)) and low <= value <= high else low
        if all(isinstance(v, (int, np.integer)) for v in spec_range):
            return widgets.IntSlider(value=int(value), min=low, max=high, step=step, description=description,
                                     style=style, layout=widgets.Layout(width="min(100%, 26em)"))
        return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                                   readout_format=f".{_decimals(step)}f", style=style,
                                   layout=widgets.Layout(width="min(100%, 26em)"))
    live_options = _options(name, spec_range) if spec_range is not None else options
    values = [v for _, v in live_options]
    start = values.index(options[index][1]) if options[index][1] in values else 0
    return _control(name, live_options, start, label)


class LiveExplorer(widgets.VBox):
    """The kernel form of an :class:`Explorer`: each move recomputes the layers that depend on it.

    ``latencies`` records, for each control change handled, the control's name and the seconds from
    the change to the new pictures being set (the benchmark reads them).
    """

    def __init__(self, spec: dict, ranges: dict):
        names, options, start = spec["names"], spec["options"], spec["start"]
        unknown = sorted(set(ranges) - set(names))
        if unknown:
            raise ValueError(f"live ranges name unknown controls: {unknown}")
        self._spec, self._ranges = spec, ranges
        labels = spec["labels"]
        self.controls = {n: _live_control(n, ranges.get(n), options[n], start[n], labels.get(n)) for n in names}
        self._drawing = _Drawing(spec["panels"])
        self._bg_controls = [n for n in names if any(n in p.controls for p in spec["panels"])]
        full_width = {"layout": widgets.Layout(width="100%", margin="0")}
        if self._bg_controls or "background" not in spec:
            self._background = widgets.HTML(self._drawing.background_html(self.values), **full_width)
        else:  # the static explorer's background widget: the page holds it once
            self._background = spec["background"]
        self._layers = spec["layers"]
        self._overlays = [widgets.HTML(self._frame(layer), layout=widgets.Layout(width="100%", margin="0"))
                          for layer in self._layers]
        self.latencies: list[tuple[str, float]] = []
        toggles, children = [], [self._background]
        for layer, overlay in zip(self._layers, self._overlays):
            if layer.toggle:
                entry, buttons = _layer_toggle(layer)
                shown = widgets.Stack([overlay, widgets.HTML("")], selected_index=0,
                                      layout=widgets.Layout(width="100%", margin="0"))
                widgets.jslink((buttons, "index"), (shown, "selected_index"))
                toggles.append(entry)
                children.append(shown)
            else:
                children.append(overlay)
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._changed(name), names="value")
        rows = [widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))]
        if toggles:
            rows.append(widgets.HBox(toggles, layout=widgets.Layout(flex_flow="row wrap")))
        rows.append(_picture(children))
        super().__init__(rows)

    @property
    def values(self) -> dict:
        return {n: c.value for n, c in self.controls.items()}

    def _frame(self, layer: Layer) -> str:
        values = self.values
        result = layer.run(**layer.values(values))
        return self._drawing.frame_html(layer, result, values, self._spec["alt"])

    def _changed(self, name: str) -> None:
        import time

        began = time.perf_counter()
        if name in self._bg_controls:
            self._drawing.close()
            self._background.value = self._drawing.background_html(self.values)
        for layer, overlay in zip(self._layers, self._overlays):
            if name in layer.controls or name in self._bg_controls:
                overlay.value = self._frame(layer)
        self.latencies.append((name, time.perf_counter() - began))

    def close(self):
        if hasattr(self, "_drawing"):
            self._drawing.close()
        super().close()

    def __repr__(self) -> str:
        layers = ", ".join(layer.label for layer in self._layers if layer.underlay_of is None)
        spans = []
        for n in self._spec["names"]:
            r = self._ranges.get(n)
            if isinstance(r, tuple) and len(r) == 3:
                spans.append(f"{n} {_shown(r[0])}-{_shown(r[1])}")
            elif r is not None or len(self._spec["options"][n]) > 1:
                spans.append(n)
        return _first_that_fits(f"LiveExplorer({layers}; {', '.join(spans)}): run the cell to move it",
                                f"LiveExplorer({', '.join(spans)}): run the cell to move it",
                                f"LiveExplorer({layers}): run the cell to move it")
