"""EdgeDRNN top level: register block, controller, state memories and the datapath blocks.

``EdgeDRNN(hw)`` is a ``wiring.Component`` with one clock domain ``sync`` and four interface
members (docs/rtl.md, docs/register-map.md):

* ``csr``: AXI4-Lite slave (12-bit addresses) for :mod:`edgedrnn.hw.regmap`;
* ``mem``: AXI4 read master for the weight image;
* ``x_in``: the step's input vector, one Q8.8 element per beat;
* ``h_out``: the last layer's new h, one element per beat, ``last`` on the final beat.

Convert with ``amaranth.back.verilog.convert(EdgeDRNN(hw), name="edgedrnn_top")``.

Controller, per step (layers in order)::

    IDLE ─x_in valid─▶ LSTART ─▶ BIAS ─▶ SCAN ─▶ DRAIN ─▶ ACT ─┬▶ LSTART (next layer)
                                                               └▶ DONE ─▶ IDLE

* SCAN walks the layer's elements, inputs then hidden, one per cycle, reading the value
  (``x_in`` for layer 0, else the h memory) and its reference (x̂/ĥ memory), and feeds the
  delta encoder; passed-on deltas go into the delta FIFO, from which the weight fetch issues
  bursts and the command FIFO tells the PE array which Δ belongs to the next column. The
  weight stream therefore runs while the encoder is still scanning.
* DRAIN waits for the last column to be accumulated.
* ACT streams the layer's neurons through the pipelined activation unit, one per cycle; new h
  goes into the h memory and, for the last layer, into the output FIFO to ``h_out``.
"""

from __future__ import annotations

from amaranth import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..program import HardwareConfig
from . import regmap
from .activation import LATENCY as ACT_LATENCY
from .activation import Activation
from .axi import AXI4LiteSignature, AXI4ReadSignature
from .csr import RegisterBlock
from .encoder import DELTA_LAYOUT, DeltaEncoder
from .fetch import WeightFetch
from .pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT, PEArray, groups_max

H_OUT_LAYOUT = data.StructLayout({"data": signed(16), "last": unsigned(1)})

#: Depths of the internal FIFOs.
DELTA_FIFO_DEPTH = 16
CMD_FIFO_DEPTH = 16
OUT_FIFO_DEPTH = 16


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
        gmax = groups_max(hw)
        xw = max(MI, MH)  # input slots per layer in the reference memory
        refw = xw + MH  # x̂ then ĥ of one layer
        clr_depth = max(L * refw, L * MH, L * gmax)

        # ------------------------------------------------------------- blocks
        cfg_val = regmap.config_value(P, hw.bus_bits, L, MH, MI)
        m.submodules.regs = regs = RegisterBlock(L, cfg_val)
        m.submodules.encoder = enc = DeltaEncoder()
        m.submodules.fetch = fetch = WeightFetch(hw)
        m.submodules.pe = pe = PEArray(hw)
        m.submodules.act = act = Activation()
        m.submodules.delta_fifo = dfifo = fifo.SyncFIFOBuffered(
            width=DELTA_LAYOUT.size, depth=DELTA_FIFO_DEPTH
        )
        m.submodules.cmd_fifo = cfifo = fifo.SyncFIFOBuffered(
            width=pe.cmd.payload.shape().size, depth=CMD_FIFO_DEPTH
        )
        m.submodules.out_fifo = ofifo = fifo.SyncFIFOBuffered(
            width=H_OUT_LAYOUT.size, depth=OUT_FIFO_DEPTH
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
        ref_mem = memory.Memory(shape=signed(16), depth=L * refw, init=[])
        h_mem = memory.Memory(shape=signed(16), depth=L * MH, init=[])
        m.submodules.ref_mem, m.submodules.h_mem = ref_mem, h_mem
        ref_rd, ref_wr = ref_mem.read_port(), ref_mem.write_port()
        h_rd, h_wr = h_mem.read_port(), h_mem.write_port()

        # ------------------------------------------------------ layer registers
        layer = Signal(range(L))
        n_in = Signal(16)
        n_hid = Signal(16)
        groups = Signal(range(gmax + 1))
        col_beats, bias_beats = Signal(16), Signal(16)
        bias_addr, col_addr, stride = Signal(32), Signal(32), Signal(32)
        ref_base = Signal(range(L * refw + 1))
        h_base = Signal(range(L * MH + 1))
        hin_base = Signal(range(L * MH + 1))  # h memory of the previous layer
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
            last_layer.eq(layer == regs.num_layers - 1),
            enc.theta_x.eq(Array(thx)[layer]),
            enc.theta_h.eq(Array(thh)[layer]),
        ]

        # ------------------------------------------------------- config check
        cfg_ok = Signal()
        checks = [
            regs.num_layers >= 1,
            regs.num_layers <= L,
            regs.weight_base[:lg_bb] == 0 if lg_bb else True,
        ]
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
        j = Signal(17)  # element index in the layer: inputs 0..I-1, hidden I..I+H-1
        cur_addr = Signal(32)
        s1_valid = Signal()
        s1_kind = Signal(2)
        s1_addr = Signal(32)
        s1_from_x = Signal()
        s1_x = Signal(signed(16))
        s1_ref_addr = Signal.like(ref_rd.addr)
        scan_issue = Signal()

        m.d.comb += [
            enc.elem.valid.eq(s1_valid),
            enc.elem.payload.value.eq(Mux(s1_from_x, s1_x, h_rd.data)),
            enc.elem.payload.ref.eq(ref_rd.data),
            enc.elem.payload.kind.eq(s1_kind),
            enc.elem.payload.addr.eq(s1_addr),
            dfifo.w_data.eq(enc.out.payload.as_value()),
            dfifo.w_en.eq(enc.out.valid),
            enc.out.ready.eq(dfifo.w_rdy),
            ref_wr.addr.eq(s1_ref_addr),
            ref_wr.data.eq(enc.ref_new),
            ref_wr.en.eq(enc.ref_we),
        ]
        with m.If(enc.passed & (s1_kind == KIND_INPUT)):
            m.d.sync += cnt_x.eq(cnt_x + 1)
        with m.If(enc.passed & (s1_kind == KIND_HIDDEN)):
            m.d.sync += cnt_h.eq(cnt_h + 1)
        m.d.sync += s1_valid.eq(0)
        room = dfifo.level + s1_valid < DELTA_FIFO_DEPTH - 2

        # delta FIFO -> fetch request + command FIFO (one handshake for both)
        dout = data.View(DELTA_LAYOUT, dfifo.r_data)
        both = dfifo.r_rdy & fetch.req.ready & cfifo.w_rdy
        m.d.comb += [
            fetch.req.payload.addr.eq(dout.addr),
            fetch.req.payload.kind.eq(dout.kind),
            fetch.req.valid.eq(dfifo.r_rdy & cfifo.w_rdy),
            cfifo.w_data.eq(Cat(dout.delta, dout.kind)),
            cfifo.w_en.eq(dfifo.r_rdy & fetch.req.ready),
            dfifo.r_en.eq(both),
            pe.cmd.payload.eq(cfifo.r_data),
            pe.cmd.valid.eq(cfifo.r_rdy),
            cfifo.r_en.eq(pe.cmd.ready),
        ]

        # ------------------------------------------------------ activation issue
        i_act = Signal(16)  # next neuron to issue
        o_act = Signal(16)  # next neuron to come out
        inflight = Signal(range(ACT_LATENCY + 4))
        a_valid = Signal()
        m.d.sync += a_valid.eq(0)
        m.d.comb += [
            act.i_valid.eq(a_valid),
            act.m_r.eq(pe.act_r),
            act.m_u.eq(pe.act_u),
            act.m_cx.eq(pe.act_cx),
            act.m_ch.eq(pe.act_ch),
            act.h_prev.eq(h_rd.data),
            pe.act_addr.eq(acc_base + (i_act >> lg_p)),
            pe.act_lane.eq(i_act[:lg_p]),
        ]
        act_issue = Signal()
        m.d.sync += inflight.eq(inflight + act_issue - act.o_valid)
        flushing = Signal()
        with m.If(act.o_valid):
            m.d.sync += o_act.eq(o_act + 1)
        m.d.comb += [
            h_wr.addr.eq(h_base + o_act),
            h_wr.data.eq(act.o_h),
            h_wr.en.eq(act.o_valid),
            ofifo.w_en.eq(act.o_valid & last_layer & ~flushing),
            ofifo.w_data.eq(Cat(act.o_h, o_act == n_hid - 1)),
        ]
        out_view = data.View(H_OUT_LAYOUT, ofifo.r_data)
        m.d.comb += [
            self.h_out.payload.eq(out_view),
            self.h_out.valid.eq(ofifo.r_rdy & ~flushing),
            ofifo.r_en.eq(self.h_out.ready | flushing),
        ]
        last_out = self.h_out.valid & self.h_out.ready & out_view.last
        with m.If(last_out):
            m.d.sync += [
                step_cycles.eq(cyc + 1),
                step_count.eq(step_count + 1),
                counting.eq(0),
            ]

        # ------------------------------------------------------ overflow / error
        m.d.comb += [
            regs.set_overflow.eq(enc.overflow | pe.overflow | act.o_overflow),
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
                ref_wr.en.eq(1),
                h_wr.addr.eq(clr_addr),
                h_wr.data.eq(0),
                h_wr.en.eq(1),
            ]

        datapath_idle = (
            ~s1_valid
            & (dfifo.level == 0)
            & fetch.idle
            & (cfifo.level == 0)
            & pe.idle
            & (inflight == 0)
            & ~a_valid
        )

        # ------------------------------------------------------ controller FSM
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
                m.d.sync += [
                    n_in.eq(regs.input_size[layer]),
                    n_hid.eq(regs.hidden_size[layer]),
                    groups.eq(rpg >> lg_p),
                    col_beats.eq((rpg * 3 + hw.bus_bytes - 1) >> lg_bb),
                    bias_beats.eq((rpg * 4 + hw.bus_bytes - 1) >> lg_bb),
                    bias_addr.eq(regs.weight_base + regs.bias_addr[layer]),
                    col_addr.eq(regs.weight_base + regs.column_addr[layer]),
                    stride.eq(regs.column_stride[layer]),
                    ref_base.eq(layer * refw),
                    h_base.eq(layer * MH),
                    hin_base.eq((layer - 1) * MH),
                    acc_base.eq(layer * gmax),
                    cnt_x.eq(0),
                    cnt_h.eq(0),
                    j.eq(0),
                ]
                m.next = "BIAS"

                with m.If(pend_soft):
                    m.next = "FLUSH"

            with m.State("BIAS"):
                m.d.sync += cur_addr.eq(col_addr)
                with m.If(~bias_sent.bit_select(layer, 1)):
                    m.d.sync += [
                        s1_valid.eq(1),
                        s1_kind.eq(KIND_BIAS),
                        s1_addr.eq(bias_addr),
                        bias_sent.bit_select(layer, 1).eq(1),
                    ]
                m.next = "SCAN"

                with m.If(pend_soft):
                    m.next = "FLUSH"

            with m.State("SCAN"):
                is_in = j < n_in
                need_x = is_in & (layer == 0)
                with m.If(room & (~need_x | self.x_in.valid)):
                    m.d.comb += scan_issue.eq(1)
                    m.d.comb += self.x_in.ready.eq(need_x)
                    with m.If(need_x & (j == 0)):
                        m.d.sync += [cyc.eq(0), counting.eq(1)]
                    m.d.comb += [
                        ref_rd.addr.eq(ref_base + Mux(is_in, j, j - n_in + xw)),
                        h_rd.addr.eq(Mux(is_in, hin_base + j, h_base + j - n_in)),
                    ]
                    m.d.sync += [
                        s1_valid.eq(1),
                        s1_kind.eq(Mux(is_in, KIND_INPUT, KIND_HIDDEN)),
                        s1_addr.eq(cur_addr),
                        s1_from_x.eq(need_x),
                        s1_x.eq(self.x_in.payload),
                        s1_ref_addr.eq(ref_base + Mux(is_in, j, j - n_in + xw)),
                        cur_addr.eq(cur_addr + stride),
                        j.eq(j + 1),
                    ]
                    with m.If(j == n_in + n_hid - 1):
                        m.next = "DRAIN"

                with m.If(pend_soft):
                    m.next = "FLUSH"

            with m.State("DRAIN"):
                with m.If(datapath_idle):
                    m.d.sync += [
                        Array(nz_x)[layer].eq(cnt_x),
                        Array(nz_h)[layer].eq(cnt_h),
                        i_act.eq(0),
                        o_act.eq(0),
                    ]
                    m.next = "ACT"

                with m.If(pend_soft):
                    m.next = "FLUSH"

            with m.State("ACT"):
                space = (ofifo.level + inflight + a_valid < OUT_FIFO_DEPTH - 2) | ~last_layer
                with m.If((i_act < n_hid) & space):
                    m.d.comb += [act_issue.eq(1), h_rd.addr.eq(h_base + i_act)]
                    m.d.sync += [a_valid.eq(1), i_act.eq(i_act + 1)]
                with m.If((i_act == n_hid) & (inflight == 0) & ~a_valid):
                    with m.If(last_layer):
                        m.next = "DONE"
                    with m.Else():
                        m.d.sync += layer.eq(layer + 1)
                        m.next = "LSTART"

                with m.If(pend_soft):
                    m.next = "FLUSH"

            with m.State("DONE"):
                with m.If((ofifo.level == 0) & ~counting):
                    m.next = "IDLE"

                with m.If(pend_soft):
                    m.next = "FLUSH"

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
                        bias_sent.eq(0),
                        pend_reset_state.eq(0),
                        step_count.eq(0),
                    ]
                    m.next = "IDLE"

        with m.If(regs.soft_reset):
            m.d.sync += [step_cycles.eq(0)]
            for i in range(L):
                m.d.sync += [nz_x[i].eq(0), nz_h[i].eq(0)]
        m.d.comb += regs.busy.eq(~ctrl_fsm.ongoing("IDLE"))
        return m
