"""Latency lookup tables: block keys, the resumable builder, the store, and the predictor."""
