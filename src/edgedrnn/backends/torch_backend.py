"""The ``torch`` backend: the Program run by the fake-quantized :class:`~edgedrnn.DeltaGRU`.

It rebuilds a quantized DeltaGRU whose weights are exactly the Program's (``from_program``)
and runs its eval forward in float64, where every quantity is an exact integer; the result
must equal the reference backend integer for integer. It runs whole sequences only and takes
no options.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import fixedpoint as fp
from ..model import DeltaGRU
from ..program import Program
from ..result import Result
from . import Backend


class TorchBackend(Backend):
    """The ``"torch"`` backend: whole sequences only, no options."""

    name = "torch"

    def run(
        self,
        program: Program,
        x_q: np.ndarray,
        theta_x_q: np.ndarray,
        theta_h_q: np.ndarray,
        **options: Any,
    ) -> Result:
        """Run a whole sequence from reset; see :meth:`edgedrnn.backends.Backend.run`."""
        self.check_options(options)
        model = DeltaGRU.from_program(program).eval()
        x = torch.from_numpy(fp.from_q88(x_q))  # exact: Q8.8 values are dyadic
        with torch.no_grad():
            y, _ = model(
                x,
                theta_x=fp.from_q88(theta_x_q),
                theta_h=fp.from_q88(theta_h_q),
            )
        out = torch.round(y.double() * 256.0).numpy().astype(np.int16)
        nonzero = model.last_nonzero[0].numpy().astype(np.int64)
        return Result(
            outputs_q=out, nonzero=nonzero, overflow=model.last_overflow, backend=self.name
        )


BACKEND = TorchBackend()
