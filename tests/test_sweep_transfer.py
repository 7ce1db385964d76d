"""gm.sweep of the transfer-learning head (the tutorials' 4 x 3 lr x size_inner grid on a 224x224
image folder): the same table with the frozen-backbone feature cache as without it, one backbone
pass for the whole sweep when the configurations share backbone weights, model names through
gm.models' registry, and the same table on Dask.

The uncached sweep (the backbone runs on every batch of every epoch of every configuration) is the
reference; a plain Trainer run checks that the sweep builds and seeds each configuration as
documented."""
import importlib

import pytest
import torch
import torchvision

import greymatter as gm
from greymatter.train import feature_cache
from greymatter import transforms as T
from greymatter.sample_data import make_image_folder
from greymatter.sweep._process import single_threaded

GRID = {"lr": [1e-4, 1e-3, 1e-2, 1e-1], "size_inner": [10, 100, 1000]}
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # the tutorial's ImageNet normalization
# Columns that must be equal, not just close: accuracies, which epoch was best, what ran.
EXACT = ["lr", "size_inner", "val_acc", "train_acc", "best_epoch", "epochs", "status"]


class Folder:
    """Picklable data factory (Dask workers build the dataset themselves)."""

    def __init__(self, root, size: int) -> None:
        self.root, self.size = str(root), size

    def __call__(self):
        transform = T.Compose(
            [T.Resize((self.size, self.size)), T.ToTensor(), T.Normalize(MEAN, STD)]
        )
        return gm.datasets.ImageFolder(self.root, transform=transform)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    return {
        "train": make_image_folder(root / "train", classes=4, per_class=3, size=224, seed=1),
        "val": make_image_folder(root / "val", classes=4, per_class=2, size=224, seed=2),
        "small": make_image_folder(root / "small", classes=4, per_class=3, size=48, seed=3),
    }


@pytest.fixture(scope="module")
def backbone(photos, tmp_path_factory):
    """A MobileNetV2 weights file standing in for ImageNet's (not on this machine): torchvision's
    random init with BatchNorm statistics measured on the training photos. At init (running mean 0,
    var 1) the frozen backbone's pooled features are the same for every image (std ~1e-9) and no
    head can learn from them."""
    torch.manual_seed(0)
    net = torchvision.models.mobilenet_v2()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a plain average: one pass sets the statistics
            m.reset_running_stats()
    train = Folder(photos["train"], 224)()
    with torch.no_grad():
        net.train().features(torch.stack([train[i][0] for i in range(len(train))]))
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v2_calibrated.pth"
    torch.save(net.state_dict(), path)
    return str(path)


@pytest.fixture
def backbone_passes(monkeypatch):
    """How many times the backbone ran over a whole dataset to fill the feature cache."""
    feature_cache.clear()
    calls = []
    real = feature_cache._core.Engine.features
    monkeypatch.setattr(
        feature_cache._core.Engine, "features", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    yield calls
    feature_cache.clear()


def transfer_sweep(train, val, weights, cache, **kwargs):
    args = dict(
        grid=GRID,
        train=train,
        val=val,
        epochs=2,
        model_kwargs={"num_classes": 4, "weights": weights},
        trainer_kwargs={"cache_features": cache},
        loader_kwargs={"batch_size": 4},
        n_jobs=1,
        progress=False,
    )
    args.update(kwargs)
    return gm.sweep("transfer", **args)


def test_4x3_transfer_sweep_gives_the_same_table_with_and_without_the_feature_cache(
    photos, backbone, backbone_passes, tmp_path
):
    train, val = Folder(photos["train"], 224)(), Folder(photos["val"], 224)()
    cached = transfer_sweep(train, val, backbone, cache=True, results=tmp_path / "r.csv")
    assert (
        len(backbone_passes) == 2
    )  # train and val once each, for all 12 configurations and both epochs
    plain = transfer_sweep(train, val, backbone, cache=False)
    assert len(backbone_passes) == 2  # the reference recomputed the backbone on every batch instead

    assert list(plain.status) == ["ok"] * 12
    assert cached[EXACT].equals(plain[EXACT])
    for column in ("val_loss", "train_loss", "gap"):
        torch.testing.assert_close(
            torch.tensor(cached[column].to_numpy()),
            torch.tensor(plain[column].to_numpy()),
            rtol=1e-4,
            atol=1e-5,
            msg=column,
        )
    assert plain.val_loss.nunique() == 12  # every configuration trained its own head
    assert (
        plain.val_acc.nunique() > 1 and plain.best_epoch.nunique() == 2
    )  # and the accuracies tell them apart

    # The store key leaves cache_features out (it changes speed, not results): the uncached sweep
    # with the same store reads every row back (same seconds) instead of training again.
    again = transfer_sweep(train, val, backbone, cache=False, results=tmp_path / "r.csv")
    assert again.drop(columns="seconds").equals(cached.drop(columns="seconds"))
    assert list(again.seconds) == list(cached.seconds)


def test_a_sweep_row_is_the_plain_trainer_run_of_its_configuration(
    photos, backbone, backbone_passes
):
    train, val = Folder(photos["train"], 224)(), Folder(photos["val"], 224)()
    df = transfer_sweep(
        train, val, backbone, cache="auto", grid={"lr": [1e-2], "size_inner": [100]}
    )
    with single_threaded():  # the sweep trains each configuration on one thread
        torch.manual_seed(42)  # the sweep's seed, just before the model is built
        model = gm.models.TransferClassifier(num_classes=4, size_inner=100, weights=backbone)
        hist = gm.Trainer(model, lr=1e-2, seed=42, progress=False, cache_features=False).fit(
            gm.DataLoader(train, batch_size=4, shuffle=True, seed=42),
            gm.DataLoader(val, batch_size=256),
            epochs=2,
        )
    best = hist.rows[hist.best_epoch - 1]
    row = df.iloc[0]
    assert (row.val_acc, row.train_acc, row.best_epoch) == (
        best["val_acc"],
        best["train_acc"],
        hist.best_epoch,
    )
    assert row.val_loss == pytest.approx(best["val_loss"], rel=1e-4)


def test_backbone_weights_decide_whether_configurations_share_features(
    photos, backbone, backbone_passes
):
    small = Folder(photos["small"], 48)()
    grid = {"seed": [1, 2], "size_inner": [8, 16]}
    with pytest.warns(
        UserWarning, match="random initial weights"
    ):  # on purpose: one backbone per seed
        gm.sweep(
            "transfer",
            grid=grid,
            train=small,
            epochs=1,
            model_kwargs={"num_classes": 4},
            n_jobs=1,
            progress=False,
        )
    assert (
        len(backbone_passes) == 2
    )  # each seed initializes its own backbone: features once per seed

    feature_cache.clear()
    backbone_passes.clear()
    gm.sweep(
        "transfer",
        grid=grid,
        train=small,
        epochs=1,
        model_kwargs={"num_classes": 4, "weights": backbone},
        n_jobs=1,
        progress=False,
    )
    assert len(backbone_passes) == 1  # loaded weights: one backbone for every seed


def test_misspelled_keys_of_a_named_model_fail_before_anything_runs(
    photos, backbone_passes, tmp_path
):
    small = Folder(photos["small"], 48)()
    with pytest.raises(gm.ConfigError, match=r"unknown grid key\(s\) 'size_iner'.*size_inner"):
        gm.sweep(
            "transfer",
            grid={"size_iner": [8]},
            train=small,
            results=tmp_path / "r.csv",
            progress=False,
        )
    with pytest.raises(
        gm.ConfigError, match=r"model_kwargs .* does not take 'num_clases'.*num_classes"
    ):
        gm.sweep(
            "transfer",
            grid={"size_inner": [8]},
            train=small,
            model_kwargs={"num_clases": 3},
            results=tmp_path / "r.csv",
            progress=False,
        )
    with pytest.raises(gm.ConfigError, match="unknown model name 'mobilenet_v9'.*transfer"):
        gm.sweep("mobilenet_v9", grid={"lr": [1e-3]}, train=small, progress=False)
    assert backbone_passes == [] and not (tmp_path / "r.csv").exists()


def test_dask_workers_with_their_own_feature_caches_give_the_local_table(
    photos, backbone, backbone_passes
):
    distributed = pytest.importorskip("distributed")
    data = {"train": Folder(photos["small"], 48), "val": Folder(photos["val"], 48)}
    grid = {"lr": [1e-3, 1e-1], "size_inner": [8, 16]}
    kwargs = dict(
        grid=grid,
        epochs=2,
        model_kwargs={"num_classes": 4, "dropout": 0.3, "weights": backbone},
        progress=False,
    )
    local = gm.sweep("transfer", train=data["train"](), val=data["val"](), n_jobs=1, **kwargs)
    assert len(backbone_passes) == 2  # "auto" used the cache here
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster, distributed.Client(cluster) as client:
        on_dask = gm.sweep("transfer", executor=client, **data, **kwargs)
    assert on_dask.drop(columns="seconds").equals(local.drop(columns="seconds"))


class _Stop(Exception):
    pass


# Frozen backbones without weights= on purpose: what matters is whether one is shared, not what it
# learns.
@pytest.mark.filterwarnings("ignore:TransferClassifier\\(weights=None, freeze=True\\)")
@pytest.mark.parametrize(
    "model_kwargs, trainer_kwargs, expected",
    [
        ({}, {}, 1),  # one backbone pass shared in this process beats one per worker process
        (
            {"freeze": False},
            {},
            2,
        ),  # the whole model trains: nothing shared, processes as for any model
        ({}, {"cache_features": False}, 2),
    ],
)
def test_automatic_n_jobs_keeps_a_shared_backbone_pass_in_one_process(
    photos, backbone_passes, monkeypatch, model_kwargs, trainer_kwargs, expected
):
    sweep_module = importlib.import_module("greymatter.sweep.driver")  # gm.sweep is the function
    chosen = []

    def spy(executor, n_jobs, plan, fallback=None):  # records the choice, runs nothing
        chosen.append(n_jobs)
        raise _Stop

    monkeypatch.setattr(sweep_module, "make_runner", spy)
    monkeypatch.setattr(sweep_module, "available_cores", lambda: 2)
    monkeypatch.setattr(sweep_module.os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # two idle cores
    state = torch.random.get_rng_state()
    with pytest.raises(_Stop):
        gm.sweep(
            "transfer",
            grid={"size_inner": [8, 16]},
            train=Folder(photos["small"], 48),
            epochs=1,
            model_kwargs={"num_classes": 4, **model_kwargs},
            trainer_kwargs=trainer_kwargs,
            progress=False,
        )
    assert chosen == [expected]
    assert torch.equal(
        torch.random.get_rng_state(), state
    )  # deciding built a model without drawing the user's
    assert backbone_passes == []


def test_cli_sweeps_an_image_folder_as_the_python_api_does(photos, backbone, tmp_path, capsys):
    # `greymatter sweep --data FOLDER --model transfer`: the folder split and read as `greymatter
    # train` reads it (stratified, Resize to 224, ImageNet normalization), the head swept over the
    # grid like gm.sweep does.
    from greymatter import cli
    from greymatter.cli.run_folder import ImageSpec
    from greymatter.models import IMAGENET_MEAN, IMAGENET_STD
    from greymatter.cli.inputs import load_split
    from greymatter.sweep.store import load_results

    argv = [
        "sweep",
        "--data",
        photos["train"],
        "--model",
        "transfer",
        "--weights",
        backbone,
        "--lr",
        "1e-3,1e-1",
        "--size-inner",
        "10",
        "--epochs",
        "2",
        "--val-fraction",
        "0.34",
        "--n-jobs",
        "1",
        "--results",
        tmp_path / "cli.csv",
    ]
    assert cli.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "best: lr=" in out and "2 of 2 configurations ok" in out
    train, val, classes = load_split(
        str(photos["train"]), ImageSpec(224, 3, IMAGENET_MEAN, IMAGENET_STD), 0.34, 42
    )
    assert len(classes) == 4 and len(val) == 4
    ref = gm.sweep(
        "transfer",
        grid={"lr": [1e-3, 1e-1], "size_inner": [10]},
        train=train,
        val=val,
        epochs=2,
        seed=42,
        model_kwargs={"num_classes": 4, "weights": backbone},
        n_jobs=1,
        progress=False,
    )
    rows = sorted(load_results(tmp_path / "cli.csv").values(), key=lambda r: r["index"])
    assert [r["val_acc"] for r in rows] == list(ref.val_acc)
    assert [r["train_loss"] for r in rows] == pytest.approx(list(ref.train_loss), rel=1e-5)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "transfer", "--weights", "none"], "add --unfreeze"),
        (["--model", "transfer"], "greymatter never downloads"),
        (["--model", "exammodel"], "binary (sigmoid) classifier"),
        (["--model", "transfer", "--data", "fashion-mnist"], "give --data an image folder"),
        (
            ["--model", "braintumorcnn", "--val-fraction", "0.01"],
            "leaves 12 for training and 0 for validation",
        ),
    ],
)
def test_cli_sweep_of_an_image_folder_refuses_bad_arguments_in_one_line(
    photos, extra, message, tmp_path, capsys, monkeypatch
):
    from greymatter import cli

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no weights file there
    argv = [
        "sweep",
        "--data",
        str(photos["small"]),
        "--lr",
        "1e-3",
        "--epochs",
        "1",
        "--val-fraction",
        "0.34",
        "--results",
        "none",
        *extra,
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
