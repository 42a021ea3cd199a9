"""Hydra configs of twopoint (package data: ``pkg://twopoint.configs``)."""
