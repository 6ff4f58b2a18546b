"""``open_soc``: a Program configured on a freshly started SoC simulation, for the backend,
the CLI and the benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..host.driver import EdgeDRNNDriver
from ..program import Program
from .build import build_soc
from .config import SoCConfig
from .simulation import SoCSimulation
from .transport import LiteXTransport, UARTBridge


@dataclass
class SoCSession:
    """A running SoC simulation with ``program`` configured and started."""

    simulation: SoCSimulation
    transport: LiteXTransport
    driver: EdgeDRNNDriver


@contextmanager
def open_soc(
    program: Program,
    soc: SoCConfig | None = None,
    *,
    weight_base: int = 0x10000,
    timeout_s: float = 600.0,
    configure: bool = True,
) -> Iterator[SoCSession]:
    """Build (or fetch) the SoC for ``program.hw``, start it with the weight image in its
    DRAM at ``weight_base`` and (``configure``) configure and start ``program`` through the
    host driver; the simulation stops when the block ends.

    Parameters
    ----------
    program : Program
        The network.
    soc : SoCConfig, optional
        The system (default :class:`SoCConfig()`).
    weight_base : int
        DRAM byte offset of the weight image.
    timeout_s : float
        Seconds to wait for any one answer of the bridge.
    configure : bool
        Configure the driver (:meth:`EdgeDRNNDriver.configure`); False leaves it to the
        caller.
    """
    build = build_soc(program.hw, soc or SoCConfig())
    image = bytes(program.weight_image)
    with SoCSimulation(build, image, weight_base) as sim:
        sim.sock.settimeout(timeout_s)
        link = LiteXTransport(
            UARTBridge(sim.sock),
            program.hw.num_pe,
            preloaded=(weight_base, image),
            timeout_s=timeout_s,
        )
        driver = EdgeDRNNDriver(link)
        if configure:
            driver.configure(program, weight_base=weight_base)
        yield SoCSession(simulation=sim, transport=link, driver=driver)
