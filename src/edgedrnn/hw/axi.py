"""AXI4-Lite and AXI4 (read-only) interface signatures, seen from the master.

A slave port is ``In(AXI4LiteSignature())``; a master port ``Out(AXI4ReadSignature(...))``.
Member names follow the AXI specification in lower case, so flattened Verilog ports read
``csr__awaddr``, ``mem__arvalid``, ...
"""

from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

#: AXI burst type INCR.
BURST_INCR = 1
#: AXI response codes.
RESP_OKAY = 0
RESP_SLVERR = 2


class AXI4LiteSignature(wiring.Signature):
    """AXI4-Lite (write and read channels), from the master's point of view."""

    def __init__(self, addr_width: int = 12, data_width: int = 32) -> None:
        self.addr_width = addr_width
        self.data_width = data_width
        super().__init__(
            {
                "awaddr": Out(addr_width),
                "awvalid": Out(1),
                "awready": In(1),
                "wdata": Out(data_width),
                "wstrb": Out(data_width // 8),
                "wvalid": Out(1),
                "wready": In(1),
                "bresp": In(2),
                "bvalid": In(1),
                "bready": Out(1),
                "araddr": Out(addr_width),
                "arvalid": Out(1),
                "arready": In(1),
                "rdata": In(data_width),
                "rresp": In(2),
                "rvalid": In(1),
                "rready": Out(1),
            }
        )


class AXI4ReadSignature(wiring.Signature):
    """The read half of AXI4 (AR and R channels, no IDs), from the master's point of view."""

    def __init__(self, addr_width: int = 32, data_width: int = 64) -> None:
        self.addr_width = addr_width
        self.data_width = data_width
        super().__init__(
            {
                "araddr": Out(addr_width),
                "arlen": Out(8),
                "arsize": Out(3),
                "arburst": Out(2),
                "arvalid": Out(1),
                "arready": In(1),
                "rdata": In(data_width),
                "rresp": In(2),
                "rlast": In(1),
                "rvalid": In(1),
                "rready": Out(1),
            }
        )
