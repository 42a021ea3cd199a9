"""Overlay, score and report simulation vs theory curves (reads Curves only)."""

from compare.evaluate import Evaluation, evaluate, write_outputs
from compare.verdict import Tolerances

__all__ = ["Evaluation", "Tolerances", "evaluate", "write_outputs"]
