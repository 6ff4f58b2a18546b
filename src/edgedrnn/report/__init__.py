"""``edgedrnn report``: the performance report (Markdown, JSON and plots) next to the paper.

* :mod:`.build`: :func:`build_report`, which writes it;
* :mod:`.rows`: the modelled figures (from :mod:`edgedrnn.perf`) and the paper's;
* :mod:`.sections`: the Markdown sections, and the synthesis and validation inputs;
* :mod:`.plots`: the PNG plots;
* :mod:`.sparsity`: the bundled trained model's occupancy.
"""

from .build import build_report
from .rows import PAPER, paper_occupancy

__all__ = ["PAPER", "build_report", "paper_occupancy"]
