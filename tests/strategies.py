"""Hypothesis strategies for random networks, inputs and threshold schedules."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

import edgedrnn

#: Weight sparsities γ a sparse network is pruned to (γ = 0.99 keeps one weight per
#: (column, gate, lane): n = 1).
SPARSITIES = (0.0, 0.5, 0.75, 0.875, 15 / 16, 0.99)


@st.composite
def networks(draw, max_layers: int = 3, max_input: int = 12, max_hidden: int = 12, hw=None):
    """A compiled random Program: 1-3 layers, unequal sizes, random weight scale.

    Large weight scales clip in Q1.7 and saturate accumulators; small ones do not. On a
    sparse ``hw`` (``sparse_weights``) the model is pruned first (:func:`edgedrnn.prune`) to a
    γ drawn from :data:`SPARSITIES`.
    """
    layers = draw(st.integers(1, max_layers))
    input_size = draw(st.integers(1, max_input))
    hidden = [draw(st.integers(1, max_hidden)) for _ in range(layers)]
    scale = draw(st.sampled_from([0.3, 1.0, 4.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    model = edgedrnn.DeltaGRU(input_size, hidden, layers)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * scale)
    theta_x = [draw(st.sampled_from([0.0, 1 / 256, 0.05, 0.25, 1.0])) for _ in range(layers)]
    theta_h = [draw(st.sampled_from([0.0, 1 / 256, 0.05, 0.25, 1.0])) for _ in range(layers)]
    hw = hw or edgedrnn.HardwareConfig(num_pe=draw(st.sampled_from([4, 8, 16])))
    if hw.sparse_weights:
        edgedrnn.prune(model, draw(st.sampled_from(SPARSITIES)), hw)
        with torch.no_grad():  # a kept weight that rounds to 0 in Q1.7 would leave its slot
            for name, p in model.named_parameters():  # empty: compile refuses too many
                if "weight" in name:
                    small = (p != 0) & (p.abs() < 1 / 128)
                    p.copy_(torch.where(small, torch.sign(p) / 128, p))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", edgedrnn.QuantizationWarning)
        return edgedrnn.compile(model, hw=hw, theta_x=theta_x, theta_h=theta_h)


@st.composite
def input_sequences(draw, input_size: int, max_steps: int = 25):
    """Raw Q8.8 int16 inputs (T, I): smooth walks (sparse deltas) or wild values (saturation)."""
    steps = draw(st.integers(1, max_steps))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["walk", "gauss", "extreme"]))
    if kind == "walk":
        x = np.cumsum(rng.normal(0, 0.1, (steps, input_size)), axis=0)
        return np.clip(np.rint(x * 256), -32768, 32767).astype(np.int16)
    if kind == "gauss":
        return np.clip(
            np.rint(rng.normal(0, 2.0, (steps, input_size)) * 256), -32768, 32767
        ).astype(np.int16)
    # extremes: full-scale swings so input deltas saturate in int16
    return rng.choice(np.array([-32768, -1, 0, 1, 32767], dtype=np.int16), (steps, input_size))


@st.composite
def threshold_schedules(draw, steps: int, layers: int):
    """Per-step, per-layer thresholds (T, L) in real units, changing mid-sequence, or None."""
    if draw(st.booleans()):
        return None
    change = draw(st.integers(0, steps))
    a = [draw(st.sampled_from([0.0, 0.02, 0.1, 0.5])) for _ in range(layers)]
    b = [draw(st.sampled_from([0.0, 1 / 256, 0.05, 0.3])) for _ in range(layers)]
    sched = np.empty((steps, layers))
    sched[:change] = a
    sched[change:] = b
    return sched


@st.composite
def rtl_cases(
    draw,
    hw,
    max_steps: int,
    max_size: int,
    mem_latencies=(1, 2, 8, 30),
    stalls=(0.0, 0.3, 0.7),
):
    """(program, x, Θx schedule, Θh schedule, simulator timing) for an RTL co-simulation run
    on hardware ``hw``: a random network, input sequence, thresholds changing over the
    sequence, memory latency and stall probabilities."""
    from edgedrnn.datapath.inputs import threshold_schedule

    program = draw(networks(max_input=max_size, max_hidden=max_size, hw=hw))
    x = draw(input_sequences(program.input_size, max_steps=max_steps))
    steps = x.shape[0]
    tx = threshold_schedule(
        draw(threshold_schedules(steps, program.num_layers)), program.theta_x_q, steps, "tx"
    )
    th = threshold_schedule(
        draw(threshold_schedules(steps, program.num_layers)), program.theta_h_q, steps, "th"
    )
    sim = {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "mem_latency": draw(st.sampled_from(mem_latencies)),
        "mem_stall": draw(st.sampled_from(stalls)),
        "stream_stall": draw(st.sampled_from(stalls)),
    }
    return program, x, tx, th, sim
