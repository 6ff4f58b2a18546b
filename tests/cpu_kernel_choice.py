"""Choosing the cpu backend's exact-mode column kernel in tests, and the float-mode oracle."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

import edgedrnn

#: Both exact-mode column kernels run on any machine ("vnni" emulates vpdpbusd with portable
#: vector code where the CPU lacks AVX-512 VNNI).
KERNELS = ["vnni", "portable"]


@contextmanager
def use_kernel(kernel: str) -> Iterator[None]:
    """Make ``kernel`` the cpu backend's exact-mode column kernel within the block."""
    old = os.environ.get("EDGEDRNN_CPU_KERNEL")
    os.environ["EDGEDRNN_CPU_KERNEL"] = kernel
    try:
        yield
    finally:
        if old is None:
            del os.environ["EDGEDRNN_CPU_KERNEL"]
        else:
            os.environ["EDGEDRNN_CPU_KERNEL"] = old


def assert_counts_close(got: np.ndarray, want: np.ndarray) -> None:
    """Float-mode delta counts ((T,) L, 2): equal until a step where a decision with |Δ|
    within float32 rounding of Θ (or Δ a few ulps from 0 at Θ = 0) went differently in the
    two float32 implementations. At that step the first layer that differs differs by one
    count (that decision). The layers after it are not compared: one more delta in layer l
    moves every h of layer l, so layer l+1 may pass up to all its inputs differently (its
    echo). After that step the two delta networks follow different trajectories, so later
    counts are not compared (nor are the outputs, see below)."""
    assert got.shape == want.shape
    got, want = got.reshape(-1, *got.shape[-2:]), want.reshape(-1, *want.shape[-2:])
    steps = np.flatnonzero((got != want).any(axis=(1, 2)))
    if steps.size:
        t = steps[0]
        per_layer = np.abs(got[t] - want[t]).sum(axis=1)
        first = np.flatnonzero(per_layer)[0]
        assert per_layer[first] == 1, (int(t), got[t].tolist(), want[t].tolist())


def float_reference(prog, x_q, theta_x=None, theta_h=None):
    """DeltaGRU's float forward with the program's dequantized weights, thresholds in real units."""
    m = edgedrnn.DeltaGRU.from_program(prog)
    m.quantized = False
    m.eval()
    xf = torch.from_numpy(x_q.astype(np.float32) / 256)
    with torch.no_grad():
        y, _ = m(xf, theta_x=theta_x, theta_h=theta_h)
    nz = m.last_nonzero.numpy()
    return y.numpy(), nz[0] if nz.ndim == 4 else nz
