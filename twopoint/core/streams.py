"""Every random stream id of twopoint, in one place.

Replica r of a run with seed s draws stream k from ``SeedSequence([s, r, k])`` (torch generators in
:mod:`twopoint.simulate.rng`, numpy for the feature matrices in :mod:`twopoint.data.features`), so its numbers
depend neither on the replica count nor on how the replicas are grouped or chunked.  Two uses share an id only
where they never occur in the same run.
"""

ONLINE_BATCHES = 0  # fresh inputs and label noise of online SGD (linear, random features, circle and sphere kernels)
TRAINING_DATA = 1  # the P training samples of a replica (inputs, labels, kernel designs)
BATCH_INDICES = 2  # which training samples form each minibatch (with replacement or shuffled epochs)
FEATURES = 3  # the random-feature matrix F of a replica (numpy generator, float64)
FEATURE_SPACE_BATCHES = 4  # random features with sim.sampler=features: the N + 1 normals ξ of each sample (h, y) = L ξ, online or training set
POOL_INDICES = 1  # online kernel SGD on digits: the pool points of each batch (no training set in that regime)
POOL_LABEL_NOISE = 2  # online kernel SGD on digits: the label noise of each batch (no minibatch indices there)
