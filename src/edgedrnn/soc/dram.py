"""``NativeDownConverter``: a LiteDRAM native port wider than the controller, without bubbles.

LiteDRAM's own ``LiteDRAMNativePortDownConverter`` (what ``crossbar.get_port(data_width=...)``
puts in when the user port is wider than the controller) spends a cycle in an IDLE state
between user commands: with a ratio of 2 it issues 2 controller commands every 3 cycles, so
a 64-bit accelerator port on a 32-bit SDR controller gets at most 2/3 of the DRAM's peak. This
converter issues the ratio controller commands of a user command on consecutive cycles and
takes the next user command in the cycle of the last one, so it keeps the controller busy.
"""

from __future__ import annotations

from litedram.common import LiteDRAMNativePort
from litex.gen import LiteXModule
from litex.soc.interconnect import stream
from migen import If, Signal


class NativeDownConverter(LiteXModule):
    """``port_from`` (wide, the user's) onto ``port_to`` (the controller's width).

    Parameters
    ----------
    port_from : LiteDRAMNativePort
        The user port, ``ratio`` times as wide as ``port_to``; its addresses are in its own
        words.
    port_to : LiteDRAMNativePort
        A crossbar port at the controller's width.

    A user command of address A becomes controller commands ratio·A, ..., ratio·A + ratio − 1
    on consecutive cycles (as the controller accepts them); read data is regrouped
    ``ratio`` words per user word, the first in the low bits. Throughput: one controller
    command per cycle.
    """

    def __init__(self, port_from: LiteDRAMNativePort, port_to: LiteDRAMNativePort) -> None:
        assert port_from.data_width % port_to.data_width == 0
        ratio = port_from.data_width // port_to.data_width
        assert ratio > 1 and port_from.mode == port_to.mode
        count = Signal(max=ratio)
        last = count == ratio - 1
        self.comb += [
            port_to.cmd.valid.eq(port_from.cmd.valid),
            port_to.cmd.we.eq(port_from.cmd.we),
            port_to.cmd.addr.eq(port_from.cmd.addr * ratio + count),
            port_to.cmd.last.eq(port_from.cmd.last & last),
            port_from.cmd.ready.eq(port_to.cmd.ready & last),
        ]
        self.sync += If(
            port_to.cmd.valid & port_to.cmd.ready, If(last, count.eq(0)).Else(count.eq(count + 1))
        )
        if port_from.mode in ("write", "both"):
            wdata = stream.StrideConverter(port_from.wdata.description, port_to.wdata.description)
            self.submodules += wdata
            self.submodules += stream.Pipeline(port_from.wdata, wdata, port_to.wdata)
        if port_from.mode in ("read", "both"):
            rdata = stream.StrideConverter(port_to.rdata.description, port_from.rdata.description)
            self.submodules += rdata
            self.submodules += stream.Pipeline(port_to.rdata, rdata, port_from.rdata)


def wide_port(crossbar, data_width: int) -> tuple[LiteDRAMNativePort, LiteXModule | None]:
    """A crossbar port of ``data_width`` bits: LiteDRAM's own when it is not wider than the
    controller (identity or up-converter), else a :class:`NativeDownConverter` on a native
    port. Returns the port and the converter to add as a submodule (or None)."""
    native = crossbar.controller.data_width
    if data_width <= native:
        return crossbar.get_port(mode="both", data_width=data_width), None
    port_to = crossbar.get_port(mode="both")
    ratio = data_width // native
    port_from = LiteDRAMNativePort(
        mode="both",
        address_width=port_to.address_width - (ratio.bit_length() - 1),
        data_width=data_width,
        id=port_to.id,
    )
    return port_from, NativeDownConverter(port_from, port_to)
