"""The toolkit's version and :class:`HardwareConfig`, the parameters of one accelerator instance.

Everything below the file format (the RTL in :mod:`edgedrnn.hw`, the cycle model, the
simulators) takes its parameters from here, not from :mod:`edgedrnn.program`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: The toolkit's version; recorded in every Program and data-set cache it writes.
VERSION = "0.1.0"


class HardwareLimitError(ValueError):
    """A network does not fit the hardware configuration it is compiled for."""


def _is_pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


#: Bounds of the integer fields (the register map's CONFIG fields and a 32-bit weight
#: address space).
LIMITS = {
    "num_pe": (4, 64),
    "bus_bits": (64, 512),
    "max_layers": (1, 60),  # layer register blocks in the 4 KiB register space
    "max_input_size": (1, 1 << 15),
    "max_hidden_size": (1, 1 << 15),
    "weight_memory_bytes": (1, 1 << 32),
}


@dataclass(frozen=True)
class HardwareConfig:
    """Parameters of one EdgeDRNN accelerator instance.

    Args:
        num_pe: processing elements (multiply-accumulates per cycle), a power of two 4..64.
        bus_bits: width of the weight memory read port, a power of two 64..512.
        max_layers: layers the controller can sequence.
        max_input_size: largest input vector of layer 0.
        max_hidden_size: largest hidden size of any layer (accumulator bank depth).
        weight_memory_bytes: size of the DRAM region that holds the weight image.
        clock_mhz: clock frequency used for latency figures.
        sparse_weights: the weight image holds column-balanced sparse columns (value, row
            index) instead of dense ones (docs/program-format.md, *Sparse weight image*);
            the model must be pruned for this configuration (:func:`edgedrnn.prune`).
    """

    num_pe: int = 8
    bus_bits: int = 64
    max_layers: int = 4
    max_input_size: int = 1024
    max_hidden_size: int = 1024
    weight_memory_bytes: int = 1 << 26
    clock_mhz: float = 125.0
    sparse_weights: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.sparse_weights, bool):
            raise TypeError(
                f"HardwareConfig.sparse_weights must be a bool, got {self.sparse_weights!r}"
            )
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(
                    f"HardwareConfig.{name} must be an int, got {type(value).__name__} {value!r}"
                )
            if not low <= value <= high:
                raise ValueError(f"HardwareConfig.{name} must be in {low}..{high}, got {value}")
        if not (_is_pow2(self.num_pe) and 4 <= self.num_pe <= 64):
            raise ValueError(f"num_pe must be a power of two in 4..64, got {self.num_pe}")
        if not (_is_pow2(self.bus_bits) and 64 <= self.bus_bits <= 512):
            raise ValueError(f"bus_bits must be a power of two in 64..512, got {self.bus_bits}")
        clock = self.clock_mhz
        if isinstance(clock, bool) or not isinstance(clock, int | float):
            raise TypeError(f"HardwareConfig.clock_mhz must be a number, got {clock!r}")
        if not 0 < clock < 10_000:
            raise ValueError(f"HardwareConfig.clock_mhz must be in (0, 10000), got {clock}")

    @property
    def bus_bytes(self) -> int:
        """Bytes (int8 weights) per bus word."""
        return self.bus_bits // 8

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict; ``sparse_weights`` only when True (a dense configuration's
        dict, and so its Program metadata and build hashes, are those of format version 1)."""
        d = asdict(self)
        if not self.sparse_weights:
            del d["sparse_weights"]
        return d
