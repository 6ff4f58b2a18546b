"""Column-balanced sparse weights (issue 15): prune, the packed image, format version 2,
compile's checks, and every non-RTL backend equal to the reference on sparse programs."""

from __future__ import annotations

import dataclasses
import json
import struct

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import edgedrnn
from edgedrnn import HardwareConfig, HardwareLimitError, Program, ProgramFormatError
from edgedrnn.backends import cpu
from edgedrnn.backends import cpu_kernels as K
from edgedrnn.pretrained import DIGITS_PROGRAM
from edgedrnn.program import DENSE_FORMAT_VERSION, SPARSE_FORMAT_VERSION
from edgedrnn.sparse.image import lane_rows, pack_columns, unpack_columns
from edgedrnn.sparse.pruning import balanced_slots, kept_counts
from programs import assert_same
from sparse_programs import balanced_weights, sparse_and_dense, sparse_layers

PES = [4, 8, 16]


def _random_model(seed, sizes, scale=0.5):
    gen = torch.Generator().manual_seed(seed)
    model = edgedrnn.DeltaGRU(sizes[0], sizes[1:], len(sizes) - 1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * scale)
    return model


# --------------------------------------------------------------------------- prune
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    sizes=st.lists(st.integers(1, 40), min_size=2, max_size=3),
    num_pe=st.sampled_from(PES),
    gamma=st.floats(0.0, 0.99),
)
def test_prune_keeps_exactly_the_balanced_count(seed, sizes, num_pe, gamma):
    model = _random_model(seed, sizes)
    hw = HardwareConfig(num_pe=num_pe)
    before = [(model.bias_ih_l0.clone(), model.bias_hh_l0.clone())]
    w0 = model.weight_hh_l0.detach().clone()
    masks = edgedrnn.prune(model, gamma, hw)
    for counts, h, (m_ih, m_hh) in zip(kept_counts(model, hw), sizes[1:], masks, strict=True):
        n = balanced_slots(gamma, h, num_pe)
        want = np.minimum(n, lane_rows(h, num_pe))  # (P,)
        assert np.array_equal(counts, np.broadcast_to(want, counts.shape))
        assert int(m_ih.sum() + m_hh.sum()) == int(counts.sum())
    # the kept weights are the largest in their (column, gate, lane); biases untouched
    assert torch.equal(before[0][0], model.bias_ih_l0)
    assert torch.equal(before[0][1], model.bias_hh_l0)
    kept = model.weight_hh_l0.detach()
    h, P = sizes[1], num_pe
    for c in range(min(h, 3)):
        for g in range(3):
            for k in range(min(P, h)):
                rows = np.arange(k, h, P)
                col = w0[g * h + rows, c].abs()
                on = kept[g * h + rows, c] != 0
                if on.any() and (~on).any():
                    assert col[on].min() >= col[~on].max()


def test_prune_breaks_ties_towards_the_lower_row_and_is_deterministic():
    model = edgedrnn.DeltaGRU(3, [16], 1)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.25)
    edgedrnn.prune(model, 0.5, HardwareConfig(num_pe=4))  # 4 rows per lane, keep 2
    w = model.weight_hh_l0.detach().numpy()
    gate_r = w[:16, 0] != 0
    assert np.array_equal(np.flatnonzero(gate_r), np.arange(8))  # rows g·4 + k, g < 2


def test_prune_and_apply_masks_on_torch_gru_and_errors():
    from edgedrnn.sparse.pruning import apply_masks

    gru = torch.nn.GRU(5, 12, 2)
    masks = edgedrnn.prune(gru, 0.75, HardwareConfig(num_pe=4))
    with torch.no_grad():
        gru.weight_hh_l1.add_(1.0)
    apply_masks(gru, masks)
    assert int((gru.weight_hh_l1 != 0).sum()) == int(masks[1][1].sum())
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        edgedrnn.prune(gru, 1.0)
    with pytest.raises(TypeError, match="prune\\(\\) takes"):
        edgedrnn.prune(torch.nn.Linear(2, 2), 0.5)


# ------------------------------------------------------------------- packed image
@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    hidden=st.integers(1, 70),
    cols=st.integers(1, 9),
    num_pe=st.sampled_from(PES),
    frac=st.floats(0.0, 1.0),
)
def test_pack_unpack_round_trip(seed, hidden, cols, num_pe, frac):
    rng = np.random.default_rng(seed)
    per_lane = -(-hidden // num_pe)
    n = max(1, round(frac * per_lane))
    w = balanced_weights(rng, hidden, cols, num_pe, n)
    packed = pack_columns(w, hidden, num_pe, n)
    assert packed.shape == (cols, 6 * n * num_pe)
    assert np.array_equal(unpack_columns(packed, hidden, num_pe, n), w)
    e = packed.reshape(cols, 3, n, num_pe, 2)
    assert np.all(e[..., 1] < per_lane)
    # empty entries are (0, 0) and come after the non-zeros of their (gate, lane)
    empty = e[..., 0] == 0
    assert np.all(e[..., 1][empty] == 0)
    assert np.all(np.diff(empty.astype(int), axis=2) >= 0)


def test_worked_example_of_the_docs():
    """docs/program-format.md's byte example: H = 8, P = 4, n = 1, one column."""
    w = np.zeros((24, 1), dtype=np.int8)
    w[5, 0], w[2, 0] = 7, -3  # gate r rows 5 (lane 1, g 1) and 2 (lane 2, g 0)
    w[8 + 0, 0] = 100  # gate u row 0 (lane 0, g 0)
    w[16 + 7, 0] = -128  # gate n row 7 (lane 3, g 1)
    packed = pack_columns(w, 8, 4, 1)[0]
    assert packed.tolist() == [
        0, 0, 7, 1, 253, 0, 0, 0,  # gate r: lanes 0..3
        100, 0, 0, 0, 0, 0, 0, 0,  # gate u
        0, 0, 0, 0, 0, 0, 128, 1,  # gate n
    ]  # fmt: skip


def test_unpack_refuses_bad_entries():
    good = pack_columns(np.ones((12, 1), dtype=np.int8), 4, 4, 1)
    bad = good.copy()
    bad[0, 1] = 1  # lane 0 of a 4-row gate has 1 row: index 1 is past it
    with pytest.raises(ValueError, match="row index 1 is not below 1"):
        unpack_columns(bad, 4, 4, 1)
    with pytest.raises(ValueError, match="padding row"):
        unpack_columns(good, 3, 4, 1)  # lane 3's entry lands on row 3 of a 3-row gate
    two = pack_columns(np.ones((24, 1), dtype=np.int8), 8, 4, 2)
    two[0, 9] = 0  # lane 0 slot 1 (row 4) now names row 0 too
    with pytest.raises(ValueError, match="same row"):
        unpack_columns(two, 8, 4, 2)


# ------------------------------------------------------------ compile and format
def test_compile_load_round_trip_and_dense_equivalent(tmp_path):
    model = _random_model(3, [9, 21, 13])
    hw = HardwareConfig(num_pe=8, sparse_weights=True)
    edgedrnn.prune(model, 0.8, hw)
    prog = edgedrnn.compile(model, hw)
    dense = edgedrnn.compile(model, dataclasses.replace(hw, sparse_weights=False))
    assert prog.format_version == SPARSE_FORMAT_VERSION
    assert dense.format_version == DENSE_FORMAT_VERSION
    assert [lay.slots for lay in prog.layers] == [
        balanced_slots(0.8, 21, 8),
        balanced_slots(0.8, 13, 8),
    ]
    assert prog.layers[0].column_stride == -(-6 * 8 * prog.layers[0].slots // 8) * 8
    again = Program.load(prog.save(tmp_path / "s.edrnn"))
    assert again == prog and again.hw.sparse_weights
    assert struct.unpack_from("<H", prog.to_bytes(), 8)[0] == SPARSE_FORMAT_VERSION
    for i in range(2):
        a, b = prog.layer_weights(i), dense.layer_weights(i)
        for f in ("w_ih", "w_hh", "bias"):
            assert np.array_equal(getattr(a, f), getattr(b, f))
    assert prog.register_values()["layer1_slots"] == prog.layers[1].slots
    assert len(prog.weight_image) < len(dense.weight_image)


def test_dense_programs_stay_version_1_and_old_files_load(tmp_path):
    prog = edgedrnn.compile(_random_model(1, [4, 6]))
    data = prog.to_bytes()
    assert struct.unpack_from("<H", data, 8)[0] == 1
    meta_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[56 : 56 + meta_len])
    assert "sparse_weights" not in doc["hardware"] and "slots" not in doc["layers"][0]
    assert Program.load(prog.save(tmp_path / "d.edrnn")) == prog
    old = Program.load(DIGITS_PROGRAM)  # written before format version 2 existed
    assert old.format_version == 1 and not old.hw.sparse_weights


def test_compile_refuses_an_unbalanced_model():
    model = _random_model(2, [6, 16])
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # unstructured 80 % sparsity
        for w in (model.weight_ih_l0, model.weight_hh_l0):
            w.mul_((torch.rand(w.shape, generator=gen) > 0.8).to(w.dtype))
    hw = HardwareConfig(num_pe=4, sparse_weights=True)
    with pytest.raises(ValueError, match=r"not column-balanced.*edgedrnn\.prune\(model, γ, hw\)"):
        edgedrnn.compile(model, hw)
    model = _random_model(2, [6, 16])
    edgedrnn.prune(model, 0.8, hw)
    edgedrnn.compile(model, hw)


def test_compile_refuses_more_than_256_rows_per_lane():
    hw = HardwareConfig(num_pe=4, max_hidden_size=2048, sparse_weights=True)
    model = edgedrnn.DeltaGRU(2, [1025], 1)
    with pytest.raises(HardwareLimitError, match=r"257 rows per PE lane.*num_pe >= 8"):
        edgedrnn.compile(model, hw)


def _edit_metadata(data: bytes, edit) -> bytes:
    import hashlib

    meta_len, image_len = struct.unpack_from("<IQ", data, 12)
    doc = json.loads(data[56 : 56 + meta_len])
    edit(doc)
    meta = json.dumps(doc).encode()
    image = data[56 + meta_len :]
    head = struct.pack("<8sHHIQ", b"EDRNNPRG", doc["format_version"], 0, len(meta), image_len)
    return head + hashlib.sha256(head + meta + image).digest() + meta + image


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.update(format_version=1), "needs program format version 2"),
        (lambda d: d["hardware"].update(sparse_weights=1), "sparse_weights must be a JSON bool"),
        (lambda d: d["layers"][0].update(slots=99), r"slots 99 outside 1\.\.3"),
        (lambda d: d["hardware"].pop("sparse_weights"), "slots 1 given for a dense"),
    ],
)
def test_sparse_metadata_errors(edit, match):
    layers = sparse_layers(np.random.default_rng(0), [3, 10], 4, lambda h: 1)
    prog, _ = sparse_and_dense(layers, HardwareConfig(num_pe=4))
    with pytest.raises(ProgramFormatError, match=match):
        Program.from_bytes(_edit_metadata(prog.to_bytes(), edit))


def test_corrupted_sparse_image_is_refused():
    layers = sparse_layers(np.random.default_rng(0), [3, 8], 4, lambda h: 1)
    prog, _ = sparse_and_dense(layers, HardwareConfig(num_pe=4))
    img = bytearray(prog.weight_image)
    img[prog.layers[0].column_offset + 1] = 7  # row index 7 of a lane with 2 rows
    with pytest.raises(ProgramFormatError, match="invalid sparse weight image"):
        dataclasses.replace(prog, weight_image=bytes(img))


# ------------------------------------------------------------------------ backends
@st.composite
def sparse_cases(draw):
    """Balanced sparse programs of random sizes (not multiples of P), slot counts and weight
    ranges, and inputs from smooth to full-scale (saturating deltas and banks)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    num_pe = draw(st.sampled_from(PES))
    n_layers = draw(st.integers(1, 2))
    sizes = [draw(st.integers(1, 40))] + [draw(st.integers(1, 70)) for _ in range(n_layers)]
    frac = draw(st.sampled_from([0.05, 0.25, 0.6, 1.0]))
    wmax = draw(st.sampled_from([3, 40, 127]))
    layers = sparse_layers(
        rng, sizes, num_pe, lambda h: max(1, round(frac * -(-h // num_pe))), wmax, -wmax - 1
    )
    prog, dense = sparse_and_dense(layers, HardwareConfig(num_pe=num_pe))
    steps = draw(st.integers(2, 12))
    kind = draw(st.sampled_from(["small", "large", "extreme"]))
    shape = (steps, sizes[0])
    if kind == "extreme":
        x = rng.choice(np.array([-32768, -300, 0, 100, 32767]), shape)
    else:
        x = np.cumsum(rng.normal(0, 1, shape) * (60 if kind == "small" else 6000), axis=0)
    x = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    theta_x = float(draw(st.sampled_from([0, 1, 30, 300]))) / 256
    theta_h = float(draw(st.sampled_from([0, 1, 20, 90]))) / 256
    return prog, dense, x, theta_x, theta_h


@settings(max_examples=25, deadline=None)
@given(case=sparse_cases())
def test_every_backend_equals_the_reference_on_sparse_programs(case):
    prog, dense, x, tx, th = case
    want = edgedrnn.run(dense, x, backend="reference", theta_x=tx, theta_h=th)
    for backend in ("reference", "torch"):
        assert_same(edgedrnn.run(prog, x, backend=backend, theta_x=tx, theta_h=th), want)
    T, L = x.shape[0], prog.num_layers
    for kernel in ("vnni", "portable"):
        net = cpu.get_net(prog, "exact", kernel)
        for i, lay in enumerate(prog.layers):  # int32 entry words, 3·n·P rounded up to 16
            assert net.column_bytes(i) == 4 * (-(-3 * lay.slots * prog.hw.num_pe // 16) * 16)
        assert net.W.nbytes == sum(
            lay.num_columns * net.column_bytes(i) for i, lay in enumerate(prog.layers)
        )
        stream = cpu.CpuStream(net)
        got = stream.run(x, np.full((T, L), round(tx * 256)), np.full((T, L), round(th * 256)))
        assert_same(got, want)


def test_sparse_cpu_paths_saturate_exactly():
    """Full-scale weights and deltas: the clamped single-column path and the grouped one."""
    rng = np.random.default_rng(4)
    layers = sparse_layers(rng, [30, 50], 4, lambda h: 6)
    prog, dense = sparse_and_dense(layers, HardwareConfig(num_pe=4))
    x = rng.choice(np.array([-32768, 32767, 0]), (12, 30)).astype(np.int16)
    want = edgedrnn.run(dense, x, backend="reference")
    assert want.overflow
    for kernel in ("vnni", "portable"):
        net = cpu.get_net(prog, "exact", kernel)
        stream = cpu.CpuStream(net)
        got = stream.run(x, np.zeros((12, 1), np.int64), np.zeros((12, 1), np.int64))
        assert_same(got, want)
        paths = stream.path_counts()
        assert paths["saturating"] > 0 and paths["refresh"] > 0, paths


def test_driver_refuses_an_image_the_build_does_not_decode():
    """CONFIG.SPARSE says which images a build decodes; the driver checks it (the emulated
    device runs the sparse image through its SLOTS registers)."""
    from edgedrnn.host import EdgeDRNNDriver
    from edgedrnn.host.driver import DriverError
    from edgedrnn.host.emulator import EmulatedTransport

    layers = sparse_layers(np.random.default_rng(0), [3, 8], 4, lambda h: 1)
    prog, dense = sparse_and_dense(layers, HardwareConfig(num_pe=4))
    with pytest.raises(DriverError, match="sparse_weights=False"):
        EdgeDRNNDriver(EmulatedTransport(dense.hw)).configure(prog)
    with pytest.raises(DriverError, match="sparse_weights=True"):
        EdgeDRNNDriver(EmulatedTransport(prog.hw)).configure(dense)
    x = np.random.default_rng(1).integers(-600, 600, (5, 3)).astype(np.int16)
    drv = EdgeDRNNDriver(EmulatedTransport(prog.hw))
    drv.configure(prog)
    zeros = np.zeros((5, 1), np.int64)
    out = drv.run(x, zeros, zeros)
    want = edgedrnn.run(dense, x, backend="reference")
    assert np.array_equal(out.outputs_q, want.outputs_q)


_EMULATED = K._sparse_vector_kernel(native=False)


@njit
def _vector_add(W32, o, nvec, acc, d, native):
    if native:
        K._SPARSE_VECTOR(W32, o, nvec, acc, d)
    else:
        _EMULATED(W32, o, nvec, acc, d)


@pytest.mark.parametrize("native", [True, False])
def test_sparse_vector_kernel_matches_its_model(native):
    """The gather/scatter kernel (or, without AVX-512, its entry-by-entry IR) adds value·d
    at each entry's bank position; empty entries share the padding word."""
    if native and not K.NATIVE_VNNI:
        pytest.skip("no AVX-512 VNNI target here")
    rng = np.random.default_rng(1)
    pos = np.concatenate([rng.permutation(40)[:24], np.full(8, 40)])  # 8 empty entries
    val = np.where(pos == 40, 0, rng.integers(-128, 128, 32))
    words = ((pos << 8) | (val & 0xFF)).astype(np.int32)
    acc = rng.integers(-1000, 1000, 41).astype(np.int32)
    acc[40] = 0
    want = acc.astype(np.int64)
    np.add.at(want, pos, val * -300)
    W32 = np.concatenate([np.zeros(16, np.int32), words])
    _vector_add(W32, 16, 2, acc, -300, native)
    assert np.array_equal(acc, want)
