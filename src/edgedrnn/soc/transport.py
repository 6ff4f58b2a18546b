"""``LiteXTransport``: the host driver's :class:`~edgedrnn.host.transport.Transport` over a
LiteX bridge to the SoC's bus.

The bridge speaks LiteX's UART bridge protocol (``litex.soc.cores.uart.Stream2Wishbone``, the
host side of which is ``litex.tools.remote.comm_uart.CommUART``): a command byte (burst
write / read, incrementing or fixed address), a length byte (1..255 words), a 32-bit word
address and the data words, all big-endian. :class:`UARTBridge` speaks it on any connected
byte stream (here the simulator's ``serial2tcp`` socket; on a board a serial port).
``CommUART`` itself is not used because it splits a fixed-address write into bursts at
increasing addresses; stream FIFOs need the address fixed.
"""

from __future__ import annotations

import socket
import time
from typing import Protocol

import numpy as np

from .streams import H_DATA, H_LAST, H_LEVEL, H_VALID, X_COMMIT, X_DATA, beat_words
from .system import EDGEDRNN_BASE, MAIN_RAM_BASE, STREAMS_BASE

WRITE_INCR, READ_INCR, WRITE_FIXED, READ_FIXED = 0x01, 0x02, 0x03, 0x04
#: Words per bridge command (its length field is one byte).
MAX_BURST = 255
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class ByteLink(Protocol):
    """A connected byte stream (a socket or a serial port)."""

    def sendall(self, data: bytes) -> None: ...
    def recv(self, n: int) -> bytes: ...


class BridgeError(RuntimeError):
    """The bridge closed or timed out."""


class UARTBridge:
    """Read and write 32-bit words on the SoC bus through LiteX's UART bridge.

    Parameters
    ----------
    link : socket.socket
        Connected to the bridge.
    """

    def __init__(self, link: socket.socket) -> None:
        self.link = link

    def write(self, addr: int, words: list[int] | np.ndarray, *, fixed: bool = False) -> None:
        """Write ``words`` from byte address ``addr`` (one address for all when ``fixed``).
        Returns once sent; the bus sees the writes in order, before any later read."""
        words = np.asarray(words, dtype=np.uint32)
        packets = []
        for start in range(0, len(words), MAX_BURST):
            chunk = words[start : start + MAX_BURST]
            where = addr // 4 + (0 if fixed else start)
            head = bytes([WRITE_FIXED if fixed else WRITE_INCR, len(chunk)])
            packets.append(head + where.to_bytes(4, "big") + chunk.astype(">u4").tobytes())
        self.link.sendall(b"".join(packets))

    def read(self, addr: int, n: int = 1, *, fixed: bool = False) -> np.ndarray:
        """Read ``n`` words from byte address ``addr``: uint32 (n,)."""
        out = []
        for start in range(0, n, MAX_BURST):
            count = min(MAX_BURST, n - start)
            where = addr // 4 + (0 if fixed else start)
            head = bytes([READ_FIXED if fixed else READ_INCR, count])
            self.link.sendall(head + where.to_bytes(4, "big"))
            out.append(np.frombuffer(self._recv(4 * count), dtype=">u4"))
        return np.concatenate(out).astype(np.uint32) if out else np.zeros(0, np.uint32)

    def _recv(self, size: int) -> bytes:
        buf = bytearray()
        while len(buf) < size:
            if _QUICKACK is not None and isinstance(self.link, socket.socket):
                # serial2tcp sends byte by byte and Nagle holds each byte until the last is
                # acknowledged: a delayed ACK would cost ~40 ms per answer, QUICKACK ~1 ms
                self.link.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            try:
                part = self.link.recv(size - len(buf))
            except TimeoutError as exc:
                raise BridgeError("no answer from the bridge (timed out)") from exc
            if not part:
                raise BridgeError("the bridge closed the connection")
            buf += part
        return bytes(buf)


class LiteXTransport:
    """The EdgeDRNN in the SoC, through a :class:`UARTBridge`.

    Registers are the AXI-Lite window at :data:`~edgedrnn.soc.system.EDGEDRNN_BASE`; the
    streams go through the :class:`~edgedrnn.soc.streams.StreamWindow`; ``write_memory``
    writes the DRAM through ``main_ram`` unless the bytes are already there (preloaded into
    the simulated DRAM: ``preloaded=(offset, image)``).

    Parameters
    ----------
    bridge : UARTBridge
        The connection to the bus.
    num_pe : int
        Elements per stream beat.
    preloaded : tuple of (int, bytes), optional
        DRAM offset and contents that the DRAM already holds.
    poll_s : float
        Pause between H_LEVEL polls while the accelerator computes.
    timeout_s : float
        How long :meth:`read_stream` waits for output.
    """

    def __init__(
        self,
        bridge: UARTBridge,
        num_pe: int,
        *,
        preloaded: tuple[int, bytes] | None = None,
        poll_s: float = 0.0,
        timeout_s: float = 600.0,
    ) -> None:
        self.bridge = bridge
        self.num_pe = num_pe
        self.words = beat_words(num_pe)
        self.preloaded = preloaded
        self.poll_s = poll_s
        self.timeout_s = timeout_s

    # registers
    def read_reg(self, addr: int) -> int:
        """Read a register of the accelerator."""
        return int(self.bridge.read(EDGEDRNN_BASE + addr)[0])

    def write_reg(self, addr: int, value: int) -> None:
        """Write a register of the accelerator."""
        self.bridge.write(EDGEDRNN_BASE + addr, [value & 0xFFFFFFFF])

    # streams
    def write_stream(self, beats: np.ndarray) -> None:
        """Queue x_in beats (int16 (n, NUM_PE)) and release them together."""
        beats = np.asarray(beats, dtype=np.int16).reshape(-1, self.num_pe)
        if not len(beats):
            return
        lanes = beats.view(np.uint16).astype(np.uint32)
        if self.num_pe % 2:
            lanes = np.pad(lanes, ((0, 0), (0, 1)))
        words = lanes[:, 0::2] | (lanes[:, 1::2] << 16)
        self.bridge.write(STREAMS_BASE + X_DATA, words.reshape(-1), fixed=True)
        self.bridge.write(STREAMS_BASE + X_COMMIT, [len(beats)])

    def read_stream(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Wait for ``n`` h_out beats and pop them: (int16 (n, NUM_PE), bool (n,))."""
        deadline = time.monotonic() + self.timeout_s
        while int(self.bridge.read(STREAMS_BASE + H_LEVEL)[0]) < n:
            if time.monotonic() > deadline:
                raise BridgeError(f"no {n} h_out beats after {self.timeout_s} s")
            if self.poll_s:
                time.sleep(self.poll_s)
        per = self.words + 1
        raw = self.bridge.read(STREAMS_BASE + H_DATA, n * per, fixed=True).reshape(n, per)
        if not (raw[:, 0] & H_VALID).all():
            raise BridgeError("h_out FIFO emptied under the host (H_DATA header not valid)")
        last = (raw[:, 0] & H_LAST).astype(bool)
        lanes = np.stack([raw[:, 1:] & 0xFFFF, raw[:, 1:] >> 16], axis=2).reshape(n, -1)
        data = lanes[:, : self.num_pe].astype(np.uint16).view(np.int16)
        return data, last

    # memory
    def write_memory(self, addr: int, data: bytes) -> None:
        """Make the DRAM hold ``data`` at byte offset ``addr`` (skipped when preloaded)."""
        if self.preloaded is not None:
            base, image = self.preloaded
            lo = addr - base
            if lo >= 0 and image[lo : lo + len(data)] == bytes(data):
                return
        if addr % 4:
            raise ValueError("write_memory needs a word-aligned address")
        padded = bytes(data) + bytes(-len(data) % 4)
        words = np.frombuffer(padded, dtype="<u4")
        self.bridge.write(MAIN_RAM_BASE + addr, words)

    def read_memory(self, addr: int, size: int) -> bytes:
        """Read ``size`` bytes of the DRAM at byte offset ``addr`` (word-aligned)."""
        words = self.bridge.read(MAIN_RAM_BASE + addr, (size + 3) // 4)
        return words.astype("<u4").tobytes()[:size]
