"""The datapath contract (docs/datapath.md) as executable code: the integer golden model.

:class:`~edgedrnn.datapath.reference.ReferenceModel` steps a Program exactly as the contract
says. The ``"reference"`` backend (:mod:`edgedrnn.backends.reference`) and the device
emulator (:mod:`edgedrnn.host.emulator`) both run it.
"""

from .reference import LayerState, ReferenceModel

__all__ = ["LayerState", "ReferenceModel"]
