"""twopoint: minibatch SGD in high-dimensional linear models, simulated and predicted.

The public API (:mod:`twopoint.api`), loaded on first use so that ``import twopoint`` stays light::

    import twopoint as tp
    res = tp.run("model=random_features", "model.n_features=200")   # Result: table, metrics, plot()
    cfg = tp.compose("optim.lr=0.5"); problem = tp.build_problem(cfg)
    sim, theory = tp.simulate(problem), tp.predict(problem); ev = tp.evaluate(sim, theory)

``tp.simulate`` is the :mod:`twopoint.simulate` package, which is callable as the simulate function.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"
_API = {"run", "run_config", "compose", "build_problem", "predict", "evaluate", "Result", "CONFIG_DIR"}
_ERRORS = {"ConfigError", "TwopointError"}
__all__ = sorted(_API | _ERRORS | {"simulate"})


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module("twopoint.api"), name)
    if name in _ERRORS:
        return getattr(importlib.import_module("twopoint.core.errors"), name)
    if name == "simulate":
        return importlib.import_module("twopoint.simulate")
    raise AttributeError(f"module 'twopoint' has no attribute {name!r}")
