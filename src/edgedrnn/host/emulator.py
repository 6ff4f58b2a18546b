"""``EmulatedTransport``: a pure-Python stand-in for the device behind a transport.

It implements the register map's behaviour (``edgedrnn.hw.regmap``) on top of the integer
reference model, reading the weights from its own memory through the layer registers, so the
driver can be exercised without Verilator or a board. As the hardware does, a step's Θ is
latched when the step before ends (its last ``h_out`` beat taken) or at RESET_STATE, and the
NZ registers and STEP_COUNT are those of the last step whose output was taken; a step is
computed when its output is asked for. It counts no clock cycles (STEP_CYCLES reads 0).
Every register access is recorded in :attr:`log` for tests.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..config import HardwareConfig
from ..datapath import ReferenceModel
from ..hw import regmap
from ..program import LayerLayout, Program
from .driver import pack_beats


class EmulatedTransport:
    """Register map + streams + memory of an EdgeDRNN, emulated in Python.

    Args:
        hw: the hardware configuration to report in CONFIG.
    """

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        self.memory = bytearray()
        self.log: list[tuple[str, int, int]] = []
        registers = regmap.all_registers(hw.max_layers)
        self._names = {addr: name for name, (_, _, addr) in registers.items()}
        self._layer_of = {name: layer for name, (_, layer, _) in registers.items()}
        #: Names of the registers that hold what the host writes (access "RW" in regmap).
        self._stored = {
            name
            for name, (reg, _, _) in registers.items()
            if reg.access == "RW" and (hw.sparse_weights or not reg.sparse)
        }
        self._soft_reset()

    # ----------------------------------------------------------- internals
    def _soft_reset(self) -> None:
        self.regs: dict[str, int] = {}
        self.running = False
        self.status = 0
        self.step_count = 0
        self.nz = np.zeros((self.hw.max_layers, 2), dtype=np.int64)
        self.model: ReferenceModel | None = None
        self.x_beats: list[np.ndarray] = []
        self.h_queue: deque[tuple[np.ndarray, bool]] = deque()
        self.pending_nz: deque[np.ndarray] = deque()  # of the steps in h_queue
        self.theta = self._thresholds()

    def _program(self) -> Program:
        r = self.regs
        layers = []
        for i in range(r.get("NUM_LAYERS", 0)):
            bias = r.get(f"LAYER{i}_BIAS_ADDR", 0)
            col = r.get(f"LAYER{i}_COLUMN_ADDR", 0)
            layers.append(
                LayerLayout(
                    input_size=r.get(f"LAYER{i}_INPUT_SIZE", 0),
                    hidden_size=r.get(f"LAYER{i}_HIDDEN_SIZE", 0),
                    rows_per_gate=r.get(f"LAYER{i}_ROWS_PER_GATE", 0),
                    bias_offset=bias,
                    bias_stride=col - bias,
                    column_offset=col,
                    column_stride=r.get(f"LAYER{i}_COLUMN_STRIDE", 0),
                    slots=r.get(f"LAYER{i}_SLOTS", 0) if self.hw.sparse_weights else 0,
                )
            )
        if not layers:
            raise ValueError("NUM_LAYERS is 0")
        base = r.get("WEIGHT_BASE", 0)
        end = max(lay.end for lay in layers)
        image = bytes(self.memory[base : base + end]).ljust(end, b"\0")
        zeros = [0] * len(layers)
        return Program(self.hw, layers, zeros, list(zeros), image)

    def _reset_state(self) -> None:
        try:
            self.model = ReferenceModel(self._program())
        except (ValueError, IndexError):
            self.model = None
            self.status |= regmap.STATUS_ERROR
        self.step_count = 0
        self.x_beats = []
        self.h_queue.clear()
        self.pending_nz.clear()
        self.theta = self._thresholds()

    def _thresholds(self) -> tuple[list[int], list[int]]:
        """The Θ registers now, per layer (raw Q8.8): what a step latches."""
        layers = self.hw.max_layers
        tx = [self.regs.get(f"LAYER{i}_THETA_X", 0) & 0xFFFF for i in range(layers)]
        th = [self.regs.get(f"LAYER{i}_THETA_H", 0) & 0xFFFF for i in range(layers)]
        return tx, th

    def _maybe_step(self) -> None:
        m = self.model
        if m is None or not self.running:
            return
        n_in = m.program.input_size
        n_beats = regmap.stream_beats(n_in, self.hw.num_pe)
        # one step at a time, and only once the step before has been taken: its Θ is
        # latched then
        if self.h_queue or len(self.x_beats) < n_beats:
            return
        x = np.concatenate(self.x_beats[:n_beats]).astype(np.int64)[:n_in]
        del self.x_beats[:n_beats]
        layers = m.program.num_layers
        tx, th = self.theta
        h = m.step(x, tx[:layers], th[:layers])
        nz = np.zeros_like(self.nz)
        nz[:layers] = m.last_nonzero
        self.pending_nz.append(nz)
        if m.overflow:
            self.status |= regmap.STATUS_OVERFLOW
        beats = pack_beats(h, self.hw.num_pe)
        for k, beat in enumerate(beats):
            self.h_queue.append((beat, k == len(beats) - 1))

    # ------------------------------------------------------------ transport
    def read_reg(self, addr: int) -> int:
        name = self._names.get(addr, "")
        value = 0
        if name == "ID":
            value = regmap.ID_VALUE
        elif name == "VERSION":
            value = regmap.VERSION_VALUE
        elif name == "CONFIG":
            hw = self.hw
            value = regmap.config_value(
                hw.num_pe,
                hw.bus_bits,
                hw.max_layers,
                hw.max_hidden_size,
                hw.max_input_size,
                hw.sparse_weights,
            )
        elif name == "STATUS":
            value = self.status | (regmap.STATUS_RUNNING if self.running else 0)
        elif name == "STEP_COUNT":
            value = self.step_count
        elif name.endswith(("_NZ_X", "_NZ_H")):
            value = int(self.nz[self._layer_of[name], 0 if name.endswith("X") else 1])
        elif name in self._stored:
            value = self.regs.get(name, 0)
        self.log.append(("r", addr, value))
        return value

    def write_reg(self, addr: int, value: int) -> None:
        self.log.append(("w", addr, value))
        name = self._names.get(addr, "")
        if name == "CTRL":
            if value & regmap.CTRL_SOFT_RESET:
                self._soft_reset()
            if value & regmap.CTRL_RESET_STATE:
                self._reset_state()
            if value & regmap.CTRL_START:
                self.running = True
                self._maybe_step()
        elif name == "STATUS_CLEAR":
            self.status &= ~value
        elif name in self._stored:
            self.regs[name] = value & 0xFFFFFFFF

    def write_stream(self, beats: np.ndarray) -> None:
        arr = np.asarray(beats, dtype=np.int16)
        if arr.ndim != 2 or arr.shape[1] != self.hw.num_pe:
            raise ValueError(f"x_in beats must have shape (n, {self.hw.num_pe}), got {arr.shape}")
        self.x_beats.extend(arr)
        self._maybe_step()

    def read_stream(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        beats = []
        while len(beats) < n:
            self._maybe_step()
            if not self.h_queue:
                raise TimeoutError(f"h_out has {len(beats)} beats, {n} requested")
            beats.append(self.h_queue.popleft())
            if beats[-1][1]:  # the step ends: its registers show, the next step's Θ latches
                self.nz = self.pending_nz.popleft()
                self.step_count += 1
                self.theta = self._thresholds()
        return (
            np.array([b[0] for b in beats], dtype=np.int16).reshape(n, self.hw.num_pe),
            np.array([b[1] for b in beats], dtype=bool),
        )

    def write_memory(self, addr: int, data: bytes) -> None:
        if len(self.memory) < addr + len(data):
            self.memory.extend(b"\0" * (addr + len(data) - len(self.memory)))
        self.memory[addr : addr + len(data)] = data
