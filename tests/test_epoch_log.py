"""Per-epoch logs and resume: the CSV beside the checkpoint (a row per epoch as it ends, empty
cells without validation), callbacks, min_delta for early stopping, and a `greymatter train` run
killed with SIGKILL that keeps its finished epochs' rows and, with --resume, ends with the history
an uninterrupted run gives."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import greymatter as gm
from greymatter import cli
from greymatter.train.history import COLUMNS


@pytest.fixture(scope="module")
def fashion():
    full = gm.datasets.FashionMNIST(train=True)
    return gm.Subset(full, range(1500)), gm.Subset(full, range(59000, 59500))


def read_log(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def same_numbers(logged, row):
    """A CSV row against a History row: every column but seconds, read back exactly."""
    for c in COLUMNS:
        if c == "seconds":
            continue
        expected = row[c]
        assert logged[c] == (
            ""
            if expected is None
            else repr(expected)
            if isinstance(expected, float)
            else str(expected)
        ), c


def trainer(tmp_path, **kwargs):
    torch.manual_seed(0)
    return gm.Trainer(
        gm.models.MNISTNet(hidden=(32,)),
        checkpoint=str(tmp_path / "best.pth"),
        progress=False,
        **kwargs,
    )


def test_log_has_a_row_per_epoch_and_empty_cells_without_validation(fashion, tmp_path):
    train = gm.DataLoader(fashion[0], batch_size=64, shuffle=True, seed=1)
    seen = []
    tr = trainer(tmp_path)
    hist = tr.fit(train, epochs=3, callbacks=[seen.append])
    rows = read_log(tmp_path / "best.log.csv")
    assert list(rows[0]) == COLUMNS and len(rows) == 3
    for logged, row in zip(rows, hist.rows):
        same_numbers(logged, row)
        assert logged["val_loss"] == logged["val_acc"] == logged["gap"] == ""
    assert [r["epoch"] for r in seen] == [1, 2, 3] and "val_acc" not in seen[0]
    # A second fit continues the log; with validation the columns fill.
    tr.fit(train, gm.DataLoader(fashion[1], batch_size=250), epochs=1)
    rows = read_log(tmp_path / "best.log.csv")
    assert len(rows) == 4 and rows[3]["val_acc"] != "" and rows[2]["val_acc"] == ""


def test_callbacks_run_in_order_after_on_epoch_and_false_stops(fashion, tmp_path):
    train = gm.DataLoader(fashion[0], batch_size=64, shuffle=True, seed=1)
    calls = []
    hist = trainer(tmp_path).fit(
        train,
        epochs=5,
        on_epoch=lambda row: calls.append(("on_epoch", row["epoch"])),
        callbacks=[
            lambda row: calls.append(("first", row["epoch"])),
            lambda row: row["epoch"] < 2,  # stop after epoch 2
        ],
    )
    assert len(hist) == 2 and calls == [
        ("on_epoch", 1),
        ("first", 1),
        ("on_epoch", 2),
        ("first", 2),
    ]
    with pytest.raises(gm.ConfigError, match="functions"):
        trainer(tmp_path).fit(train, epochs=1, callbacks=["print"])


def keras_stop_epoch(values, patience, min_delta):
    """Keras' EarlyStopping on a monitored loss (mode 'min'): the epoch training stops after."""
    best, wait = None, 0
    for epoch, value in enumerate(values, start=1):
        if best is None or best - value > min_delta:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return len(values)


def test_min_delta_counts_small_improvements_as_none(fashion, tmp_path):
    train = gm.DataLoader(fashion[0], batch_size=64, shuffle=True, seed=1)
    full = trainer(tmp_path, lr=1e-5, monitor="train_loss").fit(train, epochs=6)
    losses = full.column("train_loss")
    gains = sorted(a - b for a, b in zip(losses, losses[1:]))
    min_delta = gains[len(gains) // 2]  # half the epochs improve by more, half by less
    expected = keras_stop_epoch(losses, patience=1, min_delta=min_delta)
    assert expected < 6, "the median gain must stop some epoch"
    kwargs = dict(lr=1e-5, monitor="train_loss", early_stopping=1)
    stopped = trainer(tmp_path, min_delta=min_delta, **kwargs).fit(train, epochs=6)
    assert len(stopped) == expected
    assert stopped.column("train_loss") == losses[:expected]
    assert len(trainer(tmp_path, **kwargs).fit(train, epochs=6)) == keras_stop_epoch(losses, 1, 0.0)
    with pytest.raises(gm.ConfigError, match="min_delta"):
        trainer(tmp_path, min_delta=-1.0)


RUN = ["train", "--train-size", "12000", "--epochs", "4", "--num-workers", "1", "--seed", "3"]


def test_sigkilled_train_keeps_its_rows_and_resume_finishes_it_as_uninterrupted(tmp_path, capsys):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "greymatter.cli", *RUN, "--out", str(killed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    printed = []
    deadline = time.monotonic() + 300
    for line in proc.stdout:
        if line.startswith("epoch "):
            printed.append(line)
            os.kill(proc.pid, signal.SIGKILL)  # mid-run: epochs 2-4 still to come
            break
        assert time.monotonic() < deadline
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and printed == [printed[0]]
    rows = read_log(killed / "best.log.csv")
    assert 1 <= len(rows) < 4  # every epoch that ended is there (one more may have ended)
    assert not (killed / "history.csv").exists()

    whole = tmp_path / "whole"
    assert cli.main([*RUN, "--out", str(whole)]) == 0
    reference = read_log(whole / "best.log.csv")
    for logged, ref in zip(rows, reference):
        assert {k: v for k, v in logged.items() if k != "seconds"} == {
            k: v for k, v in ref.items() if k != "seconds"
        }
    capsys.readouterr()
    assert cli.main(["train", "--resume", str(killed)]) == 0
    assert f"resuming {killed} after epoch {len(rows)} of 4" in capsys.readouterr().out
    for name in ("best.log.csv", "history.csv"):
        resumed, whole_run = read_log(killed / name), read_log(whole / name)
        assert len(resumed) == 4
        for a, b in zip(resumed, whole_run):
            assert {k: v for k, v in a.items() if k != "seconds"} == {
                k: v for k, v in b.items() if k != "seconds"
            }
    assert torch.equal(
        torch.load(killed / "best.pth")["fc1.weight"], torch.load(whole / "best.pth")["fc1.weight"]
    )
    assert cli.main(["train", "--resume", str(killed)]) == 2  # finished: nothing to resume
    assert "that run finished" in capsys.readouterr().err


def test_resume_refuses_other_arguments_and_folders_without_a_run(tmp_path, capsys):
    assert cli.main(["train", "--resume", str(tmp_path), "--lr", "0.1"]) == 2
    assert "give no others, got --lr 0.1" in capsys.readouterr().err
    assert cli.main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "no run.json there" in capsys.readouterr().err
