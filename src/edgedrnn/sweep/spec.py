"""The sweep specification: a TOML file parsed and checked into a :class:`Spec` of points.

A spec names the model, the workload, the fixed hardware fields, the jobs to run and the
points: a ``[grid]`` (every combination of its lists) and/or a list of ``[[points]]``.
Every error names the file, the table and the key, and says what is allowed
(docs/sweep.md, "The spec").

Example::

    spec = load_spec("benchmarks/sweep-estimates.toml")
    for point in spec.points:
        print(point.label)
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import HardwareConfig
from ..synth.devices import DEVICES

__all__ = [
    "JOB_KINDS",
    "POINT_FIELDS",
    "ModelSpec",
    "Point",
    "Spec",
    "SpecError",
    "SynthSpec",
    "WorkloadSpec",
    "load_spec",
    "parse_spec",
]

#: The jobs a point can run, in the order they are scheduled (estimates first).
JOB_KINDS = ("estimate", "cycles", "synth", "accuracy")

#: A point's fields and their defaults (``theta`` None: the model's own thresholds).
POINT_FIELDS: dict[str, Any] = {
    "num_pe": 8,
    "bus_bits": 64,
    "device": "ecp5-25k",
    "seed": 1,
    "clock_mhz": 125.0,
    "theta": None,
}

#: The fixed :class:`HardwareConfig` fields a ``[hardware]`` table may set.
HARDWARE_FIELDS = ("max_layers", "max_input_size", "max_hidden_size", "weight_memory_bytes")

#: Named test data of the accuracy job (besides ``.npz`` files).
DATA_SOURCES = ("spoken-digits", "synthetic-ctc", "synthetic-classify", "synthetic-regress")

#: Thresholds are Q8.8 values below 128 (docs/datapath.md).
THETA_MAX = 128.0


class SpecError(ValueError):
    """The spec cannot be run; the message names the file, table and key, and the fix."""


@dataclass(frozen=True)
class Point:
    """One design point: an accelerator instance, its device and clock, and a threshold.

    Parameters
    ----------
    num_pe, bus_bits : int
        Processing elements and weight-bus width (:class:`~edgedrnn.config.HardwareConfig`).
    device : str
        A :data:`~edgedrnn.synth.devices.DEVICES` key.
    seed : int
        nextpnr's placement seed.
    clock_mhz : float
        The target clock: latency figures and nextpnr's goal.
    theta : float or None
        Θx = Θh in every layer, real units; None: the model's own thresholds.
    """

    num_pe: int = 8
    bus_bits: int = 64
    device: str = "ecp5-25k"
    seed: int = 1
    clock_mhz: float = 125.0
    theta: float | None = None

    @property
    def label(self) -> str:
        """A short name, e.g. ``ecp5-25k pe8 bus64 125MHz s1 Θ0.1``."""
        theta = "Θ model" if self.theta is None else f"Θ{self.theta:g}"
        return (
            f"{self.device} pe{self.num_pe} bus{self.bus_bits} {self.clock_mhz:g}MHz "
            f"s{self.seed} {theta}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelSpec:
    """The network: exactly one of a Program file, a checkpoint, or sizes with a seed.

    Parameters
    ----------
    program : str
        A ``.edrnn`` Program (estimates; cycles where its hardware matches the point's).
    checkpoint : str
        A ``.pt`` model written by ``edgedrnn train`` (every job; accuracy needs it).
    input_size, hidden_sizes, seed : int, tuple of int, int
        A seeded DeltaGRU of these sizes (:func:`edgedrnn.perf.workload.seeded_program`).
    """

    program: str = ""
    checkpoint: str = ""
    input_size: int = 0
    hidden_sizes: tuple[int, ...] = ()
    seed: int = 0

    @property
    def kind(self) -> str:
        """``"program"``, ``"checkpoint"`` or ``"network"``."""
        if self.program:
            return "program"
        return "checkpoint" if self.checkpoint else "network"


@dataclass(frozen=True)
class WorkloadSpec:
    """What the accelerator runs: an occupancy, an input file or a random sequence; and the
    test data of the accuracy job.

    Parameters
    ----------
    occupancy : float or None
        Fraction of elements passed on per step (estimates only: one steady-state step).
    input : str
        A ``.npy`` file, (T, I) float inputs.
    random_steps, random_seed : int
        A (T, I) standard-normal input of ``random_steps`` steps (0: none).
    backend : str
        The backend whose delta counts drive the estimates (``cpu`` or ``reference``).
    data : str
        Test data of the accuracy job (a named source or a ``.npz``; "" the model's own).
    n_test : int
        Spoken-digits test utterances.
    """

    occupancy: float | None = None
    input: str = ""
    random_steps: int = 0
    random_seed: int = 0
    backend: str = "cpu"
    data: str = ""
    n_test: int = 100


@dataclass(frozen=True)
class SynthSpec:
    """Options of the synthesis job.

    Parameters
    ----------
    place_and_route : bool
        ECP5: run nextpnr (Fmax); False stops after Yosys.
    memory_gb : float
        The memory a synthesis task asks Ray for.
    threads : int
        nextpnr threads (and the CPUs the task asks Ray for).
    """

    place_and_route: bool = True
    memory_gb: float = 2.0
    threads: int = 1


@dataclass(frozen=True)
class Spec:
    """A checked sweep specification.

    Parameters
    ----------
    name : str
        The sweep's name (output files, table title).
    path : str
        The spec file ("" when parsed from a dict).
    jobs : tuple of str
        The jobs each point runs (:data:`JOB_KINDS`; ``estimate`` always).
    model, workload, synth : ModelSpec, WorkloadSpec, SynthSpec
        The network, what it runs on, the synthesis options.
    hardware : dict
        The fixed :class:`HardwareConfig` fields of every point.
    points : tuple of Point
        The design points, grid first, then the list, without repeats.
    """

    name: str
    path: str
    jobs: tuple[str, ...]
    model: ModelSpec
    workload: WorkloadSpec
    synth: SynthSpec
    hardware: dict[str, int] = field(default_factory=dict)
    points: tuple[Point, ...] = ()

    def hardware_config(self, point: Point) -> HardwareConfig:
        """The :class:`HardwareConfig` of ``point`` (the fixed fields from ``[hardware]``)."""
        return HardwareConfig(
            num_pe=point.num_pe,
            bus_bits=point.bus_bits,
            clock_mhz=float(point.clock_mhz),
            **self.hardware,
        )


# ---------------------------------------------------------------- parsing
def load_spec(path: str | Path) -> Spec:
    """Read and check a TOML spec; relative file names are taken from the spec's folder.

    Raises
    ------
    SpecError
        The file is missing, not TOML, or asks for something the sweep cannot run.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not a TOML file ({exc})") from None
    return parse_spec(data, base_dir=path.parent, source=str(path))


def parse_spec(data: dict[str, Any], base_dir: str | Path = ".", source: str = "<spec>") -> Spec:
    """Check a spec given as a dict (the TOML's tables) and expand its points.

    Parameters
    ----------
    data : dict
        Tables ``sweep``, ``model``, ``workload``, ``hardware``, ``synth``, ``grid``, ``points``.
    base_dir : str or Path
        Where relative file names start.
    source : str
        The spec's name in error messages.
    """
    p = _Parser(source, Path(base_dir))
    p.keys(data, "", {"sweep", "model", "workload", "hardware", "synth", "grid", "points"})
    sweep = p.table(data, "sweep")
    p.keys(sweep, "sweep", {"name", "jobs"})
    name = sweep.get("name", Path(source).stem if source != "<spec>" else "sweep")
    if not isinstance(name, str) or not name:
        raise p.error("sweep", "name", f"must be a non-empty string, got {name!r}")
    jobs = p.jobs(sweep.get("jobs", ["estimate"]))
    model = p.model(p.table(data, "model"))
    workload = p.workload(p.table(data, "workload"), jobs, model)
    hardware = p.hardware(p.table(data, "hardware"))
    synth = p.synth(p.table(data, "synth"))
    points = p.points(data.get("grid"), data.get("points"))
    if "accuracy" in jobs and model.kind != "checkpoint":
        raise p.error("model", "checkpoint", "the accuracy job needs a trained checkpoint (.pt)")
    spec = Spec(name, source, jobs, model, workload, synth, hardware, points)
    for point in points:
        try:
            spec.hardware_config(point)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{source}: point {point.label}: {exc}") from None
    return spec


class _Parser:
    """Checks of one spec; errors name ``source``, the table and the key."""

    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def error(self, table: str, key: str, why: str) -> SpecError:
        where = f"[{table}] {key}".strip() if table else key
        return SpecError(f"{self.source}: {where}: {why}")

    def keys(self, obj: dict[str, Any], table: str, allowed: set[str]) -> None:
        for key in obj:
            if key not in allowed:
                raise self.error(table, key, f"unknown key; allowed: {', '.join(sorted(allowed))}")

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise SpecError(f"{self.source}: [{name}] must be a table")
        return value

    def file(self, table: str, key: str, value: Any, suffixes: tuple[str, ...]) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(table, key, f"must be a file name, got {value!r}")
        path = Path(value) if Path(value).is_absolute() else self.base / value
        if not path.is_file():
            raise self.error(table, key, f"{path}: no such file")
        if path.suffix not in suffixes:
            raise self.error(table, key, f"{path}: expected a {' or '.join(suffixes)} file")
        return str(path.resolve())

    def integer(self, table: str, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(table, key, f"must be a whole number, got {value!r}")
        if not low <= value <= high:
            raise self.error(table, key, f"must be in {low}..{high}, got {value}")
        return value

    def number(self, table: str, key: str, value: Any, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(table, key, f"must be a number, got {value!r}")
        if not (math.isfinite(value) and low <= value < high):
            raise self.error(table, key, f"must be in [{low:g}, {high:g}), got {value}")
        return float(value)

    def jobs(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error("sweep", "jobs", f"must be a list of {', '.join(JOB_KINDS)}")
        for v in value:
            if v not in JOB_KINDS:
                raise self.error(
                    "sweep", "jobs", f"unknown job {v!r}; choose from {', '.join(JOB_KINDS)}"
                )
        chosen = {"estimate", *value}
        return tuple(k for k in JOB_KINDS if k in chosen)

    def model(self, t: dict[str, Any]) -> ModelSpec:
        self.keys(t, "model", {"program", "checkpoint", "input_size", "hidden_sizes", "seed"})
        given = [k for k in ("program", "checkpoint", "input_size") if k in t]
        if len(given) != 1:
            raise self.error(
                "model",
                "",
                "give exactly one of program (.edrnn), checkpoint (.pt) or input_size with "
                f"hidden_sizes; got {', '.join(given) or 'none'}",
            )
        if "program" in t:
            return ModelSpec(program=self.file("model", "program", t["program"], (".edrnn",)))
        if "checkpoint" in t:
            return ModelSpec(checkpoint=self.file("model", "checkpoint", t["checkpoint"], (".pt",)))
        size = self.integer("model", "input_size", t["input_size"], 1, 1 << 15)
        hidden = t.get("hidden_sizes")
        if not isinstance(hidden, list) or not hidden:
            raise self.error("model", "hidden_sizes", "give a list of hidden sizes, e.g. [64, 64]")
        hs = tuple(self.integer("model", "hidden_sizes", h, 1, 1 << 15) for h in hidden)
        seed = self.integer("model", "seed", t.get("seed", 0), 0, 2**31 - 1)
        return ModelSpec(input_size=size, hidden_sizes=hs, seed=seed)

    def workload(self, t: dict[str, Any], jobs: tuple[str, ...], model: ModelSpec) -> WorkloadSpec:
        self.keys(t, "workload", {"occupancy", "input", "random", "backend", "data", "n_test"})
        given = [k for k in ("occupancy", "input", "random") if k in t]
        if len(given) != 1:
            raise self.error(
                "workload",
                "",
                "give exactly one of occupancy, input (.npy) or random = {steps, seed}; "
                f"got {', '.join(given) or 'none'}",
            )
        kw: dict[str, Any] = {}
        if "occupancy" in t:
            occ = t["occupancy"]
            if isinstance(occ, bool) or not isinstance(occ, int | float) or not 0 <= occ <= 1:
                raise self.error("workload", "occupancy", f"must be in [0, 1], got {occ!r}")
            kw["occupancy"] = float(occ)
            if "cycles" in jobs:
                raise self.error(
                    "workload",
                    "occupancy",
                    "the cycles job runs the RTL on inputs: give input or random instead",
                )
        elif "input" in t:
            kw["input"] = self.file("workload", "input", t["input"], (".npy",))
        else:
            r = t["random"]
            if not isinstance(r, dict):
                raise self.error("workload", "random", "must be a table {steps = N, seed = S}")
            self.keys(r, "workload.random", {"steps", "seed"})
            kw["random_steps"] = self.integer("workload.random", "steps", r.get("steps"), 1, 10**6)
            kw["random_seed"] = self.integer(
                "workload.random", "seed", r.get("seed", 0), 0, 2**31 - 1
            )
        backend = t.get("backend", "cpu")
        if backend not in ("cpu", "reference"):
            raise self.error("workload", "backend", f"must be cpu or reference, got {backend!r}")
        kw["backend"] = backend
        data = t.get("data", "")
        if data:
            if not isinstance(data, str):
                raise self.error("workload", "data", f"must be a string, got {data!r}")
            if data not in DATA_SOURCES:
                data = self.file("workload", "data", data, (".npz",))
        kw["data"] = data
        kw["n_test"] = self.integer("workload", "n_test", t.get("n_test", 100), 1, 10**6)
        return WorkloadSpec(**kw)

    def hardware(self, t: dict[str, Any]) -> dict[str, int]:
        self.keys(t, "hardware", set(HARDWARE_FIELDS))
        out = {}
        for key, value in t.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error("hardware", key, f"must be a whole number, got {value!r}")
            out[key] = value
        try:
            HardwareConfig(**out)
        except ValueError as exc:
            raise SpecError(f"{self.source}: [hardware]: {exc}") from None
        return out

    def synth(self, t: dict[str, Any]) -> SynthSpec:
        self.keys(t, "synth", {"place_and_route", "memory_gb", "threads"})
        pnr = t.get("place_and_route", True)
        if not isinstance(pnr, bool):
            raise self.error("synth", "place_and_route", f"must be true or false, got {pnr!r}")
        mem = self.number("synth", "memory_gb", t.get("memory_gb", 2.0), 0.0625, 4096)
        threads = self.integer("synth", "threads", t.get("threads", 1), 1, 256)
        return SynthSpec(pnr, mem, threads)

    def field_value(self, table: str, key: str, value: Any) -> Any:
        if key == "device":
            if value not in DEVICES:
                raise self.error(
                    table, key, f"unknown device {value!r}; choose from {', '.join(DEVICES)}"
                )
            return value
        if key in ("num_pe", "bus_bits", "seed"):
            return self.integer(table, key, value, 0 if key == "seed" else 1, 2**31 - 1)
        if key == "clock_mhz":
            return self.number(table, key, value, 1e-3, 10_000)
        return self.number(table, key, value, 0.0, THETA_MAX)  # theta

    def points(self, grid: Any, items: Any) -> tuple[Point, ...]:
        if grid is None and items is None:
            raise SpecError(
                f"{self.source}: no points: give a [grid] of lists and/or [[points]] tables"
            )
        out: list[Point] = []
        if grid is not None:
            if not isinstance(grid, dict):
                raise SpecError(f"{self.source}: [grid] must be a table")
            self.keys(grid, "grid", set(POINT_FIELDS))
            axes = {}
            for key, values in grid.items():
                values = values if isinstance(values, list) else [values]
                if not values:
                    raise self.error("grid", key, "an empty list gives no points")
                axes[key] = [self.field_value("grid", key, v) for v in values]
            names = list(axes)
            for combo in itertools.product(*(axes[k] for k in names)):
                out.append(Point(**{**POINT_FIELDS, **dict(zip(names, combo, strict=True))}))
        if items is not None:
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise SpecError(f"{self.source}: points must be a list of tables [[points]]")
            for n, item in enumerate(items):
                table = f"points #{n + 1}"
                self.keys(item, table, set(POINT_FIELDS))
                values = {k: self.field_value(table, k, v) for k, v in item.items()}
                out.append(Point(**{**POINT_FIELDS, **values}))
        return tuple(dict.fromkeys(out))
