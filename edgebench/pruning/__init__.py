"""Hardware-aware structural pruning: channel groups, importance criteria, and the prune-to-latency loop."""
