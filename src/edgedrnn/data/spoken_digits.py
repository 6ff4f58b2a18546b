"""Spoken connected digits, synthesized with espeak-ng: a keyword-spotting-sized ASR task.

Each utterance is a string of 1-7 words from :data:`VOCAB` ("zero", "oh", "one" .. "nine"),
spoken by one espeak-ng English voice with one voice variant, at a random rate and pitch,
with random pauses between some digits, random leading/trailing silence, a random level and
(three times in four) additive white, pink or brown noise at 20, 10 or 5 dB SNR.

Quick use::

    from edgedrnn.data import spoken_digits
    data = spoken_digits.load_splits()          # {"train", "val", "test"}: 2000/300/300
    train = data["train"]
    train.features[0]      # float32 (T, 40) log-mel, normalised with training statistics
    train.labels[0]        # int64 (S,), tokens 1..11 (0 is the CTC blank)
    train.transcripts[0]   # "three oh seven"
    train.audio(0)         # float32 waveform at 16 kHz, read from the cache on demand

Labels: token ``k`` (1..11) is ``VOCAB[k - 1]``; 0 is reserved for the CTC blank, so a CTC
model has :data:`NUM_CLASSES` = 12 outputs.

Voice split: the speaker identity of an espeak voice is its *variant* (pitch, formants,
voicing: "f3", "klatt2", "Alicia", ...); the base voice (en-us, en-gb-scotland, ...) sets the
accent. Variants (plus the variant-less default) are split deterministically by a hash of
their names into train / val / test (70/15/15 %), and every (base voice, variant) combination
goes with its variant. So no test voice — and not even its variant with another accent —
is heard in training. :func:`voice_split` exposes the split.

Why one espeak call per utterance with SSML breaks (rather than synthesizing digits one by
one and concatenating): espeak then speaks the string as one phrase, with coarticulation
between adjacent digits and sentence prosody (declination, final lengthening), as people say
digit strings; pauses of random length are inserted with ``<break time="..ms"/>`` between
some pairs of digits while the others run together.

Everything is deterministic from ``seed``: utterance ``i`` of a split depends only on
``(seed, split, i)``, so a larger data set extends a smaller one. Generated data is cached on
disk (see :func:`cache_path`) with a ``manifest.json`` holding the configuration, tool
versions, voices, per-utterance metadata and SHA-256 checksums; a matching cache is reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..support.cache import cache_home, locked, write_atomic
from ..support.progress import Bars
from ..support.tools import find_tool
from .normalization import Normalization
from .sequences import SequenceDataset

#: The 11 words; token ``k`` (1..11) is ``VOCAB[k - 1]``.
VOCAB: tuple[str, ...] = (
    "zero",
    "oh",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)
#: CTC blank index.
BLANK = 0
#: Outputs of a CTC model over this vocabulary: blank + 11 words.
NUM_CLASSES = len(VOCAB) + 1
#: Digit character of each word ("zero" and "oh" are both "0").
DIGIT_OF: dict[str, str] = {
    "zero": "0",
    "oh": "0",
    **{w: str(i) for i, w in enumerate(VOCAB[2:], start=1)},
}
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: Default number of utterances per split.
DEFAULT_SIZES: dict[str, int] = {"train": 2000, "val": 300, "test": 300}
#: Bump when generation changes in a way that changes the data.
GENERATOR_VERSION = 2
FORMAT = "edgedrnn-spoken-digits"
_SPLIT_IDS = {"train": 1, "val": 2, "test": 3}
_ESPEAK_RATE = 22050


class EspeakError(RuntimeError):
    """espeak-ng failed (a missing espeak-ng raises
    :class:`edgedrnn.support.tools.ToolMissingError`)."""


@dataclass(frozen=True)
class SpokenDigitsConfig:
    """How utterances are synthesized and featurized (everything here enters the cache key).

    Ranges are inclusive ``(low, high)`` pairs drawn uniformly per utterance.
    """

    sample_rate: int = 16000
    min_digits: int = 1
    max_digits: int = 7
    rate_wpm: tuple[int, int] = (130, 210)
    pitch: tuple[int, int] = (25, 75)
    #: probability of a pause between two adjacent digits (else they run together)
    p_gap: float = 0.5
    gap_ms: tuple[int, int] = (30, 300)
    silence_s: tuple[float, float] = (0.05, 0.4)
    #: peak level of the speech in dB full scale
    level_dbfs: tuple[float, float] = (-24.0, -3.0)
    p_clean: float = 0.25
    noise_kinds: tuple[str, ...] = ("white", "pink", "brown")
    snrs_db: tuple[float, ...] = (20.0, 10.0, 5.0)
    #: espeak-ng amplitude (-a); 60 keeps every voice clear of clipping
    amplitude: int = 60
    #: variants left out (e.g. "fast" is espeak's test variant)
    exclude_variants: tuple[str, ...] = ("fast",)
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    # features
    n_mels: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    fmin: float = 20.0
    log_floor: float = 1e-6

    @property
    def win_length(self) -> int:
        """Analysis window in samples (400 at 16 kHz)."""
        return round(self.sample_rate * self.win_ms / 1000)

    @property
    def hop_length(self) -> int:
        """Frame hop in samples (160 at 16 kHz)."""
        return round(self.sample_rate * self.hop_ms / 1000)


# --------------------------------------------------------------------------------------------
# vocabulary


def encode(words: str | Sequence[str]) -> np.ndarray:
    """Tokens (int64, 1..11) of ``"three oh 7"``, ``"307"`` or ``["three", "oh", "seven"]``.

    Digit characters stand for their words, one word each ("0" is "zero").
    """
    items = words.split() if isinstance(words, str) else list(words)
    expanded = [c for w in items for c in (w if w.isdigit() else [w])]
    out = []
    for w in expanded:
        w = w.lower()
        if len(w) == 1 and w.isdigit():
            w = "zero" if w == "0" else VOCAB[int(w) + 1]
        if w not in VOCAB:
            raise ValueError(f"{w!r} is not a digit word; the vocabulary is {VOCAB}")
        out.append(VOCAB.index(w) + 1)
    return np.array(out, dtype=np.int64)


def decode(labels: Sequence[int] | np.ndarray) -> str:
    """Transcript (words separated by spaces) of tokens 1..11; blanks (0) are skipped."""
    return " ".join(VOCAB[int(k) - 1] for k in labels if int(k) != BLANK)


def to_digits(labels: Sequence[int] | np.ndarray) -> str:
    """Digit string of tokens ("zero" and "oh" both give "0"): ``[5, 2, 9] -> "307"``."""
    return "".join(DIGIT_OF[VOCAB[int(k) - 1]] for k in labels if int(k) != BLANK)


# --------------------------------------------------------------------------------------------
# espeak-ng voices and the voice split


def _espeak() -> str:
    return find_tool(
        "espeak-ng",
        "`make setup` (it installs the Debian package espeak-ng) or "
        "`sudo apt-get install espeak-ng`",
    )


@lru_cache(maxsize=1)
def espeak_version() -> str:
    """The installed espeak-ng version, e.g. ``"1.51"``."""
    out = subprocess.run([_espeak(), "--version"], capture_output=True, text=True, check=True)
    m = re.search(r"espeak ng text-to-speech:\s*(\S+)", out.stdout, re.IGNORECASE)
    return m.group(1) if m else out.stdout.strip()


@lru_cache(maxsize=1)
def base_voices() -> tuple[str, ...]:
    """espeak-ng's English voices that need no MBROLA data (``en-us``, ``en-gb-scotland``...)."""
    out = subprocess.run(
        [_espeak(), "--voices=en"], capture_output=True, text=True, check=True
    ).stdout
    voices = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5 or parts[4].startswith("mb/"):
            continue
        if parts[1].startswith("en"):
            voices.add(parts[1])
    if not voices:
        raise EspeakError("espeak-ng lists no English voices")
    return tuple(sorted(voices))


@lru_cache(maxsize=1)
def all_variants() -> tuple[str, ...]:
    """espeak-ng's voice variants (file names under ``voices/!v``), plus ``""`` for none."""
    out = subprocess.run(
        [_espeak(), "--voices=variant"], capture_output=True, text=True, check=True
    ).stdout
    names = set()
    for line in out.splitlines()[1:]:
        m = re.search(r"!v/(.+?)\s*(\(.*\))?\s*$", line)
        if m:
            names.add(m.group(1).strip())
    return ("", *sorted(names))


def voice_name(base: str, variant: str) -> str:
    """espeak ``-v`` argument of a base voice and a variant (``"en-us+f3"``)."""
    return f"{base}+{variant}" if variant else base


def _split_rank(variant: str) -> str:
    return hashlib.sha256(f"edgedrnn/spoken-digits/voice-split/{variant}".encode()).hexdigest()


def variant_split(config: SpokenDigitsConfig | None = None) -> dict[str, tuple[str, ...]]:
    """Variants (speaker identities) of each split; ``""`` is the variant-less default.

    Variants are ordered by a SHA-256 of their names; the first ``test_fraction`` of them are
    test, the next ``val_fraction`` validation, the rest training (at least one each).
    """
    cfg = config or SpokenDigitsConfig()
    variants = sorted((v for v in all_variants() if v not in cfg.exclude_variants), key=_split_rank)
    if len(variants) < 3:
        raise ValueError(f"need at least 3 voice variants to split, have {variants}")
    n_test = max(1, round(cfg.test_fraction * len(variants)))
    n_val = max(1, round(cfg.val_fraction * len(variants)))
    if n_test + n_val >= len(variants):
        raise ValueError("val_fraction + test_fraction leave no training variants")
    return {
        "test": tuple(sorted(variants[:n_test])),
        "val": tuple(sorted(variants[n_test : n_test + n_val])),
        "train": tuple(sorted(variants[n_test + n_val :])),
    }


def voice_split(config: SpokenDigitsConfig | None = None) -> dict[str, tuple[str, ...]]:
    """espeak voices (``base+variant``) of each split: ``{"train": (...), "val", "test"}``.

    Every base voice appears in every split, but a variant belongs to exactly one split, so
    the three sets are disjoint and no test speaker is heard in training.
    """
    out = {}
    for split, variants in variant_split(config).items():
        out[split] = tuple(voice_name(b, v) for b in base_voices() for v in variants)
    return out


# --------------------------------------------------------------------------------------------
# synthesis and features


def _noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power white, pink (1/f power) or brown (1/f^2 power) noise of ``n`` samples."""
    white = rng.standard_normal(n)
    if kind == "white":
        x = white
    elif kind in ("pink", "brown"):
        spec = np.fft.rfft(white)
        f = np.arange(spec.shape[0], dtype=np.float64)
        f[0] = f[1] if len(f) > 1 else 1.0
        spec /= np.sqrt(f) if kind == "pink" else f
        x = np.fft.irfft(spec, n)
    else:
        raise ValueError(f"noise must be one of 'white', 'pink', 'brown' or None, got {kind!r}")
    x = x - x.mean()
    return x / max(float(np.sqrt(np.mean(x**2))), 1e-12)


def _ssml(words: Sequence[str], gaps_ms: Sequence[int]) -> str:
    parts = [words[0]]
    for w, g in zip(words[1:], gaps_ms, strict=True):
        parts.append(f' <break time="{int(g)}ms"/> ' if g > 0 else " ")
        parts.append(w)
    return "<speak>" + "".join(parts) + "</speak>"


def synthesize_utterance(
    words: str | Sequence[str] | np.ndarray,
    voice: str = "en-us",
    *,
    rate_wpm: int = 175,
    pitch: int = 50,
    gaps_ms: Sequence[int] | None = None,
    lead_s: float = 0.2,
    trail_s: float = 0.2,
    level_dbfs: float = -6.0,
    noise: str | None = None,
    snr_db: float | None = None,
    seed: int = 0,
    sample_rate: int = 16000,
    amplitude: int = 60,
) -> np.ndarray:
    """Speak a digit string with espeak-ng and return a float32 waveform at ``sample_rate``.

    Parameters
    ----------
    words
        ``"three oh seven"``, ``"307"``, a list of words, or tokens 1..11.
    voice
        espeak ``-v`` argument, a base voice with an optional variant (``"en-us+f3"``).
    rate_wpm, pitch
        espeak ``-s`` (words per minute) and ``-p`` (0-99).
    gaps_ms
        Pause after each digit but the last (0 = run together); default none.
    lead_s, trail_s
        Silence before and after the speech (espeak's own is trimmed).
    level_dbfs
        Peak level of the speech.
    noise
        ``None``, ``"white"``, ``"pink"`` or ``"brown"``, added at ``snr_db`` dB SNR
        relative to the power of the speech.
    seed
        Seeds the noise.

    The result lies on the 16-bit PCM grid (``k / 32767``), so writing it to a 16-bit WAV
    file and reading it back gives the same numbers.
    """
    import librosa
    import soundfile as sf

    if isinstance(words, np.ndarray) or (
        not isinstance(words, str) and len(words) > 0 and not isinstance(words[0], str)
    ):
        word_list = [VOCAB[int(k) - 1] for k in words]
    else:
        word_list = [VOCAB[int(k) - 1] for k in encode(words)]
    if not word_list:
        raise ValueError("nothing to say: words is empty")
    gaps = list(gaps_ms) if gaps_ms is not None else [0] * (len(word_list) - 1)
    if len(gaps) != len(word_list) - 1:
        raise ValueError(f"{len(word_list)} words need {len(word_list) - 1} gaps, got {len(gaps)}")
    if noise is not None and snr_db is None:
        raise ValueError("noise needs snr_db")
    cmd = [
        _espeak(),
        "-m",
        "--stdout",
        "-a",
        str(int(amplitude)),
        "-s",
        str(int(rate_wpm)),
        "-p",
        str(int(pitch)),
        "-v",
        voice,
        _ssml(word_list, gaps),
    ]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0 or len(proc.stdout) < 100:
        raise EspeakError(
            f"espeak-ng failed for voice {voice!r} (exit {proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()[:300]}"
        )
    y, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    if y.ndim > 1:
        y = y.mean(axis=1)
    y, _ = librosa.effects.trim(y, top_db=50, frame_length=512, hop_length=128)
    if sr != sample_rate:
        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    y = y.astype(np.float64)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak <= 0.0:
        raise EspeakError(f"espeak-ng produced silence for voice {voice!r}")
    y *= 10.0 ** (level_dbfs / 20.0) / peak
    speech_power = float(np.mean(y**2))
    lead = np.zeros(round(lead_s * sample_rate))
    trail = np.zeros(round(trail_s * sample_rate))
    y = np.concatenate([lead, y, trail])
    if noise is not None:
        rng = np.random.default_rng(seed)
        y = y + _noise(noise, y.shape[0], rng) * np.sqrt(speech_power / 10.0 ** (snr_db / 10.0))
    return (np.round(np.clip(y, -1.0, 1.0) * 32767.0) / 32767.0).astype(np.float32)


def logmel(audio: np.ndarray, config: SpokenDigitsConfig | None = None) -> np.ndarray:
    """Log mel filterbank energies, float32 ``(T, n_mels)`` (unnormalised).

    25 ms (400-sample) Hann windows every 10 ms (160 samples), each zero-padded to a 512-point
    FFT; no centre padding, so frame ``t`` is the window centred on sample ``160 t + 256``
    and a signal of ``N >= 512`` samples gives ``1 + (N - 512) // 160`` frames. Power spectrum,
    40 mel bands from 20 Hz to Nyquist (librosa's Slaney mel scale), natural log of
    ``energy + log_floor``.
    """
    import librosa

    cfg = config or SpokenDigitsConfig()
    y = np.asarray(audio, dtype=np.float32)
    if y.shape[0] < cfg.n_fft:
        y = np.pad(y, (0, cfg.n_fft - y.shape[0]))
    S = librosa.feature.melspectrogram(
        y=y,
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window="hann",
        center=False,
        power=2.0,
        n_mels=cfg.n_mels,
        fmin=cfg.fmin,
        fmax=cfg.sample_rate / 2,
    )
    return np.log(S + cfg.log_floor).T.astype(np.float32)


def plan_utterance(
    seed: int, split: str, index: int, config: SpokenDigitsConfig | None = None
) -> dict[str, Any]:
    """The random choices of utterance ``index`` of ``split`` (a pure function of its args)."""
    cfg = config or SpokenDigitsConfig()
    if split not in _SPLIT_IDS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rng = np.random.default_rng([int(seed), _SPLIT_IDS[split], int(index)])
    variants = variant_split(cfg)[split]
    bases = base_voices()
    base = bases[int(rng.integers(len(bases)))]
    variant = variants[int(rng.integers(len(variants)))]
    n = int(rng.integers(cfg.min_digits, cfg.max_digits + 1))
    labels = rng.integers(1, len(VOCAB) + 1, size=n)
    gaps = [
        int(rng.integers(cfg.gap_ms[0], cfg.gap_ms[1] + 1)) if rng.random() < cfg.p_gap else 0
        for _ in range(n - 1)
    ]
    clean = bool(rng.random() < cfg.p_clean)
    kind = cfg.noise_kinds[int(rng.integers(len(cfg.noise_kinds)))]
    snr = float(cfg.snrs_db[int(rng.integers(len(cfg.snrs_db)))])
    return {
        "index": int(index),
        "voice": voice_name(base, variant),
        "base_voice": base,
        "variant": variant,
        "labels": [int(k) for k in labels],
        "transcript": decode(labels),
        "rate_wpm": int(rng.integers(cfg.rate_wpm[0], cfg.rate_wpm[1] + 1)),
        "pitch": int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1)),
        "gaps_ms": gaps,
        "lead_s": round(float(rng.uniform(*cfg.silence_s)), 4),
        "trail_s": round(float(rng.uniform(*cfg.silence_s)), 4),
        "level_dbfs": round(float(rng.uniform(*cfg.level_dbfs)), 2),
        "noise": None if clean else kind,
        "snr_db": None if clean else snr,
        "noise_seed": int(rng.integers(2**62)),
    }


def _render(plan: dict[str, Any], cfg: SpokenDigitsConfig) -> np.ndarray:
    return synthesize_utterance(
        plan["labels"],
        plan["voice"],
        rate_wpm=plan["rate_wpm"],
        pitch=plan["pitch"],
        gaps_ms=plan["gaps_ms"],
        lead_s=plan["lead_s"],
        trail_s=plan["trail_s"],
        level_dbfs=plan["level_dbfs"],
        noise=plan["noise"],
        snr_db=plan["snr_db"],
        seed=plan["noise_seed"],
        sample_rate=cfg.sample_rate,
        amplitude=cfg.amplitude,
    )


def make_utterance(
    split: str = "test",
    index: int = 0,
    *,
    seed: int = 1000,
    config: SpokenDigitsConfig | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """A random utterance as the data set would make it, without touching the cache.

    Returns ``(audio, plan)``: the float32 waveform and the choices behind it (``plan``
    holds ``labels``, ``transcript``, ``voice``, rate, pitch, gaps, noise...). With
    ``split="test"`` the voice is one never used in training; pick a ``seed`` other than the
    data set's to get utterances the model has not seen in any split. For the demo::

        audio, plan = spoken_digits.make_utterance("test", i, seed=1000)
        x = test_set.featurize(audio)       # normalised like the data set
    """
    cfg = config or SpokenDigitsConfig()
    plan = plan_utterance(seed, split, index, cfg)
    return _render(plan, cfg), plan


def _warm_up(cfg: SpokenDigitsConfig) -> None:
    """Load what a worker needs (librosa's lazy modules import scipy.signal; trim is jitted)."""
    import librosa

    y = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    librosa.effects.trim(y, top_db=50, frame_length=512, hop_length=128)
    librosa.resample(y, orig_sr=_ESPEAK_RATE, target_sr=cfg.sample_rate, res_type="soxr_hq")
    logmel(y, cfg)


def _make_one(job: tuple[int, str, int, SpokenDigitsConfig, str]) -> tuple[dict, np.ndarray]:
    """Worker: synthesize, write the WAV, featurize; returns (metadata, raw features)."""
    import soundfile as sf

    seed, split, index, cfg, out_dir = job
    plan = plan_utterance(seed, split, index, cfg)
    audio = _render(plan, cfg)
    rel = f"{split}/{index:06d}.wav"
    path = Path(out_dir) / rel
    pcm = np.round(audio * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, cfg.sample_rate, subtype="PCM_16", format="WAV")
    data = buf.getvalue()
    write_atomic(path, data)
    feats = logmel(audio, cfg)
    meta = dict(plan)
    meta.update(
        wav=rel,
        sha256=hashlib.sha256(data).hexdigest(),
        n_samples=int(audio.shape[0]),
        n_frames=int(feats.shape[0]),
    )
    return meta, feats


# --------------------------------------------------------------------------------------------
# cache


def _config_key(seed: int, cfg: SpokenDigitsConfig) -> dict[str, Any]:
    import librosa

    return {
        "format": FORMAT,
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "config": dataclasses.asdict(cfg),
        "espeak_ng": espeak_version(),
        "librosa": librosa.__version__,
    }


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Root of the cache: ``cache_dir``, else ``$EDGEDRNN_DATA``, else
    ``spoken_digits`` in the toolkit's cache (:func:`edgedrnn.support.cache.cache_home`,
    ``~/.cache/edgedrnn/spoken_digits`` by default)."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("EDGEDRNN_DATA")
    if env:
        return Path(env)
    return cache_home("spoken_digits")


def cache_path(
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    config: SpokenDigitsConfig | None = None,
) -> Path:
    """Folder of one configuration: ``<root>/<16 hex digits of the config's SHA-256>``."""
    key = _config_key(seed, config or SpokenDigitsConfig())
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_root(cache_dir) / digest


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import librosa
    import soundfile
    import soxr

    from ..config import VERSION as __version__

    return {
        "edgedrnn": __version__,
        "espeak-ng": espeak_version(),
        "librosa": librosa.__version__,
        "soxr": soxr.__version__,
        "soundfile": soundfile.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _new_manifest(seed: int, cfg: SpokenDigitsConfig) -> dict[str, Any]:
    return {
        **_config_key(seed, cfg),
        "versions": _versions(),
        "vocab": list(VOCAB),
        "blank": BLANK,
        "voices": {
            "base": list(base_voices()),
            "variants": {k: list(v) for k, v in variant_split(cfg).items()},
        },
        "splits": {},
        "stats": {},
    }


def _read_manifest(folder: Path, seed: int, cfg: SpokenDigitsConfig) -> dict[str, Any]:
    path = folder / "manifest.json"
    if path.exists():
        try:
            m = json.loads(path.read_text())
        except json.JSONDecodeError:
            m = None
        key = _config_key(seed, cfg)
        if m is not None and all(
            json.dumps(m.get(k), sort_keys=True) == json.dumps(v, sort_keys=True)
            for k, v in key.items()
        ):
            return m
    return _new_manifest(seed, cfg)


def _features_file(split: str) -> str:
    return f"{split}.features.npz"


def _read_split_features(folder: Path, manifest: dict[str, Any], split: str) -> list[np.ndarray]:
    """Raw (unnormalised) features of the utterances of ``split`` the manifest lists."""
    entry = manifest["splits"].get(split)
    if not entry or not entry["utterances"]:
        return []
    path = folder / entry["features_file"]
    if not path.exists() or _sha256_file(path) != entry["features_sha256"]:
        return []  # missing or corrupt: regenerate
    with np.load(path) as z:
        data, lengths = z["features"], z["lengths"]
    if len(lengths) != len(entry["utterances"]):
        return []
    return np.split(data, np.cumsum(lengths)[:-1])


def _ensure(
    folder: Path,
    seed: int,
    cfg: SpokenDigitsConfig,
    split: str,
    n: int,
    workers: int,
    progress: bool,
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """With the lock held: make the cache hold at least ``n`` utterances of ``split``."""
    manifest = _read_manifest(folder, seed, cfg)
    feats = _read_split_features(folder, manifest, split)
    utts = manifest["splits"].get(split, {}).get("utterances", [])[: len(feats)]
    have = len(feats)
    if have >= n:
        return manifest, feats
    (folder / split).mkdir(parents=True, exist_ok=True)
    _warm_up(cfg)  # import librosa and compile its numba code once, before forking workers
    jobs = [(seed, split, i, cfg, str(folder)) for i in range(have, n)]
    new_meta: list[dict] = []
    new_feats: list[np.ndarray] = []
    with Bars(progress) as bar:
        task = bar.add(f"spoken digits [{split}]", total=len(jobs))
        if workers <= 1:
            results: Iterator[tuple[dict, np.ndarray]] = map(_make_one, jobs)
            for meta, f in results:
                new_meta.append(meta)
                new_feats.append(f)
                bar.update(task)
        else:
            import multiprocessing as mp

            ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                for meta, f in pool.map(_make_one, jobs, chunksize=4):
                    new_meta.append(meta)
                    new_feats.append(f)
                    bar.update(task)
    feats = feats + new_feats
    utts = utts + new_meta
    buf = io.BytesIO()
    np.savez(
        buf,
        features=np.concatenate(feats, axis=0),
        lengths=np.array([f.shape[0] for f in feats], dtype=np.int64),
    )
    data = buf.getvalue()
    write_atomic(folder / _features_file(split), data)
    manifest["splits"][split] = {
        "n": len(utts),
        "features_file": _features_file(split),
        "features_sha256": hashlib.sha256(data).hexdigest(),
        "utterances": utts,
    }
    manifest["versions"] = _versions()
    write_atomic(folder / "manifest.json", json.dumps(manifest, indent=1).encode())
    return manifest, feats


def generate(
    split: str = "train",
    n: int | None = None,
    *,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    config: SpokenDigitsConfig | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Make sure the cache holds the first ``n`` utterances of ``split``; return its folder.

    Writes ``<split>/NNNNNN.wav`` (16-bit PCM), ``<split>.features.npz`` (raw log-mel
    features of the whole split, packed: ``features`` ``(sum T, n_mels)`` and ``lengths``)
    and ``manifest.json``. Utterances already there are kept; only missing ones are made,
    in ``workers`` processes (default: up to 2) with a progress bar.
    """
    cfg = config or SpokenDigitsConfig()
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    n = DEFAULT_SIZES[split] if n is None else int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    workers = _default_workers() if workers is None else int(workers)
    folder = cache_path(seed, cache_dir, cfg)
    with locked(folder / ".lock"):
        _ensure(folder, seed, cfg, split, n, workers, progress)
    return folder


def _default_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


# --------------------------------------------------------------------------------------------
# the data set


@dataclass(eq=False)
class SpokenDigits(SequenceDataset):
    """One split of the spoken-digits data set; a CTC :class:`SequenceDataset`.

    Attributes
    ----------
    features
        float32 ``(T, 40)`` log-mel arrays, normalised with ``mean``/``std``.
    labels
        int64 token arrays (1..11; also available as ``targets``).
    transcripts
        The words spoken, e.g. ``"three oh seven"``.
    voices
        espeak voice of each utterance (``"en-gb-scotland+f3"``).
    metadata
        Per-utterance dicts from the manifest (rate, pitch, gaps, noise, SNR...).
    mean, std
        float32 ``(40,)`` statistics of the training split used to normalise.
    split, seed, n_train, folder, config
        Where it came from.
    """

    features: list[np.ndarray]
    labels: list[np.ndarray]
    transcripts: list[str]
    voices: list[str]
    metadata: list[dict[str, Any]]
    mean: np.ndarray
    std: np.ndarray
    split: str
    seed: int
    n_train: int
    folder: Path
    config: SpokenDigitsConfig = field(default_factory=SpokenDigitsConfig)

    def __post_init__(self) -> None:
        SequenceDataset.__init__(self, self.features, self.labels, kind="ctc")
        self.labels = self.targets

    @property
    def sample_rate(self) -> int:
        """Sample rate of :meth:`audio` (16000)."""
        return self.config.sample_rate

    def audio(self, i: int) -> np.ndarray:
        """Waveform of utterance ``i`` (float32, mono, ``sample_rate``), read from the cache."""
        import soundfile as sf

        y, _ = sf.read(self.folder / self.metadata[i]["wav"], dtype="int16")
        return (y.astype(np.float32) / 32767.0).astype(np.float32)

    def normalize(self, raw: np.ndarray) -> np.ndarray:
        """Normalise raw :func:`logmel` features with this data set's training statistics."""
        return Normalization(self.mean, self.std)(raw)

    def featurize(self, audio: np.ndarray) -> np.ndarray:
        """Normalised features of a waveform at ``sample_rate``, as in the data set."""
        return self.normalize(logmel(audio, self.config))

    def verify(self) -> list[str]:
        """Check every WAV against its SHA-256 in the manifest; return the missing or bad ones."""
        bad = []
        for m in self.metadata:
            path = self.folder / m["wav"]
            if not path.is_file() or _sha256_file(path) != m["sha256"]:
                bad.append(m["wav"])
        return bad

    def __repr__(self) -> str:
        lengths = self.lengths
        return (
            f"SpokenDigits(split={self.split!r}, n={len(self)}, seed={self.seed}, "
            f"n_train={self.n_train}, frames={lengths.min()}..{lengths.max()}, "
            f"voices={len(set(self.voices))}, folder='{self.folder}')"
        )


def load(
    split: str = "train",
    n: int | None = None,
    *,
    seed: int = 0,
    n_train: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    config: SpokenDigitsConfig | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> SpokenDigits:
    """Load (generating and caching on first use) the first ``n`` utterances of ``split``.

    Parameters
    ----------
    split
        ``"train"``, ``"val"`` or ``"test"``.
    n
        Utterances to return; default 2000 / 300 / 300, and ``n_train`` for ``"train"``.
    seed
        Seeds everything; same seed, same data, bit for bit.
    n_train
        The features are normalised with the mean and standard deviation of the
        first ``n_train`` training utterances (default 2000), generated if needed. Use
        the same ``n_train`` for all splits of one experiment (:func:`load_splits` does).
    cache_dir
        Cache root (default: :func:`cache_root`).
    config
        Synthesis and feature settings (default :class:`SpokenDigitsConfig()`).
    workers
        Generation processes (default up to 2).
    progress
        Show a progress bar while generating.
    """
    cfg = config or SpokenDigitsConfig()
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    n_train = DEFAULT_SIZES["train"] if n_train is None else int(n_train)
    if n is None:
        n = n_train if split == "train" else DEFAULT_SIZES[split]
    n = int(n)
    if n < 1 or n_train < 1:
        raise ValueError(f"n and n_train must be >= 1, got n={n}, n_train={n_train}")
    workers = _default_workers() if workers is None else int(workers)
    folder = cache_path(seed, cache_dir, cfg)
    with locked(folder / ".lock"):
        n_need = max(n_train, n) if split == "train" else n_train
        manifest, train_feats = _ensure(folder, seed, cfg, "train", n_need, workers, progress)
        key = str(n_train)
        norm = Normalization.from_dict(manifest["stats"].get(key))
        if norm is None:
            norm = Normalization.fit(train_feats[:n_train])
            manifest["stats"][key] = norm.to_dict()
            write_atomic(folder / "manifest.json", json.dumps(manifest, indent=1).encode())
        if split == "train":
            raw = train_feats
        else:
            manifest, raw = _ensure(folder, seed, cfg, split, n, workers, progress)
    utts = manifest["splits"][split]["utterances"][:n]
    raw = raw[:n]
    return SpokenDigits(
        features=[norm(f) for f in raw],
        labels=[np.array(u["labels"], dtype=np.int64) for u in utts],
        transcripts=[u["transcript"] for u in utts],
        voices=[u["voice"] for u in utts],
        metadata=utts,
        mean=norm.mean,
        std=norm.std,
        split=split,
        seed=seed,
        n_train=n_train,
        folder=folder,
        config=cfg,
    )


def load_splits(
    n_train: int = DEFAULT_SIZES["train"],
    n_val: int = DEFAULT_SIZES["val"],
    n_test: int = DEFAULT_SIZES["test"],
    **kwargs: Any,
) -> dict[str, SpokenDigits]:
    """``{"train", "val", "test"}`` data sets normalised with the same training statistics.

    Keyword arguments (``seed``, ``cache_dir``, ``config``, ``workers``, ``progress``) go to
    :func:`load`.
    """
    return {
        "train": load("train", n_train, n_train=n_train, **kwargs),
        "val": load("val", n_val, n_train=n_train, **kwargs),
        "test": load("test", n_test, n_train=n_train, **kwargs),
    }
