"""EdgeDRNN accelerator RTL in Amaranth 0.5 (docs/rtl.md).

* :mod:`edgedrnn.hw.regmap`: the register map (single source for RTL, driver and docs).
* :mod:`edgedrnn.hw.top`: :class:`~edgedrnn.hw.top.EdgeDRNN`, the top level (connects the
  components).
* Components: :mod:`.control` (controller, configuration check), :mod:`.scan` (state
  memories and scan), :mod:`.encoder` (delta encoder), :mod:`.queues` (delta and command
  FIFOs), :mod:`.fetch` (weight fetch, AXI4 read master), :mod:`.pe` (PE array and
  accumulator banks), :mod:`.activate` (activation issue, units, h writer),
  :mod:`.activation` (activation unit), :mod:`.output` (output FIFO and serializer),
  :mod:`.csr` (AXI4-Lite register block), :mod:`.axi` (bus signatures); :mod:`.common`
  (shared sizes, delay lines).
* :mod:`.pipeline`: the pipeline depths and latencies, from which the RTL's cycle model
  (:mod:`edgedrnn.perf.rtl`) is derived.
"""

from __future__ import annotations

from . import regmap

__all__ = ["regmap"]
