"""Conformance suites shipped with edgebench, so every backend is tested the same way."""
