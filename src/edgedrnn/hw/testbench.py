"""Amaranth-simulator harness for the top level: bus models, a host sequence, random programs.

Used by ``tests/test_hw_*.py``. :func:`simulate` runs a whole sequence on
:class:`~edgedrnn.hw.top.EdgeDRNN` in the Amaranth simulator with

* an AXI4 read slave serving the weight image (configurable latency, random AR/R stalls,
  checks that no burst crosses 4 KiB or exceeds 256 beats),
* an AXI4-Lite host that programs the registers, optionally rewrites Θ between steps,
  pushes each step's x (random gaps), pops h (random back-pressure) and reads the
  per-step counters,

and returns what the host saw. All bus models run in one cycle loop (drive, then observe
the settled handshakes, then tick), so their order within a cycle does not matter.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from amaranth.sim import Simulator

from ..config import HardwareConfig

from ..program import LayerLayout, Program
from . import regmap
from .top import EdgeDRNN


def random_program(
    hw: HardwareConfig,
    input_size: int,
    hidden_sizes: list[int],
    rng: np.random.Generator,
    weight_max: int = 127,
    theta_x: int = 0,
    theta_h: int = 0,
) -> Program:
    """A Program with uniform random int8 weights in [-weight_max-1, weight_max] (padding 0)."""
    layers = []
    offset = 0
    n_in = input_size
    for h in hidden_sizes:
        lay = LayerLayout.plan(n_in, h, offset, hw)
        layers.append(lay)
        offset = lay.end
        n_in = h
    img = np.zeros(offset, dtype=np.int8)
    for lay in layers:
        R, h = lay.rows_per_gate, lay.hidden_size
        b = img[lay.bias_offset : lay.bias_offset + 4 * R].reshape(4, R)
        b[:, :h] = rng.integers(-weight_max - 1, weight_max + 1, size=(4, h))
        for k in range(lay.num_columns):
            a = lay.column_address(k)
            c = img[a : a + 3 * R].reshape(3, R)
            c[:, :h] = rng.integers(-weight_max - 1, weight_max + 1, size=(3, h))
    prog = Program(
        hw=hw,
        layers=layers,
        theta_x_q=[theta_x] * len(layers),
        theta_h_q=[theta_h] * len(layers),
        weight_image=img.tobytes(),
    )
    prog.validate()
    return prog


@dataclass
class Stalls:
    """Random stall probabilities of the bus models (0 = never stall)."""

    x_gap: float = 0.0
    h_backpressure: float = 0.0
    ar_stall: float = 0.0
    r_gap: float = 0.0
    mem_latency: int = 2
    seed: int = 0


@dataclass
class SimResult:
    outputs: np.ndarray  # int64 (T, H_last)
    nonzero: np.ndarray  # int64 (T, L, 2)
    step_cycles: list[int]
    step_count: int
    status: int
    cycles: int
    bursts: list[tuple[int, int]] = field(default_factory=list)


class _Timeout(RuntimeError):
    pass


def simulate(
    program: Program,
    x_q: np.ndarray,
    theta_x_q: np.ndarray | None = None,
    theta_h_q: np.ndarray | None = None,
    stalls: Stalls | None = None,
    weight_base: int = 0x1000,
    max_cycles: int = 200_000,
    vcd: str | None = None,
    prologue_x: np.ndarray | None = None,
    abort_after: int | None = None,
    probe_bad_config: bool = False,
) -> SimResult:
    """Run ``x_q`` (T, I) raw Q8.8 through the RTL; thresholds (T, L) change between steps.

    Control-path options, all before the measured sequence:

    * ``probe_bad_config``: START with NUM_LAYERS = 0; x_in must not be taken and
      STATUS.ERROR must rise (checked here), then SOFT_RESET.
    * ``prologue_x``: an earlier sequence (its outputs discarded); the measured sequence then
      starts with RESET_STATE only (no SOFT_RESET, registers kept).
    * ``abort_after``: the prologue's last step gets only this many x beats, then SOFT_RESET
      and a full reprogramming.
    """
    hw = program.hw
    st = stalls or Stalls()
    rnd = random.Random(st.seed)
    T = x_q.shape[0]
    L = program.num_layers
    tx = np.tile(program.theta_x_q, (T, 1)) if theta_x_q is None else np.asarray(theta_x_q)
    th = np.tile(program.theta_h_q, (T, 1)) if theta_h_q is None else np.asarray(theta_h_q)
    image = program.weight_image
    bb = hw.bus_bytes
    dut = EdgeDRNN(hw)
    res = SimResult(
        outputs=np.zeros((T, program.output_size), dtype=np.int64),
        nonzero=np.zeros((T, L, 2), dtype=np.int64),
        step_cycles=[],
        step_count=0,
        status=0,
        cycles=0,
    )

    # ------------------------------------------------------------ host ops
    ops: deque = deque()
    ctrl = regmap.addr_of("CTRL")

    def program_registers():
        ops.append(("w", ctrl, regmap.CTRL_SOFT_RESET))
        ops.append(("w", regmap.addr_of("NUM_LAYERS"), L))
        ops.append(("w", regmap.addr_of("WEIGHT_BASE"), weight_base))
        for name, val in program.register_values().items():
            if name != "num_layers" and "theta" not in name:
                ops.append(("w", regmap.addr_of(name), val))

    def sequence(xs, txs, ths, out, record):
        for t in range(xs.shape[0]):
            for i in range(L):
                if t == 0 or txs[t, i] != txs[t - 1, i]:
                    ops.append(("w", regmap.addr_of("THETA_X", i), int(txs[t, i])))
                if t == 0 or ths[t, i] != ths[t - 1, i]:
                    ops.append(("w", regmap.addr_of("THETA_H", i), int(ths[t, i])))
            ops.append(("x", xs, t, xs.shape[1]))
            ops.append(("h", out, t))
            if record:
                ops.append(("r", regmap.addr_of("STEP_CYCLES"), ("cycles", t)))
                for i in range(L):
                    ops.append(("r", regmap.addr_of("NZ_X", i), ("nzx", t, i)))
                    ops.append(("r", regmap.addr_of("NZ_H", i), ("nzh", t, i)))

    if probe_bad_config:
        ops.append(("w", ctrl, regmap.CTRL_SOFT_RESET))
        ops.append(("w", ctrl, regmap.CTRL_RESET_STATE | regmap.CTRL_START))
        ops.append(("xtry", 20))
        ops.append(("r", regmap.addr_of("STATUS"), ("expect_error",)))
    program_registers()
    if prologue_x is not None:
        ops.append(("w", ctrl, regmap.CTRL_RESET_STATE | regmap.CTRL_START))
        px = np.asarray(prologue_x)
        pt = np.tile(program.theta_x_q, (px.shape[0], 1))
        ph = np.tile(program.theta_h_q, (px.shape[0], 1))
        scratch = np.zeros((px.shape[0], program.output_size), dtype=np.int64)
        if abort_after is None:
            sequence(px, pt, ph, scratch, record=False)
        else:
            sequence(px[:-1], pt, ph, scratch, record=False)
            for i in range(L):
                ops.append(("w", regmap.addr_of("THETA_X", i), int(pt[-1, i])))
            ops.append(("x", px, px.shape[0] - 1, abort_after))
            ops.append(("wait", 30))
            program_registers()
    ops.append(("w", ctrl, regmap.CTRL_RESET_STATE | regmap.CTRL_START))
    sequence(x_q, tx, th, res.outputs, record=True)
    ops.append(("r", regmap.addr_of("STEP_COUNT"), ("count",)))
    ops.append(("r", regmap.addr_of("STATUS"), ("status",)))

    def store(tag, value):
        if tag[0] == "cycles":
            res.step_cycles.append(value)
        elif tag[0] == "nzx":
            res.nonzero[tag[1], tag[2], 0] = value
        elif tag[0] == "nzh":
            res.nonzero[tag[1], tag[2], 1] = value
        elif tag[0] == "count":
            res.step_count = value
        elif tag[0] == "status":
            res.status = value
        elif tag[0] == "expect_error":
            assert value & regmap.STATUS_ERROR, f"bad config did not set ERROR: {value:#x}"
            assert value & regmap.STATUS_RUNNING

    async def bench(ctx):
        csr, mem, xin, hout = dut.csr, dut.mem, dut.x_in, dut.h_out
        bursts: deque = deque()  # (due cycle, addr, beats)
        cur = None  # [addr, beats left]
        op = None
        phase = 0
        xi = 0
        hi = 0
        waited = 0
        cycle = 0
        while ops or op is not None:
            if cycle > max_cycles:
                raise _Timeout(f"no progress after {max_cycles} cycles; pending op {op}")
            if op is None:
                op = ops.popleft()
                phase = 0
                xi = hi = 0
                waited = 0
            # ---------------- drive
            kind = op[0]
            ctx.set(csr.awvalid, kind == "w" and phase == 0)
            ctx.set(csr.wvalid, kind == "w" and phase == 0)
            ctx.set(csr.awaddr, op[1] if kind == "w" else 0)
            ctx.set(csr.wdata, op[2] if kind == "w" else 0)
            ctx.set(csr.wstrb, 0xF)
            ctx.set(csr.bready, 1)
            ctx.set(csr.arvalid, kind == "r" and phase == 0)
            ctx.set(csr.araddr, op[1] if kind == "r" else 0)
            ctx.set(csr.rready, 1)
            x_valid = (kind == "x" and rnd.random() >= st.x_gap) or kind == "xtry"
            ctx.set(xin.valid, x_valid)
            if kind == "x":
                ctx.set(xin.payload, int(op[1][op[2], xi]))
            ctx.set(hout.ready, kind == "h" and rnd.random() >= st.h_backpressure)
            arready = rnd.random() >= st.ar_stall
            ctx.set(mem.arready, arready)
            if cur is None and bursts and bursts[0][0] <= cycle:
                _, a, n = bursts.popleft()
                cur = [a, n]
            r_valid = cur is not None and rnd.random() >= st.r_gap
            ctx.set(mem.rvalid, r_valid)
            if cur is not None:
                a = cur[0]
                ctx.set(
                    mem.rdata,
                    int.from_bytes(image[a - weight_base : a - weight_base + bb], "little"),
                )
                ctx.set(mem.rlast, cur[1] == 1)
            ctx.set(mem.rresp, 0)
            # ---------------- observe
            if kind == "w" and phase == 0 and ctx.get(csr.awready) and ctx.get(csr.wready):
                phase = 1
            elif kind == "w" and phase == 1 and ctx.get(csr.bvalid):
                op = None
            elif kind == "r" and phase == 0 and ctx.get(csr.arready):
                phase = 1
            elif kind == "r" and phase == 1 and ctx.get(csr.rvalid):
                store(op[2], ctx.get(csr.rdata))
                op = None
            elif kind == "x" and x_valid and ctx.get(xin.ready):
                xi += 1
                if xi == op[3]:
                    op = None
            elif kind == "xtry":
                assert not ctx.get(xin.ready), "x_in taken with a bad configuration"
                waited += 1
                if waited == op[1]:
                    op = None
            elif kind == "wait":
                waited += 1
                if waited == op[1]:
                    op = None
            elif kind == "h" and ctx.get(hout.valid) and ctx.get(hout.ready):
                pl = ctx.get(hout.payload)
                op[1][op[2], hi] = pl.data
                hi += 1
                last = program.output_size == hi
                assert pl.last == last, f"step {op[2]}: last={pl.last} on beat {hi - 1}"
                if last:
                    op = None
            if arready and ctx.get(mem.arvalid):
                addr, n = ctx.get(mem.araddr), ctx.get(mem.arlen) + 1
                assert ctx.get(mem.arsize) == bb.bit_length() - 1
                assert ctx.get(mem.arburst) == 1
                assert n <= 256
                assert addr % bb == 0
                assert addr // 4096 == (addr + n * bb - 1) // 4096, "burst crosses 4 KiB"
                assert weight_base <= addr and addr + n * bb <= weight_base + len(image)
                res.bursts.append((addr, n))
                bursts.append((cycle + st.mem_latency, addr, n))
            if r_valid and ctx.get(mem.rready):
                cur[0] += bb
                cur[1] -= 1
                if cur[1] == 0:
                    cur = None
            await ctx.tick()
            cycle += 1
        res.cycles = cycle

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return res
