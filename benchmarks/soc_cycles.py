"""Cycles per step under a DRAM controller (the simulated LiteX SoC) against the ideal memory
of the rtl backend's testbench, back to back.

One network, 2 layers of 64 hidden units with 40 inputs (the 2L-64H of issue #16; ``--hidden``
for others), at
thresholds giving roughly 100 %, 30 % and 10 % occupancy, on smooth sinusoid-plus-noise
inputs. Both runs queue the whole sequence before the first step, so every step starts as soon
as the one before ends (no host in between):

* ``soc``: the SoC simulation (``edgedrnn.soc``), LiteDRAM's PHY model of the chosen module
  (``--sdram-module``, default the SDR MT48LC16M16 on 32 data pins) with its refresh; per-step
  cycles from the stream window's timestamps (``edgedrnn.soc.measure``).
* ``rtl``: the Verilator testbench's memory, one beat per cycle after a 1-cycle latency, no
  refresh; per-step cycles from its handshake timestamps.

Also the weight bytes each step reads (``edgedrnn.perf.rtl.dram_bytes``) over its SoC cycles:
the bandwidth achieved against the DRAM port's peak (data pins × phases × 2 for DDR / 8 bytes
per cycle). Outputs are checked against the reference on both. Writes JSON to
``build/bench/soc_cycles.json``. Run::

    .venv/bin/python benchmarks/soc_cycles.py        # a few minutes once the SoC is built
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import edgedrnn
from edgedrnn.datapath.inputs import quantize_input
from edgedrnn.host import EdgeDRNNDriver
from edgedrnn.host.driver import pack_beats
from edgedrnn.host.verilator import VerilatorTransport
from edgedrnn.hw import regmap
from edgedrnn.perf import rtl as perf_rtl
from edgedrnn.perf.workload import seeded_program
from edgedrnn.soc.build import build_soc
from edgedrnn.soc.config import SoCConfig
from edgedrnn.soc.measure import run_back_to_back
from edgedrnn.soc.simulation import SoCSimulation
from edgedrnn.soc.transport import LiteXTransport, UARTBridge

INPUTS, HIDDEN, STEPS = 40, 64, 30
THETAS = (0.0, 0.1, 0.25)


def hardware(bus_bits: int = 64, hidden: int = HIDDEN) -> edgedrnn.HardwareConfig:
    """The accelerator of the benchmark (for 64 hidden units and 64 bits, the one of
    tests/backends/test_soc.py, so the SoC build is shared)."""
    return edgedrnn.HardwareConfig(
        num_pe=8,
        bus_bits=bus_bits,
        max_layers=2,
        max_input_size=64,
        max_hidden_size=1 << (hidden - 1).bit_length(),
    )


def make_input(steps: int, inputs: int = INPUTS, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    freq = rng.uniform(0.01, 0.08, inputs)
    phase = rng.uniform(0, 2 * np.pi, inputs)
    amp = rng.uniform(0.5, 2.0, inputs)
    return amp * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0, 0.02, (steps, inputs))


def rtl_back_to_back(program: edgedrnn.Program, x_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs and per-step cycles on the Verilator testbench, the whole sequence queued."""
    p = program.hw.num_pe
    link = VerilatorTransport.for_hardware(program.hw, timeout=100_000_000)
    try:
        drv = EdgeDRNNDriver(link)
        drv.configure(program, weight_base=0x10000)
        drv.wait_idle()
        link.set_pacing(regmap.stream_beats(program.input_size, p), 0)
        link.write_stream(np.concatenate([pack_beats(x, p) for x in x_q]))
        data, _ = link.read_stream(x_q.shape[0] * regmap.stream_beats(program.output_size, p))
        timing = link.step_timing()
    finally:
        link.close()
    out = data.reshape(x_q.shape[0], -1)[:, : program.output_size]
    return out, timing.cycles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdram-module", default="MT48LC16M16")
    ap.add_argument("--sdram-data-width", type=int, default=32)
    ap.add_argument("--bus-bits", type=int, default=64, help="the accelerator's weight bus")
    ap.add_argument("--hidden", type=int, default=HIDDEN, help="hidden units of both layers")
    ap.add_argument("--read-buffer-beats", type=int, default=SoCConfig.read_buffer_beats)
    ap.add_argument("--out", default="build/bench/soc_cycles.json")
    args = ap.parse_args()
    soc = SoCConfig(
        sdram_module=args.sdram_module,
        sdram_data_width=args.sdram_data_width,
        read_buffer_beats=args.read_buffer_beats,
    )
    hw = hardware(args.bus_bits, args.hidden)
    hidden = args.hidden
    build = build_soc(hw, soc)
    from edgedrnn.soc.system import dram_module

    module = dram_module(soc)
    phases = {"SDR": 1}.get(module.memtype, 4)
    peak = args.sdram_data_width * phases * (1 if module.memtype == "SDR" else 2) // 8
    x = make_input(STEPS)
    rows = []
    print(
        f"{'Θ':>5} {'occ':>5} {'rtl cyc':>8} {'soc cyc':>8} {'ratio':>6} {'B/cyc':>6} {'peak':>5}"
    )
    for theta in THETAS:
        program = seeded_program(INPUTS, [hidden, hidden], hw, theta=theta, seed=0)
        ref = edgedrnn.run(program, x, backend="reference")
        x_q = quantize_input(x, INPUTS)
        rtl_out, rtl_cycles = rtl_back_to_back(program, x_q)
        image = bytes(program.weight_image)
        with SoCSimulation(build, image, 0x10000) as sim:
            sim.sock.settimeout(600)
            link = LiteXTransport(UARTBridge(sim.sock), hw.num_pe, preloaded=(0x10000, image))
            soc_run = run_back_to_back(link, program, x_q)
        for name, out in (("rtl", rtl_out), ("soc", soc_run.outputs_q)):
            if not np.array_equal(out, ref.outputs_q):
                raise SystemExit(f"{name} outputs differ from the reference at Θ={theta}")
        if soc_run.cycles[-1] != soc_run.step_cycles_register:
            raise SystemExit("timestamps disagree with STEP_CYCLES")
        net = perf_rtl.network(INPUTS, [hidden, hidden])
        nbytes = perf_rtl.dram_bytes(net, ref.nonzero, hw)
        occupancy = ref.nonzero.sum() / (STEPS * (INPUTS + 3 * hidden))
        # steps 1.. (step 0 reads the bias columns and starts from an idle accelerator)
        row = {
            "theta": theta,
            "occupancy": float(occupancy),
            "rtl_cycles_mean": float(rtl_cycles[1:].mean()),
            "soc_cycles_mean": float(soc_run.cycles[1:].mean()),
            "bytes_per_step": float(nbytes[1:].mean()),
            "soc_bytes_per_cycle": float(nbytes[1:].sum() / soc_run.cycles[1:].sum()),
            "rtl_cycles": rtl_cycles.tolist(),
            "soc_cycles": soc_run.cycles.tolist(),
        }
        rows.append(row)
        ratio = row["soc_cycles_mean"] / row["rtl_cycles_mean"]
        print(
            f"{theta:8.2f} {occupancy:8.0%} {row['rtl_cycles_mean']:8.0f} "
            f"{row['soc_cycles_mean']:8.0f} {ratio:8.2f} {row['soc_bytes_per_cycle']:8.2f} "
            f"{peak:8d}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "network": f"2L-{hidden}H, {INPUTS} inputs, {STEPS} steps",
                "bus_bits": hw.bus_bits,
                "soc": soc.as_dict(),
                "peak_bytes_per_cycle": peak,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
