"""The few figure types the chapters draw again and again: paths on a contour plot and loss curves.

Every function takes an optional ``ax`` and returns it, so chapters can place several side by side.
"""
from __future__ import annotations

import io
from typing import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .optimizers import OPTIMIZERS


class _RegistryColors(Mapping):
    """Optimizer name -> its ``color``, read from the registry at each lookup."""

    def __getitem__(self, name: str) -> str:
        return OPTIMIZERS[name].color

    def __iter__(self):
        return iter(OPTIMIZERS)

    def __len__(self) -> int:
        return len(OPTIMIZERS)


#: One colour per optimizer, the same in every chapter, read from each optimizer class's ``color`` in
#: the registry (:data:`optlib.optimizers.OPTIMIZERS`), so a newly registered one has its colour too.
COLORS = _RegistryColors()


def use_style() -> None:
    """The book's figure style: readable sizes, a light grid, no top/right frame; in a notebook, figures
    shown as :func:`compact_png`."""
    plt.rcParams.update({
        "figure.figsize": (6.4, 4.0), "figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
        "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
    })
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:  # a notebook's kernel: replace the inline backend's PNG of a figure
        # Load the backend first: the inline backend registers its own PNG formatter when it loads,
        # which would replace this one if that came later (at the first figure).
        plt.switch_backend(matplotlib.get_backend())
        shell.display_formatter.formatters["image/png"].for_type(Figure, compact_png)


def compact_png(fig) -> bytes:
    """The figure as a PNG of at most 256 colours, cropped to what is drawn, as notebooks show it.

    A plot has few colours (lines, text, a colormap's levels), so a palette of 256 holds it: the
    same picture as the inline backend's full-colour PNG to the eye (each channel within a few levels
    of 255 on average), in about a fifth of the bytes, which keeps every page of the website light.
    """
    import PIL.Image

    full = io.BytesIO()
    fig.savefig(full, format="png", bbox_inches="tight", metadata={"Software": None})
    image = PIL.Image.open(full)
    palette = io.BytesIO()
    image.quantize(256, method=PIL.Image.Quantize.FASTOCTREE).save(palette, format="png", optimize=True)
    return palette.getvalue()


def color_for(label: str, index: int = 0) -> str:
    """The book's colour for an optimizer name (the first word of ``label``), else a cycle colour."""
    name = label.split()[0].rstrip(":,;()") if label else ""
    return COLORS.get(name, f"C{index % 10}")


def contour(f, ax=None, *, domain=None, levels: int = 30, log: bool = True, resolution: int = 200,
            show_minima: bool = True):
    """Filled-line contours of a 2-D test function ``f`` over ``domain`` (default ``f.domain``).

    ``log=True`` spaces the levels logarithmically in :math:`f - \\min f`, which shows valleys.
    """
    ax = ax or plt.gca()
    (x0, x1), (y0, y1) = domain or f.domain
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    Z = f(np.stack([X, Y]))
    if log:
        shifted = Z - Z.min() + 1e-3 * (Z.max() - Z.min() + 1e-12)
        lv = np.geomspace(shifted.min(), shifted.max(), levels)
        ax.contour(X, Y, shifted, levels=lv, cmap="viridis", linewidths=0.7)
    else:
        ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.7)
    if show_minima:
        for i, m in enumerate(getattr(f, "minima", [])):
            ax.plot(*m, marker="*", color="gold", markersize=13, markeredgecolor="k",
                    linestyle="none", label="minimum" if i == 0 else None)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    return ax


def paths(f, trajectories: Mapping[str, np.ndarray], ax=None, *, domain=None, title: str | None = None,
          start_marker: bool = True, **contour_kw):
    """Optimizer paths (label -> array of shape (steps+1, 2)) drawn over the contours of ``f``."""
    ax = contour(f, ax, domain=domain, **contour_kw)
    for i, (label, xs) in enumerate(trajectories.items()):
        xs = np.asarray(xs)
        ax.plot(xs[:, 0], xs[:, 1], "-", marker=".", markersize=3, linewidth=1.2,
                color=color_for(label, i), label=label)
        if start_marker:
            ax.plot(*xs[0], "ko", markersize=4)
    ax.set_title(title or getattr(f, "name", ""))
    ax.legend(loc="best")
    return ax


def loss_curves(curves: Mapping[str, Sequence[float]], ax=None, *, x: Mapping[str, Sequence[float]] | None = None,
                logy: bool = True, xlabel: str = "step", ylabel: str = "loss", title: str | None = None):
    """Loss against steps (or against ``x[label]``) for each labelled curve, on a log scale by default."""
    ax = ax or plt.gca()
    for i, (label, ys) in enumerate(curves.items()):
        xs = np.arange(len(ys)) if x is None else np.asarray(x[label])
        ax.plot(xs, ys, label=label, color=color_for(label, i), linewidth=1.4)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="best")
    return ax


def hyperparameter_text(ax, text: str) -> None:
    """Print the run's hyperparameters in the corner of a figure (a fair race states its settings)."""
    ax.text(0.01, 0.01, text, transform=ax.transAxes, fontsize=8, family="monospace",
            va="bottom", ha="left", bbox=dict(boxstyle="round", facecolor="white", alpha=0.8, linewidth=0))
