"""``StreamWindow``: the accelerator's x_in and h_out streams as FIFOs behind a Wishbone slave.

A stream beat is a row group of P = NUM_PE Q8.8 elements (docs/register-map.md, *Streams*):
16·P bits, W = 16·P/32 bus words, element 2j in bits 15:0 and 2j+1 in bits 31:16 of word j.

Registers (32-bit words, byte offsets from the window's base):

========= ======= ===================================================================
offset    access  meaning
========= ======= ===================================================================
0x00      W       X_DATA: the next word of the x_in beat being assembled; the W-th word
                  pushes the beat into the x_in FIFO (a fixed-address burst of n·W words
                  writes n beats)
0x04      W       X_COMMIT: release this many queued beats to the accelerator
0x04      R       X_LEVEL: beats queued (bits 15:0) and released, not yet taken (31:16)
0x08      R       H_LEVEL: h_out beats waiting in the FIFO
0x0C      R       H_DATA: W+1 words per beat: a header (bit 31 valid, bit 0 LAST), then
                  the W data words; the last one pops the beat. With the FIFO empty the
                  header reads 0 and the next read is a header again
0x10      R       CYCLE: free-running cycle counter (the low 32 bits of the SoC timer's
                  uptime when the window is given one: ``time``)
0x14      R       X_START: CYCLE in the first cycle x_in was valid after a commit
0x18      R       H_ENDS: pops the CYCLE of the oldest recorded step end (an h_out beat
                  with LAST accepted); 0xFFFFFFFF if none
0x1C      R       H_ENDS_LEVEL: step ends recorded
0x20      R       EV_STATUS: bit 0 h_out output waiting in the FIFO, bit 1 x_in FIFO
                  empty (the events' current conditions); bit 31 the ``irq`` line
0x24      R/W1C   EV_PENDING: bit 0 STEP_DONE (an h_out beat with LAST was accepted),
                  bit 1 X_EMPTY (the x_in FIFO ran empty); writing 1 clears a bit
0x28      R/W     EV_ENABLE: events that drive ``irq``
========= ======= ===================================================================

The events follow LiteX's ``EventManager``: ``irq`` is high while any pending event is
enabled, and a set and a clear in the same cycle leave the event pending.

Why a commit: the host writes a step's beats over a slow bridge; releasing them together
lets the accelerator take them back to back, so LATENCY counts the accelerator, not the
bridge. Queue many steps and commit them at once and the accelerator runs them back to back;
X_START and H_ENDS then time every step as STEP_CYCLES does, without the bridge in between.
"""

from __future__ import annotations

from types import SimpleNamespace

from litex.gen import LiteXModule
from litex.soc.interconnect import stream, wishbone
from migen import Array, Case, Cat, If, Signal

#: Byte offsets of the registers inside the window.
X_DATA, X_COMMIT, H_LEVEL, H_DATA = 0x00, 0x04, 0x08, 0x0C
CYCLE, X_START, H_ENDS, H_ENDS_LEVEL = 0x10, 0x14, 0x18, 0x1C
EV_STATUS, EV_PENDING, EV_ENABLE = 0x20, 0x24, 0x28
#: Event bits of EV_STATUS / EV_PENDING / EV_ENABLE.
EV_STEP_DONE, EV_X_EMPTY = 1 << 0, 1 << 1
#: EV_STATUS bit that shows the ``irq`` line.
EV_IRQ = 1 << 31
#: Header word of an h_out beat read through H_DATA.
H_VALID, H_LAST = 1 << 31, 1 << 0
#: Bytes the window occupies on the bus.
WINDOW_SIZE = 0x1000


def beat_words(num_pe: int) -> int:
    """Bus words per stream beat (W)."""
    return (16 * num_pe + 31) // 32


class StreamWindow(LiteXModule):
    """x_in / h_out FIFOs on a 32-bit Wishbone slave (the register table in the module
    docstring).

    Parameters
    ----------
    num_pe : int
        Elements per beat (P).
    x_depth, h_depth : int
        FIFO depths in beats: at least the beats of one step (⌈max input/P⌉,
        ⌈max hidden/P⌉), so a step's input is queued whole and its output never waits for
        the host.
    time : Signal or None
        The time base of CYCLE, X_START and H_ENDS: a counter of system clock cycles, of
        which the low 32 bits are used (the SoC timer's uptime, LiteX's
        ``timer0.uptime_cycles``, so that the step ends the window records and the
        timestamps the CPU reads from the timer count the same cycles); None: a counter of
        the window's own, from reset.

    Interface attributes
    --------------------
    bus : wishbone.Interface
        The slave (word addressing; the low 3 word-address bits are decoded).
    x_source : stream.Endpoint
        ``data`` (16·P bits): beats to the accelerator's x_in.
    h_sink : stream.Endpoint
        ``data`` (16·P bits) and ``last``: beats from the accelerator's h_out.
    irq : Signal
        Interrupt request: an enabled event is pending (also ``ev.irq``, where LiteX's SoC
        looks for a module's interrupt when a CPU takes interrupts).

    A register access takes two cycles (request, registered ack); an X_DATA write that
    completes a beat waits while the x_in FIFO is full. An event is pending the cycle after
    it happens; ``irq`` follows one cycle later.
    """

    def __init__(self, num_pe: int, x_depth: int, h_depth: int, time: Signal | None = None) -> None:
        bits = 16 * num_pe
        words = beat_words(num_pe)
        self.bus = bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
        self.x_source = stream.Endpoint([("data", bits)])
        self.h_sink = stream.Endpoint([("data", bits)])
        self.irq = Signal()
        self.ev = SimpleNamespace(irq=self.irq)

        self.x_fifo = x_fifo = stream.SyncFIFO([("data", bits)], x_depth, buffered=True)
        self.h_fifo = h_fifo = stream.SyncFIFO([("data", bits)], h_depth, buffered=True)
        self.comb += self.h_sink.connect(h_fifo.sink)

        # Timestamps: a cycle counter, the first valid x_in after a commit, step ends.
        cycle = Signal(32)
        x_start = Signal(32)
        armed = Signal()
        self.ends = ends = stream.SyncFIFO([("t", 32)], h_depth, buffered=True)
        if time is None:
            self.sync += cycle.eq(cycle + 1)
        else:
            self.comb += cycle.eq(time[:32])
        self.comb += [
            ends.sink.valid.eq(self.h_sink.valid & self.h_sink.ready & self.h_sink.last),
            ends.sink.t.eq(cycle),
        ]

        # x_in: assemble, queue, release on commit.
        staging = Array(Signal(32, name=f"x_word{k}") for k in range(max(words - 1, 1)))
        x_index = Signal(max=max(words, 2))
        credits = Signal(16)
        add = Signal(16)
        take = Signal()
        self.comb += [
            self.x_source.valid.eq(x_fifo.source.valid & (credits != 0)),
            self.x_source.data.eq(x_fifo.source.data),
            x_fifo.source.ready.eq(self.x_source.ready & (credits != 0)),
            take.eq(self.x_source.valid & self.x_source.ready),
        ]
        self.sync += [
            credits.eq(credits + add - take),
            If(add != 0, armed.eq(1)).Elif(
                armed & self.x_source.valid, armed.eq(0), x_start.eq(cycle)
            ),
        ]

        # Events: step done (an h_out beat with LAST accepted), x_in FIFO ran empty.
        status = Signal(2)
        pending = Signal(2)
        enable = Signal(2)
        clear = Signal(2)
        x_had = Signal()
        self.comb += status.eq(Cat(h_fifo.source.valid, ~x_fifo.source.valid))
        self.sync += [
            x_had.eq(x_fifo.source.valid),
            pending.eq((pending & ~clear) | Cat(ends.sink.valid, x_had & ~x_fifo.source.valid)),
            self.irq.eq((pending & enable) != 0),
        ]

        request = Signal()
        reg = Signal(4)
        h_index = Signal(max=words + 1)
        self.comb += [
            request.eq(bus.cyc & bus.stb & ~bus.ack),
            reg.eq(bus.adr[0:4]),
        ]
        last_word = x_index == words - 1
        push = Signal()
        self.comb += [
            push.eq(request & bus.we & (reg == X_DATA // 4) & last_word),
            x_fifo.sink.valid.eq(push),
            x_fifo.sink.data.eq(Cat(*[staging[k] for k in range(words - 1)], bus.dat_w)),
            If(request & bus.we & (reg == X_COMMIT // 4), add.eq(bus.dat_w[0:16])),
            If(request & bus.we & (reg == EV_PENDING // 4), clear.eq(bus.dat_w[0:2])),
        ]
        pop = Signal()
        self.comb += [
            pop.eq(request & ~bus.we & (reg == H_DATA // 4) & (h_index == words)),
            h_fifo.source.ready.eq(pop),
            ends.source.ready.eq(request & ~bus.we & (reg == H_ENDS // 4)),
        ]
        head = h_fifo.source
        data_words = Array(head.data[32 * k : 32 * (k + 1)] for k in range(words))
        stall = push & ~x_fifo.sink.ready
        self.sync += [
            bus.ack.eq(0),
            If(
                request & ~stall,
                bus.ack.eq(1),
                bus.dat_r.eq(0),
                If(
                    bus.we,
                    If(
                        reg == X_DATA // 4,
                        If(last_word, x_index.eq(0)).Else(
                            x_index.eq(x_index + 1),
                            Case(x_index, {k: staging[k].eq(bus.dat_w) for k in range(words - 1)}),
                        ),
                    ),
                    If(reg == EV_ENABLE // 4, enable.eq(bus.dat_w[0:2])),
                ).Else(
                    Case(
                        reg,
                        {
                            X_COMMIT // 4: bus.dat_r.eq(x_fifo.level | (credits << 16)),
                            H_LEVEL // 4: bus.dat_r.eq(h_fifo.level),
                            H_DATA // 4: If(
                                h_index == 0,
                                If(
                                    head.valid,
                                    bus.dat_r.eq(H_VALID | (head.last * H_LAST)),
                                    h_index.eq(1),
                                ),
                            ).Else(
                                bus.dat_r.eq(data_words[h_index - 1]),
                                If(h_index == words, h_index.eq(0)).Else(h_index.eq(h_index + 1)),
                            ),
                            CYCLE // 4: bus.dat_r.eq(cycle),
                            X_START // 4: bus.dat_r.eq(x_start),
                            H_ENDS // 4: If(ends.source.valid, bus.dat_r.eq(ends.source.t)).Else(
                                bus.dat_r.eq(0xFFFFFFFF)
                            ),
                            H_ENDS_LEVEL // 4: bus.dat_r.eq(ends.level),
                            EV_STATUS // 4: bus.dat_r.eq(status | (self.irq << 31)),
                            EV_PENDING // 4: bus.dat_r.eq(pending),
                            EV_ENABLE // 4: bus.dat_r.eq(enable),
                        },
                    )
                ),
            ),
        ]
