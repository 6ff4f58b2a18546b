"""``SoCSimulation``: one run of the cached SoC simulator, with the weights in its DRAM.

Each run gets its own folder: links to the build's simulator modules, a ``sim_config.js``
with a free TCP port for the UART bridge (``serial2tcp``) and the DRAM model's bank init
files holding the weight image at its DRAM offset, laid out as LiteDRAM's ROW_BANK_COL
address mapping (the controller's default) puts consecutive bytes: for each row, a column
block of each bank in turn. ``$readmemh`` loads them when the simulator starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from .build import BANKS_FILE, SIM_BINARY


class SoCSimulationError(RuntimeError):
    """The simulator did not start, or died."""


def bank_images(image: bytes, offset: int, banks: dict[str, object]) -> list[list[int]]:
    """Words of each DRAM bank memory for ``image`` at byte ``offset`` of the DRAM.

    Parameters
    ----------
    image : bytes
        The contents (a Program's weight image).
    offset : int
        DRAM byte address of its first byte.
    banks : dict
        The build's ``banks.json``: ``nbanks``, ``nrows``, ``ncols``, ``databits`` (DRAM
        pins) and ``data_width`` (bits per model word).

    Returns
    -------
    list of list of int
        Per bank, its words from address 0 (little-endian bytes, as LiteDRAM's init).
    """
    nbanks, nrows, ncols = int(banks["nbanks"]), int(banks["nrows"]), int(banks["ncols"])
    word = int(banks["data_width"]) // 8
    chunk_bytes = int(banks["databits"]) // 8 * ncols  # one row of one bank
    data = bytes(offset) + bytes(image)
    data += bytes(-len(data) % chunk_bytes)
    if len(data) > chunk_bytes * nbanks * nrows:
        raise ValueError(f"{len(data)} bytes do not fit the simulated DRAM")
    out: list[list[int]] = [[] for _ in range(nbanks)]
    for k in range(len(data) // chunk_bytes):
        chunk = data[k * chunk_bytes : (k + 1) * chunk_bytes]
        out[k % nbanks].extend(
            int.from_bytes(chunk[i : i + word], "little") for i in range(0, len(chunk), word)
        )
    return out


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the Python process that started the
    simulator dies, so a killed test run leaves no simulator spinning."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SoCSimulation:
    """Start the SoC simulator of a build with ``image`` preloaded; a context manager.

    Parameters
    ----------
    build_dir : pathlib.Path
        From :func:`edgedrnn.soc.build.build_soc`.
    image : bytes
        DRAM contents to preload (empty: none).
    offset : int
        DRAM byte address of ``image``.
    start_timeout : float
        Seconds to wait for the bridge's TCP port.

    Attributes
    ----------
    port : int
        The TCP port of the UART bridge on 127.0.0.1.
    sock : socket.socket
        The connection to the bridge (the simulator takes one).
    run_dir : pathlib.Path
        The run's folder (``sim.log`` has the simulator's output).
    """

    def __init__(
        self, build_dir: Path, image: bytes = b"", offset: int = 0, start_timeout: float = 30.0
    ) -> None:
        self.build_dir = Path(build_dir)
        self.run_dir = Path(tempfile.mkdtemp(prefix="edgedrnn-soc-"))
        gateware = self.build_dir / "gateware"
        (self.run_dir / "modules").symlink_to(gateware / "modules")
        banks = json.loads((self.build_dir / BANKS_FILE).read_text())
        digits = int(banks["width_hex_digits"])
        for name, words in zip(banks["files"], bank_images(image, offset, banks), strict=True):
            lines = "".join(f"{w:0{digits}x}\n" for w in words) or f"{0:0{digits}x}\n"
            (self.run_dir / name).write_text(lines)
        for extra in gateware.glob("*.init"):  # other memories (identifier ROM)
            if not (self.run_dir / extra.name).exists():
                shutil.copy(extra, self.run_dir / extra.name)
        config = json.loads((gateware / "sim_config.js").read_text())
        self.port = _free_port()
        for module in config:
            if isinstance(module, dict) and module.get("module") == "serial2tcp":
                module["args"]["port"] = self.port
        (self.run_dir / "sim_config.js").write_text(json.dumps(config))
        self._log = open(self.run_dir / "sim.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(self.build_dir / SIM_BINARY)],
            cwd=self.run_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self._wait_listening(start_timeout)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SoCSimulationError(
                    f"the SoC simulator exited ({self.proc.returncode}): {self.log_tail()}"
                )
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
            except OSError:
                time.sleep(0.05)
                continue
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return
        raise SoCSimulationError(f"the SoC simulator's bridge did not open: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the simulator's output."""
        self._log.flush()
        return (self.run_dir / "sim.log").read_text(errors="replace")[-chars:]

    def close(self) -> None:
        """Stop the simulator and remove the run's folder."""
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> SoCSimulation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
