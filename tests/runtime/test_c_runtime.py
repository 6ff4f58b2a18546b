"""The C runtime (edgedrnn.h / edgedrnn.c) on the host: compiled with gcc, its HAL bound with
ctypes to the register-level emulator, checked integer for integer against the reference
backend and register for register against the Python driver."""

from __future__ import annotations

import ctypes
import dataclasses
import shutil
import struct
import subprocess

import numpy as np
import pytest

import edgedrnn
from edgedrnn.host import EdgeDRNNDriver
from edgedrnn.host.emulator import EmulatedTransport
from edgedrnn.hw import regmap
from edgedrnn.runtime import (
    SPARSE_IMAGE_VERSION,
    c_source_dir,
    image_checksum,
    regs_header,
    to_image,
)
from edgedrnn.runtime.host import CFLAGS, CRuntime, CRuntimeError, compile_library, find_compiler
from output_fifo import OutputFifo
from programs import order_sensitive_program, random_program
from sparse_programs import sparse_and_dense, sparse_layers

pytestmark = pytest.mark.skipif(
    find_compiler() is None, reason="no C compiler (gcc or $CC) to build the C runtime"
)

# edgedrnn_error values (edgedrnn.h)
OK = 0
ERR = {
    "ARGUMENT": -1,
    "NOT_EDGEDRNN": -2,
    "VERSION": -3,
    "IMAGE_MAGIC": -4,
    "IMAGE_VERSION": -5,
    "IMAGE_TRUNCATED": -6,
    "IMAGE_CHECKSUM": -7,
    "IMAGE_LAYOUT": -8,
    "HW_MISMATCH": -9,
    "TOO_LARGE": -10,
    "ALIGNMENT": -11,
    "NOT_CONFIGURED": -12,
    "THRESHOLD": -13,
    "TIMEOUT": -14,
    "STREAM": -15,
    "LAST_FLAG": -16,
    "PADDING": -17,
    "DEVICE": -18,
    "STEP_COUNT": -19,
    "MEMORY": -20,
}
NO_START, NO_CHECKSUM = 1, 2


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return compile_library(tmp_path_factory.mktemp("crt"))


def _case(seed: int, num_pe: int = 8, bus_bits: int = 64):
    """A random 1- or 2-layer Program (sizes not multiples of 8), raw inputs (T, I) and raw
    per-step thresholds (T, L) that change every step."""
    rng = np.random.default_rng(seed)
    layers = int(rng.integers(1, 3))
    sizes = [int(rng.integers(3, 30)) for _ in range(layers + 1)]
    sizes = [s + 1 if s % 8 == 0 else s for s in sizes]
    hw = edgedrnn.HardwareConfig(num_pe=num_pe, bus_bits=bus_bits)
    wmax = int(rng.choice([20, 127]))  # 127: saturates now and then (overflow)
    prog = random_program(rng, sizes, hw, theta_x=13, theta_h=8, wmax=wmax, wmin=-wmax)
    steps = int(rng.integers(4, 12))
    x = rng.integers(-1024, 1025, (steps, sizes[0])).astype(np.int16)
    x[2] = x[1]  # a repeated input: deltas below threshold
    tx = rng.integers(0, 48, (steps, layers))
    th = rng.integers(0, 48, (steps, layers))
    return prog, x, tx, th


def _register_log(tr: EmulatedTransport) -> list[tuple[str, int, int]]:
    return list(tr.log)


def test_shipped_register_header_is_the_generated_one() -> None:
    assert (c_source_dir() / "edgedrnn_regs.h").read_text() == regs_header()
    assert regs_header() == regmap.to_c_header()


@pytest.mark.parametrize("opt", ["-O0", "-Os", "-O2", "-O3"])
def test_library_needs_no_libc(tmp_path, opt) -> None:
    """Freestanding: links with -nostdlib and no undefined symbol (no memcpy either)."""
    src = c_source_dir()
    out = tmp_path / "libfree.so"
    cmd = [
        find_compiler(),
        *CFLAGS,
        opt,
        "-pedantic",
        "-ffreestanding",
        "-nostdlib",
        "-Wl,--no-undefined",
        "-I",
        str(src),
        str(src / "edgedrnn.c"),
        "-o",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("seed", range(6))
def test_run_equals_reference_and_driver(lib, seed) -> None:
    num_pe, bus_bits = [(8, 64), (4, 64), (8, 128)][seed % 3]
    prog, x, tx, th = _case(seed, num_pe, bus_bits)
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx / 256, theta_h=th / 256)

    tr = EmulatedTransport(prog.hw)
    rt = CRuntime(lib, tr)
    assert rt.num_pe == num_pe
    rt.configure(to_image(prog), weight_base=0x1000)
    out = rt.run(x, tx, th)
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(out.nonzero, ref.nonzero)
    assert out.overflow == ref.overflow
    assert bytes(tr.memory[0x1000 : 0x1000 + len(prog.weight_image)]) == prog.weight_image

    # the same register sequence as the Python driver, access for access
    tr_py = EmulatedTransport(prog.hw)
    drv = EdgeDRNNDriver(tr_py)
    drv.configure(prog, weight_base=0x1000)
    py = drv.run(x, tx, th)
    np.testing.assert_array_equal(py.outputs_q, out.outputs_q)
    assert _register_log(tr) == _register_log(tr_py)


@pytest.mark.parametrize("sign", [1, -1])
def test_overflow_flag(lib, sign) -> None:
    prog, x = order_sensitive_program(edgedrnn.HardwareConfig(), hidden=11, sign=sign)
    ref = edgedrnn.run(prog, x.astype(np.int16), backend="reference")
    assert ref.overflow
    rt = CRuntime(lib, EmulatedTransport(prog.hw))
    rt.configure(to_image(prog))
    out = rt.run(x)
    assert out.overflow
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(out.nonzero, ref.nonzero)


@pytest.mark.skipif(shutil.which("verilator") is None, reason="Verilator not installed")
@pytest.mark.parametrize("queue_ahead", [True, False])
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_run_on_the_rtl(lib, queue_ahead, kind) -> None:
    """On the Verilated RTL (a sparse Program: the sparse build): the reference's integers;
    queueing ahead, also the Python driver's register sequence, hence its cycles. Without,
    the runtime writes step t+1's Θ before step t's input (race-free where a FIFO takes
    h_out), the driver after it, so the host's accesses fall on other cycles."""
    pytest.importorskip("amaranth")
    from edgedrnn.host.verilator import VerilatorTransport
    from edgedrnn.sim.build import build_model
    from edgedrnn.sim.verilated import VerilatedModel

    prog, x, tx, th = _case(0) if kind == "dense" else _sparse_case(0)
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx / 256, theta_h=th / 256)
    model_lib = build_model(prog.hw)
    with VerilatedModel(model_lib, seed=1) as model:
        rt = CRuntime(lib, VerilatorTransport(model))
        rt.configure(to_image(prog), weight_base=0x3000)
        out = rt.run(x, tx, th, queue_ahead=queue_ahead)
    with VerilatedModel(model_lib, seed=1) as model:
        drv = EdgeDRNNDriver(VerilatorTransport(model))
        drv.configure(prog, weight_base=0x3000)
        py = drv.run(x, tx, th, queue_ahead=queue_ahead)
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(out.nonzero, ref.nonzero)
    assert out.overflow == ref.overflow
    assert (out.cycles > 0).all() and (out.latency > 0).all()
    np.testing.assert_array_equal(py.outputs_q, ref.outputs_q)
    if queue_ahead:
        np.testing.assert_array_equal(out.cycles, py.cycles)
        np.testing.assert_array_equal(out.latency, py.latency)


def test_step_and_queue_behind(lib) -> None:
    prog, x, tx, th = _case(11)
    ref = edgedrnn.run(prog, x, backend="reference")
    rt = CRuntime(lib, EmulatedTransport(prog.hw))
    rt.configure(to_image(prog))
    got = np.stack([rt.step(v) for v in x])
    np.testing.assert_array_equal(got, ref.outputs_q)
    assert rt.register("step_count") == len(x)
    # a new sequence: reset the state, inputs queued after each step's registers are read
    assert rt.lib.edgedrnn_reset_state(ctypes.byref(rt.dev)) == OK
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx / 256, theta_h=th / 256)
    out = rt.run(x, tx, th, queue_ahead=False)
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(out.nonzero, ref.nonzero)


def test_weights_already_in_place(lib) -> None:
    """Without write_mem the runtime only points WEIGHT_BASE at the weights."""
    prog, x, _, _ = _case(3)
    tr = EmulatedTransport(prog.hw)
    tr.write_memory(0x400, prog.weight_image)
    rt = CRuntime(lib, tr, write_mem=False)
    rt.configure(to_image(prog), weight_base=0x400, flags=NO_CHECKSUM)
    out = rt.run(x)
    np.testing.assert_array_equal(out.outputs_q, edgedrnn.run(prog, x).outputs_q)


def _with_crc(image: bytearray) -> bytes:
    struct.pack_into("<I", image, 24, image_checksum(bytes(image)))
    return bytes(image)


def test_image_errors(lib) -> None:
    prog, _, _, _ = _case(1)
    rt = CRuntime(lib, EmulatedTransport(prog.hw))
    good = to_image(prog)
    assert rt.check_image(good) == OK
    assert rt.check_image(good, num_pe=8, bus_bits=64) == OK
    assert rt.check_image(good, num_pe=4) == ERR["HW_MISMATCH"]
    assert rt.check_image(b"EDRNNPRG" + good[8:]) == ERR["IMAGE_MAGIC"]
    assert rt.check_image(b"") == ERR["IMAGE_TRUNCATED"]
    assert rt.check_image(good[:-1]) == ERR["IMAGE_TRUNCATED"]
    assert rt.check_image(good[:40]) == ERR["IMAGE_TRUNCATED"]
    flipped = bytearray(good)
    flipped[-1] ^= 1
    assert rt.check_image(bytes(flipped)) == ERR["IMAGE_CHECKSUM"]
    assert rt.check_image(bytes(flipped), flags=NO_CHECKSUM) == OK
    newer = bytearray(good)
    newer[8] = 3
    assert rt.check_image(_with_crc(newer)) == ERR["IMAGE_VERSION"]

    def patched(offset: int, value: int) -> bytes:
        img = bytearray(good)
        struct.pack_into("<I", img, offset, value)
        return _with_crc(img)

    layer0 = 32
    hidden = prog.layers[0].hidden_size
    assert rt.check_image(patched(layer0 + 4, hidden + 1)) == ERR["IMAGE_LAYOUT"]  # H
    assert rt.check_image(patched(layer0 + 0, 0)) == ERR["IMAGE_LAYOUT"]  # I = 0
    assert rt.check_image(patched(layer0 + 20, 8)) == ERR["IMAGE_LAYOUT"]  # column stride
    assert rt.check_image(patched(layer0 + 24, 40000)) == ERR["THRESHOLD"]
    assert rt.check_image(patched(20, len(prog.weight_image) + 8)) == ERR["IMAGE_TRUNCATED"]
    with pytest.raises(CRuntimeError, match="CRC-32") as info:
        rt.configure(bytes(flipped))
    assert info.value.code == ERR["IMAGE_CHECKSUM"]


def test_device_errors(lib) -> None:
    prog, x, _, _ = _case(2)
    tr = EmulatedTransport(prog.hw)
    rt = CRuntime(lib, tr)
    image = to_image(prog)
    with pytest.raises(CRuntimeError) as info:  # before configure
        rt.step(x[0])
    assert info.value.code == ERR["NOT_CONFIGURED"]
    with pytest.raises(CRuntimeError) as info:
        rt.configure(image, weight_base=0x1004)
    assert info.value.code == ERR["ALIGNMENT"]
    # a device built for fewer inputs / layers than the program needs
    small = CRuntime(lib, EmulatedTransport(edgedrnn.HardwareConfig(max_input_size=2)))
    with pytest.raises(CRuntimeError) as info:
        small.configure(image)
    assert info.value.code == ERR["TOO_LARGE"]
    other = CRuntime(lib, EmulatedTransport(edgedrnn.HardwareConfig(num_pe=4)))
    with pytest.raises(CRuntimeError) as info:
        other.configure(image)
    assert info.value.code == ERR["HW_MISMATCH"]
    rt.configure(image)
    layers = prog.num_layers
    with pytest.raises(CRuntimeError) as info:
        rt.set_thresholds([40000] * layers, [0] * layers)
    assert info.value.code == ERR["THRESHOLD"]
    assert rt.set_thresholds(list(prog.theta_x_q), list(prog.theta_h_q)) == 0
    assert rt.set_thresholds([0] * layers, list(prog.theta_h_q)) == layers
    # no input pushed: h_out has no beat for the step
    assert rt.lib.edgedrnn_read_output(ctypes.byref(rt.dev), None) == ERR["STREAM"]
    # STATUS.ERROR set (e.g. a memory error response) fails the run
    tr.status |= regmap.STATUS_ERROR
    with pytest.raises(CRuntimeError) as info:
        rt.run(x[:2])
    assert info.value.code == ERR["DEVICE"]


class _NotEdgeDRNN(EmulatedTransport):
    def __init__(self, hw, ident: int, version: int = regmap.VERSION_VALUE) -> None:
        super().__init__(hw)
        self.ident, self.version = ident, version

    def read_reg(self, addr: int) -> int:
        if addr == regmap.addr_of("ID"):
            return self.ident
        if addr == regmap.addr_of("VERSION"):
            return self.version
        return super().read_reg(addr)


def test_identify_errors(lib) -> None:
    hw = edgedrnn.HardwareConfig()
    with pytest.raises(CRuntimeError, match="no EdgeDRNN") as info:
        CRuntime(lib, _NotEdgeDRNN(hw, 0))
    assert info.value.code == ERR["NOT_EDGEDRNN"]
    with pytest.raises(CRuntimeError) as info:
        CRuntime(lib, _NotEdgeDRNN(hw, regmap.ID_VALUE, (regmap.VERSION_MAJOR + 1) << 16))
    assert info.value.code == ERR["VERSION"]


def test_busy_timeout(lib) -> None:
    prog, x, _, _ = _case(4)
    tr = EmulatedTransport(prog.hw)
    rt = CRuntime(lib, tr)
    rt.configure(to_image(prog))
    tr.status |= regmap.STATUS_BUSY  # never clears
    rt.dev.poll_limit = 5
    with pytest.raises(CRuntimeError) as info:
        rt.step(x[0])
    assert info.value.code == ERR["TIMEOUT"]
    assert sum(1 for kind, a, _ in tr.log if a == regmap.addr_of("STATUS")) >= 5


class _BadOutput(EmulatedTransport):
    """h_out with the LAST flag moved to the first beat, or a padding lane set."""

    def __init__(self, hw, fault: str) -> None:
        super().__init__(hw)
        self.fault = fault

    def read_stream(self, n: int):
        data, last = super().read_stream(n)
        data, last = data.copy(), last.copy()
        if self.fault == "last" and n:
            last[:] = False
            last[0] = True
        if self.fault == "padding" and last[-1]:
            data[-1, -1] = 7
        return data, last


@pytest.mark.parametrize(("fault", "code"), [("last", "LAST_FLAG"), ("padding", "PADDING")])
def test_malformed_output(lib, fault, code) -> None:
    rng = np.random.default_rng(5)
    prog = random_program(rng, [5, 21], edgedrnn.HardwareConfig())  # 3 beats, 3 lanes padding
    rt = CRuntime(lib, _BadOutput(prog.hw, fault))
    rt.configure(to_image(prog))
    with pytest.raises(CRuntimeError) as info:
        rt.step(np.ones(5, np.int16))
    assert info.value.code == ERR[code]


def test_strerror_names_every_code(lib) -> None:
    rt = CRuntime(lib, EmulatedTransport(edgedrnn.HardwareConfig()))
    messages = [rt.strerror(code) for code in (OK, *ERR.values())]
    assert len(set(messages)) == len(messages)
    assert rt.strerror(-99) == "unknown error"


def _sparse_case(seed: int, num_pe: int = 8, bus_bits: int = 64):
    """A random sparse 2-layer Program (n = 1..R/P slots), inputs and per-step Θ."""
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(3, 20)) for _ in range(3)]
    hw = edgedrnn.HardwareConfig(num_pe=num_pe, bus_bits=bus_bits)
    layers = sparse_layers(rng, sizes, num_pe, lambda h: int(rng.integers(1, -(-h // num_pe) + 1)))
    prog, _ = sparse_and_dense(layers, hw, theta_x=13, theta_h=8)
    steps = 7
    x = rng.integers(-1024, 1025, (steps, sizes[0])).astype(np.int16)
    tx = rng.integers(0, 48, (steps, 2))
    th = rng.integers(0, 48, (steps, 2))
    return prog, x, tx, th


@pytest.mark.parametrize("seed", range(3))
def test_sparse_image_on_a_sparse_device(lib, seed) -> None:
    """A sparse Program's image (version 2, with SLOTS) configures a sparse build: the
    reference's integers and the Python driver's register sequence; a dense build refuses
    it, and a sparse build a dense image (HW_MISMATCH)."""
    num_pe, bus_bits = [(8, 64), (4, 64), (8, 128)][seed]
    prog, x, tx, th = _sparse_case(seed, num_pe, bus_bits)
    image = to_image(prog)
    assert struct.unpack_from("<H", image, 8)[0] == SPARSE_IMAGE_VERSION
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx / 256, theta_h=th / 256)
    tr = EmulatedTransport(prog.hw)
    rt = CRuntime(lib, tr)
    rt.configure(image, weight_base=0x1000)
    assert [rt.dev.layers[i].slots for i in range(2)] == [lay.slots for lay in prog.layers]
    out = rt.run(x, tx, th)
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(out.nonzero, ref.nonzero)
    tr_py = EmulatedTransport(prog.hw)
    drv = EdgeDRNNDriver(tr_py)
    drv.configure(prog, weight_base=0x1000)
    drv.run(x, tx, th)
    assert _register_log(tr) == _register_log(tr_py)

    dense_hw = dataclasses.replace(prog.hw, sparse_weights=False)
    with pytest.raises(CRuntimeError, match="weight image kind"):
        CRuntime(lib, EmulatedTransport(dense_hw)).configure(image)
    dense = sparse_and_dense(
        sparse_layers(np.random.default_rng(9), [5, 9], num_pe, lambda h: 1), dense_hw
    )[1]
    with pytest.raises(CRuntimeError, match="weight image kind"):
        CRuntime(lib, EmulatedTransport(prog.hw)).configure(to_image(dense))


@pytest.mark.parametrize(
    "slots", [0, 3, 300], ids=["no-slots", "more-than-rows", "more-than-an-index"]
)
def test_sparse_image_with_bad_slots_is_refused(lib, slots) -> None:
    prog, _, _, _ = _sparse_case(5)
    image = bytearray(to_image(prog))
    struct.pack_into("<I", image, 32 + 32, slots)  # layer 0's SLOTS (36-byte records)
    rt = CRuntime(lib, EmulatedTransport(prog.hw))
    with pytest.raises(CRuntimeError, match="layout"):
        rt.configure(_with_crc(image))


def test_pipelined_run(lib) -> None:
    """EDGEDRNN_RUN_PIPELINED on an emulated output FIFO (a step ends as soon as its input is
    there): inputs held until their release, per-step Θ written before it, outputs read a
    step behind: the reference's integers and the registers of every step; an unknown order
    is refused."""
    prog, x, tx, th = _case(5)
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx / 256, theta_h=th / 256)
    rt = CRuntime(lib, OutputFifo(prog.hw))
    rt.configure(to_image(prog))
    out = rt.run(x, tx, th, pipelined=True)
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(out.nonzero, ref.nonzero)
    assert out.overflow == ref.overflow
    code = rt.lib.edgedrnn_run(ctypes.byref(rt.dev), None, 0, None, None, 3, None)
    assert code == rt.lib.edgedrnn_run(ctypes.byref(rt.dev), None, 0, None, None, -1, None) < 0
