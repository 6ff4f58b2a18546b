"""LiteDRAM native ports of another width than the controller's, without LiteDRAM's bubbles.

``NativeDownConverter``: a user port wider than the controller.

LiteDRAM's own ``LiteDRAMNativePortDownConverter`` (what ``crossbar.get_port(data_width=...)``
puts in when the user port is wider than the controller) spends a cycle in an IDLE state
between user commands: with a ratio of 2 it issues 2 controller commands every 3 cycles, so
a 64-bit accelerator port on a 32-bit SDR controller gets at most 2/3 of the DRAM's peak. This
converter issues the ratio controller commands of a user command on consecutive cycles and
takes the next user command in the cycle of the last one, so it keeps the controller busy.

``NativeUpConverter``: a user port narrower than the controller, reads only. LiteDRAM's
``LiteDRAMNativePortUpConverter`` has a zero-depth command buffer and waits for each read's
data before it takes the next command: one read in flight, about one user word per read
latency (a 64-bit port on a 128-bit DDR3 controller got 1 byte per cycle). This one issues a
controller read for each new wide word and serves the following user reads of the same word
from it, with any number of reads in flight (up to ``depth``).
"""

from __future__ import annotations

from litedram.common import LiteDRAMNativePort
from litex.gen import LiteXModule
from litex.soc.interconnect import stream
from migen import Array, If, Mux, Signal


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


class NativeUpConverter(LiteXModule):
    """``port_from`` (narrow, the user's) onto ``port_to`` (the controller's width), reads.

    Parameters
    ----------
    port_from : LiteDRAMNativePort
        The user port, ``ratio`` times narrower than ``port_to``; its addresses are in its
        own words. Writes are not supported (its ``wdata`` is never ready).
    port_to : LiteDRAMNativePort
        A crossbar port at the controller's width.
    depth : int
        Reads in flight it can track (user reads and wide words buffered).

    A user read of address A needs wide word A // ratio, lane A % ratio (lane 0 in the low
    bits). Consecutive reads of increasing lanes of one wide word share one controller read;
    any other read issues a new one. Read data returns in order, one user word per cycle.
    The controller's read data cannot be held back, so wide words land in a FIFO of
    ``depth`` entries first (the user of ``port_from`` must bound its reads in flight, as
    LiteDRAM's AXI frontend does with its read buffer).
    """

    def __init__(
        self, port_from: LiteDRAMNativePort, port_to: LiteDRAMNativePort, depth: int = 64
    ) -> None:
        assert port_to.data_width % port_from.data_width == 0
        ratio = port_to.data_width // port_from.data_width
        assert ratio > 1
        shift = ratio.bit_length() - 1
        narrow = port_from.data_width
        cmd = port_from.cmd
        lane = cmd.addr[:shift]
        wide = cmd.addr[shift:]

        # Command side: a controller read for each new wide word.
        self.lanes = lanes = stream.SyncFIFO([("lane", shift), ("new", 1)], depth)
        is_open = Signal()
        cur_wide = Signal(len(wide))
        last_lane = Signal(shift)
        same = Signal()
        self.comb += [
            same.eq(is_open & (wide == cur_wide) & (lane > last_lane)),
            port_to.cmd.valid.eq(cmd.valid & ~same & lanes.sink.ready),
            port_to.cmd.we.eq(0),
            port_to.cmd.addr.eq(wide),
            port_to.cmd.last.eq(1),
            cmd.ready.eq(lanes.sink.ready & (same | port_to.cmd.ready)),
            lanes.sink.valid.eq(cmd.valid & cmd.ready),
            lanes.sink.lane.eq(lane),
            lanes.sink.new.eq(~same),
        ]
        self.sync += If(cmd.valid & cmd.ready, is_open.eq(1), cur_wide.eq(wide), last_lane.eq(lane))

        # Data side: wide words into a FIFO (never back-pressured), user words out in order.
        self.words = words = stream.SyncFIFO([("data", port_to.data_width)], depth)
        held = Signal(port_to.data_width)
        head = lanes.source
        source = Signal(port_to.data_width)
        out = port_from.rdata
        chunks = Array(source[narrow * k : narrow * (k + 1)] for k in range(ratio))
        self.comb += [
            port_to.rdata.connect(words.sink),
            source.eq(Mux(head.new, words.source.data, held)),
            out.valid.eq(head.valid & (~head.new | words.source.valid)),
            out.data.eq(chunks[head.lane]),
            head.ready.eq(out.valid & out.ready),
            words.source.ready.eq(out.valid & out.ready & head.new),
        ]
        self.sync += If(words.source.valid & words.source.ready, held.eq(words.source.data))
        if hasattr(port_from, "wdata"):
            self.comb += [port_from.wdata.ready.eq(0)]
        if hasattr(port_to, "wdata"):
            self.comb += [port_to.wdata.valid.eq(0)]


def wide_port(crossbar, data_width: int) -> tuple[LiteDRAMNativePort, LiteXModule | None]:
    """A crossbar port of ``data_width`` bits: a native port when the widths match, else a
    native port behind a :class:`NativeDownConverter` (user wider) or a read-only
    :class:`NativeUpConverter` (user narrower). Returns the port and the converter to add as
    a submodule (or None)."""
    native = crossbar.controller.data_width
    port_to = crossbar.get_port(mode="both")
    if data_width == native:
        return port_to, None
    if data_width > native:
        shift = -((data_width // native).bit_length() - 1)
    else:
        shift = (native // data_width).bit_length() - 1
    port_from = LiteDRAMNativePort(
        mode="both",
        address_width=port_to.address_width + shift,
        data_width=data_width,
        id=port_to.id,
    )
    if data_width > native:
        return port_from, NativeDownConverter(port_from, port_to)
    return port_from, NativeUpConverter(port_from, port_to)
