"""Checkpoints and weight files from strangers: a file carrying one pickled object besides its
tensors is refused with a DataError naming it, before anything in it runs, at every place greymatter
loads such a file (the CLI's run folder for predict/evaluate, Trainer.resume, weights= of the
models, the CLI's --weights). Genuine files still load, and a resumed run (C++ engine and plain
nn.Module) still ends exactly where an uninterrupted one does."""
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

import greymatter as gm
from greymatter.cli import main as cli_main
from greymatter.sample_data import make_image_folder

TRAIN_SIZE = 400


class Payload:
    """Pickles as a call of exec that writes `marker`: what a crafted checkpoint would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


def _with_payload(state: dict, path: Path, marker: Path) -> None:
    state = dict(state)
    state["extra"] = Payload(marker)
    torch.save(state, path)


def test_the_payload_runs_under_plain_torch_load(tmp_path):
    """The reference: without weights-only loading the file runs its code (so the tests below mean
    something)."""
    marker = tmp_path / "ran"
    _with_payload({"w": torch.zeros(2)}, tmp_path / "x.pth", marker)
    torch.load(tmp_path / "x.pth")
    assert marker.read_text() == "ran"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "x"
    code = cli_main(
        ["train", "--data", "fashion-mnist", "--model", "mnistnet", "--epochs", "1",
         "--train-size", str(TRAIN_SIZE), "--num-workers", "1", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    image = out.parent / "shoe.png"
    Image.fromarray(gm.datasets.FashionMNIST(train=False).data[0].numpy(), "L").save(image)
    return out, image


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_cli_refuses_a_run_folder_whose_checkpoint_carries_code(
    run_folder, tmp_path, capsys, command
):
    out, image = run_folder
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("best.json", "run.json"):
        (folder / name).write_text((out / name).read_text())
    marker = tmp_path / "ran"
    genuine = torch.load(out / "best.pth", weights_only=True)
    _with_payload(genuine, folder / "best.pth", marker)
    argv = [command, "--checkpoint", str(folder / "best.pth")]
    argv += [str(image)] if command == "predict" else ["--data", "fashion-mnist"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert not marker.exists()
    assert str(folder / "best.pth") in err and "error" in err
    # The genuine checkpoint in the same folder works.
    torch.save(genuine, folder / "best.pth")
    assert cli_main(argv) == 0
    capsys.readouterr()


def test_trainer_resume_refuses_a_state_that_carries_code(tmp_path):
    data = gm.datasets.FashionMNIST(train=True)
    loader = gm.DataLoader(gm.Subset(data, range(256)), batch_size=64)
    trainer = gm.Trainer(gm.models.MNISTNet(hidden=(8,)), checkpoint=tmp_path / "best.pth",
                         progress=False)  # fmt: skip
    trainer.fit(loader, epochs=1)
    resume_file = tmp_path / "best.resume.pth"
    marker = tmp_path / "ran"
    crafted = tmp_path / "crafted.resume.pth"
    _with_payload(torch.load(resume_file, weights_only=True), crafted, marker)
    fresh = gm.Trainer(gm.models.MNISTNet(hidden=(8,)), progress=False)
    with pytest.raises(gm.DataError, match=str(crafted)):
        fresh.resume(crafted)
    assert not marker.exists()
    assert fresh.resume(resume_file).epoch == 1  # the genuine file still resumes


@pytest.mark.parametrize(
    "build",
    [
        lambda w: gm.models.TransferClassifier(num_classes=3, weights=w),
        lambda w: gm.models.mobilenet_v2(weights=w),
    ],
    ids=["TransferClassifier", "mobilenet_v2"],
)
def test_model_weights_files_that_carry_code_are_refused(tmp_path, build):
    genuine = gm.models.mobilenet_v2().state_dict()
    marker = tmp_path / "ran"
    path = tmp_path / "mobilenet_v2.pth"
    _with_payload(genuine, path, marker)
    with pytest.raises(gm.DataError, match=str(path)):
        build(str(path))
    assert not marker.exists()
    torch.save(genuine, path)
    model = build(str(path))  # the genuine file loads, into the backbone
    backbone = model.base_model if hasattr(model, "base_model") else model
    name = "features.0.0.weight"
    assert torch.equal(backbone.state_dict()[name], genuine[name])


def test_cli_train_weights_that_carry_code_are_refused(tmp_path, capsys):
    root = make_image_folder(tmp_path / "f", classes=2, per_class=10, size=32)
    marker = tmp_path / "ran"
    path = tmp_path / "weights.pth"
    _with_payload(gm.models.mobilenet_v2().state_dict(), path, marker)
    code = cli_main(
        ["train", "--data", str(root), "--model", "transfer", "--weights", str(path),
         "--epochs", "1", "--out", str(tmp_path / "out")]
    )  # fmt: skip
    assert code == 2
    assert str(path) in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not a checkpoint at all",
        "state_dict",
        "plain_dict",
        "missing_keys",
    ],
)
def test_resume_of_a_malformed_or_foreign_file_is_a_data_error_naming_it(tmp_path, content):
    path = tmp_path / "odd.resume.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "state_dict":  # a best.pth given by mistake
        torch.save(gm.models.MNISTNet(hidden=(8,)).state_dict(), path)
    elif content == "plain_dict":
        torch.save({"epoch": 3, "weights": torch.zeros(3)}, path)
    else:  # a greymatter state with parts missing
        trainer = gm.Trainer(gm.models.MNISTNet(hidden=(8,)), progress=False)
        trainer.save_state(path)
        state = torch.load(path, weights_only=True)
        state.pop("tensors", None)
        torch.save(state, path)
    trainer = gm.Trainer(gm.models.MNISTNet(hidden=(8,)), progress=False)
    with pytest.raises(gm.DataError, match=str(path)):
        trainer.resume(path)


class TutorialMLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10)
        )

    def forward(self, x):
        return self.net(x)


def test_plain_module_resume_equals_uninterrupted_run(tmp_path):
    """torch.optim's state (floats, tuples, int keys) survives the weights-only resume file."""
    data = gm.datasets.FashionMNIST(train=True)
    train = gm.DataLoader(gm.Subset(data, range(512)), batch_size=64, shuffle=True, seed=1)
    val = gm.DataLoader(gm.Subset(data, range(512, 640)), batch_size=64)

    def trainer(folder):
        torch.manual_seed(7)
        return gm.Trainer(TutorialMLP(), lr=3e-3, scheduler="plateau", seed=3, progress=False,
                          checkpoint=tmp_path / folder / "best.pth")  # fmt: skip

    full = trainer("a")
    full_hist = full.fit(train, val, epochs=3).df.drop(columns="seconds")

    def crash(row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer("b").fit(train, val, epochs=3, on_epoch=crash)
    torch.manual_seed(99)
    second = gm.Trainer(TutorialMLP(), lr=3e-3, scheduler="plateau", seed=3, progress=False,
                        checkpoint=tmp_path / "b" / "best.pth")  # fmt: skip
    second.resume(tmp_path / "b" / "best.resume.pth")
    assert second.fit(train, val).df.drop(columns="seconds").equals(full_hist)
    for name, value in full.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[name], value), name


def test_written_files_load_weights_only(run_folder):
    out, _ = run_folder
    for name in ("best.pth", "best.resume.pth"):
        assert isinstance(torch.load(out / name, weights_only=True), dict), name
    json.loads((out / "best.json").read_text())
