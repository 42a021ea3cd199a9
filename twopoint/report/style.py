"""One plotting style for every twopoint figure (no LaTeX needed; fonts embedded as TrueType).

Figures are plain :class:`matplotlib.figure.Figure` objects, not registered with pyplot, drawn inside
``matplotlib.rc_context`` (:func:`styled`): twopoint never selects a backend and never changes the global
rcParams, so notebooks keep their inline plots and settings; a returned figure displays itself there.
"""

from __future__ import annotations

import functools

import matplotlib
from matplotlib.figure import Figure

RC = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.labelsize": 9,
    "axes.titlesize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.4,
}
QUANTITY_LINESTYLE = {"test_risk": "-", "train_loss": ":"}
THEORY_LINESTYLE = "--"
THEORY_LW = 1.0
BAND_ALPHA = 0.25
PALETTE = matplotlib.colormaps["viridis"]
PANEL = (3.4, 2.6)  # inches per panel of a multi-panel figure
_venue: dict = {"name": None}


def use_venue(name: str | None) -> None:
    """Size every later figure for a venue (tueplots bundle, e.g. ``neurips2024``, ``icml2024``):
    its text width and font sizes, no LaTeX.  Needs ``pip install twopoint[paper]``; None resets."""
    if name is not None:
        from tueplots import bundles

        if not callable(getattr(bundles, name, None)):
            venues = [b for b in dir(bundles) if any(c.isdigit() for c in b)]
            raise ValueError(f"unknown venue {name!r}; tueplots venues: {', '.join(venues)}")
    _venue["name"] = name


def rc() -> dict:
    """The rcParams of twopoint figures (and the venue's sizes after :func:`use_venue`)."""
    params = dict(RC)
    if _venue["name"]:
        from tueplots import bundles

        bundle = getattr(bundles, _venue["name"])(usetex=False)
        params.update({k: v for k, v in bundle.items()  # sizes only: our fonts, no LaTeX
                       if k == "font.size" or not k.startswith(("text.", "font.", "mathtext."))})
    return params


def styled(draw):
    """Decorator: run a figure-drawing function inside ``rc_context(rc())`` (global rcParams untouched)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(rc()):
            return draw(*args, **kwargs)

    return wrapper


def subplots(nrows: int = 1, ncols: int = 1, figsize=None, layout=None, **kwargs):
    """(figure, axes) of a new :class:`Figure` outside pyplot; call inside :func:`styled`."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def panel_size(cols: int, rows: int) -> tuple[float, float]:
    """Figure size for ``rows`` × ``cols`` panels (scaled to the venue's width under :func:`use_venue`)."""
    width, height = PANEL[0] * cols, PANEL[1] * rows
    scale = rc().get("figure.figsize", matplotlib.rcParams["figure.figsize"])[0] / width if _venue["name"] else 1.0
    return width * scale, height * scale


def colors(n: int) -> list:
    """``n`` readable colours along the palette (one per swept value)."""
    return [PALETTE(0.1 + 0.8 * i / max(n - 1, 1)) for i in range(n)]


def save(fig, stem, formats) -> list[str]:
    """Save ``fig`` as ``stem.<fmt>`` for each format; returns the file names.  A figure with a layout engine
    (constrained layout) already fits its canvas and is saved without the second draw of ``bbox="tight"``."""
    names = []
    with matplotlib.rc_context(rc() | ({"savefig.bbox": None} if fig.get_layout_engine() is not None else {})):
        for fmt in formats:
            path = f"{stem}.{fmt}"
            fig.savefig(path)
            names.append(path)
    return names
