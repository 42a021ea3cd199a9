"""The random-feature matrices F of a run, shared by the simulator and the given-F theory.

F ∈ R^{N×D} with iid N(0, 1/N) entries (docs/theory.md §1, so E FᵀF = I_D).  Replica r's F is drawn by numpy's
``default_rng(SeedSequence([seed, r, FEATURES]))`` in float64: it does not depend on the replica count,
the device or the group a replica runs in, and the theory can rebuild exactly the F a replica trained with
(with ``model.share_features`` every replica uses replica 0's F).
"""

from __future__ import annotations

import numpy as np

from twopoint.core.streams import FEATURES

def feature_matrix(seed: int, replica: int, n_features: int, dim: int) -> np.ndarray:
    """F (N, D) of ``replica`` in the run with ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, replica, FEATURES]))
    return rng.standard_normal((n_features, dim)) / np.sqrt(n_features)
