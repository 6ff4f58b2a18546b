"""EdgeDRNN accelerator RTL in Amaranth 0.5.

* :mod:`edgedrnn.hw.regmap`: the register map (single source for RTL, driver and docs).
* :mod:`edgedrnn.hw.top`: :class:`~edgedrnn.hw.top.EdgeDRNN`, the top level.
* Blocks: :mod:`.axi` (bus signatures), :mod:`.csr` (AXI4-Lite register block),
  :mod:`.encoder` (delta encoder), :mod:`.fetch` (weight fetch, AXI4 read master),
  :mod:`.pe` (PE array), :mod:`.activation` (activation unit).

docs/rtl.md describes the design.
"""

from __future__ import annotations

from . import regmap

__all__ = ["regmap"]
