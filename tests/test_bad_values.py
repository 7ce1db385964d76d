"""Bad values are refused at the start, naming the value: non-finite or non-positive learning rates
(Trainer, gm.sweep, the CLI), --size-inner 0, --image-size 0; a checkpoint folder that cannot be
written fails before training; checkpoint files follow the umask; files of interrupted writes are
removed by the next write or resume."""
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import greymatter as gm
from greymatter.cli import main as cli_main

BAD_LRS = [float("nan"), float("inf"), -float("inf"), 0.0, -1e-3]


@pytest.fixture(scope="module")
def tiny():
    full = gm.datasets.FashionMNIST(train=True)
    train = gm.DataLoader(gm.Subset(full, range(128)), batch_size=64)
    val = gm.DataLoader(gm.Subset(full, range(128, 192)), batch_size=64)
    return train, val


class PlainMLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("lr", BAD_LRS)
@pytest.mark.parametrize("make", [lambda: gm.models.MNISTNet(hidden=(8,)), PlainMLP])
def test_trainer_refuses_a_bad_lr(lr, make):
    with pytest.raises(gm.ConfigError, match=r"lr.*" + ("nan" if math.isnan(lr) else "")):
        gm.Trainer(make(), lr=lr, progress=False)


@pytest.mark.parametrize("lr", BAD_LRS)
def test_sweep_refuses_a_bad_lr_before_training_anything(tiny, lr):
    built = []

    def make(size_inner):
        built.append(size_inner)
        return gm.models.MNISTNet(hidden=(size_inner,))

    with pytest.raises(gm.ConfigError, match="lr"):
        gm.sweep(make, grid={"lr": [1e-3, lr], "size_inner": [8]}, train=tiny[0].dataset,
                 val=tiny[1].dataset, epochs=1, n_jobs=1, progress=False)  # fmt: skip
    with pytest.raises(gm.ConfigError, match="lr"):
        gm.sweep(make, grid={"size_inner": [8]}, train=tiny[0].dataset, epochs=1, n_jobs=1,
                 trainer_kwargs={"lr": lr}, progress=False)  # fmt: skip
    assert built == []


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["sweep", "--lr", "nan"], "nan"),
        (["sweep", "--lr", "1e-3,inf"], "inf"),
        (["sweep", "--lr", "0"], "--lr"),
        (["sweep", "--lr", "-0.1"], "-0.1"),
        (["sweep", "--size-inner", "0"], "--size-inner"),
        (["sweep", "--size-inner", "10,-5"], "-5"),
        (["sweep", "--lr", "1e-3", "--image-size", "0"], "--image-size"),
        (["train", "--lr", "nan"], "nan"),
        (["train", "--lr", "0"], "--lr"),
        (["train", "--image-size", "0"], "--image-size"),
        (["train", "--image-size", "-28"], "-28"),
        (["train", "--size-inner", "0"], "--size-inner"),
    ],
)
def test_cli_bad_values_exit_2_at_the_start_naming_the_value(tmp_path, capsys, argv, needle):
    code = cli_main(argv + ["--train-size", "64", "--epochs", "1"] + (
        ["--out", str(tmp_path / "out")] if argv[0] == "train" else ["--results", "none"]
    ))  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err, err
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize("where", ["under_a_file", "is_a_folder", "in_proc"])
def test_unwritable_checkpoint_fails_before_training(tmp_path, tiny, where):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    path = {
        "under_a_file": blocker / "best.pth",
        "is_a_folder": tmp_path,
        "in_proc": "/proc/greymatter-cannot-be-here/best.pth",
    }[where]
    model = gm.models.MNISTNet(hidden=(8,))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(gm.ConfigError, match="checkpoint"):
        trainer = gm.Trainer(model, checkpoint=path, progress=False)
        trainer.fit(*tiny, epochs=1)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_checkpoint_files_follow_the_umask(tmp_path, tiny, umask):
    old = os.umask(umask)
    try:
        trainer = gm.Trainer(
            gm.models.MNISTNet(hidden=(8,)), checkpoint=tmp_path / "r" / "best.pth", progress=False
        )
        trainer.fit(*tiny, epochs=1)
    finally:
        os.umask(old)
    for name in ("best.pth", "best.json", "best.resume.pth"):
        mode = (tmp_path / "r" / name).stat().st_mode & 0o777
        assert mode == 0o666 & ~umask, (name, oct(mode))


# A writer killed in the middle of an atomic save: its object takes a minute to pickle.
KILLED_WRITER = """
import sys, time
from greymatter.train.checkpoint import atomic_save

class Slow:
    def __reduce__(self):
        time.sleep(60)
        return (int, ())

atomic_save({"a": Slow()}, sys.argv[1])
"""


def _start_writer(target):
    """A writer of `target` busy pickling; returns (process, the files it has created so far)."""
    before = set(target.parent.iterdir())
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_WRITER), str(target)])
    deadline = time.monotonic() + 60
    while set(target.parent.iterdir()) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    left = sorted(set(target.parent.iterdir()) - before)
    assert left and target not in left, left
    return proc, left


def _leave_temp_file(target) -> list:
    """Kills a writer of `target` mid-write; returns the files it left in the folder."""
    proc, left = _start_writer(target)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return left


def test_temp_files_of_killed_writers_are_removed_by_the_next_write(tmp_path, tiny):
    folder = tmp_path / "run"
    folder.mkdir()
    left = _leave_temp_file(folder / "best.pth")
    trainer = gm.Trainer(gm.models.MNISTNet(hidden=(8,)), checkpoint=folder / "best.pth",
                         progress=False)  # fmt: skip
    trainer.fit(*tiny, epochs=1)
    assert not any(p.exists() for p in left)
    assert sorted(p.name for p in folder.iterdir()) == [
        "best.json",
        "best.log.csv",
        "best.pth",
        "best.resume.pth",
    ]


def test_resume_removes_temp_files_of_dead_writers_only(tmp_path, tiny):
    folder = tmp_path / "run"
    trainer = gm.Trainer(gm.models.MNISTNet(hidden=(8,)), checkpoint=folder / "best.pth",
                         progress=False)  # fmt: skip
    trainer.fit(*tiny, epochs=1)
    target = folder / "best.resume.pth"
    dead = _leave_temp_file(target)
    busy, live = _start_writer(target)  # still writing: its file must stay
    try:
        gm.Trainer(gm.models.MNISTNet(hidden=(8,)), progress=False).resume(target)
        assert not any(p.exists() for p in dead)
        assert all(p.exists() for p in live)
    finally:
        busy.kill()
        busy.wait()
