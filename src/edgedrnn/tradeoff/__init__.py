"""The accuracy-latency trade-off: a trained model evaluated over a sweep of thresholds Θ."""

from .evaluate import evaluate, plot, reference_check, render_table, target_check

__all__ = ["evaluate", "plot", "reference_check", "render_table", "target_check"]
