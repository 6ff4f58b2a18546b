"""The accuracy-latency trade-off: a trained model evaluated over a sweep of thresholds Θ."""

from .evaluate import (
    EVALUATION_BACKENDS,
    baseline,
    compare,
    evaluate,
    float_gru,
    plot,
    predict_outputs,
    reference_check,
    render_table,
    target_check,
)
from .grid import grid_result, plot_grid, render_grid
from .metrics import split_metrics, task_metrics

__all__ = [
    "EVALUATION_BACKENDS",
    "baseline",
    "compare",
    "evaluate",
    "float_gru",
    "grid_result",
    "plot",
    "plot_grid",
    "predict_outputs",
    "reference_check",
    "render_grid",
    "render_table",
    "split_metrics",
    "target_check",
    "task_metrics",
]
