"""Spectral analysis of weight matrices (no dependency on the training code)."""
