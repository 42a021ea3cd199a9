"""One plotting style for every twopoint figure (no LaTeX needed; fonts embedded as TrueType)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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
PALETTE = plt.get_cmap("viridis")
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


def apply() -> None:
    """Set the rcParams (and the venue's sizes after :func:`use_venue`)."""
    plt.rcParams.update(RC)
    if _venue["name"]:
        from tueplots import bundles

        bundle = getattr(bundles, _venue["name"])(usetex=False)
        plt.rcParams.update({k: v for k, v in bundle.items()  # sizes only: our fonts, no LaTeX
                             if k == "font.size" or not k.startswith(("text.", "font.", "mathtext."))})


def panel_size(cols: int, rows: int) -> tuple[float, float]:
    """Figure size for ``rows`` × ``cols`` panels (scaled to the venue's width under :func:`use_venue`)."""
    width, height = PANEL[0] * cols, PANEL[1] * rows
    scale = plt.rcParams["figure.figsize"][0] / width if _venue["name"] else 1.0
    return width * scale, height * scale


def colors(n: int) -> list:
    """``n`` readable colours along the palette (one per swept value)."""
    return [PALETTE(0.1 + 0.8 * i / max(n - 1, 1)) for i in range(n)]


def save(fig, stem, formats) -> list[str]:
    """Save ``fig`` as ``stem.<fmt>`` for each format; returns the file names."""
    names = []
    for fmt in formats:
        path = f"{stem}.{fmt}"
        fig.savefig(path)
        names.append(path)
    plt.close(fig)
    return names
