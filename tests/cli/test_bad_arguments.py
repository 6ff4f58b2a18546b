"""Bad arguments, files and folders: one line with the fix, exit code 2, before any work.

Every case must fail before data is generated, a model trained or hardware built, so the
whole table runs in seconds. ``{name}`` in an argument is a path made by the ``paths``
fixture.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edgedrnn.cli import main
from edgedrnn.cli._args import UsageError
from edgedrnn.model import DeltaGRU
from edgedrnn.pretrained import DIGITS_MODEL
from edgedrnn.train.checkpoint import save_model
from edgedrnn.train.dense import DenseGRU
from edgedrnn.train.heads import SequenceModel

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, str]:
    """Files and folders the cases name: a plain file, a PNG, foreign data, small models."""
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "file").write_text("not a folder")
    (tmp / "dir").mkdir()
    (tmp / "image.png").write_bytes(PNG)
    (tmp / "image.pt").write_bytes(PNG)
    torch.save({"weights": torch.zeros(2)}, tmp / "other.pt")
    x = np.zeros((3, 5, 40), np.float32)
    np.savez(tmp / "regress.npz", features=x, targets=np.zeros((3, 5, 2)), kind="regression")
    np.savez(tmp / "nokind.npz", features=x, targets=np.zeros(3, np.int64))
    meta = {"data": {"source": "synthetic-classify"}}
    delta = SequenceModel(DeltaGRU(8, 8, 1), nn.Linear(8, 4), "classify", meta)
    save_model(delta, tmp / "classify.pt")
    dense = SequenceModel(DenseGRU(8, 8, 1), nn.Linear(8, 4), "classify", meta)
    save_model(dense, tmp / "dense.pt")
    (tmp / "lonely.pt").write_bytes(DIGITS_MODEL.read_bytes())  # without its .edrnn
    rows = "\n".join(f"{i},{i % 7},{i % 3},{i / 2}" for i in range(60))
    (tmp / "table.csv").write_text("t,a,b,y\n" + rows + "\n")
    (tmp / "nan.csv").write_text("t,a,b,y\n" + rows.replace("\n5,5,2,2.5\n", "\n5,nan,2,2.5\n"))
    (tmp / "word.csv").write_text("t,a,b,y\n" + rows.replace("\n7,0,1,3.5\n", "\n7,0,x1,3.5\n"))
    (tmp / "short.csv").write_text("t,a,b,y\n" + "\n".join(rows.splitlines()[:20]) + "\n")
    csv_meta = {"data": {"source": "table.csv", "csv": {"inputs": ["a", "q"], "targets": ["y"]}}}
    csv_model = SequenceModel(DeltaGRU(2, 8, 1), nn.Linear(8, 1), "regress", csv_meta)
    save_model(csv_model, tmp / "csvmodel.pt")
    names = ["file", "dir", "image.png", "image.pt", "other.pt", "regress.npz", "nokind.npz"]
    names += ["table.csv", "nan.csv", "word.csv", "short.csv"]
    out = {n.replace(".", "_"): str(tmp / n) for n in names}
    out |= {n: str(tmp / f"{n}.pt") for n in ("classify", "dense", "lonely", "csvmodel")}
    out |= {"edrnn": str(DIGITS_MODEL.with_suffix(".edrnn")), "tmp": str(tmp)}
    out["missing"] = str(tmp / "missing")
    return out


#: ``train --data table.csv --inputs`` (then the columns).
CSV = ["--data", "{table_csv}", "--inputs"]

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")

CASES = [
    # data
    (["data", "--n", "-5"], "argument --n: must be at least 1, got -5"),
    (["data", "--n", "3"], "--n 3 needs one split: add --split train, val or test"),
    (["data", "--n", "two", "--split", "val"], "expected a whole number, got 'two'"),
    (["data", "--workers", "0"], "--workers: must be at least 1"),
    (["data", "--seed", "-1"], "--seed: must be 0 or more"),
    (["data", "--split", "dev"], "invalid choice: 'dev'"),
    (
        ["data", "--split", "test", "--n", "2", "--cache-dir", "{file}/cache"],
        "cannot create output folder",
    ),
    (["data", "--cache-dir", "{file}"], "is a file; choose another --cache-dir"),
    (["data", "mnist"], "argument name: invalid choice: 'mnist'"),
    (["data", "japanese-vowels", "--voices"], "--voices is for spoken-digits only"),
    (["data", "basic-motions", "--n", "3"], "--n is for spoken-digits only"),
    # demo
    (["demo", "-n", "0"], "argument -n/--utterances: must be at least 1, got 0"),
    (["demo", "--out", "{file}/out"], "cannot create output folder"),
    (["demo", "--out", "{file}"], "is a file; choose another --out"),
    (["demo", "--model", "{missing}.pt"], "no such file; expected a model file (.pt"),
    (["demo", "--model", "{image_png}"], "is not a model file (.pt"),
    (["demo", "--model", "{image_pt}"], "is not a PyTorch file"),
    (["demo", "--model", "{other_pt}"], "not an edgedrnn model file"),
    (["demo", "--model", "{edrnn}"], "is a compiled Program, not a model"),
    (["demo", "--model", "{dir}"], "is a folder"),
    (["demo", "--model", "{classify}"], "the demo needs a DeltaGRU trained on spoken-digits"),
    (["demo", "--backends", "gpu"], "unknown backend 'gpu'"),
    (["demo", "--backends", ""], "give comma-separated backends"),
    (["demo", "--rtl-utterances", "0"], "--rtl-utterances: must be at least 1"),
    (["demo", "--backends", "rtl"], "--backends rtl alone runs 1 of the 5 utterances"),
    (["demo", "--threads", "0"], "--threads: must be at least 1"),
    # evaluate
    (["evaluate", "--thetas", ""], "give comma-separated thresholds"),
    (["evaluate", "--thetas", "0,,0.1"], "give comma-separated thresholds"),
    (["evaluate", "--thetas", "0,-0.1"], "a threshold must be in [0, 128)"),
    (["evaluate", "--thetas", "0,nan"], "expected a finite number, got nan"),
    (["evaluate", "--thetas", "0,inf"], "expected a finite number, got inf"),
    (["evaluate", "--thetas", "0,200"], "a threshold must be in [0, 128)"),
    (["evaluate", "--thetas", "0,abc"], "expected a number, got 'abc'"),
    (["evaluate", "{image_png}"], "is not a model file (.pt"),
    (["evaluate", "{edrnn}"], "is a compiled Program, not a model"),
    (["evaluate", "{missing}.pt"], "no such file"),
    (["evaluate", "{classify}", "--dense", "{classify}"], "is a DeltaGRU; give the dense model"),
    (["evaluate", "{classify}", "--dense", "{other_pt}"], "not an edgedrnn model file"),
    (["evaluate", "{classify}", "--dense", "{missing}.pt"], "no such file"),
    (["evaluate", "--backend", "fpga"], "invalid choice: 'fpga'"),
    (["evaluate", "--max-sequences", "0"], "--max-sequences: must be at least 1"),
    (["evaluate", "{classify}", "--json", "{file}/x.json"], "is a file; choose another --json"),
    (["evaluate", "{lonely}"], "digits.edrnn; an exported model needs the Program"),
    (["evaluate", "--data", "synthetic-classify"], "is a ctc model but synthetic-classify is"),
    (["evaluate", "--data", "{regress_npz}"], "is a ctc model but"),
    (["evaluate", "{classify}", "--data", "spoken-digits"], "is a classify model but"),
    (["evaluate", "--data", "synthetic-ctc"], "takes 40 features per step but synthetic-ctc"),
    (["evaluate", "--data", "{missing}.npz"], "no such file; expected a data set (.npz)"),
    (["evaluate", "--data", "mnist"], "unknown data source 'mnist'"),
    (["evaluate", "--out", "{file}/out"], "cannot create output folder"),
    (["evaluate", "--n-test", "0"], "--n-test: must be at least 1"),
    (["evaluate", "--reference", "-1"], "--reference: must be 0 or more"),
    (["evaluate", "{classify}", "--data", "{table_csv}"], "is a CSV table but the model was"),
    (["evaluate", "{csvmodel}", "--data", "{table_csv}"], "no column 'q'; the file has t, a, b, y"),
    (["evaluate", "{csvmodel}", "--data", "{missing}.csv"], "no such file; expected a CSV table"),
    (
        ["evaluate", "{csvmodel}"],
        "its training data table.csv: no such file; expected a CSV table (.csv); give --data",
    ),
    (["evaluate", "--data", "japanese-vowels"], "is a ctc model but japanese-vowels is"),
    # train
    (["train", "--layers", "0"], "argument --layers: must be at least 1, got 0"),
    (["train", "--hidden", "-1"], "argument --hidden: must be at least 1, got -1"),
    (["train", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["train", "--delta-batch-size", "0"], "must be at least 1, got 0"),
    (["train", "--dense-epochs", "-1"], "must be 0 or more"),
    (["train", "--dense-epochs", "0", "--delta-epochs", "0"], "train nothing"),
    (["train", "--lr", "0"], "argument --lr: must be above 0"),
    (["train", "--lr", "nan"], "expected a finite number"),
    (["train", "--theta-x", "-1"], "a threshold must be in [0, 128)"),
    (["train", "--theta-h", "NaN"], "expected a finite number"),
    (["train", "--l1-delta", "-0.5"], "must be 0 or more"),
    (["train", "--weight-sparsity", "1"], "must be in [0, 1), e.g. 0.875, got 1"),
    (["train", "--num-pe", "6"], "invalid choice: 6"),
    (["train", "--input-noise", "-0.1"], "argument --input-noise: must be 0 or more"),
    (["train", "--dropout", "1"], "argument --dropout: must be below 1, got 1"),
    (["train", "--theta-warmup", "-1"], "argument --theta-warmup: must be 0 or more"),
    (["train", "--hidden", "2000"], "does not fit the accelerator (max_hidden_size 1024)"),
    (["train", "--layers", "5"], "does not fit the accelerator (max_layers 4)"),
    pytest.param(
        ["train", "--device", "cuda", "--data", "synthetic-ctc", "--out", "{tmp}/t"],
        "no CUDA device is available here; use --device cpu",
        marks=NO_CUDA,
    ),
    (["train", "--device", "tpu"], "--device must be auto, cpu, cuda or cuda:N"),
    (["train", "--data", "mnist"], "unknown data source 'mnist'"),
    (["train", "--data", "{image_png}"], "unknown data source"),
    (["train", "--data", "{missing}.npz"], "no such file"),
    (["train", "--data", "{nokind_npz}", "--out", "{tmp}/t"], "stores no trainable 'kind'"),
    (["train", "--val", "{regress_npz}"], "--val needs --data FILE.npz"),
    (["train", "--test", "{image_png}"], "is not a data set (.npz)"),
    (["train", "--data", "synthetic-ctc", "--out", "{file}/out"], "cannot create output folder"),
    (
        ["train", "--data", "synthetic-ctc", "--out", "{tmp}/t", "--export", "{file}"],
        "is a file; choose another --export",
    ),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    # train --data FILE.csv
    (["train", "--data", "{table_csv}"], "needs --inputs, --targets, --task"),
    (["train", "--data", "{table_csv}", "--inputs", "a"], "needs --targets, --task"),
    (["train", "--inputs", "a"], "--inputs needs --data FILE.csv"),
    (["train", "--data", "synthetic-ctc", "--window", "8"], "--window needs --data FILE.csv"),
    (["train", "--data", "{missing}.csv"], "no such file; expected a CSV table (.csv)"),
    (["train", "--inputs", ""], "give comma-separated column names"),
    (["train", "--inputs", "a,,b"], "give comma-separated column names"),
    (["train", "--task", "forecast"], "invalid choice: 'forecast'"),
    (["train", "--split", "0.7,0.3"], "give three fractions train,val,test"),
    (["train", "--split", "0.8,0.2,0"], "each fraction must be above 0 and below 1"),
    (["train", "--split", "0.5,0.2,0.2"], "the fractions must add up to 1"),
    (["train", "--window", "0"], "argument --window: must be at least 1"),
    (["train", "--stride", "0"], "argument --stride: must be at least 1"),
    (["train", *CSV, "a,q", "--targets", "y", "--task", "regress"], "no column 'q'; the file"),
    (["train", *CSV, "a,b", "--targets", "a", "--task", "regress"], "both an input and a target"),
    (["train", *CSV, "a", "--targets", "b,y", "--task", "classify"], "classify takes one target"),
    (
        ["train", "--data", "{nan_csv}", "--inputs", "a,b", "--targets", "y", "--task", "regress"],
        "nan.csv: line 7, column 'a' is NaN",
    ),
    (
        ["train", "--data", "{word_csv}", "--inputs", "a,b", "--targets", "y", "--task", "regress"],
        "word.csv: line 9, column 'b': 'x1' is not a number",
    ),
    (
        ["train", "--data", "{short_csv}", "--inputs", "a", "--targets", "y", "--task", "regress"],
        "20 data rows are too few",
    ),
    (
        ["train", *CSV, "a", "--targets", "y", "--task", "regress", "--out", "{file}/out"],
        "cannot create output folder",
    ),
    # verilog
    (["verilog", "--max-hidden", "1000"], "must be a power of two, got 1000; e.g. 1024"),
    (["verilog", "--max-input", "40"], "must be a power of two, got 40; e.g. 64"),
    (["verilog", "--num-pe", "3"], "must be a power of two, got 3"),
    (["verilog", "--num-pe", "128"], "--num-pe must be in 4..64, got 128"),
    (["verilog", "--max-hidden", "65536"], "--max-hidden must be in 1..32768, got 65536"),
    (["verilog", "--max-layers", "0"], "must be at least 1"),
    (["verilog", "--name", "1top"], "must be an identifier"),
    (["verilog", "-o", "{file}"], "is a file; choose another -o/--output"),
    # synth
    (["synth", "--num-pe", "128"], "--num-pe must be in 4..64, got 128"),
    (["synth", "--bus-bits", "100"], "must be a power of two, got 100; e.g. 128"),
    (["synth", "--freq", "0"], "argument --freq: must be above 0"),
    (["synth", "--freq", "1e6"], "--freq must be in (0, 10000), got 1000000.0"),
    (["synth", "--target", "xc9"], "invalid choice: 'xc9'"),
    (["synth", "--threads", "0"], "must be at least 1"),
    (["synth", "-o", "{file}"], "is a file; choose another --out"),
    # report
    (["report", "-o", "{file}/out"], "cannot create output folder"),
    (["report", "--synth-dir", "{missing}"], "does not exist; give the folder"),
    (["report", "--synth-dir", "{file}"], "is a file; give the folder"),
    (["report", "--validation", "{image_png}"], "is not the JSON of benchmarks/perf_model.py"),
    (["report", "--validation", "{missing}.json"], "no such file"),
    # the command itself
    (["nosuch"], "invalid choice: 'nosuch'"),
]


def _argv(argv: list[str], paths: dict[str, str]) -> list[str]:
    return [a.format(**paths) for a in argv]


def _id(value: object) -> str:
    return " ".join(value)[:60] if isinstance(value, list) else "-"


@pytest.mark.parametrize(("argv", "fragment"), CASES, ids=_id)
def test_bad_argument_gives_one_line_and_exit_code_2(argv, fragment, paths, capsys):
    rc = main(_argv(argv, paths))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    command = "edgedrnn" if argv == ["nosuch"] else f"edgedrnn {argv[0]}"
    assert lines[0].startswith(f"{command}: error: "), err
    assert fragment in lines[0]


def test_debug_shows_the_traceback(paths, monkeypatch):
    argv = ["demo", "--out", f"{paths['file']}/out"]
    with pytest.raises(UsageError, match="cannot create output folder"):
        main(["--debug", *argv])
    monkeypatch.setenv("EDGEDRNN_DEBUG", "1")
    with pytest.raises(UsageError, match="cannot create output folder"):
        main(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--out", "{out}"],
        ["evaluate", "--out", "{out}"],
        ["train", "--data", "synthetic-ctc", "--out", "{out}"],
        ["data", "--split", "test", "--n", "1", "--cache-dir", "{out}"],
        ["report", "-o", "{out}"],
        ["synth", "-o", "{out}"],
        ["verilog", "-o", "{out}"],
    ],
    ids=lambda v: v[0],
)
@pytest.mark.parametrize("kind", ["impossible", "read-only"])
def test_bad_output_folder_fails_at_once(argv, kind, tmp_path, capsys):
    if kind == "impossible":
        (tmp_path / "file").write_text("")
        out = tmp_path / "file" / "out"
        fragment = "cannot create output folder"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(0o500)
        fragment = "is not writable"
    t0 = time.perf_counter()
    rc = main([a.format(out=out) for a in argv])
    seconds = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert rc == 2 and fragment in err, err
    assert seconds < 3.0  # checked before the work (the demo used to fail after 25 s)
    assert not any(Path(out).glob("*")) if Path(out).is_dir() else True
