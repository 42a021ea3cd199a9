"""Data: spectra, teachers, real input distributions (circle, sphere, digits), kernel spectra, feature matrices,
and building the validated Problem from a config."""
