"""``edgedrnn data``: generate a split into a cache, summarise it, verify its WAVs."""

from __future__ import annotations

import shutil

import pytest

from edgedrnn.cli import main
from edgedrnn.data import spoken_digits as sd

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_cli_generates_summarises_and_verifies(tmp_path, capsys):
    n_train, n_val = 12, 4
    argv = ["data", "--split", "val", "--n", str(n_val), "--n-train", str(n_train)]
    argv += ["--seed", "3", "--cache-dir", str(tmp_path), "--verify", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"all {n_val} WAV checksums match" in out
    assert sd.cache_path(3, tmp_path).name in out.replace("\n", "")
    assert main(["data", "--voices"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # undo rich's line wrapping
    for variant in sd.variant_split()["test"]:
        assert variant in out
    assert main(["data", "--n", "3"]) == 2  # --n needs one split
