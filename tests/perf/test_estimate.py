"""The analytic performance models: the original design, the RTL's, and the derived figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import edgedrnn
from edgedrnn.hw.pipeline import LAYER_SETUP_CYCLES
from edgedrnn.perf import Network, dense_counts, estimate, occupancy_counts, original, rtl


# ------------------------------------------------------------------ original design
def test_original_matches_measured_floor_of_the_spec():
    # original-timing.md: 2L-16H, 8 inputs: a step with no passed-on delta took 108 cycles
    net = Network.stacked(8, 16, 2)
    cyc = original.step_cycles(net, np.zeros((1, 2, 2)), from_reset=False)
    assert cyc[0] == 108


def test_original_paper_operating_point_costs():
    # original-timing.md: at 2L-768H a passed-on delta costs 288 cycles, the encoder floor is
    # about 830 + 1550 cycles and the activations 2 x 486 cycles per step
    assert original.column_stream_cycles(768) == 288
    assert original.activation_cycles(768) == 486
    assert abs(original.scan_floor(40, 768) - 830) < 20
    assert abs(original.scan_floor(768, 768) - 1550) < 10
    net = Network.stacked(40, 768, 2)
    zero = original.step_cycles(net, np.zeros((1, 2, 2)), from_reset=False)[0]
    assert zero == 2 + original.scan_floor(40, 768) + original.scan_floor(768, 768) + 2 * 486
    # once the weight stream dominates, each extra delta adds exactly one column
    a = original.step_cycles(net, np.array([[[10, 50], [30, 40]]]), from_reset=False)[0]
    b = original.step_cycles(net, np.array([[[10, 51], [30, 40]]]), from_reset=False)[0]
    assert b - a == 288


def test_original_half_valid_stream_is_slower():
    net = Network.stacked(8, 16, 2)
    c = np.array([[[4, 8], [5, 6]]])
    full = original.step_cycles(net, c)[0]
    half = original.step_cycles(net, c, stream_efficiency=0.5)[0]
    assert half > full
    with pytest.raises(ValueError, match="stream_efficiency"):
        original.step_cycles(net, c, stream_efficiency=0)


def test_bias_column_streamed_only_after_reset():
    net = Network.stacked(8, 16, 1)
    c = np.array([[[3, 5]], [[3, 5]]])
    with_reset = original.step_cycles(net, c, from_reset=True)
    assert with_reset[0] - with_reset[1] == original.column_stream_cycles(16)
    steady = original.step_cycles(net, c, from_reset=False)
    assert steady[0] == steady[1] == with_reset[1]


# ------------------------------------------------------------------ workloads
def test_workload_validation_errors():
    with pytest.raises(ValueError, match="input size"):
        Network(((8, 16), (32, 16)))
    net = Network.stacked(8, 16, 2)
    with pytest.raises(ValueError, match="shape"):
        estimate(net, np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match="between 0"):
        estimate(net, np.full((1, 2, 2), 17))
    with pytest.raises(ValueError, match="fractions"):
        occupancy_counts(net, 1.5)
    with pytest.raises(ValueError, match="delta counts of a run"):
        estimate(net)


def test_num_weights_matches_program():
    gru = torch.nn.GRU(40, 64, num_layers=2)
    prog = edgedrnn.compile(gru, hw=edgedrnn.HardwareConfig(num_pe=8))
    assert Network.from_program(prog).num_weights == prog.num_weights == 3 * 64 * (104 + 128)


@pytest.mark.parametrize("num_pe,bus_bits", [(8, 64), (16, 128), (8, 256), (32, 64)])
def test_dense_dram_bytes_equal_the_weight_image(num_pe, bus_bits):
    # a dense step from reset reads every column and the bias once: the whole weight image
    hw = edgedrnn.HardwareConfig(num_pe=num_pe, bus_bits=bus_bits)
    gru = torch.nn.GRU(13, 37, num_layers=2)
    prog = edgedrnn.compile(gru, hw=hw)
    net = Network.from_program(prog)
    first = rtl.dram_bytes(net, dense_counts(net), hw, from_reset=True)[0]
    assert first == len(prog.weight_image)
    steady = rtl.dram_bytes(net, dense_counts(net), hw, from_reset=False)[0]
    assert steady == len(prog.weight_image) - sum(lay.bias_stride for lay in prog.layers)


# ------------------------------------------------------------------ the RTL's model
def test_rtl_step_without_columns_is_the_closed_form():
    # 2L-16H, 8 inputs, 8 PEs. Paced (the input after the hidden part), the hidden part, layer
    # 1 then layer 0: HIDDEN_START, ⌈H/P⌉ + SCAN_TAIL - 1 (layer 1, drained), the layer
    # setup, ⌈H/P⌉ (layer 0's scan, then WAITX): 22 cycles. The input part (LATENCY):
    # INPUT_START + 1, ⌈I/P⌉ + SCAN_TAIL - 1 (layer 0's scan: one x_in beat), the layer
    # switch, ⌈H/P⌉ + SCAN_TAIL - 1 (layer 1's scan), then ACT_TO_OUT + ⌈H/P⌉ - 1 (h_out
    # beats): 39 cycles; offered by the end of the hidden part, STEP_CYCLES = 22 + 39 - 1.
    # In order (the input queued, back to back): HIDDEN_START, layer 0's hidden scan, WAITX,
    # its input part to ACT; the in-order switch (no avail wait for a hidden scan); layer 1's
    # hidden scan, XSETUP, its input scan waits for row group 0 of the new h, its part; the
    # output: 47 cycles from the previous step's end. Back to back the step starts early, in
    # the previous step's last ACT (ACT_TO_OUT - 1 + ⌈H/P⌉ = 11 cycles before that end):
    # its first hidden issue HIDDEN_START after that, 4 cycles before the end: 36 cycles. The
    # in-order switch overlaps the layer setup with the activation's 2 issues: 3 cycles.
    # (measured on the RTL; tests/hw/test_timing.py checks such steps exactly)
    net = Network.stacked(8, 16, 2)
    hw = edgedrnn.HardwareConfig(num_pe=8, bus_bits=64)
    zero = np.zeros((1, 2, 2))
    lo, hi = rtl.step_cycle_bounds(net, zero, hw, from_reset=False)
    expected = rtl.step_cycles(net, zero, hw, from_reset=False)
    assert lo[0] == hi[0] == expected[0] == 36
    lat_lo, lat_hi = rtl.step_latency_bounds(net, zero, hw, from_reset=False)
    assert lat_lo[0] == lat_hi[0] == rtl.step_latency(net, zero, hw, from_reset=False)[0] == 39
    switch = rtl.layer_switch(16, 8)
    tail = rtl.SCAN_TAIL - 1
    hidden = rtl.HIDDEN_START + (2 + tail) + LAYER_SETUP_CYCLES + 2
    latency = rtl.INPUT_START + 1 + (1 + tail) + switch + (2 + tail) + rtl.ACT_TO_OUT + 2 - 1
    assert (hidden, latency) == (22, 39)
    io_switch = rtl.in_order_switch(16, 8)
    wait = rtl.ACT_TO_H + rtl.AVAIL_DELAY - (io_switch + 2 + rtl.INPUT_START)
    in_order = rtl.HIDDEN_START + 2 + rtl.INPUT_START + (1 + tail) + io_switch
    in_order += 2 + rtl.INPUT_START + wait + (2 + tail) + rtl.ACT_TO_OUT + 2 - 1
    assert (io_switch, wait, in_order) == (3, 1, 47)
    # x_in offered after CHECK: the two parts; offered at the CHECK's decision: in order
    assert rtl.step_cycles(net, zero, hw, from_reset=False, offer=500)[0] == 500 + 39 - 1
    assert rtl.step_latency(net, zero, hw, from_reset=False, offer=10)[0] == 22 - 10 + 39
    at = rtl.IN_ORDER_OFFER
    assert rtl.step_cycles(net, zero, hw, from_reset=False, offer=at + 1)[0] == 22 + 39 - 1
    assert rtl.step_cycles(net, zero, hw, from_reset=False, offer=at)[0] == 47
    # offered while the previous step's last layer is in ACT (11 to 1 cycles before its
    # end): an early start, at the cycle of the offer
    assert rtl.step_cycles(net, zero, hw, from_reset=False, offer=0)[0] == 47
    assert rtl.step_cycles(net, zero, hw, from_reset=False, offer=-1)[0] == 46
    assert rtl.step_cycles(net, zero, hw, from_reset=False, offer=-11)[0] == 36
    assert rtl.step_latency(net, zero, hw, from_reset=False, offer=-20)[0] == 36 + 20 + 1
    # one layer: never early
    one = Network.stacked(8, 16, 1)
    back = rtl.step_cycles(one, np.zeros((2, 1, 2)), hw, from_reset=True)
    assert back[1] == rtl.step_cycles(one, np.zeros((2, 1, 2)), hw, offer=[0, -20])[1]


def test_rtl_one_column_costs_its_pipeline():
    # one input column at x_0 of layer 0 (fetch-bound): ACT starts ISSUE_TO_AR + Lm + c - 1 +
    # BEAT_TO_ACT cycles after the issue (latency: 54 cycles at Lm = 1, 57 at Lm = 4; in
    # order, the column costs the same 15 cycles more than none: 51 and 54 with the early
    # start)
    net = Network.stacked(8, 16, 2)
    hw = edgedrnn.HardwareConfig(num_pe=8, bus_bits=64)
    one = np.array([[[1, 0], [0, 0]]])
    assert rtl.BEAT_TO_ACT == 7
    assert rtl.ISSUE_TO_AR == 11
    for lm, measured in ((1, 54), (4, 57)):
        lo, _ = rtl.step_latency_bounds(net, one, hw, from_reset=False, mem_latency=lm)
        assert lo[0] == measured
        lo, _ = rtl.step_cycle_bounds(net, one, hw, from_reset=False, mem_latency=lm, offer=4)
        assert lo[0] == 22 + measured - 1
        lo, _ = rtl.step_cycle_bounds(net, one, hw, from_reset=False, mem_latency=lm)
        assert lo[0] == 36 + measured - 39  # back to back: early start
    assert rtl.column_cycles(hw, 16) == 6 and rtl.column_cycles(hw, 16, bias=True) == 8


@settings(max_examples=40, deadline=None)
@given(
    layers=st.integers(1, 3),
    n_in=st.integers(1, 96),
    n_h=st.integers(1, 200),
    pe=st.sampled_from([4, 8, 16, 32]),
    bus=st.sampled_from([64, 128, 256, 512]),
    lm=st.integers(1, 16),
    from_reset=st.booleans(),
    data=st.data(),
)
def test_rtl_expected_lies_between_the_bounds(layers, n_in, n_h, pe, bus, lm, from_reset, data):
    net = Network.stacked(n_in, n_h, layers)
    hw = edgedrnn.HardwareConfig(num_pe=pe, bus_bits=bus)
    counts = np.array(
        [[data.draw(st.integers(0, int(s))) for s in row] for row in net.sizes_array]
    )[None]
    lo, hi = rtl.step_cycle_bounds(net, counts, hw, from_reset, lm)
    mid = rtl.step_cycles(net, counts, hw, from_reset, lm)
    assert lo[0] <= mid[0] <= hi[0]
    if counts.sum() == 0 and not from_reset:
        assert lo[0] == hi[0] == mid[0]
    lo, hi = rtl.step_latency_bounds(net, counts, hw, from_reset, lm)
    mid = rtl.step_latency(net, counts, hw, from_reset, lm)
    assert lo[0] <= mid[0] <= hi[0]


# ------------------------------------------------------------------ derived figures
def test_effective_throughput_definition():
    net = Network.stacked(40, 768, 2)
    est = estimate(net, occupancy=0.1, num_pe=8, bus_bits=64, clock_mhz=125)
    # 2 x weights / latency; latency = cycles / f
    assert math.isclose(est.latency_us, est.mean_cycles / 125)
    assert math.isclose(est.effective_gops, 2 * net.num_weights / (est.latency_us * 1e-6) / 1e9)
    # no padding at these sizes: a tenth of the columns is a tenth of the bytes
    assert math.isclose(est.dram_reduction, 10.0)
    assert est.speedup_vs_dense > 5
    assert est.dense_gops < est.effective_gops


@settings(max_examples=40, deadline=None)
@given(
    layers=st.integers(1, 3),
    n_in=st.integers(1, 96),
    n_h=st.integers(1, 200),
    pe=st.sampled_from([4, 8, 16, 32]),
    bus=st.sampled_from([64, 128, 256, 512]),
    data=st.data(),
)
def test_models_monotonic_in_deltas(layers, n_in, n_h, pe, bus, data):
    """More passed-on deltas never make a step faster or read fewer bytes, in either model."""
    net = Network.stacked(n_in, n_h, layers)
    hw = edgedrnn.HardwareConfig(num_pe=pe, bus_bits=bus)
    sizes = net.sizes_array
    a = np.array(
        [[data.draw(st.integers(0, int(s))) for s in row] for row in sizes], dtype=np.int64
    )
    li = data.draw(st.integers(0, layers - 1))
    k = data.draw(st.integers(0, 1))
    b = a.copy()
    b[li, k] = min(b[li, k] + 1, sizes[li, k])
    ca, cb = a[None], b[None]
    assert rtl.step_cycles(net, cb, hw)[0] >= rtl.step_cycles(net, ca, hw)[0]
    assert rtl.dram_bytes(net, cb, hw)[0] >= rtl.dram_bytes(net, ca, hw)[0]
    assert original.step_cycles(net, cb, pe, bus)[0] >= original.step_cycles(net, ca, pe, bus)[0]
    # the dense step is the slowest
    d = dense_counts(net)
    assert (
        rtl.step_cycles(net, d, hw, from_reset=False)[0]
        >= rtl.step_cycles(net, cb, hw, from_reset=False)[0]
    )


def test_estimate_from_program_and_result():
    gru = torch.nn.GRU(8, 16, num_layers=2)
    prog = edgedrnn.compile(gru, hw=edgedrnn.HardwareConfig(num_pe=8))
    x = np.cumsum(np.random.default_rng(0).normal(0, 0.1, (30, 8)), axis=0)
    res = edgedrnn.run(prog, x, backend="reference", theta_x=0.05, theta_h=0.05)
    est = estimate(prog, res)
    assert est.cycles.shape == (30,)
    assert est.hw == prog.hw
    same = estimate(prog, res.nonzero)
    assert np.array_equal(est.cycles, same.cycles)
    # bias columns streamed at step 0 only
    lay = prog.layers
    expected0 = sum(
        (res.nonzero[0, i].sum()) * lay[i].column_stride + lay[i].bias_stride for i in range(2)
    )
    assert est.dram_bytes[0] == expected0
    summ = est.summary()
    assert summ["steps"] == 30 and summ["network"] == "2L-16H"
