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

from ..program import HardwareConfig
from . import regmap
from .activation import LATENCY as ACT_LATENCY
from .activation import Activation
from .axi import AXI4LiteSignature, AXI4ReadSignature
from .csr import RegisterBlock
from .encoder import DELTA_LAYOUT, DeltaEncoder
from .fetch import WeightFetch, stride_bits
from .pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT, PEArray, groups_max

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
        out_layout = data.StructLayout(
            {"h": word, "count": unsigned(_clog2(P + 1)), "last": unsigned(1)}
        )
        m.submodules.out_fifo = ofifo = fifo.SyncFIFOBuffered(
            width=out_layout.size, depth=OUT_FIFO_DEPTH
        )
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
        ref_mem = memory.Memory(shape=word, depth=L * refg, init=[])
        h_mem = memory.Memory(shape=word, depth=L * gmax, init=[])
        m.submodules.ref_mem, m.submodules.h_mem = ref_mem, h_mem
        ref_rd, ref_wr = ref_mem.read_port(), ref_mem.write_port(granularity=1)
        h_rd, h_wr = h_mem.read_port(), h_mem.write_port(granularity=1)

        # ------------------------------------------------------ layer registers
        layer = Signal(range(max(L, 2)))
        n_in, n_hid = Signal(16), Signal(16)
        g_in, g_hid = Signal(16), Signal(16)  # row groups of the input / hidden vector
        groups = Signal(range(gmax + 1))
        col_beats, bias_beats = Signal(16), Signal(16)
        bias_addr, col_addr, stride = Signal(32), Signal(32), Signal(32)
        ref_base = Signal(range(L * refg + 1))
        h_base = Signal(range(L * gmax + 1))
        hin_base = Signal(range(L * gmax + 1))  # h memory of the previous layer
        acc_base = Signal(range(L * gmax + 1))
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
            last_layer.eq(layer == regs.num_layers - 1),
            enc.theta_x.eq(Array(thx)[layer]),
            enc.theta_h.eq(Array(thh)[layer]),
        ]

        # ------------------------------------------------------- config check
        cfg_ok = Signal()
        checks = [regs.num_layers >= 1, regs.num_layers <= L]
        if lg_bb:
            checks.append(regs.weight_base[:lg_bb] == 0)
        for i in range(L):
            used = regs.num_layers > i
            isz, hsz = regs.input_size[i], regs.hidden_size[i]
            rpg = regs.rows_per_gate[i]
            ok = (
                (isz >= 1)
                & (isz <= (MI if i == 0 else MH))
                & (hsz >= 1)
                & (hsz <= MH)
                & (rpg >= hsz)
                & (rpg <= gmax * P)
                & (rpg[:lg_p] == 0)
                & (regs.column_stride[i][:lg_bb] == 0 if lg_bb else Const(1))
                & (regs.column_stride[i] < (1 << stride_bits(hw)))
            )
            if i > 0:
                ok &= isz == regs.hidden_size[i - 1]
            checks.append(~used | ok)
        m.d.comb += cfg_ok.eq(Cat(*checks).all())

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
        # Stage 0 issues the reads of a row group (or takes an x_in beat); stage 1 is the read
        # ports' outputs (held with en=0 while the encoder is busy) plus these registers.
        j = Signal(17)  # layer 0 inputs: element index; otherwise row group index
        s1_valid = Signal()
        s1_kind = Signal(2)
        s1_mask = Signal(P)
        s1_base = Signal(16)
        s1_from_x = Signal()
        s1_x = Signal(signed(16))
        s1_ref_addr = Signal.like(ref_rd.addr)
        adv = Signal()  # stage 1 is free next cycle
        m.d.comb += adv.eq(~s1_valid | enc.elem.ready)
        scan_rd_en = Signal()
        m.d.comb += [ref_rd.en.eq(scan_rd_en), h_rd.en.eq(scan_rd_en)]
        with m.If(adv):
            m.d.sync += s1_valid.eq(0)

        m.d.comb += [
            enc.elem.valid.eq(s1_valid),
            enc.elem.payload.refs.eq(ref_rd.data),
            enc.elem.payload.kind.eq(s1_kind),
            enc.elem.payload.mask.eq(s1_mask),
            enc.elem.payload.base.eq(s1_base),
            dfifo.w_data.eq(enc.out.payload.as_value()),
            dfifo.w_en.eq(enc.out.valid),
            enc.out.ready.eq(dfifo.w_rdy),
            ref_wr.addr.eq(s1_ref_addr),
            ref_wr.data.eq(enc.ref_new),
            ref_wr.en.eq(enc.ref_we),
        ]
        for k in range(P):
            m.d.comb += enc.elem.payload.values[k].eq(Mux(s1_from_x, s1_x, h_rd.data[k]))
        sent = enc.out.valid & enc.out.ready
        with m.If(sent & (enc.out.payload.kind == KIND_INPUT)):
            m.d.sync += cnt_x.eq(cnt_x + 1)
        with m.If(sent & (enc.out.payload.kind == KIND_HIDDEN)):
            m.d.sync += cnt_h.eq(cnt_h + 1)

        def lane_mask(group, size):
            """Lanes of row group ``group`` that exist in a vector of ``size`` elements."""
            first = group << lg_p
            return Cat(*[(first + k) < size for k in range(P)])

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
        ga = Signal(16)  # next row group to issue
        go = Signal(16)  # next row group to come out
        inflight = Signal(range(ACT_LATENCY + 4))
        a_valid = Signal()
        m.d.sync += a_valid.eq(0)
        m.d.comb += pe.act_addr.eq(acc_base + ga)
        for k, a in enumerate(acts):
            m.d.comb += [
                a.i_valid.eq(a_valid),
                a.m_r.eq(pe.act_r[k]),
                a.m_u.eq(pe.act_u[k]),
                a.m_cx.eq(pe.act_cx[k]),
                a.m_ch.eq(pe.act_ch[k]),
                a.h_prev.eq(h_rd.data[k]),
            ]
        act_issue = Signal()
        o_valid = acts[0].o_valid
        m.d.sync += inflight.eq(inflight + act_issue - o_valid)
        with m.If(o_valid):
            m.d.sync += go.eq(go + 1)
        # the h writer's own copy of the layer constants: the next layer may already be
        # scanning while this layer's last row groups are still in the activation pipeline
        wr_base = Signal.like(h_base)
        wr_nhid = Signal(16)
        wr_last = Signal()
        out_mask = Signal(P)
        m.d.comb += out_mask.eq(lane_mask(go, wr_nhid))
        flushing = Signal()
        ovf_act = Signal()
        m.d.comb += ovf_act.eq(o_valid & (Cat(*[a.o_overflow for a in acts]) & out_mask).any())
        remaining = Signal(16)
        m.d.comb += remaining.eq(wr_nhid - (go << lg_p))
        out_entry = Signal(out_layout)
        m.d.comb += [
            h_wr.addr.eq(wr_base + go),
            h_wr.en.eq(Mux(o_valid, out_mask, 0)),
            out_entry.count.eq(Mux(remaining > P, P, remaining)),
            out_entry.last.eq(remaining <= P),
            ofifo.w_en.eq(o_valid & wr_last & ~flushing),
            ofifo.w_data.eq(out_entry.as_value()),
        ]
        for k, a in enumerate(acts):
            m.d.comb += [h_wr.data[k].eq(a.o_h), out_entry.h[k].eq(a.o_h)]

        # output serializer: one element per beat
        o_lane = Signal(range(P))
        head = data.View(out_layout, ofifo.r_data)
        m.d.comb += [
            self.h_out.payload.data.eq(head.h[o_lane]),
            self.h_out.payload.last.eq(head.last & (o_lane == head.count - 1)),
            self.h_out.valid.eq(ofifo.r_rdy & ~flushing),
        ]
        with m.If(flushing):
            m.d.comb += ofifo.r_en.eq(1)
            m.d.sync += o_lane.eq(0)
        with m.Elif(self.h_out.valid & self.h_out.ready):
            with m.If(o_lane == head.count - 1):
                m.d.comb += ofifo.r_en.eq(1)
                m.d.sync += o_lane.eq(0)
            with m.Else():
                m.d.sync += o_lane.eq(o_lane + 1)
        last_out = self.h_out.valid & self.h_out.ready & self.h_out.payload.last
        with m.If(last_out):
            m.d.sync += [
                step_cycles.eq(cyc + 1),
                step_count.eq(step_count + 1),
                counting.eq(0),
            ]

        # ------------------------------------------------------ overflow / error
        m.d.comb += [
            regs.set_overflow.eq(enc.overflow | pe.overflow | ovf_act),
            regs.set_error.eq(fetch.error),
        ]

        # clearing
        clr_addr = Signal(range(clr_depth + 1))
        clr_en = Signal()
        m.d.comb += [pe.clr_en.eq(clr_en), pe.clr_addr.eq(clr_addr)]
        with m.If(clr_en):
            m.d.comb += [
                ref_wr.addr.eq(clr_addr),
                ref_wr.data.eq(0),
                ref_wr.en.eq((1 << P) - 1),
                h_wr.addr.eq(clr_addr),
                h_wr.data.eq(0),
                h_wr.en.eq((1 << P) - 1),
            ]

        datapath_idle = (
            ~s1_valid
            & ~enc.out.valid
            & (dfifo.level == 0)
            & fetch.idle
            & (cfifo.level == 0)
            & pe.idle
            & (inflight == 0)
            & ~a_valid
        )

        # ------------------------------------------------------ controller FSM
        def abort_on_soft_reset():
            with m.If(pend_soft):
                m.next = "FLUSH"

        def send_bias():
            """Queue the bias column (first step after a reset), then go on to SCAN_X."""
            with m.If(bias_sent.bit_select(layer, 1)):
                m.next = "SCAN_X"
            with m.Elif(adv):
                m.d.sync += [
                    s1_valid.eq(1),
                    s1_kind.eq(KIND_BIAS),
                    s1_mask.eq(1),
                    s1_base.eq(0),
                    bias_sent.bit_select(layer, 1).eq(1),
                ]
                m.next = "SCAN_X"
            with m.Else():
                m.next = "BIAS"

        with m.FSM(name="ctrl") as ctrl_fsm:
            with m.State("IDLE"):
                with m.If(pend_soft | regs.soft_reset):
                    m.next = "FLUSH"
                with m.Elif(pend_reset_state | regs.reset_state):
                    m.next = "CLEAR"
                with m.Elif(regs.running & self.x_in.valid):
                    with m.If(cfg_ok):
                        m.d.sync += layer.eq(0)
                        for i in range(L):
                            m.d.sync += [
                                thx[i].eq(regs.theta_x[i][:16]),
                                thh[i].eq(regs.theta_h[i][:16]),
                            ]
                        m.next = "LSTART"
                    with m.Else():
                        m.d.comb += regs.set_error.eq(1)

            with m.State("LSTART"):
                rpg = regs.rows_per_gate[layer]
                isz, hsz = regs.input_size[layer], regs.hidden_size[layer]
                m.d.sync += [
                    n_in.eq(isz),
                    n_hid.eq(hsz),
                    g_in.eq((isz + P - 1) >> lg_p),
                    g_hid.eq((hsz + P - 1) >> lg_p),
                    groups.eq(rpg >> lg_p),
                    col_beats.eq((rpg * 3 + hw.bus_bytes - 1) >> lg_bb),
                    bias_beats.eq((rpg * 4 + hw.bus_bytes - 1) >> lg_bb),
                    bias_addr.eq(regs.weight_base + regs.bias_addr[layer]),
                    col_addr.eq(regs.weight_base + regs.column_addr[layer]),
                    stride.eq(regs.column_stride[layer]),
                    ref_base.eq(layer * refg),
                    h_base.eq(layer * gmax),
                    hin_base.eq((layer - 1) * gmax),
                    acc_base.eq(layer * gmax),
                    cnt_x.eq(0),
                    cnt_h.eq(0),
                    j.eq(0),
                ]
                send_bias()
                abort_on_soft_reset()

            with m.State("BIAS"):
                send_bias()
                abort_on_soft_reset()

            with m.State("SCAN_X"):
                m.d.comb += scan_rd_en.eq(adv)
                with m.If(layer == 0):  # noqa: SIM117 (Amaranth If blocks)
                    # one x_in element per cycle, into its lane of the x̂ row group
                    with m.If(adv & self.x_in.valid):
                        m.d.comb += [self.x_in.ready.eq(1), ref_rd.addr.eq(ref_base + (j >> lg_p))]
                        with m.If(j == 0):
                            m.d.sync += [cyc.eq(0), counting.eq(1)]
                        m.d.sync += [
                            s1_valid.eq(1),
                            s1_kind.eq(KIND_INPUT),
                            s1_mask.eq(Const(1, P) << j[:lg_p] if lg_p else 1),
                            s1_base.eq(j & ~(P - 1)),
                            s1_from_x.eq(1),
                            s1_x.eq(self.x_in.payload),
                            s1_ref_addr.eq(ref_base + (j >> lg_p)),
                            j.eq(j + 1),
                        ]
                        with m.If(j == n_in - 1):
                            m.d.sync += j.eq(0)
                            m.next = "SCAN_H"
                with m.Else(), m.If(adv & (j < go)):
                    m.d.comb += [ref_rd.addr.eq(ref_base + j), h_rd.addr.eq(hin_base + j)]
                    m.d.sync += [
                        s1_valid.eq(1),
                        s1_kind.eq(KIND_INPUT),
                        s1_mask.eq(lane_mask(j, n_in)),
                        s1_base.eq(j << lg_p),
                        s1_from_x.eq(0),
                        s1_ref_addr.eq(ref_base + j),
                        j.eq(j + 1),
                    ]
                    with m.If(j == g_in - 1):
                        m.d.sync += j.eq(0)
                        m.next = "SCAN_H"
                abort_on_soft_reset()

            with m.State("SCAN_H"):
                m.d.comb += scan_rd_en.eq(adv)
                with m.If(adv):
                    m.d.comb += [
                        ref_rd.addr.eq(ref_base + gx + j),
                        h_rd.addr.eq(h_base + j),
                    ]
                    m.d.sync += [
                        s1_valid.eq(1),
                        s1_kind.eq(KIND_HIDDEN),
                        s1_mask.eq(lane_mask(j, n_hid)),
                        s1_base.eq(n_in + (j << lg_p)),
                        s1_from_x.eq(0),
                        s1_ref_addr.eq(ref_base + gx + j),
                        j.eq(j + 1),
                    ]
                    with m.If(j == g_hid - 1):
                        m.next = "DRAIN"
                abort_on_soft_reset()

            with m.State("DRAIN"):
                m.d.comb += scan_rd_en.eq(adv)
                with m.If(datapath_idle):
                    m.d.sync += [
                        Array(nz_x)[layer].eq(cnt_x),
                        Array(nz_h)[layer].eq(cnt_h),
                        ga.eq(0),
                        go.eq(0),
                        wr_base.eq(h_base),
                        wr_nhid.eq(n_hid),
                        wr_last.eq(last_layer),
                    ]
                    m.next = "ACT"
                abort_on_soft_reset()

            with m.State("ACT"):
                m.d.comb += scan_rd_en.eq(1)
                room = ofifo.level + inflight + a_valid < OUT_FIFO_DEPTH - 2
                with m.If((ga < g_hid) & (room | ~last_layer)):
                    m.d.comb += [act_issue.eq(1), h_rd.addr.eq(h_base + ga)]
                    m.d.sync += [a_valid.eq(1), ga.eq(ga + 1)]
                with m.If(~last_layer & (ga == g_hid)):
                    # all row groups issued: the next layer starts; its scan of row group j
                    # waits for this layer's h of row group j (``j < go``)
                    m.d.sync += layer.eq(layer + 1)
                    m.next = "LSTART"
                with m.If(last_layer & (ga == g_hid) & (inflight == 0) & ~a_valid):
                    m.next = "DONE"
                abort_on_soft_reset()

            with m.State("DONE"):
                with m.If((ofifo.level == 0) & ~counting):
                    m.next = "IDLE"
                abort_on_soft_reset()

            with m.State("FLUSH"):
                m.d.comb += [flushing.eq(1), scan_rd_en.eq(1)]
                m.d.sync += s1_valid.eq(0)
                with m.If(datapath_idle):
                    m.d.sync += [pend_soft.eq(0), counting.eq(0)]
                    m.next = "CLEAR"

            with m.State("CLEAR"):
                m.d.comb += [clr_en.eq(1), flushing.eq(1)]
                m.d.sync += clr_addr.eq(clr_addr + 1)
                with m.If(clr_addr == clr_depth - 1):
                    m.d.sync += [
                        clr_addr.eq(0),
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
