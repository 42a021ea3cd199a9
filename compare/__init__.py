"""Score simulation against theory: metrics, the verdict, regression and scaling statistics (pure; no files, no plots)."""

from twopoint.compare.evaluate import Evaluation, evaluate
from twopoint.compare.verdict import Tolerances

__all__ = ["Evaluation", "Tolerances", "evaluate"]
