"""Student search: spaces and architectures (more to come: NAS searcher, pruning)."""
