"""Contract v2 (docs/datapath.md §5): bias, hidden columns, then input columns.

Single-layer networks where the order changes the result: a bank saturates at step 1 (large
inputs), at step 2 the hidden columns push it further (lost to saturation when added first)
and the input columns bring it back into the sigmoid's range. The RTL (work-ahead: hidden
part before x_in) must equal the reference exactly, and the case must differ under the
version-1 order. Thresholds change at every step too (docs/datapath.md §7).
"""

from __future__ import annotations

import numpy as np
import pytest

from column_order import ordered_model
from edgedrnn import HardwareConfig
from edgedrnn.backends.reference import ReferenceModel
from edgedrnn.hw import regmap
from programs import order_sensitive_program, random_program
from simulation import Stalls, simulate


def _run(model_cls, prog, x, tx, th):
    ref = model_cls(prog)
    outs, nz = [], []
    for t in range(x.shape[0]):
        outs.append(ref.step(x[t], tx[t], th[t]))
        nz.append(ref.last_nonzero.copy())
    return np.array(outs), np.array(nz), ref.overflow


@pytest.mark.parametrize("sign", [-1, 1])
@pytest.mark.parametrize(
    "hw,hidden",
    [(HardwareConfig(4, 64, 1, 8, 8), 2), (HardwareConfig(8, 128, 1, 8, 16), 5)],
)
def test_order_changes_result_rtl_equals_reference(hw, hidden, sign):
    prog, x = order_sensitive_program(hw, hidden, sign)
    steps = x.shape[0]
    tx = np.zeros((steps, 1), dtype=np.int64)
    th = np.zeros((steps, 1), dtype=np.int64)
    out, nz, ovf = _run(ReferenceModel, prog, x, tx, th)
    out_v1 = ordered_model(prog, x, tx, th, hidden_first=False).outputs_q  # version 1
    if sign < 0:  # opposite-signed: the hidden columns saturate, the order matters
        assert not np.array_equal(out, out_v1)
    assert ovf
    res = simulate(prog, x, tx, th, stalls=Stalls(x_gap=0.3, h_backpressure=0.3, seed=hidden))
    np.testing.assert_array_equal(res.outputs, out)
    np.testing.assert_array_equal(res.nonzero, nz)
    assert bool(res.status & regmap.STATUS_OVERFLOW) == ovf


@pytest.mark.parametrize("seed", range(3))
def test_thresholds_change_every_step(seed):
    """Θ changes at every step while the hidden part runs ahead of x_in: exact."""
    hw = HardwareConfig(4, 64, 2, 8, 8)
    rng = np.random.default_rng(200 + seed)
    prog = random_program(rng, [3, 5, 6], hw, wmax=60, wmin=-61)
    steps = 8
    x = rng.integers(-700, 701, size=(steps, 3))
    tx = rng.integers(0, 300, size=(steps, 2))
    th = rng.integers(0, 60, size=(steps, 2))
    tx[1::2] = 0  # alternate, so that every step's Θ differs from the one before
    th[1::2] = 0
    out, nz, ovf = _run(ReferenceModel, prog, x, tx, th)
    stalls = Stalls(x_gap=0.4, h_backpressure=0.4, ar_stall=0.2, r_gap=0.2, seed=seed)
    res = simulate(prog, x, tx, th, stalls=stalls)
    np.testing.assert_array_equal(res.outputs, out)
    np.testing.assert_array_equal(res.nonzero, nz)
    assert bool(res.status & regmap.STATUS_OVERFLOW) == ovf
    assert nz[:, :, 1].any()  # hidden deltas were passed (the work-ahead part matters)
