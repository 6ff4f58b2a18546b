"""The cpu backend's column kernels: the VNNI group kernel and the portable one, path by path.

Every test compares integer for integer with the reference backend (outputs, delta counts,
the overflow flag) or, for the group kernel alone, with a NumPy model of it. The path
counters of the state (``CpuNet.path_counts``) show which paths a run took.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import edgedrnn
from cpu_kernel_choice import KERNELS, use_kernel
from edgedrnn import fixedpoint as fp
from edgedrnn.backends import cpu
from edgedrnn.backends import cpu_kernels as K
from programs import assert_same, random_program


def run_kernel(prog, x, kernel, theta_x_q, theta_h_q):
    """A whole sequence through the cpu kernels: (Result, path counts)."""
    net = cpu.get_net(prog, "exact", kernel)
    T, L = x.shape[0], prog.num_layers
    tx = np.ascontiguousarray(np.broadcast_to(theta_x_q, (T, L)), dtype=np.int64)
    th = np.ascontiguousarray(np.broadcast_to(theta_h_q, (T, L)), dtype=np.int64)
    out = np.zeros((T, prog.output_size), dtype=np.int16)
    nz = np.zeros((T, L, 2), dtype=np.int64)
    st_, _ = net.new_state()
    K.run_exact(net.W, net.aux, net.meta, st_, x.astype(np.int16), tx, th, out, nz)
    res = edgedrnn.Result(outputs_q=out, nonzero=nz, overflow=bool(st_[K.S_OVERFLOW]))
    return res, net.path_counts(st_)


def reference(prog, x, theta_x_q, theta_h_q):
    T, L = x.shape[0], prog.num_layers
    tx = np.broadcast_to(np.asarray(theta_x_q) / 256, (T, L))
    th = np.broadcast_to(np.asarray(theta_h_q) / 256, (T, L))
    return edgedrnn.run(prog, x, backend="reference", theta_x=tx, theta_h=th)


@st.composite
def wide_cases(draw):
    """Networks wide enough for several 64-row blocks and 16-column groups, and inputs
    whose deltas mix one-digit (|Δ| <= 127), two-digit and saturated (±32767) values."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_layers = draw(st.integers(1, 2))
    sizes = [draw(st.integers(1, 70))] + [draw(st.integers(1, 90)) for _ in range(n_layers)]
    wmax = draw(st.sampled_from([3, 20, 127]))
    prog = random_program(rng, sizes, wmax=wmax, wmin=-wmax - 1)
    steps = draw(st.integers(2, 14))
    kind = draw(st.sampled_from(["small", "medium", "large", "extreme", "mixed"]))
    shape = (steps, sizes[0])
    if kind == "extreme":
        x = rng.choice(np.array([-32768, -300, 0, 100, 32767]), shape)
    else:
        scale = {"small": 40, "medium": 300, "large": 6000, "mixed": 0}[kind]
        if kind == "mixed":
            scale = rng.choice([20, 200, 20000], sizes[0])
        x = np.cumsum(rng.normal(0, 1, shape) * scale, axis=0)
    x = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    L = prog.num_layers
    theta_x = rng.choice([0, 1, 30, 128, 700], L)
    theta_h = rng.choice([0, 1, 20, 90], L)
    return prog, x, theta_x, theta_h


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=40)
@given(case=wide_cases())
def test_kernels_equal_reference_on_wide_layers(kernel, case):
    prog, x, theta_x, theta_h = case
    got, _ = run_kernel(prog, x, kernel, theta_x, theta_h)
    assert_same(got, reference(prog, x, theta_x, theta_h))


def _path_cases():
    """Two sequences that together take every column path of both kernels."""
    rng = np.random.default_rng(5)
    t = np.arange(24)[:, None]
    # full-range weights: one- and two-digit groups, then saturated deltas that may
    # saturate the banks (re-measured max|M|, clamped single columns)
    full = random_program(rng, [70, 90, 37])
    x = np.rint(200 * np.sin(t / 3 + np.arange(70)) + rng.normal(0, 60, (24, 70)))
    x[6:9] = 0
    x[9:12] = rng.choice([-32768, 32767], (3, 70))
    x[16:] = np.cumsum(rng.normal(0, 500, (8, 70)), axis=0)
    # small weights: saturated input deltas (|Δ| > 32639, no base-256 int8 digits) that
    # cannot saturate the banks go alone without clamping
    small = random_program(rng, [20, 40], wmax=3, wmin=-3)
    y = rng.choice([-32768, 32767], (10, 20))
    y[::2] = rng.integers(-100, 100, (5, 20))
    return [(full, np.clip(x, -32768, 32767).astype(np.int16)), (small, y.astype(np.int16))]


@pytest.mark.parametrize("kernel", KERNELS)
def test_every_column_path_is_taken_and_exact(kernel):
    total: dict[str, int] = {}
    for prog, x in _path_cases():
        theta = np.zeros(prog.num_layers, dtype=np.int64)
        got, paths = run_kernel(prog, x, kernel, theta, theta)
        assert_same(got, reference(prog, x, theta, theta))
        for k, v in paths.items():
            total[k] = total.get(k, 0) + v
    for name in ("refresh", "groups1", "groups2", "single", "saturating"):
        assert total[name] > 0, (name, total)
    if kernel == "vnni":
        assert total["tails"] > 0, total  # 3·90, 3·37, 3·40 rows are not multiples of 64


@pytest.mark.parametrize("kernel", KERNELS)
def test_group_prefix_stops_before_a_saturating_column(kernel):
    """Banks near the limit: a group is cut where saturation becomes possible, the column
    that may saturate is added alone (clamped, in encoding order), the rest continues."""
    rng = np.random.default_rng(9)
    prog = random_program(rng, [48, 64], wmax=127, wmin=-128)
    x = np.zeros((10, 48), dtype=np.int16)
    x[0] = 25000
    x[1] = -25000
    x[2:] = rng.integers(-3000, 3000, (8, 48))
    got, paths = run_kernel(prog, x, kernel, np.array([0]), np.array([0]))
    assert_same(got, reference(prog, x, np.array([0]), np.array([0])))
    assert paths["saturating"] > 0 and paths["groups1"] + paths["groups2"] > 0


def test_vnni_row_positions_are_a_permutation_that_the_layout_uses():
    pos = [K.vnni_row_position(r) for r in range(64)]
    assert sorted(pos) == list(range(64))
    rng = np.random.default_rng(2)
    prog = random_program(rng, [5, 30])
    plain = cpu.CpuNet(prog, "exact", kernel="portable")
    vnni = cpu.CpuNet(prog, "exact", kernel="vnni")
    stride = int(plain.meta[0, K.M_STRIDE])
    a = plain.W.reshape(-1, stride)
    b = (vnni.W.view(np.uint8) ^ 0x80).view(np.int8).reshape(-1, stride)
    for blk in range(0, stride, 64):
        for r in range(64):
            np.testing.assert_array_equal(b[:, blk + pos[r]], a[:, blk + r])


def _group_model(W, grp, acc, a_off, row0, nblocks, nq, two):
    """NumPy model of one group-kernel call (what the intrinsic must compute)."""
    out = acc.astype(np.int64).copy()
    digits = grp.view(np.int8)
    u = W.view(np.uint8).astype(np.int64)
    pos = np.array([K.vnni_row_position(r) for r in range(64)])
    for i in range(nblocks):
        rows = slice(a_off + 64 * i, a_off + 64 * i + 64)
        total = np.full(64, grp[K.GRP_CORR], dtype=np.int64)
        for k in range(4 * nq):
            base = int(grp[k]) + row0 + 64 * i
            w = u[base + pos]
            d = int(digits[4 * K.GRP_LO + k]) + (256 * int(digits[4 * K.GRP_HI + k]) if two else 0)
            total += w * d
        out[rows] += total
    return ((out + 2**31) % 2**32 - 2**31).astype(np.int32)


_E11 = K._group_kernel(1, False, native=False)
_E12 = K._group_kernel(1, True, native=False)
_E41 = K._group_kernel(4, False, native=False)
_E42 = K._group_kernel(4, True, native=False)


@njit
def _emulated(W, grp, acc, a_off, row0, nb, nq, two):
    """The group kernel compiled with portable vector IR in place of vpdpbusd."""
    if nq == 1:
        if two:
            _E12(W, grp, acc, a_off, row0, nb)
        else:
            _E11(W, grp, acc, a_off, row0, nb)
    elif two:
        _E42(W, grp, acc, a_off, row0, nb)
    else:
        _E41(W, grp, acc, a_off, row0, nb)


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("nq,two", [(1, 0), (1, 1), (4, 0), (4, 1)])
def test_group_kernel_matches_its_model(native, nq, two):
    """The group kernel (vpdpbusd, or the portable vector IR emulating it elsewhere)."""
    if native and not K.NATIVE_VNNI:
        pytest.skip("no AVX-512 VNNI on this machine")
    rng = np.random.default_rng(nq + 2 * two)
    W = rng.integers(-128, 128, 40 * 192).astype(np.int8)
    for _ in range(5):
        grp = np.zeros(K.GRP_WORDS, dtype=np.int32)
        grp[: 4 * nq] = rng.integers(0, 37, 4 * nq) * 192
        digits = grp.view(np.int8)
        digits[4 * K.GRP_LO : 4 * K.GRP_LO + 4 * nq] = rng.integers(-128, 128, 4 * nq)
        if two:
            digits[4 * K.GRP_HI : 4 * K.GRP_HI + 4 * nq] = rng.integers(-128, 128, 4 * nq)
        grp[K.GRP_CORR] = rng.integers(-(2**26), 2**26)
        acc = rng.integers(-(2**23), 2**23, 300).astype(np.int32)
        want = _group_model(W, grp, acc, 20, 64, 3, nq, two)
        got = acc.copy()
        if native:
            K._group_blocks(W, grp, got, 20, 64, 3, nq, bool(two))
        else:
            _emulated(W, grp, got, 20, 64, 3, nq, bool(two))
        np.testing.assert_array_equal(got, want)


def test_kernel_choice_and_validation(monkeypatch):
    prog = random_program(np.random.default_rng(0), [3, 4])
    assert cpu.default_kernel() == ("vnni" if K.NATIVE_VNNI else "portable")
    assert cpu.get_net(prog, "exact", "portable").kernel == "portable"
    assert cpu.get_net(prog, "float").kernel == "float"
    with use_kernel("portable"):
        assert cpu.default_kernel() == "portable"
    monkeypatch.setenv("EDGEDRNN_CPU_KERNEL", "fast")
    with pytest.raises(ValueError, match="EDGEDRNN_CPU_KERNEL"):
        cpu.default_kernel()
    with pytest.raises(ValueError, match="kernel"):
        cpu.CpuNet(prog, "exact", kernel="avx")


def test_kernels_agree_on_a_trained_size_network():
    """2L-256H with Q1.7 weights of a typical trained spread: both kernels, Θ = 0.2."""
    rng = np.random.default_rng(4)
    prog = random_program(rng, [40, 256, 256], wmax=60, wmin=-60)
    x = np.rint(np.cumsum(rng.normal(0, 0.3, (40, 40)), axis=0) * 256).astype(np.int16)
    theta = np.array([51, 51])
    ref = reference(prog, x, theta, theta)
    for kernel in KERNELS:
        got, paths = run_kernel(prog, x, kernel, theta, theta)
        assert_same(got, ref)
        assert paths["groups2"] > 0  # |Δ| > 127 occur: two-digit groups / 32-bit products
    assert fp.ACC_MAX == 2**23 - 1
