"""The ``soc`` backend: the accelerator in a LiteX SoC with a DRAM controller, simulated whole.

``edgedrnn.run(program, x, backend="soc", **options)`` builds (or fetches from the cache) the
Verilator simulation of :class:`edgedrnn.soc.system.EdgeDRNNSoC` for ``program.hw``, starts
it with the weight image preloaded into the simulated DRAM and runs the sequence with the
host driver (:class:`edgedrnn.host.EdgeDRNNDriver`) over a
:class:`~edgedrnn.soc.transport.LiteXTransport` on the SoC's UART bridge (docs/soc.md).

``result.latency[t]`` (LATENCY) counts the accelerator under the real memory system: each
step's input is released to it whole, its output FIFO never fills. ``result.cycles[t]``
(STEP_CYCLES) also counts the simulated cycles the host spent on the bridge between steps
(the simulation runs freely while the host talks to it), so it depends on the host.

Options (all keyword):
    sdram_module (str, default ``"MT48LC16M16"``): ``litedram.modules`` class.
    sdram_data_width (int, default 32): DRAM data pins.
    read_buffer_beats (int, default 32): LiteDRAM AXI read buffer (reads in flight).
    sys_clk_hz (int, default 100 MHz): the clock the DRAM timings are computed for.
    weight_base (int, default 0x10000): DRAM byte offset of the weight image.
    timeout_s (float, default 600): seconds to wait for one step's output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..program import Program
from ..result import Result
from ..support.extras import require
from . import Backend

_SOC_OPTIONS = {"sdram_module", "sdram_data_width", "read_buffer_beats", "sys_clk_hz"}
_OPTIONS = _SOC_OPTIONS | {"weight_base", "timeout_s"}


class SoCBackend(Backend):
    """The ``"soc"`` backend: whole sequences on the simulated SoC (no streaming)."""

    name = "soc"

    def run(
        self,
        program: Program,
        x_q: np.ndarray,
        theta_x_q: np.ndarray,
        theta_h_q: np.ndarray,
        **options: Any,
    ) -> Result:
        """Run a whole sequence from reset on the simulated SoC; see the module docstring."""
        self.check_options(options, _OPTIONS)
        require("litex", "the soc backend")
        from ..soc.config import SoCConfig
        from ..soc.session import open_soc

        soc = SoCConfig(**{k: options[k] for k in _SOC_OPTIONS if k in options})
        with open_soc(
            program,
            soc,
            weight_base=int(options.get("weight_base", 0x10000)),
            timeout_s=float(options.get("timeout_s", 600.0)),
        ) as session:
            # the SoC's h_out FIFO takes a step's output on its own: the next input only
            # after this step's registers are read (EdgeDRNNDriver.run, queue_ahead)
            out = session.driver.run(x_q, theta_x_q, theta_h_q, queue_ahead=False)
        return out.to_result(self.name)


BACKEND = SoCBackend()
