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
BAND_ALPHA = 0.25
PALETTE = plt.get_cmap("viridis")


def apply() -> None:
    plt.rcParams.update(RC)


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
