"""``edgedrnn report``: the performance report (Markdown, JSON and plots) next to the paper."""

from .build import PAPER, build_report, paper_occupancy

__all__ = ["PAPER", "build_report", "paper_occupancy"]
