"""Core: the Problem, Curves, config schemas, errors, the registry and RNG stream ids (imports nothing of twopoint)."""
