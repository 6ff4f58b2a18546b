"""PE array: NUM_PE multiply-accumulates per cycle into the four accumulator banks.

A column arrives as a command (Δ and the column kind, from the command FIFO) followed by the
column's bus beats (from the weight fetch's R channel). The beats are cut into *chunks* of
NUM_PE weights (one chunk per cycle; a wide beat gives several chunks, narrow beats are
gathered; the bus padding at the end of a column's last beat is skipped, not processed).
Chunk ``c`` of a column belongs to gate block ``c // G`` and row group ``c % G``
(``G = rows_per_gate / NUM_PE``); chunks after the last gate block are bus padding and are
dropped. Gate blocks map to banks r, u, cx (input columns), r, u, ch (hidden columns) or
r, u, cx, ch (bias column).

Accumulators: per PE lane and bank one ``lib.memory`` of ``max_layers · groups`` int24 words,
address ``layer · groups_max + group``. Read-modify-write in three pipeline stages (read
address issued → product ``w·Δ`` registered with the read data → add, saturate to
±(2^23 - 1), write). A row group is revisited at the earliest three chunks later (a column
has ≥ 3 gate blocks), after its write, so no forwarding is needed. Saturating after every
chunk is saturating after each column, exactly as datapath.md §5.

``act_addr`` reads a row group's four banks, all lanes, for the activation units (data one
cycle later on ``act_r``... ``act_ch``, arrays of NUM_PE); ``clr_en``/``clr_addr`` zero one
address of every bank.
"""

from __future__ import annotations

from amaranth import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixedpoint as fp
from ..program import HardwareConfig

#: Column kinds (command FIFO, delta FIFO).
KIND_INPUT, KIND_HIDDEN, KIND_BIAS = 0, 1, 2

CMD_LAYOUT = data.StructLayout({"delta": signed(16), "kind": unsigned(2)})


def groups_max(hw: HardwareConfig) -> int:
    """Row groups per gate block for the largest hidden size."""
    return -(-hw.max_hidden_size // hw.num_pe)


class PEArray(wiring.Component):
    """NUM_PE multiply-accumulate lanes and the accumulator banks (see module docstring)."""

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        self.gmax = groups_max(hw)
        self.depth = hw.max_layers * self.gmax
        super().__init__(
            {
                "cmd": In(stream.Signature(CMD_LAYOUT)),
                "beats": In(stream.Signature(hw.bus_bits)),
                # layer constants (stable while columns of the layer are in flight)
                "groups": In(range(self.gmax + 1)),
                "col_beats": In(16),
                "bias_beats": In(16),
                "base": In(range(self.depth + 1)),
                "idle": Out(1),
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
        hw = self.hw
        P, BB = hw.num_pe, hw.bus_bytes

        # ------------------------------------------------------------ chunker
        busy = Signal()
        delta = Signal(signed(16))
        kind = Signal(2)
        beat = Signal(16)
        gate = Signal(3)
        grp = Signal(range(self.gmax + 1))
        nbeats = Mux(kind == KIND_BIAS, self.bias_beats, self.col_beats)
        chunk = Signal(8 * P)
        chunk_valid = Signal()
        last_beat = beat == nbeats - 1
        finishing = Signal()

        ngates = Mux(kind == KIND_BIAS, 4, 3)
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
                    m.d.comb += self.beats.ready.eq(1)
                    m.d.sync += beat.eq(beat + 1)
                    m.d.comb += finishing.eq(last_beat)
                else:
                    # the rest of a column's last beat is bus padding: skip it
                    last_useful = (gate == ngates - 1) & (grp == self.groups - 1)
                    with m.If((sub == per - 1) | last_useful):
                        m.d.comb += self.beats.ready.eq(1)
                        m.d.sync += [sub.eq(0), beat.eq(beat + 1)]
                        m.d.comb += finishing.eq(last_beat)
                    with m.Else():
                        m.d.sync += sub.eq(sub + 1)
        else:
            per = P // BB
            part = Signal(range(per))
            gather = Signal(8 * P)
            m.d.comb += chunk.eq(Cat(gather[: 8 * BB * (per - 1)], self.beats.payload))
            with m.If(busy & self.beats.valid):
                m.d.comb += self.beats.ready.eq(1)
                m.d.sync += beat.eq(beat + 1)
                m.d.comb += finishing.eq(last_beat)
                with m.If(part == per - 1):
                    m.d.comb += chunk_valid.eq(1)
                    m.d.sync += part.eq(0)
                with m.Else():
                    m.d.sync += part.eq(part + 1)
                    # shift the new beat in at the top of the first (per-1) beat slots
                    m.d.sync += gather.word_select(part, 8 * BB).eq(self.beats.payload)

        with m.If(chunk_valid):
            with m.If(grp == self.groups - 1):
                m.d.sync += [grp.eq(0), gate.eq(gate + 1)]
            with m.Else():
                m.d.sync += grp.eq(grp + 1)
        with m.If(finishing):
            m.d.sync += busy.eq(0)
        m.d.comb += self.cmd.ready.eq(~busy | finishing)
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [
                busy.eq(1),
                delta.eq(self.cmd.payload.delta),
                kind.eq(self.cmd.payload.kind),
                beat.eq(0),
                gate.eq(0),
                grp.eq(0),
            ]
            if BB >= P and BB // P > 1:
                m.d.sync += sub.eq(0)

        # --------------------------------------------- accumulate pipeline (3 stages)
        bank0 = Signal(2)
        m.d.comb += bank0.eq(Mux((gate == 2) & (kind == KIND_HIDDEN), 3, gate))
        issue = chunk_valid & (gate < ngates)
        addr0 = Signal(range(self.depth + self.gmax))
        m.d.comb += addr0.eq(self.base + grp)

        v1, v2 = Signal(), Signal()
        bank1, bank2 = Signal(2), Signal(2)
        addr1, addr2 = Signal.like(addr0), Signal.like(addr0)
        w1 = Signal(8 * P)
        d1 = Signal(signed(16))
        m.d.sync += [v1.eq(issue), bank1.eq(bank0), addr1.eq(addr0), w1.eq(chunk), d1.eq(delta)]
        m.d.sync += [v2.eq(v1), bank2.eq(bank1), addr2.eq(addr1)]

        act_out = [self.act_r, self.act_u, self.act_cx, self.act_ch]
        lane_ovf = []
        wps = {}
        for lane in range(P):
            prod2 = Signal(signed(24), name=f"prod2_{lane}")
            m.d.sync += prod2.eq(w1.word_select(lane, 8).as_signed() * d1)
            rdata1 = []
            for b in range(4):
                mem = memory.Memory(shape=signed(24), depth=self.depth, init=[])
                m.submodules[f"acc_l{lane}_b{b}"] = mem
                wp = mem.write_port()
                rp = mem.read_port()
                m.d.comb += rp.addr.eq(Mux(self.idle, self.act_addr, addr0))
                rdata1.append(rp.data)
                wps[lane, b] = wp
            acc2 = Signal(signed(24), name=f"acc2_{lane}")
            m.d.sync += acc2.eq(Array(rdata1)[bank1])
            s = Signal(signed(26), name=f"sum2_{lane}")
            m.d.comb += s.eq(acc2 + prod2)
            clipped = (s > fp.ACC_MAX) | (s < fp.ACC_MIN)
            sat = Mux(s > fp.ACC_MAX, fp.ACC_MAX, Mux(s < fp.ACC_MIN, fp.ACC_MIN, s))
            lane_ovf.append(v2 & clipped)
            for b in range(4):
                wp = wps[lane, b]
                m.d.comb += [
                    wp.addr.eq(Mux(self.clr_en, self.clr_addr, addr2)),
                    wp.data.eq(Mux(self.clr_en, 0, sat)),
                    wp.en.eq(self.clr_en | (v2 & (bank2 == b))),
                ]
            m.d.comb += [act_out[b][lane].eq(rdata1[b]) for b in range(4)]
        m.d.comb += self.overflow.eq(Cat(*lane_ovf).any())
        m.d.comb += self.idle.eq(~busy & ~v1 & ~v2)
        return m
