"""The theory: float64 deterministic-equivalent and exact predictions of the loss curves (docs/theory.md).

Modules, by the mathematics they hold (docs/theory.md section in brackets):

    population                 the population a theory sees: Σ = diag(λ_k), w*², σ², test Σ' (§1)
    resolvent                  spectral functions d, E and the master equation with its solver (§3, §9.1)
    two_point                  two-point sums by partial fractions (§4)
    feature_spaces             one-point equivalents in a feature space; spectral edge λ̂_max (§3, §7)
    random_feature_equivalent  the random-feature equivalent averaged over F (§7)
    given_features             random features given F: exact reduction to feature space (§7)
    online_linear              online SGD, linear regression: exact second-moment recursion (§2)
    online_random_features     online SGD, random features: deterministic equivalent over F (§7)
    full_batch                 finite data: gradient flow and full-batch GD (§5)
    sgd_noise                  the C2-closed SGD equations and their generating functions (§6)
    multipass_sgd              finite data: multi-pass minibatch SGD (§6)
    contours                   Talbot and Cauchy-circle inversions (§9.2, §9.3)
    compression                spectrum compression for large D (§9.4)
    predict_<model>[_<regime>] the predictors Problem → Curves, by model and regime (§2, §5–§8)
    predict_common             what the predictors share
    predict                    ``predict(problem)``: dispatch by model, regime and ``theory.method``
"""
