"""EdgeDRNN top level: register block, controller, state memories and the datapath blocks.

``EdgeDRNN(hw)`` is a ``wiring.Component`` with one clock domain ``sync`` and four interface
members (docs/rtl.md, docs/register-map.md):

* ``csr``: AXI4-Lite slave (12-bit addresses) for :mod:`edgedrnn.hw.regmap`;
* ``mem``: AXI4 read master for the weight image;
* ``x_in``: the step's input vector, one Q8.8 element per beat;
* ``h_out``: the last layer's new h, one element per beat, ``last`` on the final beat.

Convert with ``amaranth.back.verilog.convert(EdgeDRNN(hw), name="edgedrnn_top")``.

All per-neuron state is stored NUM_PE lanes wide (a *row group* of NUM_PE neurons per memory
word), like the accumulators, so that the encoder scans and the activation units process a
whole row group per cycle. Controller, per step (layers in order)::

    IDLE ─x_in─▶ LSTART ─▶ SCAN_X ─▶ SCAN_H ─▶ DRAIN ─▶ ACT ─┬▶ LSTART (next layer)
                                                             └▶ DONE ─▶ IDLE

* LSTART latches the layer's registers and queues the bias column (first step after a reset
  only; BIAS waits for the scan stage if it is busy).
* SCAN_X: layer 0 takes ``x_in`` one element per cycle as it arrives; layer l > 0 reads
  layer l-1's new h a row group per cycle. SCAN_H reads the layer's previous h a row group
  per cycle. The delta encoder passes the deltas on, one per cycle, to the delta FIFO; the
  weight fetch turns them into bursts and the command FIFO tells the PE array which Δ
  belongs to which column, so the weight stream runs while the scan goes on.
* DRAIN waits for the last column to be accumulated.
* ACT runs NUM_PE activation units on one row group per cycle (pipelined); new h goes to the
  h memory and, for the last layer, through the output FIFO to ``h_out``, one per beat.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from . import regmap
from .activation import LATENCY as ACT_LATENCY
from .activation import Activation
from .axi import AXI4LiteSignature, AXI4ReadSignature
from .csr import RegisterBlock
from .encoder import DELTA_LAYOUT, DeltaEncoder, group_layout
from .fetch import WeightFetch, stride_bits
from .pe import ACT_READ_LATENCY, KIND_BIAS, KIND_HIDDEN, KIND_INPUT, PEArray, groups_max

H_OUT_LAYOUT = data.StructLayout({"data": signed(16), "last": unsigned(1)})

#: Depths of the internal FIFOs (entries).
DELTA_FIFO_DEPTH = 16
CMD_FIFO_DEPTH = 16
OUT_FIFO_DEPTH = 8


def _clog2(n: int) -> int:
    return max(0, (int(n) - 1).bit_length())


class EdgeDRNN(wiring.Component):
    """The accelerator (see module docstring)."""

    def __init__(self, hw: HardwareConfig) -> None:
        if hw.max_layers > regmap.MAX_LAYERS_ADDRESSABLE:
            raise ValueError(f"max_layers {hw.max_layers} > {regmap.MAX_LAYERS_ADDRESSABLE}")
        self.hw = hw
        super().__init__(
            {
                "csr": In(AXI4LiteSignature(regmap.ADDR_BITS, 32)),
                "mem": Out(AXI4ReadSignature(32, hw.bus_bits)),
                "x_in": In(stream.Signature(signed(16))),
                "h_out": Out(stream.Signature(H_OUT_LAYOUT)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        hw = self.hw
        P, L = hw.num_pe, hw.max_layers
        MI, MH = hw.max_input_size, hw.max_hidden_size
        lg_p, lg_bb = _clog2(P), _clog2(hw.bus_bytes)
        gmax = groups_max(hw)  # row groups of the largest hidden vector
        gx = -(-max(MI, MH) // P)  # row groups of the largest input vector
        refg = gx + gmax  # x̂ then ĥ of one layer, in row groups
        clr_depth = max(L * refg, L * gmax)
        word = data.ArrayLayout(signed(16), P)

        # ------------------------------------------------------------- blocks
        cfg_val = regmap.config_value(P, hw.bus_bits, L, MH, MI)
        m.submodules.regs = regs = RegisterBlock(L, cfg_val)
        m.submodules.encoder = enc = DeltaEncoder(P)
        m.submodules.fetch = fetch = WeightFetch(hw)
        m.submodules.pe = pe = PEArray(hw)
        acts = []
        for k in range(P):
            a = Activation()
            m.submodules[f"act{k}"] = a
            acts.append(a)
        m.submodules.delta_fifo = dfifo = fifo.SyncFIFOBuffered(
            width=DELTA_LAYOUT.size, depth=DELTA_FIFO_DEPTH
        )
        m.submodules.cmd_fifo = cfifo = fifo.SyncFIFOBuffered(
            width=pe.cmd.payload.shape().size, depth=CMD_FIFO_DEPTH
        )
        out_layout = data.StructLayout({"h": word, "last_lane": range(P), "last": unsigned(1)})
        m.submodules.out_fifo = ofifo = fifo.SyncFIFO(width=out_layout.size, depth=OUT_FIFO_DEPTH)
        wiring.connect(m, wiring.flipped(self.csr), regs.bus)

        # AXI: AR from the fetch unit, R straight to the PE array
        mem = self.mem
        m.d.comb += [
            mem.araddr.eq(fetch.ar.araddr),
            mem.arlen.eq(fetch.ar.arlen),
            mem.arsize.eq(fetch.ar.arsize),
            mem.arburst.eq(fetch.ar.arburst),
            mem.arvalid.eq(fetch.ar.arvalid),
            fetch.ar.arready.eq(mem.arready),
            fetch.ar.rvalid.eq(mem.rvalid),
            fetch.ar.rresp.eq(mem.rresp),
            fetch.ar.rready.eq(mem.rready),
            pe.beats.payload.eq(mem.rdata),
            pe.beats.valid.eq(mem.rvalid),
            mem.rready.eq(pe.beats.ready),
        ]

        # ------------------------------------------------------ state memories
        # no read ever needs a word written in the same cycle (see the scan and ACT below), so
        # Yosys is told not to add collision-bypass logic behind the block RAMs (for these
        # synchronous ports it takes effect through edgedrnn.synth.collisions_dont_care)
        ref_mem = memory.Memory(shape=word, depth=L * refg, init=[], attrs={"no_rw_check": 1})
        h_mem = memory.Memory(shape=word, depth=L * gmax, init=[], attrs={"no_rw_check": 1})
        m.submodules.ref_mem, m.submodules.h_mem = ref_mem, h_mem
        ref_rd, ref_wr = ref_mem.read_port(), ref_mem.write_port(granularity=1)
        h_rd, h_wr = h_mem.read_port(), h_mem.write_port(granularity=1)

        # ------------------------------------------------------ layer registers
        # LSTART latches the layer's registers (one mux level from the register block);
        # LSETUP derives the rest from them, so no path crosses both.
        layer = Signal(range(max(L, 2)))
        layer0 = Signal(init=1)  # layer == 0, kept in a register
        n_in, n_hid = Signal(16), Signal(16)
        rpg = Signal(16)
        rpg3 = Signal(18)
        lay_bias, lay_col = Signal(32), Signal(32)
        g_in, g_hid = Signal(16), Signal(16)  # row groups of the input / hidden vector
        n_in_m1 = Signal(16)
        g_in_m1, g_hid_m1 = Signal(16), Signal(16)
        groups = Signal(range(gmax + 1))
        col_beats, bias_beats = Signal(16), Signal(16)
        bias_addr, col_addr, stride = Signal(32), Signal(32), Signal(32)
        ref_base = Signal(range(L * refg + 1))
        h_base = Signal(range(L * gmax + 1))
        hin_base = Signal(range(L * gmax + 1))  # h memory of the previous layer
        acc_base = Signal(range(L * gmax + 1))
        mask_in_last, mask_hid_last = Signal(P), Signal(P)  # lanes of the last row group
        theta_x, theta_h = Signal(16), Signal(16)  # the layer's, from the step's copies
        thx = [Signal(16, name=f"thx{i}") for i in range(L)]
        thh = [Signal(16, name=f"thh{i}") for i in range(L)]
        bias_sent = Signal(L)
        last_layer = Signal()
        m.d.comb += [
            pe.groups.eq(groups),
            pe.col_beats.eq(col_beats),
            pe.bias_beats.eq(bias_beats),
            pe.base.eq(acc_base),
            fetch.col_beats.eq(col_beats),
            fetch.bias_beats.eq(bias_beats),
            fetch.bias_addr.eq(bias_addr),
            fetch.col_addr.eq(col_addr),
            fetch.stride.eq(stride),
            enc.theta_x.eq(theta_x),
            enc.theta_h.eq(theta_h),
        ]

        def last_lanes(size):
            """Lanes of the last row group of a vector of ``size`` (≥ 1) elements."""
            rest = size[:lg_p] if lg_p else Const(0, 1)
            return Mux(rest == 0, (1 << P) - 1, (Const(1, P + 1) << rest) - 1)

        # ------------------------------------------------------- config check
        # every elementary comparison is registered on its own, then their conjunction per
        # layer and over the layers: CHECK waits for both register stages
        glob = [regs.num_layers >= 1, regs.num_layers <= L]
        if lg_bb:
            glob.append(regs.weight_base[:lg_bb] == 0)
        per_layer = []
        for i in range(L):
            isz, hsz = regs.input_size[i], regs.hidden_size[i]
            rpg_i = regs.rows_per_gate[i]
            terms = [
                isz >= 1,
                isz <= (MI if i == 0 else MH),
                hsz >= 1,
                hsz <= MH,
                rpg_i >= hsz,
                rpg_i <= gmax * P,
                rpg_i[:lg_p] == 0 if lg_p else Const(1),
                regs.column_stride[i][:lg_bb] == 0 if lg_bb else Const(1),
                regs.column_stride[i] < (1 << stride_bits(hw)),
            ]
            if i > 0:
                terms.append(isz == regs.hidden_size[i - 1])
            per_layer.append((regs.num_layers > i, terms))
        glob_r = Signal(len(glob))
        m.d.sync += glob_r.eq(Cat(*glob))
        layer_ok = []
        for i, (used, terms) in enumerate(per_layer):
            used_r = Signal(name=f"cfg_used{i}")
            terms_r = Signal(len(terms), name=f"cfg_terms{i}")
            m.d.sync += [used_r.eq(used), terms_r.eq(Cat(*terms))]
            layer_ok.append(~used_r | terms_r.all())
        cfg_ok = Signal()
        m.d.sync += cfg_ok.eq(glob_r.all() & Cat(*layer_ok).all())

        # ------------------------------------------------------ counters, status
        step_cycles, step_count = Signal(32), Signal(32)
        cyc = Signal(32)
        counting = Signal()
        nz_x = [Signal(16, name=f"nz_x{i}") for i in range(L)]
        nz_h = [Signal(16, name=f"nz_h{i}") for i in range(L)]
        cnt_x, cnt_h = Signal(16), Signal(16)
        m.d.comb += [regs.step_cycles.eq(step_cycles), regs.step_count.eq(step_count)]
        for i in range(L):
            m.d.comb += [regs.nz_x[i].eq(nz_x[i]), regs.nz_h[i].eq(nz_h[i])]
        with m.If(counting):
            m.d.sync += cyc.eq(cyc + 1)

        pend_reset_state = Signal()
        pend_soft = Signal()
        with m.If(regs.reset_state):
            m.d.sync += pend_reset_state.eq(1)
        with m.If(regs.soft_reset):
            m.d.sync += pend_soft.eq(1)

        # ------------------------------------------------------ scan pipeline
        # S0 issues the reads of a row group (or takes an x_in beat) from registered
        # addresses; S1 is the read ports' data, which goes straight into the encoder's input
        # registers. The encoder never stalls: S0 issues only while fewer than the encoder's
        # group-FIFO depth of groups are issued and not yet retired (``can_issue``).
        j = Signal(17)  # layer 0 inputs: element index; otherwise row group index
        ref_ptr = Signal.like(ref_rd.addr)  # next reference word to read
        h_ptr = Signal.like(h_rd.addr)  # next h word to read (scan)
        s1_valid = Signal()
        s1_kind = Signal(2)
        s1_mask = Signal(P)
        s1_base = Signal(16)
        s1_from_x = Signal()
        # layer 0: the x̂ word is read for the first element of a row group and kept for the
        # others (their lanes are not written meanwhile); the re-reads, which may meet the
        # write-back of an earlier element of the same word, are ignored
        s1_reuse = Signal()
        s1_x = Signal(signed(16))
        s1_ref_addr = Signal.like(ref_rd.addr)
        issue = Signal()  # a row group (or input element) enters the scan pipeline
        used = Signal(range(enc.depth + 2))
        can_issue = Signal()
        used_next = Signal.like(used)
        m.d.comb += used_next.eq(used + issue - enc.retired)
        m.d.sync += [used.eq(used_next), can_issue.eq(used_next < enc.depth)]
        m.d.sync += s1_valid.eq(issue)
        m.d.comb += [ref_rd.en.eq(1), h_rd.en.eq(1), ref_rd.addr.eq(ref_ptr), h_rd.addr.eq(h_ptr)]

        # S2: the read data registered once more, right at the block RAMs (their 5.8 ns
        # clock-to-out leaves no time for the route to the encoder in the same cycle)
        s2 = Signal(group_layout(P), reset_less=True)  # data only, s2_valid qualifies it
        s2_valid = Signal()
        m.d.sync += [
            s2_valid.eq(s1_valid),
            s2.values.eq(h_rd.data),
            s2.x.eq(s1_x),
            s2.from_x.eq(s1_from_x),
            s2.kind.eq(s1_kind),
            s2.mask.eq(s1_mask),
            s2.base.eq(s1_base),
            s2.addr.eq(s1_ref_addr),
        ]
        with m.If(s1_valid & ~s1_reuse):
            m.d.sync += s2.refs.eq(ref_rd.data)
        m.d.comb += [
            enc.elem.valid.eq(s2_valid),
            enc.elem.payload.eq(s2),
            ref_wr.addr.eq(enc.ref_addr),
            ref_wr.data.eq(enc.ref_new),
            ref_wr.en.eq(enc.ref_we),
        ]
        # delta FIFO: written while it has room for two more (``room`` is registered)
        dfifo_room = Signal()
        m.d.sync += dfifo_room.eq(dfifo.level < DELTA_FIFO_DEPTH - 2)
        m.d.comb += [
            dfifo.w_data.eq(enc.out.payload.as_value()),
            dfifo.w_en.eq(enc.out.valid & dfifo_room),
            enc.out.ready.eq(dfifo_room),
        ]
        sent = enc.out.valid & dfifo_room
        with m.If(sent & (enc.out.payload.kind == KIND_INPUT)):
            m.d.sync += cnt_x.eq(cnt_x + 1)
        with m.If(sent & (enc.out.payload.kind == KIND_HIDDEN)):
            m.d.sync += cnt_h.eq(cnt_h + 1)

        # delta FIFO -> fetch request + command FIFO (one handshake for both)
        dout = data.View(DELTA_LAYOUT, dfifo.r_data)
        m.d.comb += [
            fetch.req.payload.index.eq(dout.index),
            fetch.req.payload.kind.eq(dout.kind),
            fetch.req.valid.eq(dfifo.r_rdy & cfifo.w_rdy),
            cfifo.w_data.eq(Cat(dout.delta, dout.kind)),
            cfifo.w_en.eq(dfifo.r_rdy & fetch.req.ready),
            dfifo.r_en.eq(fetch.req.ready & cfifo.w_rdy),
            pe.cmd.payload.eq(cfifo.r_data),
            pe.cmd.valid.eq(cfifo.r_rdy),
            cfifo.r_en.eq(pe.cmd.ready),
        ]

        # ------------------------------------------------------ activation
        # A0 issues a row group's reads (accumulators, previous h); the accumulators come
        # out of the PE array's registers at A2 (pe.ACT_READ_LATENCY), h_prev is registered
        # once to match; the activation units register both on entry.
        ga = Signal(16)  # row groups still to issue
        ga_nz = Signal()  # ga != 0, kept in a register (it gates the issue enable)
        h_act_ptr = Signal.like(h_rd.addr)
        acc_act_ptr = Signal(range(L * gmax + 1))
        inflight = Signal(range(ACT_LATENCY + 9))
        act_issue = Signal()
        a1_valid = Signal()
        a2_valid = Signal()
        h_prev2 = Signal.like(h_rd.data)
        assert ACT_READ_LATENCY == 2, "the activation issue pipeline assumes 2 cycles"
        m.d.sync += [a1_valid.eq(act_issue), a2_valid.eq(a1_valid), h_prev2.eq(h_rd.data)]
        m.d.comb += pe.act_addr.eq(acc_act_ptr)
        for k, a in enumerate(acts):
            m.d.comb += [
                a.i_valid.eq(a2_valid),
                a.m_r.eq(pe.act_r[k]),
                a.m_u.eq(pe.act_u[k]),
                a.m_cx.eq(pe.act_cx[k]),
                a.m_ch.eq(pe.act_ch[k]),
                a.h_prev.eq(h_prev2[k]),
            ]
        o_valid = acts[0].o_valid
        m.d.sync += inflight.eq(inflight + act_issue - o_valid)
        # row groups of new h the next layer's scan may read (layer > 0 waits for them)
        avail = Signal(16)
        avail_nz = Signal()
        scan_take = Signal()  # SCAN_X of a layer > 0 takes a row group
        # up/down counter: both neighbours computed from the register, the enables only select
        avail_up, avail_dn = Signal.like(avail), Signal.like(avail)
        m.d.comb += [avail_up.eq(avail + 1), avail_dn.eq(avail - 1)]
        with m.If(o_valid & ~scan_take):
            m.d.sync += [avail.eq(avail_up), avail_nz.eq(1)]
        with m.Elif(scan_take & ~o_valid):
            m.d.sync += [avail.eq(avail_dn), avail_nz.eq(avail != 1)]
        # the h writer's own copy of the layer constants: the next layer may already be
        # scanning while this layer's last row groups are still in the activation pipeline
        wr_ptr = Signal.like(h_wr.addr)
        wr_rem = Signal(16)  # elements of h still to come out (this one included)
        wr_last = Signal()
        wr_mask_last = Signal(P)
        out_mask = Signal(P)
        rem_le_p = Signal()
        m.d.comb += rem_le_p.eq(wr_rem <= P)
        m.d.comb += out_mask.eq(Mux(rem_le_p, wr_mask_last, (1 << P) - 1))
        with m.If(o_valid):
            m.d.sync += [wr_ptr.eq(wr_ptr + 1), wr_rem.eq(wr_rem - P)]
        flushing = Signal()
        flush_r = Signal()
        m.d.sync += flush_r.eq(flushing)
        ovf_act = Signal()
        m.d.comb += ovf_act.eq(o_valid & (Cat(*[a.o_overflow for a in acts]) & out_mask).any())
        out_entry = Signal(out_layout)
        m.d.comb += [
            h_wr.addr.eq(wr_ptr),
            h_wr.en.eq(Mux(o_valid, out_mask, 0)),
            out_entry.last_lane.eq(Mux(rem_le_p, wr_rem - 1, P - 1)),
            out_entry.last.eq(rem_le_p),
            ofifo.w_en.eq(o_valid & wr_last & ~flush_r),
            ofifo.w_data.eq(out_entry.as_value()),
        ]
        for k, a in enumerate(acts):
            m.d.comb += [h_wr.data[k].eq(a.o_h), out_entry.h[k].eq(a.o_h)]

        # output serializer: the head entry is moved into a register (``ob``) and sent one
        # element per beat; whether the beat is the entry's last is kept in a register too,
        # so the FIFO's read enable is one gate from registers and the ``h_out.ready`` port
        ob = Signal(out_layout, reset_less=True)
        ob_valid = Signal()
        ob_lastbeat = Signal()  # o_lane == ob.last_lane
        o_lane = Signal(range(P))
        head = data.View(out_layout, ofifo.r_data)
        m.d.comb += [
            self.h_out.payload.data.eq(ob.h[o_lane]),
            self.h_out.payload.last.eq(ob.last & ob_lastbeat),
            self.h_out.valid.eq(ob_valid & ~flush_r),
        ]
        out_pop = Signal()
        send = Signal()
        m.d.comb += send.eq(self.h_out.valid & self.h_out.ready)
        # the flush (FLUSH, CLEAR) acts on the output side one cycle late, from a register
        # rather than the FSM decode: h_out invalid, no new entries, the FIFO drained
        with m.If(flush_r):
            m.d.comb += [ofifo.r_en.eq(1), out_pop.eq(ofifo.r_rdy)]
            m.d.sync += [ob_valid.eq(0), o_lane.eq(0)]
        with m.Else():
            with m.If(send):
                with m.If(ob_lastbeat):
                    m.d.sync += [ob_valid.eq(0), o_lane.eq(0)]
                with m.Else():
                    m.d.sync += [o_lane.eq(o_lane + 1), ob_lastbeat.eq(o_lane + 1 == ob.last_lane)]
            with m.If(ofifo.r_rdy & (~ob_valid | (send & ob_lastbeat))):
                m.d.comb += [ofifo.r_en.eq(1), out_pop.eq(1)]
                m.d.sync += [
                    ob.eq(head),
                    ob_valid.eq(1),
                    o_lane.eq(0),
                    ob_lastbeat.eq(head.last_lane == 0),
                ]
        # output FIFO entries reserved by issued row groups of the last layer
        resv = Signal(range(OUT_FIFO_DEPTH + 1))
        act_room = Signal()
        resv_next = Signal.like(resv)
        m.d.comb += resv_next.eq(resv + (act_issue & last_layer) - out_pop)
        m.d.sync += [resv.eq(resv_next), act_room.eq(resv_next < OUT_FIFO_DEPTH - 2)]
        last_out = self.h_out.valid & self.h_out.ready & self.h_out.payload.last
        with m.If(last_out):
            m.d.sync += [
                step_cycles.eq(cyc + 1),
                step_count.eq(step_count + 1),
                counting.eq(0),
            ]

        # ------------------------------------------------------ overflow / error
        ovf_r = Signal()
        m.d.sync += ovf_r.eq(enc.overflow | pe.overflow | ovf_act)
        m.d.comb += [regs.set_overflow.eq(ovf_r), regs.set_error.eq(fetch.error)]

        # clearing
        clr_addr = Signal(range(clr_depth + 1))
        clr_en = Signal()
        # the clear writes are registered (one cycle after CLEAR counts them; the last one
        # lands in IDLE, long before a step can use the state)
        clr_en_r = Signal()
        clr_addr_r = Signal.like(clr_addr)
        m.d.sync += [clr_en_r.eq(clr_en), clr_addr_r.eq(clr_addr)]
        m.d.comb += [pe.clr_en.eq(clr_en_r), pe.clr_addr.eq(clr_addr_r)]
        with m.If(clr_en_r):
            m.d.comb += [
                ref_wr.addr.eq(clr_addr_r),
                ref_wr.data.eq(0),
                ref_wr.en.eq((1 << P) - 1),
                h_wr.addr.eq(clr_addr_r),
                h_wr.data.eq(0),
                h_wr.en.eq((1 << P) - 1),
            ]

        # registered twice (each term, then their conjunction): once everything is empty in
        # DRAIN or FLUSH nothing new enters, so "all empty" two cycles ago is still true
        idle_terms = Signal(12)
        m.d.sync += idle_terms.eq(
            Cat(
                ~issue,
                ~s1_valid,
                ~s2_valid,
                enc.idle,
                dfifo.level == 0,
                fetch.idle,
                cfifo.level == 0,
                pe.idle,
                inflight == 0,
                ~act_issue,
                ~a1_valid,
                ~a2_valid,
            )
        )
        datapath_idle = Signal()
        m.d.sync += datapath_idle.eq(idle_terms.all())

        # ------------------------------------------------------ controller FSM
        def abort_on_soft_reset():
            with m.If(pend_soft):
                m.next = "FLUSH"

        def start_scan_x():
            m.d.sync += j.eq(0)
            m.next = "SCAN_X"

        def send_bias():
            """Queue the bias column (first step after a reset), then go on to SCAN_X."""
            with m.If(bias_sent.bit_select(layer, 1)):
                start_scan_x()
            with m.Elif(can_issue):
                m.d.comb += issue.eq(1)
                m.d.sync += [
                    s1_kind.eq(KIND_BIAS),
                    s1_mask.eq(1),
                    s1_base.eq(0),
                    s1_from_x.eq(0),
                    s1_reuse.eq(0),
                    bias_sent.bit_select(layer, 1).eq(1),
                ]
                start_scan_x()
            with m.Else():
                m.next = "BIAS"

        check_wait = Signal(2)
        with m.FSM(name="ctrl") as ctrl_fsm:
            with m.State("IDLE"):
                with m.If(pend_soft | regs.soft_reset):
                    m.next = "FLUSH"
                with m.Elif(pend_reset_state | regs.reset_state):
                    m.next = "CLEAR"
                with m.Elif(regs.running & self.x_in.valid):
                    m.d.sync += check_wait.eq(0)
                    m.next = "CHECK"

            with m.State("CHECK"):
                # the registered configuration check sees the registers of two cycles ago
                m.d.sync += check_wait.eq(check_wait + 1)
                with m.If(check_wait == 2):
                    with m.If(cfg_ok):
                        # Θ of every layer is latched once per step
                        m.d.sync += [
                            layer.eq(0),
                            layer0.eq(1),
                            ref_base.eq(0),
                            h_base.eq(0),
                            acc_base.eq(0),
                        ]
                        for i in range(L):
                            m.d.sync += [
                                thx[i].eq(regs.theta_x[i][:16]),
                                thh[i].eq(regs.theta_h[i][:16]),
                            ]
                        m.next = "LSTART"
                    with m.Else():
                        m.d.comb += regs.set_error.eq(1)
                        m.next = "IDLE"

            with m.State("LSTART"):
                m.d.sync += [
                    n_in.eq(regs.input_size[layer]),
                    n_hid.eq(regs.hidden_size[layer]),
                    rpg.eq(regs.rows_per_gate[layer]),
                    lay_bias.eq(regs.bias_addr[layer]),
                    lay_col.eq(regs.column_addr[layer]),
                    stride.eq(regs.column_stride[layer]),
                    theta_x.eq(Array(thx)[layer]),
                    theta_h.eq(Array(thh)[layer]),
                    last_layer.eq(layer == regs.num_layers - 1),
                    cnt_x.eq(0),
                    cnt_h.eq(0),
                ]
                m.next = "LSETUP"
                abort_on_soft_reset()

            with m.State("LSETUP"):
                m.d.sync += [
                    g_in.eq((n_in + P - 1) >> lg_p),
                    g_hid.eq((n_hid + P - 1) >> lg_p),
                    n_in_m1.eq(n_in - 1),
                    groups.eq(rpg >> lg_p),
                    rpg3.eq(rpg + (rpg << 1)),  # adds, not a multiplier (DSP)
                    bias_beats.eq(((rpg << 2) + hw.bus_bytes - 1) >> lg_bb),
                    bias_addr.eq(regs.weight_base + lay_bias),
                    col_addr.eq(regs.weight_base + lay_col),
                    mask_in_last.eq(last_lanes(n_in)),
                    mask_hid_last.eq(last_lanes(n_hid)),
                    ref_ptr.eq(ref_base),
                    h_ptr.eq(hin_base),
                ]
                m.next = "LSETUP2"
                abort_on_soft_reset()

            with m.State("LSETUP2"):
                m.d.sync += [
                    g_in_m1.eq(g_in - 1),
                    g_hid_m1.eq(g_hid - 1),
                    col_beats.eq((rpg3 + hw.bus_bytes - 1) >> lg_bb),
                ]
                send_bias()
                abort_on_soft_reset()

            with m.State("BIAS"):
                send_bias()
                abort_on_soft_reset()

            with m.State("SCAN_X"):
                with m.If(layer0):  # noqa: SIM117 (Amaranth If blocks)
                    # one x_in element per cycle, into its lane of the x̂ row group
                    with m.If(can_issue & self.x_in.valid):
                        m.d.comb += [self.x_in.ready.eq(1), issue.eq(1)]
                        with m.If(j == 0):
                            m.d.sync += [cyc.eq(0), counting.eq(1)]
                        m.d.sync += [
                            s1_kind.eq(KIND_INPUT),
                            s1_mask.eq(Const(1, P) << j[:lg_p] if lg_p else 1),
                            s1_base.eq(j & ~(P - 1)),
                            s1_from_x.eq(1),
                            s1_reuse.eq(j[:lg_p] != 0 if lg_p else 0),
                            s1_x.eq(self.x_in.payload),
                            s1_ref_addr.eq(ref_ptr),
                            j.eq(j + 1),
                        ]
                        if lg_p:
                            with m.If(j[:lg_p] == P - 1):
                                m.d.sync += ref_ptr.eq(ref_ptr + 1)
                        else:
                            m.d.sync += ref_ptr.eq(ref_ptr + 1)
                        with m.If(j == n_in_m1):
                            m.d.sync += [
                                j.eq(0),
                                ref_ptr.eq(ref_base + gx),
                                h_ptr.eq(h_base),
                            ]
                            m.next = "SCAN_H"
                with m.Else(), m.If(can_issue & avail_nz):
                    m.d.comb += [issue.eq(1), scan_take.eq(1)]
                    m.d.sync += [
                        s1_kind.eq(KIND_INPUT),
                        s1_mask.eq(Mux(j == g_in_m1, mask_in_last, (1 << P) - 1)),
                        s1_base.eq(j << lg_p),
                        s1_from_x.eq(0),
                        s1_reuse.eq(0),
                        s1_ref_addr.eq(ref_ptr),
                        j.eq(j + 1),
                        ref_ptr.eq(ref_ptr + 1),
                        h_ptr.eq(h_ptr + 1),
                    ]
                    with m.If(j == g_in_m1):
                        m.d.sync += [
                            j.eq(0),
                            ref_ptr.eq(ref_base + gx),
                            h_ptr.eq(h_base),
                        ]
                        m.next = "SCAN_H"
                abort_on_soft_reset()

            with m.State("SCAN_H"):
                with m.If(can_issue):
                    m.d.comb += issue.eq(1)
                    m.d.sync += [
                        s1_kind.eq(KIND_HIDDEN),
                        s1_mask.eq(Mux(j == g_hid_m1, mask_hid_last, (1 << P) - 1)),
                        s1_base.eq(n_in + (j << lg_p)),
                        s1_from_x.eq(0),
                        s1_reuse.eq(0),
                        s1_ref_addr.eq(ref_ptr),
                        j.eq(j + 1),
                        ref_ptr.eq(ref_ptr + 1),
                        h_ptr.eq(h_ptr + 1),
                    ]
                    with m.If(j == g_hid_m1):
                        m.next = "DRAIN"
                abort_on_soft_reset()

            with m.State("DRAIN"):
                with m.If(datapath_idle):
                    m.d.sync += [
                        Array(nz_x)[layer].eq(cnt_x),
                        Array(nz_h)[layer].eq(cnt_h),
                        ga.eq(g_hid),
                        ga_nz.eq(1),  # g_hid >= 1
                        avail.eq(0),
                        avail_nz.eq(0),
                        h_act_ptr.eq(h_base),
                        acc_act_ptr.eq(acc_base),
                        wr_ptr.eq(h_base),
                        wr_rem.eq(n_hid),
                        wr_mask_last.eq(mask_hid_last),
                        wr_last.eq(last_layer),
                    ]
                    m.next = "ACT"
                abort_on_soft_reset()

            with m.State("ACT"):
                m.d.comb += h_rd.addr.eq(h_act_ptr)
                with m.If(ga_nz & (act_room | ~last_layer)):
                    m.d.comb += act_issue.eq(1)
                    m.d.sync += [
                        ga.eq(ga - 1),
                        ga_nz.eq(ga != 1),
                        h_act_ptr.eq(h_act_ptr + 1),
                        acc_act_ptr.eq(acc_act_ptr + 1),
                    ]
                with m.If(~last_layer & ~ga_nz):
                    # all row groups issued: the next layer starts; its scan of row group j
                    # waits for this layer's h of row group j (``avail``)
                    m.d.sync += [
                        layer.eq(layer + 1),
                        layer0.eq(0),
                        ref_base.eq(ref_base + refg),
                        h_base.eq(h_base + gmax),
                        hin_base.eq(h_base),
                        acc_base.eq(acc_base + gmax),
                    ]
                    m.next = "LSTART"
                with m.If(last_layer & ~ga_nz & (inflight == 0) & ~act_issue):
                    m.next = "DONE"
                abort_on_soft_reset()

            with m.State("DONE"):
                with m.If((ofifo.level == 0) & ~counting):
                    m.next = "IDLE"
                abort_on_soft_reset()

            with m.State("FLUSH"):
                m.d.comb += flushing.eq(1)
                with m.If(datapath_idle):
                    m.d.sync += [pend_soft.eq(0), counting.eq(0)]
                    m.next = "CLEAR"

            with m.State("CLEAR"):
                m.d.comb += [clr_en.eq(1), flushing.eq(1)]
                m.d.sync += clr_addr.eq(clr_addr + 1)
                with m.If(clr_addr == clr_depth - 1):
                    m.d.sync += [
                        clr_addr.eq(0),
                        resv.eq(0),
                        act_room.eq(1),
                        bias_sent.eq(0),
                        pend_reset_state.eq(0),
                        step_count.eq(0),
                    ]
                    m.next = "IDLE"

        with m.If(regs.soft_reset):
            m.d.sync += step_cycles.eq(0)
            for i in range(L):
                m.d.sync += [nz_x[i].eq(0), nz_h[i].eq(0)]
        m.d.comb += regs.busy.eq(~ctrl_fsm.ongoing("IDLE"))
        return m
