"""Infrastructure shared by every layer: locked caches, tool lookup, progress bars and the
errors that name a missing optional extra. Nothing here knows about GRUs or hardware."""
