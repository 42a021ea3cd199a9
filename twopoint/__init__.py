"""twopoint: minibatch SGD in high-dimensional linear models, simulated and predicted."""
