"""The runtime image: a Program laid out for the C runtime (docs/board.md, *Runtime image*).

All integers little-endian::

    offset  size   field
    0       8      magic "EDRNNIMG"
    8       2      image format version (1: dense weight image, 2: sparse)
    10      2      number of layers L
    12      2      NUM_PE the program was compiled for
    14      2      bus width in bits
    16      4      header size S: offset of the weight image, a multiple of IMAGE_ALIGN
    20      4      weight image length M
    24      4      CRC-32 (zlib's) of every byte of the image except these four
    28      4      reserved, 0
    32      R·L    per layer, the layer registers' values: version 1, 8 uint32 in
                   LAYER_FIELDS order (R = 32); version 2, those 8 then SLOTS (R = 36)
    32+R·L  ..S    zero padding
    S       M      the weight image (docs/program-format.md)

The weight image starts on an ``IMAGE_ALIGN``-byte boundary of the image, so an image placed
at an aligned address in the accelerator's memory can be used in place.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from ..hw import regmap
from ..program import Program

IMAGE_MAGIC = b"EDRNNIMG"
IMAGE_VERSION = 1
#: The image version of a sparse weight image (``HardwareConfig(sparse_weights=True)``):
#: its layer records add LAYERl_SLOTS.
SPARSE_IMAGE_VERSION = 2
#: Alignment of the weight image inside the runtime image (bytes; covers every bus width).
IMAGE_ALIGN = 64
#: The per-layer record: the layer registers the runtime writes, in the order it writes them
#: (that of ``Program.register_values()``).
LAYER_FIELDS = (
    "INPUT_SIZE",
    "HIDDEN_SIZE",
    "ROWS_PER_GATE",
    "BIAS_ADDR",
    "COLUMN_ADDR",
    "COLUMN_STRIDE",
    "THETA_X",
    "THETA_H",
)
#: The layer record of a sparse image (version 2).
SPARSE_LAYER_FIELDS = (*LAYER_FIELDS, "SLOTS")
_HEAD = struct.Struct("<8sHHHHIIII")
_CRC_OFFSET = 24


def image_checksum(image: bytes) -> int:
    """CRC-32 of a runtime image, its own checksum field left out."""
    return zlib.crc32(image[_CRC_OFFSET + 4 :], zlib.crc32(image[:_CRC_OFFSET]))


def to_image(program: Program) -> bytes:
    """``program`` as a runtime image for the C runtime's ``edgedrnn_configure``: version 1
    for a dense weight image, 2 (with each layer's SLOTS) for a sparse one, which only a
    sparse build (CONFIG.SPARSE) takes."""
    sparse = program.hw.sparse_weights
    fields = SPARSE_LAYER_FIELDS if sparse else LAYER_FIELDS
    regs = program.register_values()
    records = b"".join(
        struct.pack(
            f"<{len(fields)}I",
            *(regs[f"layer{i}_{name.lower()}"] & 0xFFFFFFFF for name in fields),
        )
        for i in range(program.num_layers)
    )
    size = _HEAD.size + len(records)
    size = -(-size // IMAGE_ALIGN) * IMAGE_ALIGN
    head = _HEAD.pack(
        IMAGE_MAGIC,
        SPARSE_IMAGE_VERSION if sparse else IMAGE_VERSION,
        program.num_layers,
        program.hw.num_pe,
        program.hw.bus_bits,
        size,
        len(program.weight_image),
        0,
        0,
    )
    image = bytearray((head + records).ljust(size, b"\0") + program.weight_image)
    struct.pack_into("<I", image, _CRC_OFFSET, image_checksum(bytes(image)))
    return bytes(image)


def c_source_dir() -> Path:
    """The folder of the shipped C sources: ``edgedrnn.h``, ``edgedrnn.c``, ``edgedrnn_regs.h``."""
    return Path(__file__).with_name("c")


def regs_header() -> str:
    """The register header the C runtime includes (``edgedrnn_regs.h``), from the register
    map: the shipped copy must equal it (a test checks)."""
    return regmap.to_c_header()
