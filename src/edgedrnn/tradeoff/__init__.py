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
from .metrics import split_metrics, task_metrics

__all__ = [
    "EVALUATION_BACKENDS",
    "baseline",
    "compare",
    "evaluate",
    "float_gru",
    "plot",
    "predict_outputs",
    "reference_check",
    "render_table",
    "split_metrics",
    "target_check",
    "task_metrics",
]
