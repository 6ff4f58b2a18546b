"""The EdgeDRNN register map: the single source for the RTL, the host driver and the docs.

32-bit registers at byte addresses on an AXI4-Lite slave with 12 address bits. Global registers
live at 0x000..0x0FF; layer ``l``'s registers at ``0x100 + 0x40 * l`` plus the offsets of
:data:`LAYER_REGISTERS`.

Helpers::

    >>> from edgedrnn.hw import regmap
    >>> hex(regmap.addr_of("CTRL"))
    '0x10'
    >>> hex(regmap.addr_of("THETA_X", layer=1)), hex(regmap.addr_of("layer1_theta_x"))
    ('0x158', '0x158')

``to_c_header()`` and ``to_markdown()`` render the map for C drivers and documentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Value of the ID register: "EDRN" in ASCII.
ID_VALUE = 0x4544524E
#: Major version: a driver of another major version cannot drive the device. Minor version:
#: registers added compatibly (minor 1: CONFIG.SPARSE and LAYERl_SLOTS of the sparse build).
VERSION_MAJOR = 2
VERSION_MINOR = 1
VERSION_VALUE = (VERSION_MAJOR << 16) | VERSION_MINOR

#: The beats of the ``x_in`` and ``h_out`` streams (major version 2), for the C header and
#: docs/register-map.md.
STREAM_FORMAT = (
    "x_in and h_out carry a row group of P = CONFIG.NUM_PE Q8.8 elements per beat: element "
    "P·b + k of the vector in bits 16k+15:16k of beat b. A step takes ⌈I/P⌉ x_in beats (the "
    "lanes past the input size I are ignored) and gives ⌈H/P⌉ h_out beats of the last "
    "layer's new h (the lanes past its size H are zero); h_out's LAST, bit 16P, is set on the "
    "step's final beat."
)


def stream_beats(size: int, num_pe: int) -> int:
    """Beats of ``x_in`` or ``h_out`` that carry a vector of ``size`` elements."""
    return -(-size // num_pe)


#: Address bits of the AXI4-Lite slave.
ADDR_BITS = 12
#: Byte address of layer 0's register block and distance between layer blocks.
LAYER_BASE = 0x100
LAYER_STRIDE = 0x40
#: Most layers the 12-bit address space can describe.
MAX_LAYERS_ADDRESSABLE = (1 << ADDR_BITS) // LAYER_STRIDE - LAYER_BASE // LAYER_STRIDE

# CTRL bits
CTRL_START = 1 << 0
CTRL_RESET_STATE = 1 << 1
CTRL_SOFT_RESET = 1 << 2
# STATUS bits
STATUS_BUSY = 1 << 0
STATUS_OVERFLOW = 1 << 1
STATUS_ERROR = 1 << 2
STATUS_RUNNING = 1 << 3


@dataclass(frozen=True)
class Field:
    """A bit field of a register: bits ``lsb .. lsb + width - 1``."""

    name: str
    lsb: int
    width: int
    doc: str = ""

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True)
class Register:
    """One 32-bit register.

    ``addr`` is the byte address for global registers and the offset inside a layer block for
    layer registers (``layer=True``). ``access`` is ``"RO"``, ``"WO"`` or ``"RW"``.
    """

    name: str
    addr: int
    access: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    doc: str = ""
    layer: bool = False
    #: The register exists on sparse-decoding builds only (CONFIG.SPARSE); a dense build
    #: ignores writes to it and reads 0.
    sparse: bool = False

    def address(self, layer: int | None = None) -> int:
        """Byte address (layer registers need ``layer``)."""
        if not self.layer:
            if layer is not None:
                raise ValueError(f"{self.name} is not a per-layer register")
            return self.addr
        if layer is None:
            raise ValueError(f"{self.name} is a per-layer register: give layer=")
        if not 0 <= layer < MAX_LAYERS_ADDRESSABLE:
            raise ValueError(f"layer {layer} out of range 0..{MAX_LAYERS_ADDRESSABLE - 1}")
        return LAYER_BASE + LAYER_STRIDE * layer + self.addr


GLOBAL_REGISTERS: tuple[Register, ...] = (
    Register("ID", 0x000, "RO", doc='Identification, 0x4544524E ("EDRN")'),
    Register("VERSION", 0x004, "RO", doc="(major << 16) | minor"),
    Register(
        "CONFIG",
        0x008,
        "RO",
        (
            Field("NUM_PE", 0, 8, "processing elements"),
            Field("LOG2_BUS_BITS", 8, 4, "log2 of the weight bus width in bits"),
            Field("MAX_LAYERS", 12, 4, "layers the controller sequences (15 if more)"),
            Field("LOG2_MAX_HIDDEN", 16, 4, "log2(max hidden size), rounded up"),
            Field("LOG2_MAX_INPUT", 20, 4, "log2(max input size), rounded up"),
            Field(
                "SPARSE",
                24,
                1,
                "the build decodes sparse weight images (HardwareConfig.sparse_weights)",
            ),
        ),
        "Hardware parameters of this instance",
    ),
    Register(
        "CTRL",
        0x010,
        "WO",
        (
            Field("START", 0, 1, "enable: begin consuming steps from x_in"),
            Field(
                "RESET_STATE",
                1,
                1,
                "zero all layers' state (x̂, ĥ, h, accumulators, bias-sent); between steps only",
            ),
            Field("SOFT_RESET", 2, 1, "reset everything, including status and counters"),
        ),
        "Control (bits self-clear)",
    ),
    Register(
        "STATUS",
        0x014,
        "RO",
        (
            Field(
                "BUSY",
                0,
                1,
                "a step's input part is in flight (from x_in to its last h_out beat), or a "
                "reset; not the next step's hidden part, which runs ahead",
            ),
            Field("OVERFLOW", 1, 1, "sticky: a saturation happened (datapath.md §3)"),
            Field("ERROR", 2, 1, "sticky: bad configuration or AXI error response"),
            Field("RUNNING", 3, 1, "START given and not soft-reset"),
        ),
        "Status; sticky bits are cleared through STATUS_CLEAR",
    ),
    Register("STATUS_CLEAR", 0x018, "WO", doc="Write 1s to clear sticky STATUS bits"),
    Register("NUM_LAYERS", 0x01C, "RW", doc="Number of layers L"),
    Register("WEIGHT_BASE", 0x020, "RW", doc="Byte address of the weight image on the mem port"),
    Register(
        "STEP_CYCLES",
        0x024,
        "RO",
        doc=(
            "Cycles of the last completed step: from the previous step's last h_out beat "
            "accepted (first step after START / RESET_STATE: the first cycle x_in is valid) "
            "to its own; the sum over a run is the run's cycles"
        ),
    ),
    Register("STEP_COUNT", 0x028, "RO", doc="Steps completed since RESET_STATE / SOFT_RESET"),
    Register(
        "LATENCY",
        0x02C,
        "RO",
        doc=(
            "Latency of the last completed step: cycles from the first cycle its x_in is "
            "valid to its last h_out beat accepted"
        ),
    ),
)

LAYER_REGISTERS: tuple[Register, ...] = (
    Register("INPUT_SIZE", 0x00, "RW", doc="I of the layer", layer=True),
    Register("HIDDEN_SIZE", 0x04, "RW", doc="H of the layer", layer=True),
    Register("ROWS_PER_GATE", 0x08, "RW", doc="Padded rows per gate block", layer=True),
    Register("BIAS_ADDR", 0x0C, "RW", doc="Bias column, byte offset from WEIGHT_BASE", layer=True),
    Register("COLUMN_ADDR", 0x10, "RW", doc="Column 0, byte offset from WEIGHT_BASE", layer=True),
    Register("COLUMN_STRIDE", 0x14, "RW", doc="Bytes between columns", layer=True),
    Register(
        "THETA_X",
        0x18,
        "RW",
        doc=(
            "Θx, raw Q8.8 (16 bits); latched at RESET_STATE and, for the next step, at each "
            "step's last h_out beat or when the next step starts early (its x_in offered "
            "before that beat): write a step's Θ before its x_in"
        ),
        layer=True,
    ),
    Register(
        "THETA_H",
        0x1C,
        "RW",
        doc="Θh, raw Q8.8 (16 bits); latched as THETA_X",
        layer=True,
    ),
    Register(
        "NZ_X",
        0x20,
        "RO",
        doc="Input deltas passed on in the last completed step (updated at its last h_out beat)",
        layer=True,
    ),
    Register(
        "NZ_H",
        0x24,
        "RO",
        doc="Hidden deltas passed on in the last completed step (updated at its last h_out beat)",
        layer=True,
    ),
    Register(
        "SLOTS",
        0x28,
        "RW",
        doc=(
            "Sparse builds only (CONFIG.SPARSE; a dense build ignores it and reads 0): entries "
            "per (gate, PE lane) of an input or hidden column (docs/program-format.md)"
        ),
        layer=True,
        sparse=True,
    ),
)

REGISTERS: tuple[Register, ...] = GLOBAL_REGISTERS + LAYER_REGISTERS
_BY_NAME = {r.name: r for r in REGISTERS}
_LAYER_NAME = re.compile(r"^LAYER(\d+)_(.+)$")


def register(name: str) -> Register:
    """The :class:`Register` called ``name`` (case-insensitive, e.g. ``"CTRL"``, ``"THETA_X"``)."""
    try:
        return _BY_NAME[name.upper()]
    except KeyError:
        raise KeyError(f"no register named {name!r}") from None


def addr_of(name: str, layer: int | None = None) -> int:
    """Byte address of a register.

    ``name`` is a global register (``"CTRL"``), a layer register with ``layer=``
    (``"THETA_X", layer=1``) or a layer register with the layer in its name
    (``"LAYER1_THETA_X"``, also the lowercase keys of ``Program.register_values()``).
    """
    m = _LAYER_NAME.match(name.upper())
    if m and layer is None:
        return register(m.group(2)).address(int(m.group(1)))
    return register(name).address(layer)


def config_value(
    num_pe: int,
    bus_bits: int,
    max_layers: int,
    max_hidden: int,
    max_input: int,
    sparse: bool = False,
) -> int:
    """The CONFIG register's value for a hardware configuration."""

    def clog2(n: int) -> int:
        return max(0, (int(n) - 1).bit_length())

    return (
        (num_pe & 0xFF)
        | ((clog2(bus_bits) & 0xF) << 8)
        | ((min(max_layers, 15) & 0xF) << 12)
        | ((clog2(max_hidden) & 0xF) << 16)
        | ((clog2(max_input) & 0xF) << 20)
        | (int(bool(sparse)) << 24)
    )


def all_addresses(max_layers: int) -> dict[str, int]:
    """Every register's name (layer ones as ``LAYER{l}_NAME``) → address, for ``max_layers``."""
    return {name: addr for name, (_, _, addr) in all_registers(max_layers).items()}


def all_registers(max_layers: int) -> dict[str, tuple[Register, int | None, int]]:
    """Every register's name (layer ones as ``LAYER{l}_NAME``) → (register, layer, address)."""
    out: dict[str, tuple[Register, int | None, int]] = {
        r.name: (r, None, r.addr) for r in GLOBAL_REGISTERS
    }
    for layer in range(max_layers):
        for r in LAYER_REGISTERS:
            out[f"LAYER{layer}_{r.name}"] = (r, layer, r.address(layer))
    return out


def to_c_header(prefix: str = "EDGEDRNN") -> str:
    """A C header with every register's address (layer ones as macros of ``l``) and field."""
    lines = [
        "/* EdgeDRNN register map. Generated by edgedrnn.hw.regmap.to_c_header(); do not edit. */",
        f"#ifndef {prefix}_REGS_H",
        f"#define {prefix}_REGS_H",
        "",
        f"#define {prefix}_ID_VALUE 0x{ID_VALUE:08X}u",
        f"#define {prefix}_VERSION_VALUE 0x{VERSION_VALUE:08X}u",
        f"#define {prefix}_LAYER_BASE 0x{LAYER_BASE:03X}u",
        f"#define {prefix}_LAYER_STRIDE 0x{LAYER_STRIDE:03X}u",
        "",
        f"/* Streams: {STREAM_FORMAT.replace('·', '*').replace('⌈', 'ceil(').replace('⌉', ')')} */",
        f"#define {prefix}_STREAM_BEATS(n, num_pe) (((n) + (num_pe) - 1u) / (num_pe))",
        "",
    ]
    for r in GLOBAL_REGISTERS:
        lines.append(f"/* {r.name} ({r.access}): {r.doc} */")
        lines.append(f"#define {prefix}_{r.name} 0x{r.addr:03X}u")
        for f in r.fields:
            lines.append(f"#define {prefix}_{r.name}_{f.name}_SHIFT {f.lsb}u")
            lines.append(f"#define {prefix}_{r.name}_{f.name}_MASK 0x{f.mask:08X}u")
    lines.append("")
    for r in LAYER_REGISTERS:
        lines.append(f"/* LAYERl_{r.name} ({r.access}): {r.doc} */")
        lines.append(
            f"#define {prefix}_LAYER_{r.name}(l) "
            f"({prefix}_LAYER_BASE + {prefix}_LAYER_STRIDE * (l) + 0x{r.addr:02X}u)"
        )
    lines += ["", f"#endif /* {prefix}_REGS_H */", ""]
    return "\n".join(lines)


def to_markdown() -> str:
    """The register map as a Markdown document (docs/register-map.md)."""
    lines = [
        "# EdgeDRNN register map",
        "",
        "Generated by `edgedrnn.hw.regmap.to_markdown()`; do not edit by hand.",
        "32-bit registers on an AXI4-Lite slave with 12 address bits (byte addresses).",
        "Reading a write-only or unmapped address returns 0; writes to read-only or unmapped",
        "addresses are ignored (OKAY response).",
        "",
        "## Streams",
        "",
        STREAM_FORMAT,
        "",
        "## Global registers",
        "",
        "| addr | name | access | meaning |",
        "|---|---|---|---|",
    ]
    for r in GLOBAL_REGISTERS:
        lines.append(f"| 0x{r.addr:03X} | {r.name} | {r.access} | {r.doc} |")
    lines += [
        "",
        f"## Layer registers (layer l at 0x{LAYER_BASE:03X} + 0x{LAYER_STRIDE:02X}·l + offset)",
        "",
        "| offset | name | access | meaning |",
        "|---|---|---|---|",
    ]
    for r in LAYER_REGISTERS:
        lines.append(f"| +0x{r.addr:02X} | LAYER{{l}}_{r.name} | {r.access} | {r.doc} |")
    lines += ["", "## Fields", ""]
    for r in GLOBAL_REGISTERS:
        if not r.fields:
            continue
        lines += [f"### {r.name}", "", "| bits | field | meaning |", "|---|---|---|"]
        for f in r.fields:
            bits = f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
            lines.append(f"| {bits} | {f.name} | {f.doc} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
