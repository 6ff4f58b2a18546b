"""The demo's delta activity: the raster counts what the backends count, and it draws."""

from __future__ import annotations

import numpy as np

from edgedrnn.report.plots import delta_raster, plot_delta_activity
from edgedrnn.runner import run
from programs import random_program


def test_raster_counts_equal_the_reference_backends_nonzero(tmp_path):
    program = random_program(np.random.default_rng(0), [5, 8, 8], theta_x=26, theta_h=26)
    x = np.random.default_rng(1).normal(0, 1, (20, 5))
    raster = delta_raster(program, x)
    res = run(program, x, backend="reference")
    for k, (fx, fh) in enumerate(raster):
        np.testing.assert_array_equal(fx.sum(axis=1), res.nonzero[:, k, 0])
        np.testing.assert_array_equal(fh.sum(axis=1), res.nonzero[:, k, 1])
    png = plot_delta_activity(tmp_path / "a.png", x, raster, "one two", 10.0)
    assert png.stat().st_size > 5000
