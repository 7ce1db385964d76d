"""The `greymatter` command: train / evaluate / predict / export against plain PyTorch (and, for
the export, OpenCV's DNN module) run on the written files, and bad arguments (one line on stderr,
exit code 2). The sweep subcommand is tested in test_sweep.py."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import onnx
import pandas as pd
import pytest
import torch
import torchvision.transforms as tvT
from PIL import Image
from sklearn.metrics import classification_report as sklearn_report

import greymatter as gm
from greymatter import cli
from greymatter import transforms as T
from greymatter.cli.run_folder import load_run
from greymatter.sample_data import make_image_folder

TRAIN_SIZE = 3000  # --train-size: seconds, not minutes


def run(capsys, *argv):
    """(exit code, stdout, stderr) of `greymatter argv...` run in this process."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def reference_logits(checkpoint: Path, x: torch.Tensor) -> torch.Tensor:
    """The saved weights in the same network written in plain PyTorch (784-128-64-10 MLP)."""
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    state = torch.load(checkpoint)
    net.load_state_dict(
        {
            f"{i}.{kind}": state[f"fc{j}.{kind}"]
            for i, j in ((1, 1), (3, 2), (5, 3))
            for kind in ("weight", "bias")
        }
    )
    with torch.no_grad():
        return net(x)


def fashion_test_tensor(n=None):
    """Fashion-MNIST's test images as ToTensor + Normalize((0.5,), (0.5,)) computed by hand, and the
    labels."""
    test = gm.datasets.FashionMNIST(train=False)
    data, targets = (test.data, test.targets) if n is None else (test.data[:n], test.targets[:n])
    return ((data.float() / 255 - 0.5) / 0.5).unsqueeze(1), targets


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "x"
    code = cli.main(
        [
            "train",
            "--data",
            "fashion-mnist",
            "--model",
            "mnistnet",
            "--epochs",
            "2",
            "--train-size",
            str(TRAIN_SIZE),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    train = make_image_folder(root / "train", classes=3, per_class=10, size=40, seed=0)
    test = make_image_folder(root / "test", classes=3, per_class=4, size=40, seed=1)
    other = make_image_folder(root / "other", classes=("a", "b", "c"), per_class=2, size=40, seed=2)
    return train, test, other


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory, folders):
    out = tmp_path_factory.mktemp("runs") / "cnn"
    code = cli.main(
        [
            "train",
            "--data",
            str(folders[0]),
            "--test",
            str(folders[1]),
            "--model",
            "mnistcnn",
            "--image-size",
            "32",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--val-fraction",
            "0.2",
            "--flip",
            "--vflip",
            "--rotate",
            "10",
            "--crop-scale",
            "0.8",
            "--color-jitter",
            "0.1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_train_writes_checkpoint_metadata_and_plots(fashion_run):
    for name in (
        "best.pth",
        "best.json",
        "best.resume.pth",
        "run.json",
        "history.csv",
        "curves.png",
        "metrics.png",
        "confusion_matrix.png",
    ):
        assert (fashion_run / name).is_file(), name
    assert (fashion_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((fashion_run / "best.json").read_text())
    assert meta["model"]["name"] == "MNISTNet" and meta["model"]["hidden"] == [128, 64]
    assert meta["classes"] == gm.datasets.FashionMNIST.classes
    assert (
        len((fashion_run / "history.csv").read_text().strip().splitlines()) == 3
    )  # header + 2 epochs
    run_json = json.loads((fashion_run / "run.json").read_text())
    assert run_json["image"] == {"size": 28, "channels": 1, "mean": [0.5], "std": [0.5]}
    # The reported test accuracy is that of the saved weights, recomputed in plain PyTorch.
    x, y = fashion_test_tensor()
    accuracy = (reference_logits(fashion_run / "best.pth", x).argmax(1) == y).float().mean().item()
    assert run_json["test"]["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert accuracy > 0.7


def test_train_prints_one_line_per_epoch_and_the_files(fashion_run, capsys, tmp_path):
    code, out, _ = run(
        capsys, "train", "--epochs", "2", "--train-size", "500", "--out", tmp_path / "y"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(
        "mnistnet on fashion-mnist: 500 train / 6000 val / 10000 test images of 1x28x28"
    )
    assert [line.split(":")[0] for line in lines[1:3]] == ["epoch 1/2", "epoch 2/2"]
    assert "test acc" in lines[3] and lines[4].startswith(
        f"wrote {tmp_path / 'y'}/: best.pth, best.json"
    )


def test_augmented_fashion_mnist_validates_on_plain_images(capsys, tmp_path):
    """Augmentation applies to the training part only: the best epoch's val_acc is that of the saved
    weights on torch's random_split validation images, read without augmentation."""
    code, _, _ = run(
        capsys,
        "train",
        "--epochs",
        "1",
        "--train-size",
        "1000",
        "--flip",
        "--rotate",
        "10",
        "--crop-scale",
        "0.8",
        "--out",
        tmp_path / "aug",
    )
    assert code == 0
    run_json = json.loads((tmp_path / "aug" / "run.json").read_text())
    assert "RandomHorizontalFlip" in run_json["data"]["train_transform"]
    full = gm.datasets.FashionMNIST(train=True)
    _, val = torch.utils.data.random_split(
        range(60000), [54000, 6000], generator=torch.Generator().manual_seed(42)
    )
    idx = torch.tensor(list(val))
    x = ((full.data[idx].float() / 255 - 0.5) / 0.5).unsqueeze(1)
    accuracy = (
        (reference_logits(tmp_path / "aug" / "best.pth", x).argmax(1) == full.targets[idx])
        .float()
        .mean()
    )
    meta = json.loads((tmp_path / "aug" / "best.json").read_text())
    assert meta["metrics"]["val_acc"] == pytest.approx(float(accuracy), abs=1e-6)


def test_predict_prints_top_k_classes_of_image_files(fashion_run, capsys, tmp_path):
    test = gm.datasets.FashionMNIST(train=False)
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"item{i}.png")
        Image.fromarray(test.data[i].numpy()).save(paths[-1])
    code, out, err = run(
        capsys, "predict", "--checkpoint", fashion_run / "best.pth", "--top-k", "3", *paths
    )
    assert code == 0 and err == ""
    x, _ = fashion_test_tensor(4)
    probs = reference_logits(fashion_run / "best.pth", x).softmax(1)
    lines = out.splitlines()
    assert len(lines) == 4
    for path, line, p in zip(paths, lines, probs):
        name, rest = line.split(": ", 1)
        assert name == str(path)
        printed = [
            (pair.rsplit(" ", 1)[0], float(pair.rsplit(" ", 1)[1])) for pair in rest.split(", ")
        ]
        top = p.topk(3)
        assert [c for c, _ in printed] == [test.classes[i] for i in top.indices]
        assert [v for _, v in printed] == pytest.approx(top.values.tolist(), abs=6e-4)


def test_evaluate_matches_plain_pytorch(fashion_run, capsys, tmp_path):
    code, out, _ = run(
        capsys,
        "evaluate",
        "--checkpoint",
        fashion_run / "best.pth",
        "--confusion-matrix",
        tmp_path / "cm.png",
    )
    assert code == 0
    x, y = fashion_test_tensor()
    pred = reference_logits(fashion_run / "best.pth", x).argmax(1)
    lines = out.splitlines()
    assert lines[0] == "10000 images from fashion-mnist (test split)"
    assert float(lines[1].split()[3]) == pytest.approx((pred == y).float().mean().item(), abs=1e-4)
    # The classification report, printed and written beside the run, as scikit-learn computes it.
    expected = sklearn_report(y.numpy(), pred.numpy(), output_dict=True, zero_division=0)
    trouser = next(line for line in lines if line.strip().startswith("Trouser"))
    assert [float(v) for v in trouser.split()[1:4]] == pytest.approx(
        [expected["1"][k] for k in ("precision", "recall", "f1-score")], abs=1e-4
    )
    assert lines[-2] == f"wrote {fashion_run / 'report.csv'}"
    table = pd.read_csv(fashion_run / "report.csv", index_col="class")
    assert list(table.columns) == ["precision", "recall", "f1", "support"]
    assert table.loc["macro avg", "f1"] == pytest.approx(expected["macro avg"]["f1-score"])
    assert table.loc["Trouser", "support"] == expected["1"]["support"]
    assert (tmp_path / "cm.png").is_file()


def test_evaluate_and_predict_with_tta_average_the_flipped_images(fashion_run, capsys, tmp_path):
    x, y = fashion_test_tensor()
    logits = reference_logits(fashion_run / "best.pth", x)
    flipped = reference_logits(fashion_run / "best.pth", x.flip(3))
    probs = (logits.softmax(1) + flipped.softmax(1)) / 2
    code, out, _ = run(
        capsys,
        "evaluate",
        "--checkpoint",
        fashion_run / "best.pth",
        "--tta",
        "--report",
        tmp_path / "tta.csv",
    )
    assert code == 0 and out.splitlines()[0].endswith(", TTA hflip")
    accuracy = (probs.argmax(1) == y).float().mean().item()
    assert float(out.splitlines()[1].split()[3]) == pytest.approx(accuracy, abs=1e-4)
    assert (tmp_path / "tta.csv").is_file()

    test = gm.datasets.FashionMNIST(train=False)
    path = tmp_path / "item.png"
    Image.fromarray(test.data[0].numpy()).save(path)
    code, out, _ = run(
        capsys,
        "predict",
        "--checkpoint",
        fashion_run / "best.pth",
        "--top-k",
        "2",
        "--tta",
        "hflip",
        path,
    )
    assert code == 0
    printed = [float(pair.rsplit(" ", 1)[1]) for pair in out.split(": ", 1)[1].split(", ")]
    assert printed == pytest.approx(probs[0].topk(2).values.tolist(), abs=6e-4)
    code, _, err = run(
        capsys, "predict", "--checkpoint", fashion_run / "best.pth", "--tta", "spin", path
    )
    assert code == 2 and "unknown TTA augmentation 'spin'" in err


def test_export_writes_an_onnx_file_that_opencv_runs_like_the_checkpoint(fashion_run, capsys):
    out_file = fashion_run / "export" / "model.onnx"
    code, out, err = run(
        capsys, "export", "--checkpoint", fashion_run / "best.pth", "--out", out_file
    )
    assert code == 0, err
    assert out.strip() == (
        f"wrote {out_file} (onnx.checker and OpenCV DNN agree) and {out_file.with_suffix('.json')}"
    )
    onnx.checker.check_model(onnx.load(str(out_file)))
    x, _ = fashion_test_tensor(64)
    net = cv2.dnn.readNetFromONNX(str(out_file))
    net.setInput(x.numpy())
    got = torch.from_numpy(net.forward())
    assert (got - reference_logits(fashion_run / "best.pth", x)).abs().max() <= 1e-4
    meta = json.loads(out_file.with_suffix(".json").read_text())
    run_json = json.loads((fashion_run / "run.json").read_text())
    assert meta["image"] == run_json["image"]
    assert meta["classes"] == gm.datasets.FashionMNIST(train=False).classes
    assert meta["input"]["shape"] == ["batch", 1, 28, 28]
    assert meta["output"]["probabilities"] == "softmax"


def test_augmentation_flags_build_the_training_chain(folders):
    from greymatter.cli import inputs
    from greymatter.cli.parser import build_parser

    args = build_parser().parse_args(
        [
            "train",
            "--data",
            str(folders[0]),
            "--image-size",
            "32",
            "--crop-scale",
            "0.8",
            "--flip",
            "--vflip",
            "--rotate",
            "10",
            "--color-jitter",
            "0.1",
        ]
    )
    spec = inputs.image_spec(args, "folder")
    expected = gm.transforms.Compose(
        [
            gm.transforms.RandomResizedCrop((32, 32), scale=(0.8, 1.0)),
            gm.transforms.RandomHorizontalFlip(),
            gm.transforms.RandomVerticalFlip(),
            gm.transforms.RandomRotation(10),
            gm.transforms.ColorJitter(brightness=0.1, contrast=0.1, saturation=0.1),
            gm.transforms.ToTensor(),
            gm.transforms.Normalize((0.5,) * 3, (0.5,) * 3),
        ]
    )
    assert inputs.train_transform(args, spec, "folder") == expected


def test_image_folder_run_with_augmentation(folder_run, folders, capsys):
    run_json = json.loads((folder_run / "run.json").read_text())
    assert run_json["image"] == {"size": 32, "channels": 3, "mean": [0.5] * 3, "std": [0.5] * 3}
    assert (
        run_json["data"]["test"] == str(folders[1])
        and (folder_run / "confusion_matrix.png").is_file()
    )
    # predict reads a file as torchvision would: Resize((32, 32)), ToTensor, Normalize.
    path = sorted((folders[1] / "coffee").iterdir())[0]
    ref_tf = tvT.Compose(
        [tvT.Resize((32, 32)), tvT.ToTensor(), tvT.Normalize((0.5,) * 3, (0.5,) * 3)]
    )
    model = gm.models.from_config(json.loads((folder_run / "best.json").read_text())["model"])
    model.load_state_dict(torch.load(folder_run / "best.pth"))
    model.eval()
    with torch.no_grad():
        probs = model(ref_tf(Image.open(path).convert("RGB"))[None]).softmax(1)[0]
    code, out, _ = run(
        capsys, "predict", "--checkpoint", folder_run / "best.pth", "--top-k", "1", path
    )
    assert code == 0
    name, p = out.split(": ")[1].rsplit(" ", 1)
    assert name == ["astronaut", "chelsea", "coffee"][int(probs.argmax())]
    assert float(p) == pytest.approx(
        float(probs.max()), abs=0.02
    )  # resize differences of a level or two


def test_evaluate_an_image_folder_run_on_its_test_folder_and_refuses_other_classes(
    folder_run, folders, capsys
):
    code, out, _ = run(capsys, "evaluate", "--checkpoint", folder_run / "best.pth")
    assert code == 0 and out.startswith(f"12 images from {folders[1]} (folder)")
    code, _, err = run(
        capsys, "evaluate", "--checkpoint", folder_run / "best.pth", "--data", folders[2]
    )
    assert code == 2 and "has classes ['a', 'b', 'c'], the model was trained on ['astronaut'" in err


def test_predict_a_checkpoint_saved_from_python(tmp_path, capsys):
    """No run.json: the input comes from the model config and best.json's Normalize, and a note says
    so."""
    tf = gm.transforms.Compose(
        [gm.transforms.ToTensor(), gm.transforms.Normalize((0.2860,), (0.3530,))]
    )
    train = gm.Subset(gm.datasets.FashionMNIST(train=True, transform=tf), range(2000))
    trainer = gm.Trainer(
        gm.models.MNISTNet(), checkpoint=str(tmp_path / "py" / "best.pth"), progress=False
    )
    trainer.fit(gm.DataLoader(train, batch_size=64, shuffle=True, seed=1), epochs=1)
    test = gm.datasets.FashionMNIST(train=False)
    Image.fromarray(test.data[0].numpy()).save(tmp_path / "boot.png")
    code, out, err = run(
        capsys,
        "predict",
        "--checkpoint",
        tmp_path / "py" / "best.pth",
        "--top-k",
        "1",
        tmp_path / "boot.png",
    )
    assert code == 0
    assert "no run.json" in err and "Normalize(mean=(0.286,), std=(0.353,))" in err
    x = ((test.data[:1].float() / 255 - 0.2860) / 0.3530).unsqueeze(1)
    p = reference_logits(tmp_path / "py" / "best.pth", x).softmax(1)[0]
    assert out.strip().split(": ")[1].rsplit(" ", 1) == [
        test.classes[int(p.argmax())],
        f"{float(p.max()):.3f}",
    ]


def test_a_python_checkpoint_reads_images_as_its_validation_transform(folders, tmp_path, capsys):
    """No run.json: best.json's transform_config gives size and normalization. The model config
    alone would say 224x224 with ImageNet's mean/std for a TransferClassifier, which this model
    never saw."""
    mean, std = (0.3, 0.4, 0.5), (0.2, 0.25, 0.3)
    val_tf = T.Compose([T.Resize((32, 32)), T.ToTensor(), T.Normalize(mean, std)])
    train_tf = T.Compose(
        [T.RandomResizedCrop(32, scale=(0.6, 1.0)), T.ToTensor(), T.Normalize(mean, std)]
    )
    checkpoint = tmp_path / "py" / "best.pth"
    model = gm.models.TransferClassifier(num_classes=3, size_inner=8, freeze=False)
    gm.Trainer(model, checkpoint=str(checkpoint), progress=False).fit(
        gm.DataLoader(
            gm.datasets.ImageFolder(folders[0], transform=train_tf),
            batch_size=10,
            shuffle=True,
            seed=0,
        ),
        gm.DataLoader(gm.datasets.ImageFolder(folders[1], transform=val_tf), batch_size=16),
        epochs=1,
    )
    loaded = load_run(checkpoint)
    assert (loaded.spec.size, loaded.spec.channels, loaded.spec.mean, loaded.spec.std) == (
        32,
        3,
        mean,
        std,
    )
    assert "transform_config (the validation set's transform)" in loaded.notes[0]

    path = sorted((folders[1] / "coffee").iterdir())[0]
    with torch.no_grad():
        probs = loaded.model(val_tf(path)[None]).softmax(1)[0]
    code, out, err = run(capsys, "predict", "--checkpoint", checkpoint, "--top-k", "1", path)
    assert code == 0 and "reading images as 3x32x32, Normalize(mean=(0.3, 0.4, 0.5)" in err
    name, p = out.split(": ")[1].rsplit(" ", 1)
    assert name == loaded.classes[int(probs.argmax())] and float(p) == pytest.approx(
        float(probs.max()), abs=1e-3
    )

    # A checkpoint from before transform_config: the size from the model config, mean/std from the
    # repr.
    meta_file = checkpoint.with_suffix(".json")
    meta = json.loads(meta_file.read_text())
    del meta["transform_config"], meta["transform_source"]
    meta_file.write_text(json.dumps(meta))
    old = load_run(checkpoint).spec
    assert (old.size, old.channels, old.mean, old.std) == (224, 3, mean, std)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
        (["train", "--model", "nope"], "argument --model: invalid choice: 'nope'"),
        (["train", "--data", "{tmp}/missing"], "is neither 'fashion-mnist' nor a folder"),
        (["train", "--crop-scale", "1.5"], "--crop-scale must be in (0, 1], got 1.5"),
        (["train", "--model", "braintumorcnn"], "--model braintumorcnn does not take 1x28x28"),
        (["train", "--image-size", "64"], "MNIST-format images are 28x28"),
        (
            ["train", "--hidden", "128,x"],
            "--hidden: '128,x' is not a comma-separated list of integers",
        ),
        (["train", "--val-fraction", "1.5"], "--val-fraction must be between 0 and 1"),
        (["train", "--epochs", "0"], "--epochs must be at least 1"),
        (
            ["train", "--data", "{train}", "--model", "transfer", "--weights", "none"],
            "add --unfreeze",
        ),
        (["train", "--data", "{train}", "--model", "transfer"], "greymatter never downloads"),
        (
            ["train", "--data", "{train}", "--model", "simplecnn", "--dropout", "0.5"],
            "simplecnn has no dropout",
        ),
        (
            ["train", "--data", "{train}", "--val-fraction", "0.01"],
            "leaves 30 for training and 0 for validation",
        ),
        (
            ["train", "--data", "{train}", "--model", "exammodel"],
            "binary classifier; the data has 3 classes",
        ),
        (["predict", "--checkpoint", "{tmp}/none.pth", "x.png"], "no checkpoint at"),
        (["predict", "--checkpoint", "{ckpt}", "{tmp}/missing.png"], "missing.png' does not exist"),
        (["predict", "--checkpoint", "{ckpt}", "{tmp}/text.png"], "text.png' is not an image"),
        (
            ["predict", "--checkpoint", "{ckpt}", "--top-k", "0", "x.png"],
            "--top-k must be at least 1",
        ),
        (["predict", "--checkpoint", "{ckpt}"], "the following arguments are required: IMAGE"),
        (["predict", "--checkpoint", "{tmp}/nometa.pth", "x.png"], "nometa.json is missing"),
        (["evaluate"], "the following arguments are required: --checkpoint"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_code_2(
    argv, message, fashion_run, folders, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no weights file there
    monkeypatch.chdir(tmp_path)  # the default --out is runs/train
    (tmp_path / "text.png").write_text("not an image")
    torch.save(gm.models.MNISTNet().state_dict(), tmp_path / "nometa.pth")
    fill = {"tmp": tmp_path, "train": folders[0], "ckpt": fashion_run / "best.pth"}
    code, out, err = run(capsys, *[a.format(**fill) for a in argv])
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "command", [[], ["train"], ["evaluate"], ["predict"], ["export"], ["sweep"]]
)
def test_help_for_each_command(command, capsys):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and out.startswith(
        f"usage: greymatter {command[0] if command else ''}".rstrip()
    )


def test_console_script(tmp_path):
    script = Path(sys.executable).parent / "greymatter"
    if not script.exists():
        pytest.skip("greymatter is not installed as a console script next to this interpreter")
    done = subprocess.run(
        [str(script), "train", "--epochs", "x"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        "greymatter train: error: argument --epochs: invalid int value: 'x' "
        "(see greymatter train --help)"
    )
