"""The C runtime of the accelerator: ``edgedrnn.h`` / ``edgedrnn.c`` and its Program image.

The C library (in :func:`c_source_dir`, shipped with the package) drives an EdgeDRNN through
its register map from a CPU next to it (bare-metal firmware, a board's Linux, the host over a
simulation). It reads a Program as a **runtime image** (:func:`to_image`, docs/board.md): a
small binary header with the register values, then the weight image, so the C side needs no
JSON parser. See docs/board.md for the C API.
"""

from __future__ import annotations

from .image import (
    IMAGE_ALIGN,
    IMAGE_MAGIC,
    IMAGE_VERSION,
    LAYER_FIELDS,
    SPARSE_IMAGE_VERSION,
    SPARSE_LAYER_FIELDS,
    c_source_dir,
    image_checksum,
    regs_header,
    to_image,
)

__all__ = [
    "IMAGE_ALIGN",
    "IMAGE_MAGIC",
    "IMAGE_VERSION",
    "LAYER_FIELDS",
    "SPARSE_IMAGE_VERSION",
    "SPARSE_LAYER_FIELDS",
    "c_source_dir",
    "image_checksum",
    "regs_header",
    "to_image",
]
