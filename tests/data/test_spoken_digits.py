"""Spoken-digits data set: voice split, determinism, cache, features, labels (real espeak-ng)."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from edgedrnn.data import spoken_digits as sd

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

N_TRAIN, N_VAL, N_TEST = 12, 4, 4


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("spoken_digits")


@pytest.fixture(scope="module")
def splits(cache) -> dict[str, sd.SpokenDigits]:
    return sd.load_splits(
        N_TRAIN, N_VAL, N_TEST, seed=3, cache_dir=cache, workers=2, progress=False
    )


# ---------------------------------------------------------------------------- voice split


def test_voice_split_is_a_partition_of_all_voices():
    split = sd.voice_split()
    sets = {k: set(v) for k, v in split.items()}
    assert set(sets) == {"train", "val", "test"}
    assert all(sets.values())
    assert not sets["train"] & sets["test"]
    assert not sets["train"] & sets["val"]
    assert not sets["val"] & sets["test"]
    cfg = sd.SpokenDigitsConfig()
    everything = {
        sd.voice_name(b, v)
        for b in sd.base_voices()
        for v in sd.all_variants()
        if v not in cfg.exclude_variants
    }
    assert set().union(*sets.values()) == everything
    # no MBROLA voices (their data is not installed) and no excluded variant
    assert not any(v.startswith("mb-") for v in everything)
    assert not any(v.endswith("+fast") for v in everything)


def test_variants_are_held_out_whole():
    """A test speaker (variant) is not heard in training even with another accent."""
    vs = sd.variant_split()
    assert not set(vs["test"]) & set(vs["train"])
    assert not set(vs["val"]) & set(vs["train"])
    assert not set(vs["val"]) & set(vs["test"])
    n = sum(len(v) for v in vs.values())
    assert len(vs["test"]) == round(0.15 * n)
    assert len(vs["val"]) == round(0.15 * n)
    for split, voices in sd.voice_split().items():
        for voice in voices:
            variant = voice.split("+", 1)[1] if "+" in voice else ""
            assert variant in vs[split]


def test_voice_split_is_deterministic_and_configurable():
    assert sd.voice_split() == sd.voice_split()
    bigger = sd.variant_split(sd.SpokenDigitsConfig(test_fraction=0.3))
    assert len(bigger["test"]) > len(sd.variant_split()["test"])
    with pytest.raises(ValueError, match="no training"):
        sd.variant_split(sd.SpokenDigitsConfig(test_fraction=0.6, val_fraction=0.6))


def test_generated_utterances_use_only_their_splits_voices(splits):
    allowed = sd.voice_split()
    for name, ds in splits.items():
        assert set(ds.voices) <= set(allowed[name]), name
        assert all(m["voice"] == v for m, v in zip(ds.metadata, ds.voices, strict=True))
    train_variants = {m["variant"] for m in splits["train"].metadata}
    assert not train_variants & {m["variant"] for m in splits["test"].metadata}
    assert not train_variants & {m["variant"] for m in splits["val"].metadata}


# ---------------------------------------------------------------------------- content


def test_labels_transcripts_and_features(splits):
    cfg = sd.SpokenDigitsConfig()
    for ds in splits.values():
        assert len(ds) == len(ds.labels) == len(ds.transcripts) == len(ds.voices)
        for f, y, text, m in zip(ds.features, ds.labels, ds.transcripts, ds.metadata, strict=True):
            assert f.dtype == np.float32 and f.ndim == 2 and f.shape[1] == 40
            assert np.all(np.isfinite(f))
            assert f.shape[0] == 1 + (m["n_samples"] - cfg.n_fft) // cfg.hop_length
            assert y.dtype == np.int64 and 1 <= len(y) <= 7
            assert y.min() >= 1 and y.max() <= 11
            assert sd.decode(y) == text
            assert len(m["gaps_ms"]) == len(y) - 1
            assert (m["noise"] is None) == (m["snr_db"] is None)
            assert f.shape[0] <= 1000  # at most ~10 s


def test_features_normalised_with_training_statistics(splits):
    train = splits["train"]
    frames = np.concatenate(train.features)
    np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(frames.std(axis=0), 1.0, atol=1e-3)
    for ds in splits.values():
        np.testing.assert_array_equal(ds.mean, train.mean)
        np.testing.assert_array_equal(ds.std, train.std)
        assert ds.n_train == N_TRAIN
    # val is not normalised with its own statistics
    val = np.concatenate(splits["val"].features)
    assert not np.allclose(val.mean(axis=0), 0.0, atol=1e-3)


def test_audio_roundtrip_and_featurize(splits):
    ds = splits["test"]
    for i in range(len(ds)):
        a = ds.audio(i)
        assert a.dtype == np.float32 and a.shape == (ds.metadata[i]["n_samples"],)
        assert np.abs(a).max() <= 1.0
        np.testing.assert_allclose(ds.featurize(a), ds.features[i], rtol=0, atol=1e-5)
    assert ds.verify() == []


def test_manifest_records_seed_versions_and_checksums(splits):
    ds = splits["train"]
    m = json.loads((ds.folder / "manifest.json").read_text())
    assert m["format"] == "edgedrnn-spoken-digits" and m["seed"] == 3
    assert m["versions"]["espeak-ng"] == sd.espeak_version()
    assert set(m["versions"]) >= {"librosa", "numpy", "edgedrnn", "soxr"}
    assert m["voices"]["variants"] == {k: list(v) for k, v in sd.variant_split().items()}
    assert m["vocab"] == list(sd.VOCAB) and m["blank"] == 0
    for split in ("train", "val", "test"):
        entry = m["splits"][split]
        for u in entry["utterances"]:
            data = (ds.folder / u["wav"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == u["sha256"]
        npz = (ds.folder / entry["features_file"]).read_bytes()
        assert hashlib.sha256(npz).hexdigest() == entry["features_sha256"]
    assert str(N_TRAIN) in m["stats"]


# ---------------------------------------------------------------------------- determinism, cache


def test_same_seed_same_bits_across_caches_and_worker_counts(splits, tmp_path):
    """One worker in a fresh cache reproduces what two workers made, bit for bit."""
    again = sd.load("val", 3, seed=3, n_train=2, cache_dir=tmp_path, workers=1, progress=False)
    ref = splits["val"]
    assert again.folder.name == ref.folder.name  # the cache key depends only on the config
    for i in range(3):
        assert again.metadata[i]["sha256"] == ref.metadata[i]["sha256"]
        assert again.transcripts[i] == ref.transcripts[i]
        np.testing.assert_array_equal(again.audio(i), ref.audio(i))
        # different n_train: different statistics, same raw features
        np.testing.assert_allclose(
            again.features[i] * again.std + again.mean,
            ref.features[i] * ref.std + ref.mean,
            atol=1e-4,
        )
    assert not np.array_equal(again.mean, ref.mean)


def test_other_seed_other_data(splits, tmp_path):
    other = sd.load("val", 2, seed=4, n_train=1, cache_dir=tmp_path, workers=1, progress=False)
    assert other.folder != splits["val"].folder
    assert [m["sha256"] for m in other.metadata] != [
        m["sha256"] for m in splits["val"].metadata[:2]
    ]


def test_plan_is_a_pure_function():
    a = sd.plan_utterance(7, "train", 11)
    assert a == sd.plan_utterance(7, "train", 11)
    assert a != sd.plan_utterance(7, "train", 12)
    assert a != sd.plan_utterance(8, "train", 11)
    assert sd.plan_utterance(7, "test", 11)["voice"] in sd.voice_split()["test"]


def test_cache_is_reused_and_extended(splits, cache):
    ds = splits["val"]
    wav0 = ds.folder / ds.metadata[0]["wav"]
    mtime = wav0.stat().st_mtime_ns
    more = sd.load("val", N_VAL + 2, seed=3, n_train=N_TRAIN, cache_dir=cache, progress=False)
    assert wav0.stat().st_mtime_ns == mtime  # kept, not regenerated
    assert len(more) == N_VAL + 2
    for i in range(N_VAL):
        np.testing.assert_array_equal(more.features[i], ds.features[i])
        assert more.metadata[i] == ds.metadata[i]
    fewer = sd.load("val", 2, seed=3, n_train=N_TRAIN, cache_dir=cache, progress=False)
    assert len(fewer) == 2 and fewer.metadata == ds.metadata[:2]


def test_corrupt_features_are_regenerated(tmp_path):
    kw = dict(seed=5, n_train=2, cache_dir=tmp_path, workers=1, progress=False)
    ds = sd.load("train", 2, **kw)
    path = ds.folder / "train.features.npz"
    path.write_bytes(b"garbage")
    again = sd.load("train", 2, **kw)
    for a, b in zip(ds.features, again.features, strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.verify() == []
    wav = again.folder / again.metadata[1]["wav"]
    wav.write_bytes(wav.read_bytes()[:-2] + b"\x00\x01")
    assert again.verify() == [again.metadata[1]["wav"]]
    wav.unlink()
    assert again.verify() == [again.metadata[1]["wav"]]


def test_env_var_sets_cache_root(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEDRNN_DATA", str(tmp_path))
    assert sd.cache_path(seed=1).parent == tmp_path
    assert sd.cache_path(seed=1) != sd.cache_path(seed=2)
    cfg = sd.SpokenDigitsConfig(n_mels=20)
    assert sd.cache_path(seed=1, config=cfg) != sd.cache_path(seed=1)


def test_collate_gives_ctc_batches(splits):
    import torch

    ds = splits["train"]
    loader = torch.utils.data.DataLoader(ds, batch_size=5, collate_fn=ds.collate)
    batch = next(iter(loader))
    assert batch.x.shape == (5, int(ds.lengths[:5].max()), 40)
    assert batch.y_lengths.tolist() == [len(y) for y in ds.labels[:5]]
    logp = torch.randn(batch.x.shape[1], 5, sd.NUM_CLASSES).log_softmax(-1)
    loss = torch.nn.functional.ctc_loss(logp, batch.y, batch.lengths, batch.y_lengths)
    assert torch.isfinite(loss)


# ---------------------------------------------------------------------------- synthesis


def test_encode_decode_digits():
    y = sd.encode("three oh 7 zero")
    assert y.tolist() == [5, 2, 9, 1]
    assert sd.decode(y) == "three oh seven zero"
    assert sd.to_digits(y) == "3070"
    assert sd.decode([0, 3, 0]) == "one"
    assert sd.encode("307").tolist() == sd.encode("three zero seven").tolist()
    assert sd.encode(["oh", "9"]).tolist() == [2, 11]
    with pytest.raises(ValueError, match="not a digit word"):
        sd.encode("three ten")


def test_synthesize_utterance_is_deterministic_with_requested_silence_and_snr():
    kw = dict(voice="en-us+f3", lead_s=0.3, trail_s=0.1, level_dbfs=-20.0)
    clean = sd.synthesize_utterance("four two", **kw)
    assert clean.dtype == np.float32
    np.testing.assert_array_equal(clean, sd.synthesize_utterance([6, 4], **kw))
    lead = round(0.3 * 16000)
    nonzero = np.flatnonzero(clean)
    # espeak's own silence is trimmed (to within a 128-sample hop), ours added
    assert lead <= nonzero[0] < lead + 0.02 * 16000
    assert len(clean) - 1600 - 0.02 * 16000 < nonzero[-1] < len(clean) - 1600
    assert abs(20 * np.log10(np.abs(clean).max()) + 20.0) < 0.01
    # on the 16-bit grid
    np.testing.assert_array_equal(np.round(clean * 32767) / 32767, clean.astype(np.float64))
    speech = clean[lead:-1600]
    for kind in ("white", "pink", "brown"):
        noisy = sd.synthesize_utterance("four two", noise=kind, snr_db=10.0, seed=1, **kw)
        assert noisy.shape == clean.shape
        noise = noisy.astype(np.float64) - clean
        snr = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(noise**2))
        assert abs(snr - 10.0) < 0.2, (kind, snr)
    pink = sd.synthesize_utterance("four two", noise="pink", snr_db=10.0, seed=1, **kw) - clean
    brown = sd.synthesize_utterance("four two", noise="brown", snr_db=10.0, seed=1, **kw) - clean
    # brown noise has more of its power at low frequencies than pink
    low = lambda x: np.sum(np.abs(np.fft.rfft(x)[: len(x) // 64]) ** 2) / np.sum(x**2)  # noqa: E731
    assert low(brown) > low(pink)


def test_gaps_make_utterances_longer():
    short = sd.synthesize_utterance("one two three", "en-gb", lead_s=0, trail_s=0)
    gapped = sd.synthesize_utterance(
        "one two three", "en-gb", gaps_ms=[300, 300], lead_s=0, trail_s=0
    )
    assert gapped.shape[0] > short.shape[0] + 0.4 * 16000


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(sd.EspeakError, match="xx-nope"):
        sd.synthesize_utterance("one", "xx-nope")
    with pytest.raises(ValueError, match="gaps"):
        sd.synthesize_utterance("one two", gaps_ms=[1, 2])
    with pytest.raises(ValueError, match="snr_db"):
        sd.synthesize_utterance("one", noise="white")
    with pytest.raises(ValueError, match="split"):
        sd.load("dev")


def test_make_utterance_matches_the_data_set(splits):
    """make_utterance (the demo's source of fresh audio) is exactly how the cache is made."""
    ds = splits["test"]
    audio, plan = sd.make_utterance("test", 1, seed=3)
    np.testing.assert_array_equal(audio, ds.audio(1))
    assert plan["transcript"] == ds.transcripts[1] and plan["voice"] == ds.voices[1]
    np.testing.assert_allclose(ds.featurize(audio), ds.features[1], atol=1e-5)
