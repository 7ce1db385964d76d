"""gm.sweep(strategy="optuna"): ranges sampled on their scale, per-epoch reports and pruning (pruned
trials train fewer epochs and say so in the table), the study in a SQLite storage shared by a
2-worker Dask LocalCluster, and a sweep killed with SIGKILL that continues its study without
training a finished trial again. Small Fashion-MNIST subsets, 1-3 epochs."""
import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import greymatter as gm
from greymatter import cli

from fashion_parts import TRAIN, VAL

optuna = pytest.importorskip("optuna")


def make_model(size_inner):
    return gm.models.MNISTNet(hidden=(size_inner,))


def load_study(storage):
    name = optuna.get_all_study_summaries(storage)[0].study_name
    return optuna.load_study(study_name=name, storage=storage)


def test_ranges_are_sampled_on_their_scale(tmp_path):
    results = tmp_path / "sweep.csv"
    df = gm.sweep(
        make_model,
        grid={"lr": ("log", 1e-4, 1e-2), "size_inner": ("int", 4, 32), "optimizer": ["adam"]},
        train=TRAIN,
        val=VAL,
        epochs=1,
        strategy="optuna",
        n_trials=4,
        results=results,
        n_jobs=1,
        progress=False,
    )
    assert list(df.columns[:4]) == ["trial", "lr", "size_inner", "optimizer"]
    assert list(df.trial) == [0, 1, 2, 3] and list(df.status) == ["ok"] * 4
    assert all(1e-4 <= lr <= 1e-2 for lr in df.lr) and len(set(df.lr)) == 4
    assert all(isinstance(s, int) and 4 <= s <= 32 for s in df.size_inner)
    study = load_study(f"sqlite:///{results}.optuna.db")  # the default storage, beside results
    dist = study.trials[0].distributions
    assert dist["lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    assert dist["size_inner"] == optuna.distributions.IntDistribution(4, 32)
    # Each epoch's val_acc was reported to its trial; the row holds the best of them.
    for t, row in zip(study.trials, df.itertuples()):
        assert t.intermediate_values == {0: row.val_acc} and t.value == row.val_acc
    assert df.attrs["best"]["trial"] == study.best_trial.number
    assert df.attrs["best"]["params"]["lr"] == df.lr[df.val_acc.idxmax()]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"grid": {"lr": ("log", 1e-4, 1e-2)}}, "strategy='grid' cannot visit"),
        ({"grid": {"lr": ("log", 0.0, 1e-2)}, "strategy": "optuna"}, "0 < low < high"),
        ({"grid": {"lr": ("float", 1e-2, 1e-3)}, "strategy": "optuna"}, "low < high"),
        ({"grid": {"size_inner": ("int", 4.5, 8)}, "strategy": "optuna"}, "takes integers"),
        ({"grid": {"lr": ("log", 1e-3)}, "strategy": "optuna"}, "two finite numbers"),
        ({"grid": {"lr": [1e-3]}, "prune": True}, "settings of strategy='optuna'"),
        ({"grid": {"lr": [1e-3]}, "strategy": "optuna", "prune": "fast"}, "prune takes"),
    ],
)
def test_bad_ranges_and_prune_settings_are_config_errors(kwargs, message):
    kwargs = {"n_trials": 2, **kwargs} if kwargs.get("strategy") == "optuna" else kwargs
    with pytest.raises(gm.ConfigError, match=message):
        gm.sweep(make_model, train=TRAIN, val=VAL, epochs=1, progress=False, n_jobs=1, **kwargs)


def test_pruned_trials_stop_early_and_are_shown_as_pruned(tmp_path):
    # A threshold pruner stops every trial whose val_acc is below 0.3 after an epoch: lr 1e-7
    # cannot learn anything in one (~0.1), lr 1e-2 can (~0.6).
    df = gm.sweep(
        make_model,
        grid={"lr": [1e-7, 1e-2], "size_inner": [16, 32]},
        train=TRAIN,
        val=VAL,
        epochs=3,
        strategy="optuna",
        n_trials=5,
        prune=optuna.pruners.ThresholdPruner(lower=0.3),
        results=tmp_path / "sweep.csv",
        n_jobs=1,
        progress=False,
    )
    slow, good = df[df.lr == 1e-7], df[df.lr == 1e-2]
    assert len(slow) and len(good)
    assert set(slow.status) == {"pruned"} and set(slow.epochs) == {1}
    assert set(good.status) == {"ok"} and set(good.epochs) == {3}
    study = load_study(f"sqlite:///{tmp_path / 'sweep.csv'}.optuna.db")
    states = {t.params["lr"]: t.state.name for t in study.trials}
    assert states == {1e-7: "PRUNED", 1e-2: "COMPLETE"}
    fig = gm.plots.sweep_heatmap(df)
    for row in df.itertuples():  # cells of configurations the study sampled
        assert fig.pruned.loc[row.lr, row.size_inner] == (row.status == "pruned")
    assert fig.best["lr"] == 1e-2
    assert "pruned" in [t.get_text().split("\n")[-1] for t in fig.axes[0].texts]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def test_dask_workers_report_to_one_sqlite_study_and_prune(dask_client, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    df = gm.sweep(
        make_model,
        grid={"lr": ("log", 1e-7, 1e-2), "size_inner": [8, 16]},
        train=TRAIN,
        val=VAL,
        epochs=3,
        strategy="optuna",
        n_trials=10,
        prune=optuna.pruners.MedianPruner(n_startup_trials=2),
        storage=storage,
        executor=dask_client,
        progress=False,
    )
    study = load_study(storage)
    assert len(study.trials) == 10 and len(df) == 10
    by_number = {t.number: t for t in study.trials}
    for row in df.itertuples():
        trial = by_number[row.trial]
        assert len(trial.intermediate_values) == row.epochs  # one report per epoch trained
        assert trial.state.name == {"ok": "COMPLETE", "pruned": "PRUNED"}[row.status]
    pruned = df[df.status == "pruned"]
    assert len(pruned) >= 1 and (pruned.epochs < 3).all()
    assert (df[df.status == "ok"].epochs == 3).all()
    best = df.attrs["best"]
    assert best["trial"] == study.best_trial.number
    assert best["value"] == df[df.status == "ok"].val_acc.max()


KILL_SCRIPT = """
import sys, time
import greymatter as gm
import distributed

class Part:
    def __init__(self, start, stop):
        self.start, self.stop = start, stop
    def __call__(self):
        return gm.Subset(gm.datasets.FashionMNIST(train=True), range(self.start, self.stop))

def make_model(size_inner):
    time.sleep(0.5)  # long enough trials for the test to kill the sweep in the middle
    return gm.models.MNISTNet(hidden=(size_inner,))

if __name__ == "__main__":
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  host="127.0.0.1") as cluster, distributed.Client(cluster) as c:
        df = gm.sweep(make_model, grid={"lr": ("log", 1e-4, 1e-2), "size_inner": [8, 16]},
                      train=Part(0, 600), val=Part(59000, 59300), epochs=2, strategy="optuna",
                      n_trials=8, prune="median", results=sys.argv[1], executor=c, progress=False)
        print("statuses", *df.status)
"""


def _rows(path):
    if not path.exists():
        return []
    return list(csv.DictReader(path.read_text().split("\n")[:-1]))  # whole lines only


def test_a_killed_optuna_sweep_continues_its_study_without_repeating_finished_trials(tmp_path):
    # The same sweep (a script with its own 2-worker Dask LocalCluster) is killed with SIGKILL,
    # cluster and all, after 3 of its 8 trials, then started again.
    script, results = tmp_path / "sweep.py", tmp_path / "sweep.csv"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    command = [sys.executable, "-W", "ignore", str(script), str(results)]
    proc = subprocess.Popen(command, start_new_session=True)
    deadline = time.monotonic() + 300
    while len(_rows(results)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its cluster and its workers
    proc.wait()
    before = _rows(results)
    assert 3 <= len(before) < 8, "the kill should land mid-sweep"
    storage = f"sqlite:///{results}.optuna.db"
    study = load_study(storage)
    running = [t.number for t in study.trials if t.state.name == "RUNNING"]
    assert running, "trials were in flight when the sweep died"

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    after = _rows(results)
    keys = [r["key"] for r in after]
    assert len(keys) == len(set(keys)), "a finished configuration was trained again"
    assert [r["key"] for r in after[: len(before)]] == [r["key"] for r in before]
    assert len(optuna.get_all_study_summaries(storage)) == 1  # the restart opened the same study
    study = load_study(storage)
    states = [t.state.name for t in study.trials]
    assert "RUNNING" not in states and "WAITING" not in states
    abandoned = [t for t in study.trials if t.number in running]
    assert all(t.state.name == "FAIL" for t in abandoned)
    retried = {n for t in study.trials for n in t.system_attrs.get("retry_history", ())}
    assert set(running) <= retried  # each was queued again and ran (or came from the store)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 8
    statuses = again.stdout.split("statuses")[-1].split()
    assert statuses and set(statuses) <= {"ok", "pruned"}
    assert json.loads(after[0]["params"])["size_inner"] in (8, 16)


def test_cli_sweep_samples_ranges_and_prunes(tmp_path, capsys):
    args = [
        "sweep",
        "--lr",
        "log:1e-4:1e-2",
        "--size-inner",
        "8,16",
        "--epochs",
        "2",
        "--train-size",
        "300",
        "--n-jobs",
        "1",
        "--strategy",
        "optuna",
        "--n-trials",
        "3",
        "--prune",
        "median",
        "--results",
        str(tmp_path / "cli.csv"),
    ]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["trial", "lr", "size_inner"]
    assert "best: trial " in out and "3 of 3 configurations ok" in out
    assert (tmp_path / "cli.csv.optuna.db").exists()
    assert cli.main(args[:2] + ["log:1e-4"] + args[3:]) == 2
    assert "a range is log:LOW:HIGH" in capsys.readouterr().err


def test_a_trial_is_marked_with_its_sweep_from_the_moment_it_is_stored(tmp_path, monkeypatch):
    # A sweep killed right after its new trial is stored (before anything else is written for it)
    # must still leave a trial that a restart can tell is abandoned: the mark naming the sweep's
    # host and pid is part of the stored trial.
    from greymatter.sweep import search as search_module
    from greymatter.sweep import study as studies
    from greymatter.sweep.run import Config

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    search = search_module.OptunaSearch(
        {"lr": ("log", 1e-4, 1e-1)},
        lambda i, params: Config(i, params, f"k{i}"),
        n_trials=3,
        storage=storage,
        study_name="marked",
        seed=0,
        maximize=True,
    )

    class Killed(BaseException):
        pass

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(search.study._storage, "set_trial_system_attr", die)
    monkeypatch.setattr(search.study._storage, "set_trial_user_attr", die)
    with pytest.raises(Killed):
        search.ask()
    (trial,) = optuna.load_study(study_name="marked", storage=storage).trials
    assert trial.state.name == "RUNNING"
    assert trial.system_attrs[studies.DRIVER_ATTR] == studies.this_driver()
    search.close()
