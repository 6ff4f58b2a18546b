"""The jobs of a design point, each a function of JSON-able inputs returning a JSON-able dict.

========== ============================================== ==========================
job        what                                           result
========== ============================================== ==========================
estimate   :func:`edgedrnn.perf.estimate` on the workload  latency, GOp/s, DRAM, fit
cycles     the ``rtl`` backend (Verilator) on the inputs   cycles per step, latency
synth      :func:`edgedrnn.synth.synthesize`               LUT/FF/DSP/BRAM, Fmax
accuracy   :func:`edgedrnn.tradeoff.evaluate` at one Θ      the task metric, sparsity
========== ============================================== ==========================

A job function is called as ``fn(inputs, log)``: ``inputs`` is :attr:`Job.inputs`, ``log``
takes lines of progress (a tool's output) whose tail is kept when the job fails. Files are
named by path in the inputs (``files``): on a cluster every node must see them at that path.
:func:`jobs_for` builds the jobs of a point from a :class:`~edgedrnn.sweep.spec.Spec`; a job's
inputs hold only what it depends on, so points that share a job (two Θ on one instance share
its synthesis) share its cache entry.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import HardwareConfig
from ..perf import Network, estimate
from ..program import Program
from ..support.extras import require
from ..synth.devices import DEVICES
from .fit import device_fit, network_fits
from .spec import Point, Spec

__all__ = ["JOBS", "Job", "JobFunction", "accuracy", "cycles", "estimate_job", "jobs_for", "synth"]

#: ``fn(inputs, log) -> result``.
JobFunction = Callable[[dict[str, Any], Callable[[str], None]], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    """One unit of work: a kind (a :data:`JOBS` key) and its inputs.

    Parameters
    ----------
    kind : str
        The job function's name in :data:`JOBS`.
    inputs : dict
        JSON-able inputs; ``inputs["files"]`` lists the files it reads (hashed into the key).
    """

    kind: str
    inputs: dict[str, Any] = field(hash=False)


# ---------------------------------------------------------------- helpers
def _hw(inputs: dict[str, Any]) -> HardwareConfig:
    return HardwareConfig(**inputs["hw"])


def _network(model: dict[str, Any]) -> Network:
    if model["kind"] == "program":
        return Network.from_program(Program.load(model["program"]))
    if model["kind"] == "checkpoint":
        checkpoint = require("edgedrnn.train.checkpoint", "a sweep over a checkpoint")
        rnn = checkpoint.load_model(model["checkpoint"]).rnn
        return Network(tuple((int(i), int(h)) for i, h in rnn.layer_sizes()))
    sizes = [model["input_size"], *model["hidden_sizes"]]
    return Network(tuple(itertools.pairwise(sizes)))


def _program(model: dict[str, Any], hw: HardwareConfig, theta: float | None, exact_hw: bool):
    """The Program of ``model`` for ``hw`` at ``theta`` (None: the model's own)."""
    if model["kind"] == "program":
        program = Program.load(model["program"])
        if exact_hw and (program.hw.num_pe, program.hw.bus_bits) != (hw.num_pe, hw.bus_bits):
            raise ValueError(
                f"{model['program']} is compiled for {program.hw.num_pe} PEs and a "
                f"{program.hw.bus_bits}-bit bus, the point has {hw.num_pe} and {hw.bus_bits}; "
                "give the model as a checkpoint or sizes to recompile it per point"
            )
        return program
    if model["kind"] == "checkpoint":
        checkpoint = require("edgedrnn.train.checkpoint", "a sweep over a checkpoint")
        compiler = require("edgedrnn.compiler", "a sweep over a checkpoint")
        rnn = checkpoint.load_model(model["checkpoint"]).rnn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", compiler.QuantizationWarning)
            return compiler.compile(rnn, hw=hw, theta_x=theta, theta_h=theta)
    from ..perf.workload import seeded_program

    return seeded_program(
        model["input_size"], model["hidden_sizes"], hw, theta or 0.0, seed=model["seed"]
    )


def _inputs(workload: dict[str, Any], input_size: int) -> np.ndarray:
    if workload.get("input"):
        x = np.load(workload["input"], allow_pickle=False)
        if x.ndim != 2 or x.shape[1] != input_size:
            raise ValueError(
                f"{workload['input']}: expected (T, {input_size}) inputs, got {x.shape}"
            )
        return x
    rng = np.random.default_rng(workload["random_seed"])
    return rng.standard_normal((workload["random_steps"], input_size))


def _run(program: Program, x: np.ndarray, theta: float | None, backend: str):
    from ..runner import run

    kw = {} if theta is None else {"theta_x": theta, "theta_h": theta}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inputs clipped to Q8.8
        return run(program, x, backend=backend, **kw)


# ---------------------------------------------------------------- the jobs
def estimate_job(inputs: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The perf model on the workload (occupancy, or the delta counts of a run at Θ)."""
    hw = _hw(inputs)
    model, workload, theta = inputs["model"], inputs["workload"], inputs["theta"]
    net = _network(model)
    if workload.get("occupancy") is not None:
        est = estimate(net, occupancy=workload["occupancy"], hw=hw)
    else:
        program = _program(model, hw, theta, exact_hw=False)
        log(f"delta counts: {workload['backend']} backend")
        res = _run(program, _inputs(workload, net.layers[0][0]), theta, workload["backend"])
        est = estimate(net, res.nonzero, hw=hw)
    out = est.summary()
    out["max_latency_us"] = est.max_latency_us
    out["network_fit"] = network_fits(net, hw)
    out["device_fit"] = device_fit(hw.num_pe, inputs["device"])
    return out


def cycles(inputs: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Verilator cycles of the RTL on the workload's inputs at Θ."""
    hw = _hw(inputs)
    model, workload, theta = inputs["model"], inputs["workload"], inputs["theta"]
    program = _program(model, hw, theta, exact_hw=True)
    log("running the rtl backend (Verilator; builds the model on first use)")
    res = _run(program, _inputs(workload, program.input_size), theta, "rtl")
    c = np.asarray(res.cycles, dtype=np.float64)
    return {
        "steps": len(c),
        "mean_cycles": float(c.mean()),
        "max_cycles": float(c.max()),
        "total_cycles": float(c.sum()),
        "latency_us": float(c.mean()) / hw.clock_mhz,
        "max_latency_us": float(c.max()) / hw.clock_mhz,
    }


def synth(inputs: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Synthesis (and for ECP5 place and route) of the instance; the report's fields."""
    from ..synth import accelerator, synthesize

    hw = _hw(inputs)
    fixed = {k: v for k, v in hw.to_dict().items() if k not in ("num_pe", "bus_bits", "clock_mhz")}
    report = synthesize(
        accelerator(hw.num_pe, hw.bus_bits, **fixed),
        inputs["device"],
        name=f"EdgeDRNN {hw.num_pe} PE, {hw.bus_bits}-bit bus",
        params={"num_pe": hw.num_pe, "bus_bits": hw.bus_bits},
        freq_mhz=inputs["freq_mhz"] or hw.clock_mhz,
        place_and_route=inputs["place_and_route"],
        seed=inputs["seed"] or 1,
        threads=inputs["threads"],
        progress=log,
        on_line=log,
    )
    return report.to_dict()


def accuracy(inputs: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The task metric of the checkpoint at Θ on its test data (the fast exact path)."""
    checkpoint = require("edgedrnn.train.checkpoint", "the accuracy job")
    datasets = require("edgedrnn.train.datasets", "the accuracy job")
    from ..tradeoff import evaluate

    model = checkpoint.load_model(inputs["checkpoint"])
    theta = inputs["theta"]
    if theta is None:
        values = set(model.rnn.theta_x) | set(model.rnn.theta_h)
        if len(values) != 1:
            raise ValueError("the model's thresholds differ per layer: give theta in the spec")
        theta = values.pop()
    test = datasets.evaluation_data(model.metadata, inputs["data"] or None, inputs["n_test"])
    log(f"evaluating on {len(test)} test sequences at Θ = {theta:g}")
    result = evaluate(model, test, [theta], n_reference=0)
    row = result["rows"][0]
    return {
        "metric": result["metric"],
        "value": float(row[result["metric"]]),
        "theta": float(theta),
        "test_sequences": result["test_sequences"],
        "columns_per_step": row["columns_per_step"],
        "layers": row["layers"],
    }


#: The job functions by kind.
JOBS: dict[str, JobFunction] = {
    "estimate": estimate_job,
    "cycles": cycles,
    "synth": synth,
    "accuracy": accuracy,
}


def _model_inputs(spec: Spec) -> tuple[dict[str, Any], list[str]]:
    m = spec.model
    model = {
        "kind": m.kind,
        "program": m.program,
        "checkpoint": m.checkpoint,
        "input_size": m.input_size,
        "hidden_sizes": list(m.hidden_sizes),
        "seed": m.seed,
    }
    return model, [f for f in (m.program, m.checkpoint) if f]


def jobs_for(spec: Spec, point: Point) -> dict[str, Job]:
    """The jobs of ``point`` by kind (those of ``spec.jobs``)."""
    hw = spec.hardware_config(point).to_dict()
    model, model_files = _model_inputs(spec)
    w = spec.workload
    workload = {
        "occupancy": w.occupancy,
        "input": w.input,
        "random_steps": w.random_steps,
        "random_seed": w.random_seed,
        "backend": w.backend,
    }
    run_files = [*model_files, *([w.input] if w.input else [])]
    out: dict[str, Job] = {}
    for kind in spec.jobs:
        if kind == "estimate":
            inputs = {
                "model": model,
                "workload": workload,
                "hw": hw,
                "theta": point.theta,
                "device": point.device,
                "files": run_files,
            }
        elif kind == "cycles":
            cycle_workload = {k: v for k, v in workload.items() if k != "backend"}
            inputs = {
                "model": model,
                "workload": cycle_workload,
                "hw": hw,
                "theta": point.theta,
                "files": run_files,
            }
        elif kind == "synth":
            # Yosys alone depends on neither the clock target nor the placement seed
            pnr = spec.synth.place_and_route and DEVICES[point.device].family == "ecp5"
            inputs = {
                "hw": {k: v for k, v in hw.items() if k != "clock_mhz"},
                "device": point.device,
                "freq_mhz": point.clock_mhz if pnr else None,
                "seed": point.seed if pnr else None,
                "place_and_route": pnr,
                "threads": spec.synth.threads,
                "files": [],
            }
        else:
            data_files = [w.data] if w.data.endswith(".npz") else []
            inputs = {
                "checkpoint": spec.model.checkpoint,
                "data": w.data,
                "n_test": w.n_test,
                "theta": point.theta,
                "files": [*model_files, *data_files],
            }
        out[kind] = Job(kind, inputs)
    return out
