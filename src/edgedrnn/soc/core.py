"""``EdgeDRNNCore``: the accelerator's generated Verilog as a LiteX module, with its buses.

The Amaranth design (:class:`edgedrnn.hw.top.EdgeDRNN`, converted by
:func:`edgedrnn.sim.build.generate_verilog`) comes in as a Verilog ``Instance``:

* ``csr``: its AXI4-Lite register slave, exposed as :attr:`EdgeDRNNCore.csr`, an
  ``AXILiteInterface`` the SoC puts on its bus (LiteX adds the Wishbone→AXI-Lite bridge);
* ``mem``: its AXI4 weight read master, exposed as :attr:`EdgeDRNNCore.mem`, an
  ``AXIInterface`` the SoC connects to a LiteDRAM port (the write channels are tied off);
* ``x_in`` / ``h_out``: stream endpoints :attr:`x_sink` / :attr:`h_source`.
"""

from __future__ import annotations

from litex.gen import LiteXModule
from litex.soc.interconnect import stream
from litex.soc.interconnect.axi import AXIInterface, AXILiteInterface
from migen import ClockSignal, Instance, ResetSignal, Signal

from ..hw import regmap

#: Name of the accelerator's Verilog top module inside the SoC.
CORE_NAME = "edgedrnn_top"


class EdgeDRNNCore(LiteXModule):
    """The accelerator instance and its four interfaces.

    Parameters
    ----------
    num_pe, bus_bits : int
        The :class:`~edgedrnn.config.HardwareConfig` the Verilog was generated for.

    Interface attributes
    --------------------
    csr : AXILiteInterface
        32-bit; the low 12 address bits select a register of the map (docs/register-map.md).
    mem : AXIInterface
        ``bus_bits`` wide, 32-bit byte addresses, id 0, read only.
    x_sink : stream.Endpoint
        ``data`` 16·NUM_PE bits: x_in beats.
    h_source : stream.Endpoint
        ``data`` 16·NUM_PE bits and ``last``: h_out beats.
    """

    def __init__(self, num_pe: int, bus_bits: int) -> None:
        bits = 16 * num_pe
        self.csr = csr = AXILiteInterface(data_width=32, address_width=32)
        self.mem = mem = AXIInterface(data_width=bus_bits, address_width=32, id_width=1)
        self.x_sink = x = stream.Endpoint([("data", bits)])
        self.h_source = h = stream.Endpoint([("data", bits)])
        self.comb += [
            mem.aw.valid.eq(0),
            mem.w.valid.eq(0),
            mem.b.ready.eq(1),
            mem.ar.id.eq(0),
            mem.ar.prot.eq(0),
            mem.ar.cache.eq(0),
            mem.ar.lock.eq(0),
            mem.ar.qos.eq(0),
            x.last.eq(0),
        ]
        h_payload = Signal(bits + 1)
        self.comb += [h.data.eq(h_payload[:bits]), h.last.eq(h_payload[bits])]
        self.specials += Instance(
            CORE_NAME,
            i_clk=ClockSignal("sys"),
            i_rst=ResetSignal("sys"),
            # AXI4-Lite registers
            i_csr__awaddr=csr.aw.addr[: regmap.ADDR_BITS],
            i_csr__awvalid=csr.aw.valid,
            o_csr__awready=csr.aw.ready,
            i_csr__wdata=csr.w.data,
            i_csr__wstrb=csr.w.strb,
            i_csr__wvalid=csr.w.valid,
            o_csr__wready=csr.w.ready,
            o_csr__bresp=csr.b.resp,
            o_csr__bvalid=csr.b.valid,
            i_csr__bready=csr.b.ready,
            i_csr__araddr=csr.ar.addr[: regmap.ADDR_BITS],
            i_csr__arvalid=csr.ar.valid,
            o_csr__arready=csr.ar.ready,
            o_csr__rdata=csr.r.data,
            o_csr__rresp=csr.r.resp,
            o_csr__rvalid=csr.r.valid,
            i_csr__rready=csr.r.ready,
            # AXI4 weight reads
            o_mem__araddr=mem.ar.addr,
            o_mem__arlen=mem.ar.len,
            o_mem__arsize=mem.ar.size,
            o_mem__arburst=mem.ar.burst,
            o_mem__arvalid=mem.ar.valid,
            i_mem__arready=mem.ar.ready,
            i_mem__rdata=mem.r.data,
            i_mem__rresp=mem.r.resp,
            i_mem__rlast=mem.r.last,
            i_mem__rvalid=mem.r.valid,
            o_mem__rready=mem.r.ready,
            # streams
            i_x_in__payload=x.data,
            i_x_in__valid=x.valid,
            o_x_in__ready=x.ready,
            o_h_out__payload=h_payload,
            o_h_out__valid=h.valid,
            i_h_out__ready=h.ready,
        )
