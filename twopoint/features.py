"""The random-feature matrices F of a run, shared by the simulator and the given-F theory.

F ∈ R^{N×D} with iid N(0, 1/N) entries (THEORY §1, so E FᵀF = I_D).  Replica r's F is drawn by numpy's
``default_rng(SeedSequence([seed, r, FEATURE_STREAM]))`` in float64: it does not depend on the replica count,
the device or the group a replica runs in, and the theory can rebuild exactly the F a replica trained with
(with ``model.share_features`` every replica uses replica 0's F).
"""

from __future__ import annotations

import numpy as np

FEATURE_STREAM = 3


def feature_matrix(seed: int, replica: int, n_features: int, dim: int) -> np.ndarray:
    """F (N, D) of ``replica`` in the run with ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, replica, FEATURE_STREAM]))
    return rng.standard_normal((n_features, dim)) / np.sqrt(n_features)
