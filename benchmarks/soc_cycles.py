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
per cycle), and the cycle model with the memory's term (:mod:`edgedrnn.perf.memory`, the
preset of the simulated DRAM) next to the SoC's cycles, with its error. Outputs are checked
against the reference on both. Writes JSON to ``build/bench/soc_cycles.json`` (with every
step's delta counts, so the model can be evaluated again without simulating). Run::

    .venv/bin/python benchmarks/soc_cycles.py        # a few minutes once the SoC is built
    .venv/bin/python benchmarks/soc_cycles.py --remodel build/bench/soc_cycles*.json
    .venv/bin/python benchmarks/soc_cycles.py --fit build/bench/soc_cycles.json ...

``--remodel`` evaluates the model (the presets as they are now) on stored runs, rewrites
their model columns and prints the mean error per memory; ``--fit`` fits a memory's
efficiency, per-column overhead and latency to the given runs (all of one DRAM) by a grid
search on the mean |error| (how the presets were calibrated: docs/perf-model.md, *Memory
system*); ``--export tests/perf/soc_runs.json JSON...`` writes the runs' sizes, delta counts
and SoC cycles for ``tests/perf/test_memory.py``.
"""

from __future__ import annotations

import argparse
import itertools
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
from edgedrnn.perf.memory import MemorySystem, for_dram
from edgedrnn.perf.workload import seeded_program
from edgedrnn.soc.config import SoCConfig
from rtl_cycles import make_input  # the same smooth inputs as the RTL benchmark

INPUTS, HIDDEN, STEPS = 40, 64, 30
#: Θ per hidden size giving about 100 %, 30 % and 10 % occupancy on this input.
THETAS = {64: (0.0, 0.17, 0.47), 256: (0.0, 0.09, 0.22), 768: (0.0, 0.05, 0.13)}


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


def model_cycles(run: dict, row: dict, memory: MemorySystem) -> float:
    """The model's mean cycles per step (steps 1..) of a stored row behind ``memory``."""
    hw = hardware(run["bus_bits"], run["hidden"][0])
    net = perf_rtl.network(run["inputs"], run["hidden"])
    return float(perf_rtl.step_cycles(net, np.array(row["nonzero"]), hw, memory=memory)[1:].mean())


def memory_of(run: dict) -> MemorySystem:
    """The preset of a stored run's DRAM."""
    return for_dram(run["soc"]["sdram_module"], run["soc"]["sdram_data_width"])


def add_model(run: dict, memory: MemorySystem | None = None) -> None:
    """Put the model's cycles and error (model / SoC − 1) into every row of ``run``."""
    memory = memory or memory_of(run)
    run["memory"] = memory.__dict__
    for row in run["rows"]:
        row["model_cycles_mean"] = model_cycles(run, row, memory)
        row["model_error"] = row["model_cycles_mean"] / row["soc_cycles_mean"] - 1


def remodel(paths: list[str]) -> None:
    """Evaluate the model on stored runs; rewrite their model columns; errors per memory."""
    errors: dict[str, list[float]] = {}
    for path in paths:
        run = json.loads(Path(path).read_text())
        add_model(run)
        Path(path).write_text(json.dumps(run, indent=2))
        for row in run["rows"]:
            print(
                f"{path:40s} {run['network'][:8]:8s} bus {run['bus_bits']:3d} "
                f"{run['memory']['name']:28s} Θ {row['theta']:.2f} occ {row['occupancy']:4.0%} "
                f"soc {row['soc_cycles_mean']:10.1f} model {row['model_cycles_mean']:10.1f} "
                f"{row['model_error']:+7.2%}"
            )
            errors.setdefault(run["memory"]["name"], []).append(row["model_error"])
    for name, e in errors.items():
        e = np.abs(e)
        print(f"{name:28s} mean |error| {e.mean():6.2%}  max {e.max():6.2%}  ({len(e)} rows)")


#: The grid ``--fit`` searches.
FIT_EFFICIENCY = np.round(np.arange(1.0, 0.8499, -0.01), 3)  # ties: the highest
FIT_OVERHEAD = np.arange(0.0, 4.01, 0.25)
FIT_LATENCY = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)


def fit(paths: list[str]) -> MemorySystem:
    """Fit efficiency, column overhead and latency of one DRAM to stored runs."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    base = memory_of(runs[0])
    if any(memory_of(r) != base for r in runs):
        raise SystemExit("--fit takes runs of one DRAM")
    best: tuple[float, MemorySystem] | None = None
    for eff, over, lat in itertools.product(FIT_EFFICIENCY, FIT_OVERHEAD, FIT_LATENCY):
        mem = MemorySystem(base.name, base.peak_bytes_per_cycle, float(eff), float(over), lat)
        err = [
            abs(model_cycles(r, row, mem) / row["soc_cycles_mean"] - 1)
            for r in runs
            for row in r["rows"]
        ]
        if best is None or np.mean(err) < best[0]:
            best = (float(np.mean(err)), mem)
    assert best is not None
    print(f"{best[1]}: mean |error| {best[0]:.2%} on {len(paths)} runs")
    return best[1]


def export(out: str, paths: list[str]) -> None:
    """Write what tests/perf/test_memory.py needs of stored runs to ``out``."""
    runs = []
    for path in paths:
        run = json.loads(Path(path).read_text())
        hw = hardware(run["bus_bits"], run["hidden"][0])
        runs.append(
            {
                "hw": hw.to_dict(),
                "layers": [list(x) for x in perf_rtl.network(run["inputs"], run["hidden"]).layers],
                "sdram_module": run["soc"]["sdram_module"],
                "sdram_data_width": run["soc"]["sdram_data_width"],
                "rows": [
                    {k: row[k] for k in ("theta", "nonzero", "soc_cycles_mean")}
                    for row in run["rows"]
                ],
            }
        )
    Path(out).write_text(json.dumps(runs, separators=(",", ":")) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdram-module", default="MT48LC16M16")
    ap.add_argument("--sdram-data-width", type=int, default=32)
    ap.add_argument("--bus-bits", type=int, default=64, help="the accelerator's weight bus")
    ap.add_argument("--hidden", type=int, default=HIDDEN, help="hidden units of both layers")
    ap.add_argument("--read-buffer-beats", type=int, default=SoCConfig.read_buffer_beats)
    ap.add_argument(
        "--thetas", type=float, nargs="+", help="thresholds (default: THETAS of the size)"
    )
    ap.add_argument("--out", default="build/bench/soc_cycles.json")
    ap.add_argument("--remodel", nargs="+", metavar="JSON", help="model stored runs only")
    ap.add_argument("--fit", nargs="+", metavar="JSON", help="fit a memory to stored runs")
    ap.add_argument("--export", nargs="+", metavar="PATH", help="OUT JSON...: test fixture")
    args = ap.parse_args()
    if args.export:
        return export(args.export[0], args.export[1:])
    if args.remodel:
        return remodel(args.remodel)
    if args.fit:
        fit(args.fit)
        return None
    from edgedrnn.soc.build import build_soc
    from edgedrnn.soc.measure import run_back_to_back
    from edgedrnn.soc.simulation import SoCSimulation
    from edgedrnn.soc.system import dram_module
    from edgedrnn.soc.transport import LiteXTransport, UARTBridge

    soc = SoCConfig(
        sdram_module=args.sdram_module,
        sdram_data_width=args.sdram_data_width,
        read_buffer_beats=args.read_buffer_beats,
    )
    hw = hardware(args.bus_bits, args.hidden)
    hidden = args.hidden
    build = build_soc(hw, soc)
    memory = for_dram(soc.sdram_module, soc.sdram_data_width)
    module = dram_module(soc)
    phases = {"SDR": 1}.get(module.memtype, 4)
    peak = args.sdram_data_width * phases * (1 if module.memtype == "SDR" else 2) // 8
    x = make_input(STEPS)
    rows = []
    print(
        f"{'Θ':>5} {'occ':>5} {'rtl cyc':>8} {'soc cyc':>8} {'ratio':>6} {'B/cyc':>6} {'peak':>5}"
        f" {'model':>8} {'error':>7}"
    )
    run = {
        "network": f"2L-{hidden}H, {INPUTS} inputs, {STEPS} steps",
        "inputs": INPUTS,
        "hidden": [hidden, hidden],
        "bus_bits": hw.bus_bits,
        "soc": soc.as_dict(),
        "peak_bytes_per_cycle": peak,
        "memory": memory.__dict__,
        "rows": rows,
    }
    thetas = args.thetas or THETAS.get(hidden, THETAS[HIDDEN])
    for theta in thetas:
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
            "nonzero": ref.nonzero.tolist(),
            "rtl_cycles": rtl_cycles.tolist(),
            "soc_cycles": soc_run.cycles.tolist(),
        }
        rows.append(row)
        row["model_cycles_mean"] = model_cycles(run, row, memory)
        row["model_error"] = row["model_cycles_mean"] / row["soc_cycles_mean"] - 1
        ratio = row["soc_cycles_mean"] / row["rtl_cycles_mean"]
        print(
            f"{theta:5.2f} {occupancy:5.0%} {row['rtl_cycles_mean']:8.0f} "
            f"{row['soc_cycles_mean']:8.0f} {ratio:6.2f} {row['soc_bytes_per_cycle']:6.2f} "
            f"{peak:5d} {row['model_cycles_mean']:8.0f} {row['model_error']:+7.2%}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(run, indent=2))
    print(f"wrote {out}")
    return None


if __name__ == "__main__":
    main()
