"""The trained models shipped with edgedrnn (see ``README.md`` in this folder).

The one place that knows where they are: the CLI (``demo``, ``evaluate``), the report and
the benchmarks take their paths from here.

``digits.pt`` holds the float CTC head, the feature normalisation and the vocabulary of the
spoken-digits model (load it with :func:`edgedrnn.train.load_model`); ``digits.edrnn`` is
its compiled :class:`edgedrnn.Program`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DIGITS_MODEL", "DIGITS_PROGRAM", "FOLDER"]

#: The folder of the bundled models.
FOLDER = Path(__file__).resolve().parent
#: The spoken-digits model (2-layer DeltaGRU, 256 units, CTC head) for ``load_model``.
DIGITS_MODEL = FOLDER / "digits.pt"
#: Its compiled Program (``Program.load``).
DIGITS_PROGRAM = FOLDER / "digits.edrnn"
