"""``Program``: what a compiled network is, and its file format.

A :class:`Program` is everything an EdgeDRNN backend needs to run a network: the hardware
configuration it was compiled for, per-layer sizes and thresholds, the layout of the weight
image and the weight image itself (the bytes that go into the accelerator's DRAM). Every
backend runs a Program; the reference backend even reads its weights back out of the image,
so a layout bug cannot hide.

Weight image layout (docs/program-format.md has the full description):

* Per layer, one block: ``[bias column | I input columns | H hidden columns]``; all layers'
  blocks back to back, each starting at a multiple of the bus width in bytes.
* Rows are grouped by gate. Each gate block has ``rows_per_gate = ceil(H / num_pe) * num_pe``
  rows (H real rows, then zero padding), so a gate block always starts on PE lane 0.
* An input or hidden column is ``3 * rows_per_gate`` int8 weights in gate order r, u, n;
  the bias column is ``4 * rows_per_gate`` int8 values in order r (b_ir + b_hr),
  u (b_iz + b_hz), cx (b_in), ch (b_hn). Each column is zero-padded to a whole number of bus
  words (``bus_bits / 8`` bytes); row ``i`` of a column is byte ``i`` of it, so in a bus word
  row ``w * bytes_per_word + g`` is byte g (little-endian lanes).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import fixedpoint as fp
from .config import HardwareConfig, HardwareLimitError

#: Program file format version written by this edgedrnn (and the newest one it reads).
FORMAT_VERSION = 1
MAGIC = b"EDRNNPRG"
_HEADER = struct.Struct("<8sHHIQ32s")  # magic, version, reserved, meta len, image len, sha256


class ProgramFormatError(ValueError):
    """A program file is truncated, corrupted, foreign or from a newer edgedrnn."""


@dataclass(frozen=True)
class LayerLayout:
    """Where one layer's weights live in the weight image (byte offsets from its start)."""

    input_size: int
    hidden_size: int
    rows_per_gate: int
    bias_offset: int
    bias_stride: int
    column_offset: int
    column_stride: int

    @property
    def num_columns(self) -> int:
        """Input plus hidden columns (the bias column not counted)."""
        return self.input_size + self.hidden_size

    @property
    def end(self) -> int:
        return self.column_offset + self.num_columns * self.column_stride

    def column_address(self, k: int) -> int:
        """Byte offset of column k: 0..I-1 are inputs, I..I+H-1 hidden elements."""
        if not 0 <= k < self.num_columns:
            raise IndexError(f"column {k} out of range 0..{self.num_columns - 1}")
        return self.column_offset + k * self.column_stride

    @staticmethod
    def plan(input_size: int, hidden_size: int, offset: int, hw: HardwareConfig) -> LayerLayout:
        """Lay out a layer starting at byte ``offset`` (a multiple of the bus width)."""
        rows = -(-hidden_size // hw.num_pe) * hw.num_pe
        word = hw.bus_bytes
        bias_stride = -(-4 * rows // word) * word
        column_stride = -(-3 * rows // word) * word
        return LayerLayout(
            input_size=input_size,
            hidden_size=hidden_size,
            rows_per_gate=rows,
            bias_offset=offset,
            bias_stride=bias_stride,
            column_offset=offset + bias_stride,
            column_stride=column_stride,
        )


@dataclass(frozen=True)
class LayerWeights:
    """Quantized weights of one layer, as integers (views of the weight image's contents).

    ``w_ih`` is int8 (3H, I), ``w_hh`` int8 (3H, H) with rows r, u, n; ``bias`` is int8 (4, H)
    with rows r, u, cx, ch.
    """

    w_ih: np.ndarray
    w_hh: np.ndarray
    bias: np.ndarray


@dataclass
class Program:
    """A compiled EdgeDRNN network. Create with :func:`edgedrnn.compile`; run with
    :func:`edgedrnn.run`; persist with :meth:`save` / :meth:`load`.

    Thresholds are per layer, raw Q8.8 integers (``theta_x_q``, ``theta_h_q``).
    """

    hw: HardwareConfig
    layers: list[LayerLayout]
    theta_x_q: list[int]
    theta_h_q: list[int]
    weight_image: bytes
    metadata: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    # ----------------------------------------------------------------- shape
    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def input_size(self) -> int:
        return self.layers[0].input_size

    @property
    def hidden_sizes(self) -> list[int]:
        return [lay.hidden_size for lay in self.layers]

    @property
    def output_size(self) -> int:
        return self.layers[-1].hidden_size

    @property
    def theta_x(self) -> list[float]:
        """Per-layer input thresholds as real values."""
        return [q / 256 for q in self.theta_x_q]

    @property
    def theta_h(self) -> list[float]:
        """Per-layer hidden thresholds as real values."""
        return [q / 256 for q in self.theta_h_q]

    @property
    def num_weights(self) -> int:
        """Weights of the network (W_ih and W_hh, biases not counted)."""
        return sum(3 * lay.hidden_size * lay.num_columns for lay in self.layers)

    # ------------------------------------------------------------- weights
    def image_array(self) -> np.ndarray:
        """The weight image as a read-only int8 array."""
        return np.frombuffer(self.weight_image, dtype=np.int8)

    def layer_weights(self, layer: int) -> LayerWeights:
        """Unpack one layer's int8 weights from the weight image (padding dropped)."""
        lay = self.layers[layer]
        img = self.image_array()
        rows, h, n_in = lay.rows_per_gate, lay.hidden_size, lay.input_size
        bias = img[lay.bias_offset : lay.bias_offset + 4 * rows].reshape(4, rows)[:, :h]
        cols = img[lay.column_offset : lay.end].reshape(lay.num_columns, lay.column_stride)
        # cols[k] is column k; keep the 3 gate blocks' real rows: (k, 3, rows) -> (3H, k)
        gates = cols[:, : 3 * rows].reshape(lay.num_columns, 3, rows)[:, :, :h]
        w = gates.reshape(lay.num_columns, 3 * h).T
        return LayerWeights(
            w_ih=np.ascontiguousarray(w[:, :n_in]),
            w_hh=np.ascontiguousarray(w[:, n_in:]),
            bias=np.ascontiguousarray(bias),
        )

    def register_values(self) -> dict[str, int]:
        """Logical register contents for this program (the RTL maps these to addresses).

        Addresses are byte offsets from the weight base address.
        """
        regs: dict[str, int] = {"num_layers": self.num_layers}
        for i, lay in enumerate(self.layers):
            regs[f"layer{i}_input_size"] = lay.input_size
            regs[f"layer{i}_hidden_size"] = lay.hidden_size
            regs[f"layer{i}_rows_per_gate"] = lay.rows_per_gate
            regs[f"layer{i}_bias_addr"] = lay.bias_offset
            regs[f"layer{i}_column_addr"] = lay.column_offset
            regs[f"layer{i}_column_stride"] = lay.column_stride
            regs[f"layer{i}_theta_x"] = self.theta_x_q[i]
            regs[f"layer{i}_theta_h"] = self.theta_h_q[i]
        return regs

    # ------------------------------------------------------------- file I/O
    def _metadata_json(self) -> bytes:
        doc = {
            "format_version": self.format_version,
            "hardware": self.hw.to_dict(),
            "layers": [asdict(lay) for lay in self.layers],
            "theta_x_q": [int(t) for t in self.theta_x_q],
            "theta_h_q": [int(t) for t in self.theta_h_q],
            "metadata": self.metadata,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    def to_bytes(self) -> bytes:
        """Serialize to the program file format (docs/program-format.md)."""
        meta = self._metadata_json()
        head = struct.pack(
            "<8sHHIQ", MAGIC, self.format_version, 0, len(meta), len(self.weight_image)
        )
        digest = hashlib.sha256(head + meta + self.weight_image).digest()
        return head + digest + meta + self.weight_image

    def save(self, path: str | Path) -> Path:
        """Write the program to ``path``; returns the path."""
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> Program:
        """Parse and validate a program file's contents."""
        if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
            raise ProgramFormatError(
                f"{source}: not an edgedrnn program file (expected magic {MAGIC!r} at the start; "
                f"found {data[:8]!r})"
            )
        if len(data) < _HEADER.size:
            raise ProgramFormatError(
                f"{source}: truncated program file: {len(data)} bytes, shorter than the "
                f"{_HEADER.size}-byte header"
            )
        _, version, _, meta_len, image_len, digest = _HEADER.unpack_from(data)
        if version > FORMAT_VERSION:
            raise ProgramFormatError(
                f"{source}: program file format version {version} is newer than this edgedrnn "
                f"reads (up to {FORMAT_VERSION}); upgrade edgedrnn or recompile the model"
            )
        if version < 1:
            raise ProgramFormatError(f"{source}: invalid program file format version {version}")
        expected = _HEADER.size + meta_len + image_len
        if len(data) < expected:
            raise ProgramFormatError(
                f"{source}: truncated program file: {len(data)} bytes, the header announces "
                f"{expected}"
            )
        if len(data) > expected:
            raise ProgramFormatError(
                f"{source}: corrupted program file: {len(data) - expected} unexpected bytes "
                f"after the end announced by the header ({expected} bytes)"
            )
        meta = data[_HEADER.size : _HEADER.size + meta_len]
        image = data[_HEADER.size + meta_len :]
        if hashlib.sha256(data[:24] + meta + image).digest() != digest:
            raise ProgramFormatError(
                f"{source}: corrupted program file: SHA-256 checksum mismatch (the file was "
                f"modified or damaged after it was written)"
            )
        try:
            doc = json.loads(meta)
            hw = HardwareConfig(**doc["hardware"])
            layers = [LayerLayout(**d) for d in doc["layers"]]
            prog = cls(
                hw=hw,
                layers=layers,
                theta_x_q=[int(t) for t in doc["theta_x_q"]],
                theta_h_q=[int(t) for t in doc["theta_h_q"]],
                weight_image=bytes(image),
                metadata=dict(doc.get("metadata", {})),
                format_version=int(doc["format_version"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProgramFormatError(f"{source}: invalid program metadata: {exc}") from exc
        prog.validate()
        return prog

    @classmethod
    def load(cls, path: str | Path) -> Program:
        """Read and validate a program file; raises :class:`ProgramFormatError` on bad files."""
        path = Path(path)
        return cls.from_bytes(path.read_bytes(), source=str(path))

    def validate(self) -> None:
        """Check internal consistency and the hardware limits; raise a clear error if broken."""
        hw = self.hw
        if not self.layers:
            raise HardwareLimitError("a program needs at least one layer")
        if self.num_layers > hw.max_layers:
            raise HardwareLimitError(
                f"{self.num_layers} layers, but the hardware sequences at most "
                f"max_layers={hw.max_layers}; use a HardwareConfig with more layers"
            )
        if len(self.theta_x_q) != self.num_layers or len(self.theta_h_q) != self.num_layers:
            raise ProgramFormatError("thresholds must be given per layer")
        offset = 0
        prev_h = None
        for i, lay in enumerate(self.layers):
            if prev_h is not None and lay.input_size != prev_h:
                raise ProgramFormatError(
                    f"layer {i} input size {lay.input_size} != layer {i - 1} hidden size {prev_h}"
                )
            if i == 0 and lay.input_size > hw.max_input_size:
                raise HardwareLimitError(
                    f"input size {lay.input_size} exceeds max_input_size={hw.max_input_size}"
                )
            if lay.hidden_size > hw.max_hidden_size:
                raise HardwareLimitError(
                    f"layer {i} hidden size {lay.hidden_size} exceeds "
                    f"max_hidden_size={hw.max_hidden_size}"
                )
            if lay != LayerLayout.plan(lay.input_size, lay.hidden_size, offset, hw):
                raise ProgramFormatError(f"layer {i}: layout does not match the hardware config")
            offset = lay.end
            prev_h = lay.hidden_size
        if len(self.weight_image) != offset:
            raise ProgramFormatError(
                f"weight image is {len(self.weight_image)} bytes, the layout needs {offset}"
            )
        if offset > hw.weight_memory_bytes:
            raise HardwareLimitError(
                f"weight image needs {offset} bytes, more than weight_memory_bytes="
                f"{hw.weight_memory_bytes}"
            )
        for name, thetas in (("theta_x", self.theta_x_q), ("theta_h", self.theta_h_q)):
            for t in thetas:
                if not 0 <= t <= fp.INT16_MAX:
                    raise ProgramFormatError(f"{name} {t} outside 0..32767 (raw Q8.8)")

    def summary(self) -> str:
        """One line per layer: sizes, thresholds and image bytes."""
        lines = [
            f"Program v{self.format_version}: {self.num_layers} layer(s), "
            f"{self.num_weights:,} weights, image {len(self.weight_image):,} bytes, "
            f"{self.hw.num_pe} PEs, {self.hw.bus_bits}-bit bus"
        ]
        for i, lay in enumerate(self.layers):
            lines.append(
                f"  layer {i}: I={lay.input_size} H={lay.hidden_size} "
                f"Θx={self.theta_x[i]:.4f} Θh={self.theta_h[i]:.4f} "
                f"bytes {lay.end - lay.bias_offset:,}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        sizes = "-".join(str(h) for h in self.hidden_sizes)
        return f"Program(I={self.input_size}, H={sizes}, hw={self.hw})"
