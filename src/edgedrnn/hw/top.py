"""EdgeDRNN top level: the register block, the controller and the datapath components.

``EdgeDRNN(hw)`` is a ``wiring.Component`` with one clock domain ``sync`` and four interface
members (docs/rtl.md, docs/register-map.md):

* ``csr``: AXI4-Lite slave (12-bit addresses) for :mod:`edgedrnn.hw.regmap`;
* ``mem``: AXI4 read master for the weight image;
* ``x_in``: the step's input vector, a row group of NUM_PE Q8.8 elements per beat (element
  ``P·b + k`` in lane k of beat b; the lanes past the input size are ignored);
* ``h_out``: the last layer's new h, a row group per beat in the same order (lanes past the
  hidden size zero), ``last`` on the final beat.

Convert with ``amaranth.back.verilog.convert(EdgeDRNN(hw), name="edgedrnn_top")``.

The top level only connects its components (docs/rtl.md, *Block diagram*)::

    csr ─▶ RegisterBlock ◀─▶ Controller (control.py) ── layer registers, phase strobes
    x_in ─▶ Scan ─▶ DeltaEncoder ─▶ ColumnQueues ─┬─▶ WeightFetch ─▶ mem (AR)
              ▲                                   └─▶ PEArray ◀── mem (R)
              └── new h ── ActivationArray ◀── accumulators ──┘
                                 └─▶ Output ─▶ h_out

All per-neuron state is stored NUM_PE lanes wide (a *row group* of NUM_PE neurons per memory
word), like the accumulators, so that the encoder scans and the activation units process a
whole row group per cycle.
"""

from __future__ import annotations

from amaranth import Cat, Module, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from . import regmap
from .activate import ActivationArray
from .axi import AXI4LiteSignature, AXI4ReadSignature
from .control import Controller
from .csr import RegisterBlock, connect_core
from .encoder import DeltaEncoder
from .fetch import WeightFetch
from .output import Output, h_out_layout
from .pe import PEArray
from .queues import ColumnQueues
from .scan import Scan

__all__ = ["EdgeDRNN", "h_out_layout"]


class EdgeDRNN(wiring.Component):
    """The accelerator: the register block, the controller and the datapath (module docstring).

    Latency: see docs/rtl.md, *Where the cycles go*; the pipeline depths it is made of are
    :mod:`edgedrnn.hw.pipeline`.

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters (NUM_PE, bus width, memory depths).

    Interface attributes
    --------------------
    csr : In(AXI4LiteSignature(12, 32))
        The register block (:mod:`edgedrnn.hw.regmap`).
    mem : Out(AXI4ReadSignature(32, bus_bits))
        Reads the weight image.
    x_in : In(stream.Signature(ArrayLayout(signed(16), NUM_PE)))
        The step's input vector, a row group of Q8.8 elements per beat.
    h_out : Out(stream.Signature(h_out_layout(NUM_PE)))
        The last layer's new h, a row group per beat, ``last`` on the final beat.
    """

    def __init__(self, hw: HardwareConfig) -> None:
        if hw.max_layers > regmap.MAX_LAYERS_ADDRESSABLE:
            raise ValueError(f"max_layers {hw.max_layers} > {regmap.MAX_LAYERS_ADDRESSABLE}")
        self.hw = hw
        super().__init__(
            {
                "csr": In(AXI4LiteSignature(regmap.ADDR_BITS, 32)),
                "mem": Out(AXI4ReadSignature(32, hw.bus_bits)),
                "x_in": In(stream.Signature(data.ArrayLayout(signed(16), hw.num_pe))),
                "h_out": Out(stream.Signature(h_out_layout(hw.num_pe))),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        hw = self.hw
        P, L = hw.num_pe, hw.max_layers
        cfg = regmap.config_value(
            P, hw.bus_bits, L, hw.max_hidden_size, hw.max_input_size, hw.sparse_weights
        )
        m.submodules.regs = regs = RegisterBlock(L, cfg, hw.sparse_weights)
        m.submodules.scan = scan = Scan(hw)
        m.submodules.encoder = enc = DeltaEncoder(P)
        m.submodules.queues = queues = ColumnQueues()
        m.submodules.fetch = fetch = WeightFetch(hw)
        m.submodules.pe = pe = PEArray(hw)
        m.submodules.act = act = ActivationArray(hw)
        m.submodules.output = out = Output(P)
        # the datapath is idle when every block is (the controller registers the terms; the
        # PE array's term runs ahead by those registers: PE_IDLE_LEAD)
        idle = Cat(scan.idle, enc.idle, queues.idle, fetch.idle, pe.idle_soon, act.idle)
        m.submodules.ctrl = ctrl = Controller(hw, idle_terms=len(idle))

        # streams: x_in → scan → encoder → column queues → fetch / PE; new h → output → h_out
        wiring.connect(m, wiring.flipped(self.csr), regs.bus)
        connect_core(m, regs, ctrl.regs)
        wiring.connect(m, wiring.flipped(self.x_in), scan.x_in)
        wiring.connect(m, scan.elem, enc.elem)
        wiring.connect(m, enc.out, queues.deltas)
        wiring.connect(m, queues.req, fetch.req)
        wiring.connect(m, queues.cmd, pe.cmd)
        wiring.connect(m, act.new_h, out.entry)
        wiring.connect(m, out.h_out, wiring.flipped(self.h_out))
        self._connect_memory(m, fetch, pe, ctrl.hold)

        # the scan side (scan, encoder) runs on the controller's layer registers; the weight
        # fetch and the PE array take a column's constants from its context's copy, the
        # activation side from its own (column contexts, docs/rtl.md)
        lay = ctrl.layer
        req_lay = ctrl.ctx_layer[queues.req.payload.ctx]
        cmd_lay = ctrl.ctx_layer[queues.cmd.payload.ctx]
        m.d.comb += [
            queues.ctx.eq(ctrl.ctx),
            scan.layer.eq(lay),
            act.layer.eq(ctrl.act_layer),
            enc.theta_x.eq(lay.theta_x),
            enc.theta_h.eq(lay.theta_h),
            fetch.col_beats.eq(req_lay.col_beats),
            fetch.bias_beats.eq(req_lay.bias_beats),
            fetch.bias_addr.eq(req_lay.bias_addr),
            fetch.col_addr.eq(req_lay.col_addr),
            fetch.stride.eq(req_lay.stride),
            pe.groups.eq(cmd_lay.groups),
            pe.col_beats.eq(cmd_lay.col_beats),
            pe.bias_beats.eq(cmd_lay.bias_beats),
            pe.base.eq(cmd_lay.acc_base),
            ctrl.sent.eq(queues.sent),
            ctrl.landed.eq(pe.landed),
        ]
        if hw.sparse_weights:
            m.d.comb += pe.slots.eq(cmd_lay.slots)
        # controller ↔ datapath
        m.d.comb += [
            ctrl.x_valid.eq(self.x_in.valid),
            ctrl.idle.eq(idle),
            ctrl.overflow.eq(enc.overflow | pe.overflow | act.overflow),
            ctrl.fetch_error.eq(fetch.error),
            scan.setup.eq(ctrl.setup),
            scan.setup_h.eq(ctrl.setup_h),
            scan.bias.eq(ctrl.bias),
            scan.scan_x.eq(ctrl.scan_x),
            scan.scan_h.eq(ctrl.scan_h),
            ctrl.scan_ready.eq(scan.ready),
            ctrl.scan_done.eq(scan.done),
            ctrl.sent_x.eq(queues.sent_x),
            ctrl.sent_h.eq(queues.sent_h),
            act.start.eq(ctrl.act_start),
            act.run.eq(ctrl.act_run),
            ctrl.act_left.eq(act.left),
            ctrl.read_after_next.eq(act.read_after_next),
            ctrl.act_drained.eq(act.drained),
            out.flush.eq(ctrl.flush),
            out.clear.eq(ctrl.clear),
            ctrl.out_empty.eq(out.empty),
            ctrl.out_last.eq(out.last),
            scan.clr_en.eq(ctrl.clr_en),
            scan.clr_addr.eq(ctrl.clr_addr),
            pe.clr_en.eq(ctrl.clr_en),
            pe.clr_addr.eq(ctrl.clr_addr),
        ]
        # the encoder's credit and reference write; the activation side's reads and writes
        m.d.comb += [
            scan.retired.eq(enc.retired),
            scan.ref_we.eq(enc.ref_we),
            scan.ref_addr.eq(enc.ref_addr),
            scan.ref_new.eq(enc.ref_new),
            scan.avail.eq(act.avail),
            scan.written.eq(act.written),
            scan.fwd.eq(act.fwd),
            act.take.eq(scan.take),
            scan.act_sel.eq(ctrl.act_run),
            scan.act_addr.eq(act.h_addr),
            act.h_prev.eq(scan.h_data),
            scan.h_we.eq(act.h_we),
            scan.h_addr.eq(act.h_waddr),
            scan.h_wdata.eq(act.h_wdata),
            pe.act_addr.eq(act.acc_addr),
            act.acc_r.eq(pe.act_r),
            act.acc_u.eq(pe.act_u),
            act.acc_cx.eq(pe.act_cx),
            act.acc_ch.eq(pe.act_ch),
            act.room.eq(out.room),
            act.room2.eq(out.room2),
            out.reserve.eq(act.reserve),
        ]
        return m

    def _connect_memory(self, m: Module, fetch: WeightFetch, pe: PEArray, hold) -> None:
        """AXI: AR from the weight fetch, R straight to the PE array (in order); ``hold``
        stalls R (the activation reads the accumulators through the PE array's port)."""
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
            pe.beats.valid.eq(mem.rvalid & ~hold),
            mem.rready.eq(pe.beats.ready & ~hold),
        ]
