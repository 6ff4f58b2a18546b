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
* With ``HardwareConfig(sparse_weights=True)`` (format version 2) an input or hidden column
  holds, per gate and per slot, one (value, row index) entry for every PE lane instead
  (:mod:`edgedrnn.sparse.image`); ``LayerLayout.slots`` is the slots per gate and lane.
"""

from __future__ import annotations

import errno
import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import fixedpoint as fp
from .config import LIMITS, HardwareConfig, HardwareLimitError
from .sparse import image as sparse_image

#: The newest program file format version this edgedrnn reads (and writes, for sparse
#: weight images).
FORMAT_VERSION = 2
#: The version a Program with a dense weight image is written in (its file is exactly what
#: edgedrnn wrote before sparse images existed).
DENSE_FORMAT_VERSION = 1
#: The first version with sparse weight images (``LayerLayout.slots``).
SPARSE_FORMAT_VERSION = 2
MAGIC = b"EDRNNPRG"
_HEADER = struct.Struct("<8sHHIQ32s")  # magic, version, reserved, meta len, image len, sha256


class ProgramFormatError(ValueError):
    """A program file is truncated, corrupted, foreign or from a newer edgedrnn, or a
    Program's fields are inconsistent."""


def _is_int(value: Any) -> bool:
    """An int that is not a bool (NumPy integers included)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


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
    #: Sparse weight images: entries per (gate, PE lane) of every input and hidden column
    #: (``n``); 0 for a dense image.
    slots: int = 0

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
    def plan(
        input_size: int, hidden_size: int, offset: int, hw: HardwareConfig, slots: int = 0
    ) -> LayerLayout:
        """Lay out a layer starting at byte ``offset`` (a multiple of the bus width).

        ``slots``: entries per (gate, PE lane) of a sparse column (``hw.sparse_weights``);
        0 for a dense image.
        """
        rows = -(-hidden_size // hw.num_pe) * hw.num_pe
        word = hw.bus_bytes
        bias_stride = -(-4 * rows // word) * word
        size = sparse_image.column_bytes(slots, hw.num_pe) if hw.sparse_weights else 3 * rows
        column_stride = -(-size // word) * word
        return LayerLayout(
            input_size=input_size,
            hidden_size=hidden_size,
            rows_per_gate=rows,
            bias_offset=offset,
            bias_stride=bias_stride,
            column_offset=offset + bias_stride,
            column_stride=column_stride,
            slots=slots,
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


@dataclass(frozen=True)
class Program:
    """A compiled EdgeDRNN network. Create with :func:`edgedrnn.compile`; run with
    :func:`edgedrnn.run`; persist with :meth:`save` / :meth:`load`.

    Thresholds are per layer, raw Q8.8 integers (``theta_x_q``, ``theta_h_q``).

    A Program is immutable: its fields cannot be reassigned, the layers and thresholds are
    tuples and the weight image is ``bytes``, so a backend that caches what it derives from
    a Program can never serve stale weights. Construction validates it (:meth:`validate`):
    ``dataclasses.replace(program, hw=...)`` with a configuration the layout was not planned
    for raises the same error :meth:`load` gives. Only ``metadata`` (free-form information,
    never read by a backend) is a plain dict.
    """

    hw: HardwareConfig
    layers: tuple[LayerLayout, ...]
    theta_x_q: tuple[int, ...]
    theta_h_q: tuple[int, ...]
    weight_image: bytes
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Default (None): :data:`SPARSE_FORMAT_VERSION` for a sparse image, else
    #: :data:`DENSE_FORMAT_VERSION`.
    format_version: int | None = None

    def __post_init__(self) -> None:
        if self.format_version is None:
            sparse = isinstance(self.hw, HardwareConfig) and self.hw.sparse_weights
            version = SPARSE_FORMAT_VERSION if sparse else DENSE_FORMAT_VERSION
            object.__setattr__(self, "format_version", version)
        for name in ("layers", "theta_x_q", "theta_h_q"):
            value = getattr(self, name)
            if not isinstance(value, list | tuple):
                raise ProgramFormatError(
                    f"Program.{name} must be a sequence, got {type(value).__name__}"
                )
            object.__setattr__(self, name, tuple(value))
        self.validate()

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
        if self.hw.sparse_weights:
            try:
                w = sparse_image.unpack_columns(cols, h, self.hw.num_pe, lay.slots)
            except ValueError as exc:
                raise ProgramFormatError(
                    f"layer {layer}: invalid sparse weight image: {exc}"
                ) from None
        else:
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
            if self.hw.sparse_weights:
                regs[f"layer{i}_slots"] = lay.slots
            regs[f"layer{i}_theta_x"] = self.theta_x_q[i]
            regs[f"layer{i}_theta_h"] = self.theta_h_q[i]
        return regs

    # ------------------------------------------------------------- file I/O
    def _metadata_json(self) -> bytes:
        layers = [asdict(lay) for lay in self.layers]
        if self.format_version < SPARSE_FORMAT_VERSION:
            for lay in layers:
                del lay["slots"]
        doc = {
            "format_version": self.format_version,
            "hardware": self.hw.to_dict(),
            "layers": layers,
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
        _, version, reserved, meta_len, image_len, digest = _HEADER.unpack_from(data)
        if reserved != 0:
            raise ProgramFormatError(
                f"{source}: corrupted program file: reserved header field is {reserved}, not 0"
            )
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
        doc = _parse_metadata(meta, source)
        try:
            return cls(
                hw=HardwareConfig(**doc["hardware"]),
                layers=[LayerLayout(**d) for d in doc["layers"]],
                theta_x_q=doc["theta_x_q"],
                theta_h_q=doc["theta_h_q"],
                weight_image=bytes(image),
                metadata=doc["metadata"],
                format_version=doc["format_version"],
            )
        except (TypeError, ValueError) as exc:  # HardwareLimitError and our own included
            raise ProgramFormatError(f"{source}: invalid program: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> Program:
        """Read and validate a program file; raises :class:`ProgramFormatError` on bad files.

        The header is read first: a foreign file is refused after 8 bytes, and a file whose
        size differs from the one its header announces is refused before it is read whole.
        """
        path = Path(path)
        if path.is_dir():
            raise ProgramFormatError(f"{path}: is a directory, not a program file")
        try:
            with path.open("rb") as f:
                head = f.read(_HEADER.size)
                if head[: len(MAGIC)] == MAGIC and len(head) == _HEADER.size:
                    _, _, _, meta_len, image_len, _ = _HEADER.unpack(head)
                    size = path.stat().st_size
                    if size != _HEADER.size + meta_len + image_len:
                        raise ProgramFormatError(
                            f"{path}: truncated or corrupted program file: {size} bytes, the "
                            f"header announces {_HEADER.size + meta_len + image_len}"
                        )
                    head += f.read()
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "program file not found", str(path)) from None
        return cls.from_bytes(head, source=str(path))

    def save(self, path: str | Path) -> Path:
        """Validate the program and write it to ``path``; returns the path."""
        self.validate()
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path

    def validate(self) -> None:
        """Check types, internal consistency and the hardware limits.

        Run by construction, :func:`edgedrnn.run`, :class:`edgedrnn.Session`, :meth:`save`
        and :meth:`load`, so each refuses a broken Program with the same message.

        Raises
        ------
        ProgramFormatError
            A field of the wrong type or an inconsistent layout, size or threshold.
        HardwareLimitError
            The network exceeds its own hardware configuration.
        """
        self._validate_types()
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
            if hw.sparse_weights:
                per_lane = -(-lay.hidden_size // hw.num_pe)
                check_sparse_rows(i, lay.hidden_size, hw)
                if not 1 <= lay.slots <= per_lane:
                    raise ProgramFormatError(
                        f"layer {i}: slots {lay.slots} outside 1..{per_lane} (the rows of a "
                        f"PE lane per gate)"
                    )
            elif lay.slots != 0:
                raise ProgramFormatError(
                    f"layer {i}: slots {lay.slots} given for a dense weight image (a sparse "
                    f"one needs HardwareConfig(sparse_weights=True))"
                )
            plan = LayerLayout.plan(lay.input_size, lay.hidden_size, offset, hw, lay.slots)
            if lay != plan:
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
        if hw.sparse_weights:  # every entry names a real row, each row at most once
            for i in range(self.num_layers):
                self.layer_weights(i)

    def _validate_types(self) -> None:
        """Each field of the type it is documented with (bool is no int)."""
        if not isinstance(self.hw, HardwareConfig):
            raise ProgramFormatError(
                f"Program.hw must be a HardwareConfig, got {type(self.hw).__name__}"
            )
        if not isinstance(self.weight_image, bytes):
            raise ProgramFormatError(
                f"Program.weight_image must be bytes, got {type(self.weight_image).__name__}"
            )
        if not isinstance(self.metadata, dict):
            raise ProgramFormatError(
                f"Program.metadata must be a dict, got {type(self.metadata).__name__}"
            )
        if not _is_int(self.format_version) or not 1 <= self.format_version <= FORMAT_VERSION:
            raise ProgramFormatError(
                f"Program.format_version must be an int in 1..{FORMAT_VERSION}, "
                f"got {self.format_version!r}"
            )
        if self.hw.sparse_weights and self.format_version < SPARSE_FORMAT_VERSION:
            raise ProgramFormatError(
                f"a sparse weight image needs program format version {SPARSE_FORMAT_VERSION} "
                f"or later, got {self.format_version}"
            )
        for i, lay in enumerate(self.layers):
            if not isinstance(lay, LayerLayout):
                raise ProgramFormatError(
                    f"Program.layers[{i}] must be a LayerLayout, got {type(lay).__name__}"
                )
            for name, value in asdict(lay).items():
                if not _is_int(value) or value < 0:
                    raise ProgramFormatError(
                        f"layers[{i}].{name} must be a non-negative int, got {value!r}"
                    )
            if lay.input_size < 1 or lay.hidden_size < 1:
                raise ProgramFormatError(
                    f"layers[{i}]: input and hidden sizes must be at least 1, got "
                    f"{lay.input_size} and {lay.hidden_size}"
                )
        for name in ("theta_x_q", "theta_h_q"):
            for t in getattr(self, name):
                if not _is_int(t):
                    raise ProgramFormatError(f"{name} must hold ints (raw Q8.8), got {t!r}")

    def summary(self) -> str:
        """One line per layer: sizes, thresholds and image bytes."""
        lines = [
            f"Program v{self.format_version}: {self.num_layers} layer(s), "
            f"{self.num_weights:,} weights, image {len(self.weight_image):,} bytes, "
            f"{self.hw.num_pe} PEs, {self.hw.bus_bits}-bit bus"
            + (", sparse weights" if self.hw.sparse_weights else "")
        ]
        for i, lay in enumerate(self.layers):
            lines.append(
                f"  layer {i}: I={lay.input_size} H={lay.hidden_size} "
                f"Θx={self.theta_x[i]:.4f} Θh={self.theta_h[i]:.4f} "
                f"bytes {lay.end - lay.bias_offset:,}"
                + (f" slots {lay.slots}" if self.hw.sparse_weights else "")
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        sizes = "-".join(str(h) for h in self.hidden_sizes)
        return f"Program(I={self.input_size}, H={sizes}, hw={self.hw})"


#: The metadata document's keys and their JSON types (docs/program-format.md).
_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "hardware": dict,
    "layers": list,
    "theta_x_q": list,
    "theta_h_q": list,
}
_HARDWARE_KEYS = {f for f in HardwareConfig.__dataclass_fields__}
_LAYER_KEYS = {f for f in LayerLayout.__dataclass_fields__}
#: Keys a document may leave out (a dense configuration's, and every version-1 document).
_OPTIONAL_KEYS = {"sparse_weights", "slots"}


def check_sparse_rows(layer: int, hidden: int, hw: HardwareConfig) -> None:
    """A sparse image's row index is 8 bits: each PE lane may hold at most 256 rows a gate.

    Raises
    ------
    HardwareLimitError
        ``ceil(hidden / num_pe)`` exceeds 256.
    """
    per_lane = -(-hidden // hw.num_pe)
    if per_lane > sparse_image.MAX_ROWS_PER_LANE:
        need = 1 << (-(-hidden // sparse_image.MAX_ROWS_PER_LANE) - 1).bit_length()
        raise HardwareLimitError(
            f"layer {layer}: {hidden} hidden units give {per_lane} rows per PE lane and gate, "
            f"more than the {sparse_image.MAX_ROWS_PER_LANE} a sparse image's 8-bit row index "
            f"addresses; use num_pe >= {need} or a dense image "
            f"(sparse_weights=False)"
        )


def _parse_metadata(meta: bytes, source: str) -> dict[str, Any]:
    """The metadata JSON, checked against :data:`_SCHEMA`: keys, types and list lengths.

    Bounds (sizes, hardware limits, thresholds) are checked when the Program is built.
    """

    def bad(field_name: str, why: str) -> ProgramFormatError:
        return ProgramFormatError(f"{source}: invalid program metadata: {field_name} {why}")

    try:
        doc = json.loads(meta)
    except RecursionError:
        raise bad("document", "is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad("document", f"is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise bad("document", f"must be a JSON object, got {type(doc).__name__}")
    for key, kind in _SCHEMA.items():
        if key not in doc:
            raise bad(key, "is missing")
        value = doc[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise bad(key, f"must be a JSON {kind.__name__}, got {type(value).__name__}")
    doc.setdefault("metadata", {})
    if not isinstance(doc["metadata"], dict):
        raise bad("metadata", f"must be a JSON object, got {type(doc['metadata']).__name__}")
    _check_object(doc["hardware"], _HARDWARE_KEYS, "hardware", bad)
    most = LIMITS["max_layers"][1]
    if not 1 <= len(doc["layers"]) <= most:
        raise bad("layers", f"must list 1..{most} layers, got {len(doc['layers'])}")
    for i, layer in enumerate(doc["layers"]):
        _check_object(layer, _LAYER_KEYS, f"layers[{i}]", bad)
    for key in ("theta_x_q", "theta_h_q"):
        if len(doc[key]) != len(doc["layers"]):
            raise bad(key, f"must give one threshold per layer ({len(doc['layers'])})")
    return doc


def _check_object(obj: Any, keys: set[str], where: str, bad: Any) -> None:
    """A JSON object with exactly ``keys``; numbers (ints, or the clock as a float) only."""
    if not isinstance(obj, dict):
        raise bad(where, f"must be a JSON object, got {type(obj).__name__}")
    if not keys - _OPTIONAL_KEYS <= set(obj) <= keys:
        missing, extra = sorted(keys - _OPTIONAL_KEYS - set(obj)), sorted(set(obj) - keys)
        raise bad(where, f"has missing keys {missing} / unknown keys {extra}")
    for key, value in obj.items():
        if key == "sparse_weights":
            if not isinstance(value, bool):
                raise bad(f"{where}.{key}", f"must be a JSON bool, got {value!r}")
            continue
        allowed = (int, float) if key == "clock_mhz" else (int,)
        if isinstance(value, bool) or not isinstance(value, allowed):
            kinds = " or ".join(t.__name__ for t in allowed)
            raise bad(f"{where}.{key}", f"must be a JSON {kinds}, got {value!r}")
