"""The trained models shipped with edgedrnn (see ``README.md`` in this folder).

The one place that knows where they are: the CLI (``demo``, ``evaluate``), the report and
the benchmarks take their paths from here. Each model is a ``.pt`` (the float head run on
the host, the feature normalisation, the classes or vocabulary and the training command;
load it with :func:`edgedrnn.train.load_model`) beside its compiled
:class:`edgedrnn.Program` (``.edrnn``, the quantized DeltaGRU itself).

================= ======================================================================
name              model
================= ======================================================================
digits            connected spoken digits (CTC), 2-layer DeltaGRU, 256 units
japanese-vowels   UEA JapaneseVowels speaker classification, 1-layer DeltaGRU, 128 units
================= ======================================================================

:data:`MODELS` maps these names to the ``.pt`` files; :func:`model_path` looks them up
(``edgedrnn evaluate japanese-vowels`` takes a name wherever it takes a model file).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DIGITS_MODEL",
    "DIGITS_PROGRAM",
    "FOLDER",
    "JAPANESE_VOWELS_MODEL",
    "JAPANESE_VOWELS_PROGRAM",
    "MODELS",
    "model_path",
]

#: The folder of the bundled models.
FOLDER = Path(__file__).resolve().parent
#: The spoken-digits model (2-layer DeltaGRU, 256 units, CTC head) for ``load_model``.
DIGITS_MODEL = FOLDER / "digits.pt"
#: Its compiled Program (``Program.load``).
DIGITS_PROGRAM = FOLDER / "digits.edrnn"
#: The JapaneseVowels speaker classifier (1-layer DeltaGRU, 128 units, 9 classes).
JAPANESE_VOWELS_MODEL = FOLDER / "japanese_vowels.pt"
#: Its compiled Program (``Program.load``).
JAPANESE_VOWELS_PROGRAM = FOLDER / "japanese_vowels.edrnn"
#: Name -> model file of every shipped model.
MODELS: dict[str, Path] = {
    "digits": DIGITS_MODEL,
    "japanese-vowels": JAPANESE_VOWELS_MODEL,
}


def model_path(name: str) -> Path:
    """The ``.pt`` file of the shipped model ``name`` (a key of :data:`MODELS`).

    Raises
    ------
    KeyError
        No shipped model has that name (the message lists the names).
    """
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(
            f"no shipped model named {name!r}; choose one of {', '.join(MODELS)}"
        ) from None
