"""PE array: NUM_PE multiply-accumulates per cycle into the four accumulator banks.

A column arrives as a command (Δ and the column kind, from the command FIFO) followed by the
column's bus beats (from the weight fetch's R channel). The beats are cut into *chunks* of
NUM_PE weights (one chunk per cycle; a wide beat gives several chunks, narrow beats are
gathered; the bus padding at the end of a column's last beat is skipped, not processed).
Chunk ``c`` of a column belongs to gate block ``c // G`` and row group ``c % G``
(``G = rows_per_gate / NUM_PE``); chunks after the last gate block are bus padding and are
dropped. Gate blocks map to banks r, u, cx (input columns), r, u, ch (hidden columns) or
r, u, cx, ch (bias column). The chunker keeps its "last beat" / "last row group" conditions
in registers (down-counters), so ``cmd.ready`` and ``beats.ready`` are a few LUTs from
flip-flops and the stream valids.

Accumulators: per PE lane and bank one ``lib.memory`` of ``max_layers · groups_max`` int24
words (one ECP5 block RAM each), address ``layer · groups_max + group``. Read-modify-write
pipeline, one chunk per cycle; stage ``k`` is the ``k``-th cycle after the chunk's beat
handshake, and registers are named after the stage in which they hold the chunk::

    0  chunker: chunk (from the beat), bank, address ``base + group`` (a counter)
    1  chunk, Δ, bank, address registered; the address drives the four banks' read ports
       (``act_addr`` does when no chunk is in stage 1)
    2  the RAMs' output latches (~5.8 ns clock-to-out); ``w·Δ`` (int8 × int16, in logic:
       four radix-4 digit terms, two pairs added); compare with the chunks 3, 4, 5 ahead
       (forwarding, below)
    3  the four banks' data registered again: nothing but a flip-flop after a RAM, which
       the ECP5 flow turns into the RAM's own output register; ``w·Δ`` = the two pairs
       added (carried to stage 4)
    4  ``acc = (forwarding ? fwd : the chunk's bank)`` registered
    5  ``sum = acc + w·Δ`` registered (25 bits)
    6  saturated ``sum`` registered: ±(2^23 - 1) from the sum's two top bits, plus the one
       sum they miss, -2^23 (low 23 bits zero: a borrow chain); written to the chunk's bank
       at the end of stage 6 through registered data/address/enables; per-lane "clipped"

A chunk reads at the end of stage 1 and writes at the end of stage 6, so its read misses
the writes of the chunks 1 to 5 cycles ahead of it. A (bank, row group) is revisited at the
earliest 3·G chunks later (every column has ≥ 3 gate blocks; G row groups per block) and
``n`` chunks later is at least ``n`` cycles later, so only the chunks 3, 4 and 5 cycles
ahead can share the address, and only when G = 1. Stage 1 compares its bank and address
with stages 4, 5 and 6 (= the chunks 3, 4, 5 ahead); on a match the chunk takes that
chunk's saturated result (``g3``, zero otherwise) instead of the RAM data. A RAM read and
write of one address in the same cycle is therefore never used, so the memories carry
``no_rw_check`` and Yosys adds no collision logic around the block RAMs. Saturating after
every chunk is saturating after each column, exactly as datapath.md §5.

Timing (ECP5-25F speed 6, nextpnr): the block-RAM read (clock-to-out 5.6-5.8 ns from the
output latch) plus the route into the stage-3 register is the critical path. Yosys does not
use the DP16KD's output register, so :func:`edgedrnn.synth.synthesize` moves the stage-3
registers into the RAMs after synthesis (:func:`edgedrnn.synth.outreg.absorb_output_registers`):
they have no reset and no enable for that, and the RAMs' read ports have no reset either (a
bank that is not the chunk's is left out by a multiplexer in stage 3, not by resetting its
output latch: how that reset acts on the output register is not relied on). The product is
built in logic: the DSP rows are far from the accumulators' block RAMs (~3 ns of routing on
each side of a MULT18X18D).

Sparse build (``hw.sparse_weights``, docs/rtl.md): an input or hidden column is ``3·n``
chunks of ``2·NUM_PE`` bytes (``n`` = ``slots``), lane k's (int8 value, uint8 row index g)
entry adding into word ``base + g`` of the chunk's bank (``_sparse_chunker``); the bias
column stays dense. Addresses, the forwarding compare and the write enables are per lane
(``_sparse_control``); an entry whose value is 0 neither writes nor is forwarded from (the
empty entries name row 0 next to real ones, closer than the forwarding reaches). A lane's
row comes back at the earliest ``2n + 1`` chunks later, 3 with ``n = 1``: forwarded.

The stage numbers are :mod:`edgedrnn.hw.pipeline`'s: PE_READ_STAGE (1), PE_BANK_READ_STAGES
(2, 3) and PE_WRITE_STAGE (6); the control shift registers (valid, bank, address) are built
from them, and the forwarding compares the read stage with the stages after the bank reads.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Array, C, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from .common import delay, groups_max
from .pipeline import (
    PE_ACT_READ_LATENCY,
    PE_BANK_READ_STAGES,
    PE_CLEAR_DELAY,
    PE_IDLE_LEAD,
    PE_LANDED_DELAY,
    PE_READ_STAGE,
    PE_WRITE_STAGE,
)

__all__ = ["CMD_LAYOUT", "KIND_BIAS", "KIND_HIDDEN", "KIND_INPUT", "PEArray"]

#: Column kinds (command FIFO, delta FIFO).
KIND_INPUT, KIND_HIDDEN, KIND_BIAS = 0, 1, 2

#: A column's command: Δ, kind and the column's context (docs/rtl.md, *Column contexts*: the
#: layer constants of the command's context are on the array's inputs when it is taken).
CMD_LAYOUT = data.StructLayout({"delta": signed(16), "kind": unsigned(2), "ctx": unsigned(1)})

#: Stages of the accumulate pipeline after the bank reads: the accumulator select, the sum,
#: the saturation (whose end writes the bank).
_ACC_STAGES = 3
#: Stages whose chunks are ahead of a reading chunk and not yet written: it takes their result.
_FORWARD = range(PE_READ_STAGE + PE_BANK_READ_STAGES + 1, PE_WRITE_STAGE + 1)


class PEArray(wiring.Component):
    """NUM_PE multiply-accumulate lanes and the accumulator banks (see module docstring).

    Latency: ``act_r``... ``act_ch`` hold the banks at ``act_addr`` of PE_ACT_READ_LATENCY
    cycles before (from registers, valid while ``idle``); ``clr_en``/``clr_addr`` zero one
    word of every bank through PE_CLEAR_DELAY registers (``idle`` is low meanwhile); ``idle``
    goes high PE_DRAIN cycles after a column's last beat handshake, ``idle_soon``
    PE_IDLE_LEAD cycles before ``idle`` (then ``idle`` follows unless a command comes),
    ``landed`` pulses PE_LANDED_DELAY cycles after every column's last beat handshake, and
    ``overflow`` (a pulse per clipped chunk, from registers through a NUM_PE-input OR) is
    raised no later.

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters.

    Interface attributes
    --------------------
    cmd : In(stream.Signature(CMD_LAYOUT))
        A column's Δ, kind and context, before its beats (the context is not read here: the
        requester puts the constants of the command's context on the inputs below).
    beats : In(stream.Signature(bus_bits))
        The columns' bus words, in command order.
    groups, col_beats, bias_beats, base : In
        Layer constants of the column whose command is taken (row groups per gate block,
        bus words of a column and of the bias column, the layer's first accumulator word):
        sampled with the command, so consecutive columns may be of different layers.
    slots : In(range(groups_max + 1))
        Sparse builds only: entries per gate and lane of a column (sampled with the command).
    idle, overflow : Out(1)
        No column in the array; a lane's sum saturated.
    idle_soon : Out(1)
        No column is taken and none will be written after PE_IDLE_LEAD cycles: ``idle``
        then, unless a command is taken meanwhile (the controller's idle term).
    landed : Out(1)
        A pulse per column, PE_LANDED_DELAY cycles after its last beat handshake (its last
        write lands PE_DRAIN cycles after it): the controller's count of columns in flight.
    act_addr : In(range(depth))
        Accumulator word read for the activation units.
    act_r, act_u, act_cx, act_ch : Out(ArrayLayout(signed(24), P))
        The four banks at ``act_addr``.
    clr_en, clr_addr : In
        Zero word ``clr_addr`` of every bank.
    """

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        self.gmax = groups_max(hw)
        self.depth = hw.max_layers * self.gmax
        super().__init__(
            {
                "cmd": In(stream.Signature(CMD_LAYOUT)),
                "beats": In(stream.Signature(hw.bus_bits)),
                # layer constants of the command being taken (sampled with it)
                "groups": In(range(self.gmax + 1)),
                "col_beats": In(16),
                "bias_beats": In(16),
                "base": In(range(self.depth + 1)),
                **({"slots": In(range(self.gmax + 1))} if hw.sparse_weights else {}),
                "idle": Out(1),
                "idle_soon": Out(1),
                "landed": Out(1),
                "overflow": Out(1),
                "act_addr": In(range(self.depth)),
                "act_r": Out(data.ArrayLayout(signed(24), hw.num_pe)),
                "act_u": Out(data.ArrayLayout(signed(24), hw.num_pe)),
                "act_cx": Out(data.ArrayLayout(signed(24), hw.num_pe)),
                "act_ch": Out(data.ArrayLayout(signed(24), hw.num_pe)),
                "clr_en": In(1),
                "clr_addr": In(range(self.depth)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        P = self.hw.num_pe
        aw = range(self.depth + self.gmax)
        assert PE_WRITE_STAGE == PE_READ_STAGE + PE_BANK_READ_STAGES + _ACC_STAGES
        assert PE_ACT_READ_LATENCY == PE_BANK_READ_STAGES
        if self.hw.sparse_weights:
            c = self._sparse_chunker(m, aw)
            self._sparse_control(m, c, aw)
            clip = Signal(P)
            for lane in range(P):
                self._lane(m, c, lane, clip)
            m.d.comb += [
                self.overflow.eq(clip.any()),
                self.idle.eq(~c.busy & ~Cat(*c.v[1:PE_WRITE_STAGE]).any() & (Cat(*c.wens) == 0)),
                self.idle_soon.eq(self._idle_soon(c)),
                self.landed.eq(delay(m, c.finishing, PE_LANDED_DELAY, "landed")[-1]),
            ]
            return m
        c = self._chunker(m, aw)

        # ------------------------------------------------ control, stages 1..PE_WRITE_STAGE
        W = PE_WRITE_STAGE
        v = [None] + [Signal(name=f"v{k}") for k in range(1, W + 1)]
        bank = [c.bank0] + [Signal(2, name=f"bank{k}") for k in range(1, W + 1)]
        addr = [c.addr0] + [Signal(aw, name=f"addr{k}") for k in range(1, W + 1)]
        m.d.sync += [v[1].eq(c.issue), *(v[k].eq(v[k - 1]) for k in range(2, W + 1))]
        m.d.sync += [bank[k].eq(bank[k - 1]) for k in range(1, W + 1)]
        m.d.sync += [addr[k].eq(addr[k - 1]) for k in range(1, W + 1)]
        # the write port's registers (a clear goes through them too: PE_CLEAR_DELAY)
        assert PE_CLEAR_DELAY == 1
        c.wen = Signal(4, name=f"wen{W}")
        c.waddr = Signal(aw, name=f"waddr{W}")
        m.d.sync += [
            c.wen.eq(Mux(self.clr_en, 0b1111, Mux(v[W - 1], 1 << bank[W - 1], 0))),
            c.waddr.eq(Mux(self.clr_en, self.clr_addr, addr[W - 1])),
        ]
        # A chunk reads (end of stage 1) before the writes (end of stage 6) of the chunks
        # 3, 4 and 5 cycles ahead of it; when one of them has the same bank and address, its
        # result is forwarded instead of the RAM data. Compared in stage 1, against stages
        # 4, 5 and 6.
        r = PE_READ_STAGE
        c.f2 = Signal(len(_FORWARD))  # [0]: from 3 ahead, [1]: 4 ahead, [2]: 5 ahead; stage 2
        m.d.sync += c.f2.eq(
            Cat(*(v[r] & v[k] & (bank[r] == bank[k]) & (addr[r] == addr[k]) for k in _FORWARD))
        )
        c.fw3 = Signal()  # forwarding: the RAM data are stale; stage 3
        m.d.sync += c.fw3.eq(c.f2.any())
        self._operands(m, c)
        c.rd_addr = Signal(aw)
        m.d.comb += c.rd_addr.eq(Mux(v[r], addr[r], self.act_addr))
        c.v, c.bank = v, bank
        # the same control for every lane
        c.f2s, c.fw3s, c.rd_addrs = [c.f2] * P, [c.fw3] * P, [c.rd_addr] * P
        c.wens, c.waddrs, c.clip_v = [c.wen] * P, [c.waddr] * P, [v[W - 1]] * P
        clip = Signal(P)
        for lane in range(P):
            self._lane(m, c, lane, clip)
        m.d.comb += [
            self.overflow.eq(clip.any()),
            self.idle.eq(~c.busy & ~Cat(*v[1:W]).any() & (c.wen == 0)),
            self.idle_soon.eq(self._idle_soon(c)),
            self.landed.eq(delay(m, c.finishing, PE_LANDED_DELAY, "landed")[-1]),
        ]
        return m

    @staticmethod
    def _idle_soon(c: SimpleNamespace):
        """``idle`` in PE_IDLE_LEAD cycles, unless a command is taken meanwhile: no column
        taken (no chunk is issued while not ``busy``), and the chunks in flight are past the
        stages that would still hold one, or write, then (the write enables are registered
        from stage PE_WRITE_STAGE − 1)."""
        k = PE_IDLE_LEAD
        assert 1 <= k <= PE_WRITE_STAGE - 1
        return ~c.busy & ~Cat(*c.v[1 : PE_WRITE_STAGE - k + 1]).any()

    def _operands(self, m: Module, c: SimpleNamespace) -> None:
        """Stage 1's operand registers, the same in both builds: the chunk's weights, Δ, 3Δ
        and −Δ (for the top digit)."""
        c.w1 = Signal(8 * self.hw.num_pe)
        c.d1 = Signal(signed(16))
        c.d1_3 = Signal(signed(18))
        c.d1_n = Signal(signed(17))
        m.d.sync += [
            c.w1.eq(c.chunk),
            c.d1.eq(c.delta),
            c.d1_3.eq(c.delta3),
            c.d1_n.eq(-c.delta),
        ]

    def _chunker(self, m: Module, aw: range) -> SimpleNamespace:
        """Stage 0: commands and beats into chunks of NUM_PE weights, with bank and address."""
        P, BB = self.hw.num_pe, self.hw.bus_bytes
        c = SimpleNamespace()
        c.busy = busy = Signal()
        c.delta = delta = Signal(signed(16))
        c.delta3 = delta3 = Signal(signed(18))  # 3·Δ for the digit products, once per column
        kind = Signal(2)
        beats_left = Signal(16)  # beats of the column after the current one
        last_beat = Signal()  # == (beats_left == 0)
        gate = Signal(3)
        c.addr0 = addr0 = Signal(aw)  # base + row group
        grp_left = Signal(range(self.gmax + 1))  # row groups of the gate block after this one
        grp_last = Signal()  # == (grp_left == 0)
        c.chunk = chunk = Signal(8 * P)
        chunk_valid = Signal()
        beat_taken = Signal()
        finishing = Signal()

        bias = kind == KIND_BIAS
        gate_last = Mux(bias, gate == 3, gate == 2)
        if BB >= P:
            per = BB // P
            if per > 1:
                sub = Signal(range(per))
                m.d.comb += chunk.eq(self.beats.payload.word_select(sub, 8 * P))
            else:
                m.d.comb += chunk.eq(self.beats.payload)
            with m.If(busy & self.beats.valid):
                m.d.comb += chunk_valid.eq(1)
                if per == 1:
                    m.d.comb += beat_taken.eq(1)
                else:
                    # the rest of a column's last beat is bus padding: skip it
                    with m.If((sub == per - 1) | (gate_last & grp_last)):
                        m.d.comb += beat_taken.eq(1)
                        m.d.sync += sub.eq(0)
                    with m.Else():
                        m.d.sync += sub.eq(sub + 1)
        else:
            per = P // BB
            part = Signal(range(per))
            gather = Signal(8 * P)
            m.d.comb += chunk.eq(Cat(gather[: 8 * BB * (per - 1)], self.beats.payload))
            with m.If(busy & self.beats.valid):
                m.d.comb += beat_taken.eq(1)
                with m.If(part == per - 1):
                    m.d.comb += chunk_valid.eq(1)
                    m.d.sync += part.eq(0)
                with m.Else():
                    m.d.sync += part.eq(part + 1)
                    # shift the new beat in at the top of the first (per-1) beat slots
                    m.d.sync += gather.word_select(part, 8 * BB).eq(self.beats.payload)

        m.d.comb += [self.beats.ready.eq(beat_taken), finishing.eq(beat_taken & last_beat)]
        with m.If(beat_taken):
            m.d.sync += [beats_left.eq(beats_left - 1), last_beat.eq(beats_left == 1)]
        # the column's layer constants, taken with its command (the next command may be of
        # another layer: column contexts, docs/rtl.md)
        base_c = Signal(aw)
        grp_m1_c = Signal.like(grp_left)
        grp_1_c = Signal()
        with m.If(chunk_valid):
            with m.If(grp_last):
                m.d.sync += [
                    addr0.eq(base_c),
                    grp_left.eq(grp_m1_c),
                    grp_last.eq(grp_1_c),
                    gate.eq(gate + 1),
                ]
            with m.Else():
                m.d.sync += [
                    addr0.eq(addr0 + 1),
                    grp_left.eq(grp_left - 1),
                    grp_last.eq(grp_left == 1),
                ]
        with m.If(finishing):
            m.d.sync += busy.eq(0)
        m.d.comb += self.cmd.ready.eq(~busy | finishing)
        with m.If(self.cmd.valid & self.cmd.ready):
            nbeats = Mux(self.cmd.payload.kind == KIND_BIAS, self.bias_beats, self.col_beats)
            m.d.sync += [
                busy.eq(1),
                delta.eq(self.cmd.payload.delta),
                delta3.eq(self.cmd.payload.delta + (self.cmd.payload.delta << 1)),
                kind.eq(self.cmd.payload.kind),
                beats_left.eq(nbeats - 1),
                last_beat.eq(nbeats == 1),
                gate.eq(0),
                addr0.eq(self.base),
                grp_left.eq(self.groups - 1),
                grp_last.eq(self.groups == 1),
                base_c.eq(self.base),
                grp_m1_c.eq(self.groups - 1),
                grp_1_c.eq(self.groups == 1),
            ]
            if BB >= P and BB // P > 1:
                m.d.sync += sub.eq(0)

        c.issue = Signal()
        c.bank0 = Signal(2)
        c.finishing = finishing
        m.d.comb += [
            c.issue.eq(chunk_valid & Mux(bias, gate < 4, gate < 3)),
            c.bank0.eq(Mux((gate == 2) & (kind == KIND_HIDDEN), 3, gate)),
        ]
        return c

    def _sparse_control(self, m: Module, c: SimpleNamespace, aw: range) -> None:
        """Stages 1..PE_WRITE_STAGE of a sparse build: the control of :meth:`elaborate`
        with an address and a "writes" bit per lane.

        A lane writes its entry's result only when the entry's value is not 0 (an empty
        entry, or a zero bias, adds 0 to a saturated accumulator: the bank keeps its word).
        The forwarding compares each lane's address with the lane's writing entries 3, 4 and
        5 ahead; an empty entry names row 0 of its gate next to the real ones, so it must
        neither write nor be forwarded from.
        """
        P, W, r = self.hw.num_pe, PE_WRITE_STAGE, PE_READ_STAGE
        v = [None] + [Signal(name=f"v{k}") for k in range(1, W + 1)]
        bank = [c.bank0] + [Signal(2, name=f"bank{k}") for k in range(1, W + 1)]
        nz = [c.nz0] + [Signal(P, name=f"nz{k}") for k in range(1, W + 1)]
        la = [c.addr0s] + [
            [Signal(aw, name=f"addr{k}_{lane}") for lane in range(P)] for k in range(1, W + 1)
        ]
        m.d.sync += [v[1].eq(c.issue), *(v[k].eq(v[k - 1]) for k in range(2, W + 1))]
        m.d.sync += [bank[k].eq(bank[k - 1]) for k in range(1, W + 1)]
        m.d.sync += [nz[k].eq(nz[k - 1]) for k in range(1, W + 1)]
        for k in range(1, W + 1):
            m.d.sync += [la[k][lane].eq(la[k - 1][lane]) for lane in range(P)]
        assert PE_CLEAR_DELAY == 1
        c.wens, c.waddrs, c.f2s, c.fw3s, c.rd_addrs, c.clip_v = [], [], [], [], [], []
        for lane in range(P):
            wen = Signal(4, name=f"wen{W}_{lane}")
            waddr = Signal(aw, name=f"waddr{W}_{lane}")
            writes = v[W - 1] & nz[W - 1][lane]
            m.d.sync += [
                wen.eq(Mux(self.clr_en, 0b1111, Mux(writes, 1 << bank[W - 1], 0))),
                waddr.eq(Mux(self.clr_en, self.clr_addr, la[W - 1][lane])),
            ]
            f2 = Signal(len(_FORWARD), name=f"f2_{lane}")
            m.d.sync += f2.eq(
                Cat(
                    *(
                        v[r]
                        & v[k]
                        & nz[k][lane]
                        & (bank[r] == bank[k])
                        & (la[r][lane] == la[k][lane])
                        for k in _FORWARD
                    )
                )
            )
            fw3 = Signal(name=f"fw3_{lane}")
            m.d.sync += fw3.eq(f2.any())
            rd_addr = Signal(aw, name=f"rd_addr_{lane}")
            m.d.comb += rd_addr.eq(Mux(v[r], la[r][lane], self.act_addr))
            c.wens.append(wen)
            c.waddrs.append(waddr)
            c.f2s.append(f2)
            c.fw3s.append(fw3)
            c.rd_addrs.append(rd_addr)
            c.clip_v.append(v[W - 1] & nz[W - 1][lane])
        self._operands(m, c)
        c.v, c.bank = v, bank

    def _sparse_chunker(self, m: Module, aw: range) -> SimpleNamespace:
        """Stage 0 of a sparse build: commands and beats into per-lane (value, address).

        An input or hidden column is ``3·slots`` chunks of ``2·NUM_PE`` bytes (one slot:
        a (value, row index) entry per lane); lane k of chunk ``c`` adds into gate block
        ``c // slots``, row ``base + index``. The bias column is dense: ``4·groups`` chunks
        of NUM_PE bytes, lane k adds byte k into row ``base + group`` as in a dense build.
        Beats are cut into chunks (a beat of several chunks; the bus padding after the
        column's last chunk skipped) or gathered (a chunk of several beats), per kind.
        """
        P, BB = self.hw.num_pe, self.hw.bus_bytes
        c = SimpleNamespace()
        c.busy = busy = Signal()
        c.delta = delta = Signal(signed(16))
        c.delta3 = delta3 = Signal(signed(18))
        kind = Signal(2)
        beats_left = Signal(16)
        last_beat = Signal()
        gate = Signal(3)
        addr0 = Signal(aw)  # bias column: base + row group
        cnt_left = Signal(range(self.gmax + 1))  # slots / row groups of the gate after this
        cnt_last = Signal()  # == (cnt_left == 0)
        # a gate block's count less one, and whether it is 1 (the column's groups or slots,
        # set with the command: no kind decode and no subtraction before the reload)
        reload_m1 = Signal.like(cnt_left)
        reload_1 = Signal()
        chunk_valid = Signal()
        beat_taken = Signal()
        finishing = Signal()
        # the column is the bias column: a register for the control, and a second one
        # (reset-less, so not merged with the first) for the lanes' value and row
        # multiplexers, whose 8·NUM_PE + NUM_PE·|row| loads spread over the PE array
        bias = Signal()
        bias_lanes = Signal(reset_less=True)
        gate_last = Mux(bias, gate == 3, gate == 2)
        end = gate_last & cnt_last  # the chunk is the column's last

        def per(unit):
            return BB // unit if unit <= BB else unit // BB

        idx = Signal(range(max(2, per(P), per(2 * P))))  # chunk of the beat / beat of the chunk
        gather = Signal(max(1, 8 * (2 * P - BB)))  # the first beats of a chunk (BB < 2P)
        payload = self.beats.payload

        def unit(nbytes: int, active) -> Signal:
            """Cut or gather chunks of ``nbytes`` while ``active``; the chunk."""
            chunk = Signal(8 * nbytes, name=f"chunk{nbytes}")
            k = per(nbytes)
            if nbytes <= BB:
                m.d.comb += chunk.eq(payload.word_select(idx, 8 * nbytes) if k > 1 else payload)
                with m.If(active & busy & self.beats.valid):
                    m.d.comb += chunk_valid.eq(1)
                    if k == 1:
                        m.d.comb += beat_taken.eq(1)
                    else:
                        with m.If((idx == k - 1) | end):
                            m.d.comb += beat_taken.eq(1)
                            m.d.sync += idx.eq(0)
                        with m.Else():
                            m.d.sync += idx.eq(idx + 1)
            else:
                m.d.comb += chunk.eq(Cat(gather[: 8 * BB * (k - 1)], payload))
                with m.If(active & busy & self.beats.valid):
                    m.d.comb += beat_taken.eq(1)
                    with m.If(idx == k - 1):
                        m.d.comb += chunk_valid.eq(1)
                        m.d.sync += idx.eq(0)
                    with m.Else():
                        m.d.sync += idx.eq(idx + 1)
                        m.d.sync += gather.word_select(idx, 8 * BB).eq(payload)
            return chunk

        dense = unit(P, bias)
        entries = unit(2 * P, ~bias)

        m.d.comb += [self.beats.ready.eq(beat_taken), finishing.eq(beat_taken & last_beat)]
        with m.If(beat_taken):
            m.d.sync += [beats_left.eq(beats_left - 1), last_beat.eq(beats_left == 1)]
        base_c = Signal(aw)  # the column's accumulator base, taken with its command
        with m.If(chunk_valid):
            with m.If(cnt_last):
                m.d.sync += [
                    addr0.eq(base_c),
                    cnt_left.eq(reload_m1),
                    cnt_last.eq(reload_1),
                    gate.eq(gate + 1),
                ]
            with m.Else():
                m.d.sync += [
                    addr0.eq(addr0 + 1),
                    cnt_left.eq(cnt_left - 1),
                    cnt_last.eq(cnt_left == 1),
                ]
        with m.If(finishing):
            m.d.sync += busy.eq(0)
        m.d.comb += self.cmd.ready.eq(~busy | finishing)
        with m.If(self.cmd.valid & self.cmd.ready):
            new_bias = self.cmd.payload.kind == KIND_BIAS
            nbeats = Mux(new_bias, self.bias_beats, self.col_beats)
            # the subtractions on the layer's constants, then the choice by kind
            first_m1 = Mux(new_bias, self.groups - 1, self.slots - 1)
            first_1 = Mux(new_bias, self.groups == 1, self.slots == 1)
            m.d.sync += [
                busy.eq(1),
                delta.eq(self.cmd.payload.delta),
                delta3.eq(self.cmd.payload.delta + (self.cmd.payload.delta << 1)),
                kind.eq(self.cmd.payload.kind),
                bias.eq(new_bias),
                bias_lanes.eq(new_bias),
                beats_left.eq(nbeats - 1),
                last_beat.eq(nbeats == 1),
                gate.eq(0),
                addr0.eq(self.base),
                cnt_left.eq(first_m1),
                cnt_last.eq(first_1),
                reload_m1.eq(first_m1),
                reload_1.eq(first_1),
                base_c.eq(self.base),
                idx.eq(0),
            ]

        # per lane: the value and the accumulator word it adds into
        c.chunk = Signal(8 * P)
        c.nz0 = Signal(P)
        c.addr0s = []
        for lane in range(P):
            value = Mux(bias_lanes, dense.word_select(lane, 8), entries.word_select(2 * lane, 8))
            row = Signal(aw, name=f"row0_{lane}")
            m.d.comb += [
                c.chunk.word_select(lane, 8).eq(value),
                c.nz0[lane].eq(value != 0),
                row.eq(Mux(bias_lanes, addr0, base_c + entries.word_select(2 * lane + 1, 8))),
            ]
            c.addr0s.append(row)
        c.issue = Signal()
        c.bank0 = Signal(2)
        m.d.comb += [
            c.issue.eq(chunk_valid & Mux(bias, gate < 4, gate < 3)),
            c.bank0.eq(Mux((gate == 2) & (kind == KIND_HIDDEN), 3, gate)),
        ]
        c.finishing = finishing
        return c

    def _lane(self, m: Module, c: SimpleNamespace, lane: int, clip: Signal) -> None:
        """Stages 2..6 of one lane: the product, the four banks, the sum and its saturation."""
        act_out = [self.act_r, self.act_u, self.act_cx, self.act_ch]
        d1, d1_3, d1_n = c.d1, c.d1_3, c.d1_n
        # stages 2..4: the product w·Δ in logic (no DSP: on the 25F the multiplier rows are
        # far from the accumulators' block RAMs, ~3 ns of routing each way). w is four
        # radix-4 digits, the top one signed: w·Δ = Σ_k 4^k·(digit_k·Δ), each term a choice
        # among {0, Δ, 2Δ, 3Δ} (3Δ registered with the command) or, for the top digit,
        # {-2Δ, -Δ, 0, Δ} (−Δ registered in stage 1: no negation shared by the lanes
        # on the path). Stage 2: two pairs of terms added; stage 3: the pairs.
        w = c.w1.word_select(lane, 8)
        terms = []
        for k in range(4):
            dg = w[2 * k : 2 * k + 2]
            if k < 3:
                t = Mux(dg[1], Mux(dg[0], d1_3, d1 << 1), Mux(dg[0], d1, 0))
            else:
                t = Mux(dg[1], Mux(dg[0], d1_n, d1_n << 1), Mux(dg[0], d1, 0))
            terms.append(t)
        lo2 = Signal(signed(21), name=f"plo2_{lane}")
        hi2 = Signal(signed(21), name=f"phi2_{lane}")
        prod3 = Signal(signed(24), name=f"prod3_{lane}")
        prod4 = Signal(signed(24), name=f"prod4_{lane}")
        m.d.sync += [
            lo2.eq(terms[0] + (terms[1] << 2)),
            hi2.eq(terms[2] + (terms[3] << 2)),
            prod3.eq(lo2 + (hi2 << 4)),
            prod4.eq(prod3),
        ]
        # stages 2, 3 (PE_BANK_READ_STAGES): the four banks' read data: the RAM's output
        # latch, then a plain register with neither reset nor enable, which the ECP5 flow
        # moves into the block RAM's output register
        # (edgedrnn.synth.outreg.absorb_output_registers)
        rd3 = []
        wps = []
        for b in range(4):
            mem = memory.Memory(
                shape=signed(24), depth=self.depth, init=[], attrs={"no_rw_check": 1}
            )
            m.submodules[f"acc_l{lane}_b{b}"] = mem
            # asynchronous port + registers: Yosys merges the first into the block RAM's read
            # port and, with no_rw_check, adds no collision logic
            rp = mem.read_port(domain="comb")
            wps.append(mem.write_port())
            prev = rp.data
            for k in range(PE_BANK_READ_STAGES):
                stage = PE_READ_STAGE + 1 + k
                reg = Signal(signed(24), name=f"rdat{stage}_l{lane}_b{b}", reset_less=True)
                m.d.sync += reg.eq(prev)
                prev = reg
            m.d.comb += [rp.addr.eq(c.rd_addrs[lane]), act_out[b][lane].eq(prev)]
            rd3.append(prev)
        # forwarded results, 0 unless forwarding: from 3 ahead the live saturated sum,
        # from 4 ahead the write data, from 5 ahead the write data one cycle later
        g3 = [Signal(signed(24), name=f"g3{k}_{lane}") for k in range(len(_FORWARD))]
        wd7 = Signal(signed(24), name=f"wd7_{lane}")
        # stage 4: the accumulator
        acc4 = Signal(signed(24), name=f"acc4_{lane}")
        # the chunk's bank's read data (stage 3), or 0 when a result is forwarded
        m.d.sync += acc4.eq(
            Mux(c.fw3s[lane], 0, Array(rd3)[c.bank[PE_READ_STAGE + PE_BANK_READ_STAGES]])
            | g3[0]
            | g3[1]
            | g3[2]
        )
        # stage 5: the sum (25 bits)
        s = Signal(signed(25), name=f"sum5_{lane}")
        m.d.sync += s.eq(acc4 + prod4)
        # its low 23 bits are 0: the borrow out of s[:23] - 1 (a carry chain, no LUT tree)
        z5 = Signal(name=f"z5_{lane}")
        m.d.comb += z5.eq((Cat(s[:23], C(0, 1)) - 1)[23])
        # stage 5 -> 6: saturate to ±(2^23 - 1) from the sum's top bits; -2^23 (top bits
        # 11, low bits 0) is the one sum below -(2^23 - 1) they let through
        ovf = s[24] ^ s[23]
        is_min = s[24] & s[23] & z5
        sat = Signal(signed(24), name=f"sat5_{lane}")
        m.d.comb += sat.eq(
            Cat(s[0] | ovf | is_min, Mux(ovf, (~s[24]).replicate(22), s[1:23]), s[24])
        )
        wd6 = Signal(signed(24), name=f"wd6_{lane}")
        m.d.sync += [
            wd6.eq(Mux(self.clr_en, 0, sat)),
            wd7.eq(wd6),
            clip[lane].eq(c.clip_v[lane] & (ovf | is_min)),
            g3[0].eq(Mux(c.f2s[lane][0], sat, 0)),
            g3[1].eq(Mux(c.f2s[lane][1], wd6, 0)),
            g3[2].eq(Mux(c.f2s[lane][2], wd7, 0)),
        ]
        wen, waddr = c.wens[lane], c.waddrs[lane]
        for b in range(4):
            m.d.comb += [wps[b].addr.eq(waddr), wps[b].data.eq(wd6), wps[b].en.eq(wen[b])]
