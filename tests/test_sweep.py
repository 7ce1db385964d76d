"""gm.sweep on small Fashion-MNIST subsets: the table against plain Trainer runs, key routing and
errors, results stores and resume (also after SIGKILL), failures, worker processes, Dask and Optuna,
the CLI."""
import csv
import itertools
import linecache
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import greymatter as gm
from greymatter import cli
from greymatter._threads import available_cores
from greymatter.sweep._process import single_threaded
from greymatter.sweep.store import COLUMNS

from fashion_parts import TRAIN, VAL


@pytest.fixture(scope="module")
def data():
    return TRAIN(), VAL()


def make_model(size_inner):
    return gm.models.MNISTNet(hidden=(size_inner,))


class CountingModel:
    """make_model that records every configuration it builds (to prove which ones trained); with
    `interrupt_at`, the n-th build raises KeyboardInterrupt (Ctrl-C) instead."""

    def __init__(self, interrupt_at=None) -> None:
        self.built, self.interrupt_at = [], interrupt_at

    def __call__(self, size_inner):
        if self.interrupt_at == len(self.built) + 1:
            raise KeyboardInterrupt
        self.built.append(size_inner)
        return gm.models.MNISTNet(hidden=(size_inner,))


def reference_row(train, val, size_inner, lr, seed=42, epochs=2, batch_size=64, **trainer_kwargs):
    """The best epoch of a plain Trainer run, seeded as the sweep documents (model init, loader,
    Trainer)."""
    # The sweep trains each configuration on one thread; the same arithmetic here.
    with single_threaded():
        torch.manual_seed(seed)
        model = gm.models.MNISTNet(hidden=(size_inner,))
        hist = gm.Trainer(model, lr=lr, seed=seed, progress=False, **trainer_kwargs).fit(
            gm.DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed),
            gm.DataLoader(val, batch_size=256),
            epochs=epochs,
        )
    return hist.rows[hist.best_epoch - 1], hist.best_epoch


def test_table_matches_plain_trainer_runs_in_grid_order(data):
    train, val = data
    df = gm.sweep(
        make_model,
        grid={"lr": [1e-3, 1e-2], "size_inner": [8, 32]},
        train=train,
        val=val,
        epochs=2,
        n_jobs=1,
        progress=False,
    )
    assert list(df.columns) == [
        "lr",
        "size_inner",
        "val_acc",
        "val_loss",
        "train_acc",
        "train_loss",
        "gap",
        "best_epoch",
        "epochs",
        "seconds",
        "status",
        "error",
    ]
    assert list(zip(df.lr, df.size_inner)) == [(1e-3, 8), (1e-3, 32), (1e-2, 8), (1e-2, 32)]
    for r in df.itertuples():
        ref, best_epoch = reference_row(train, val, r.size_inner, r.lr)
        assert (r.status, r.best_epoch, r.epochs) == ("ok", best_epoch, 2)
        assert (
            r.val_acc == ref["val_acc"]
            and r.val_loss == ref["val_loss"]
            and r.train_loss == ref["train_loss"]
        )
        assert r.gap == pytest.approx(r.train_acc - r.val_acc)
    assert df.val_acc.nunique() > 1  # the configurations really differ


def test_grid_keys_reach_trainer_loader_and_named_model(data):
    train, val = data
    df = gm.sweep(
        "mnistnet",
        grid={"batch_size": [32, 100], "optimizer": ["sgd"], "momentum": [0.9]},
        model_kwargs={"size_inner": 16},
        trainer_kwargs={"lr": 0.05},
        train=train,
        val=val,
        epochs=1,
        n_jobs=1,
        progress=False,
    )
    for r in df.itertuples():
        ref, _ = reference_row(
            train, val, 16, 0.05, epochs=1, batch_size=r.batch_size, optimizer="sgd", momentum=0.9
        )
        assert r.val_loss == ref["val_loss"] and r.train_loss == ref["train_loss"]
    assert df.train_loss.iloc[0] != df.train_loss.iloc[1]


def test_unknown_grid_key_fails_before_anything_runs(data, tmp_path):
    counting = CountingModel()
    with pytest.raises(gm.ConfigError, match=r"unknown grid key\(s\) 'size_innr'.*size_inner"):
        gm.sweep(
            counting,
            grid={"lr": [1e-3], "size_innr": [8]},
            train=data[0],
            results=tmp_path / "r.csv",
            progress=False,
        )
    assert counting.built == [] and not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"grid": {}}, "non-empty dict"),
        ({"grid": {"lr": 1e-3}}, r"grid\['lr'\] must be a list"),
        ({"grid": {"lr": []}}, "is empty"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"trainer_kwargs": {"lrr": 1}}, "trainer_kwargs .* does not take 'lrr'"),
        ({"trainer_kwargs": {"lr": 1e-3}}, "lr: both a grid key and in trainer_kwargs"),
        ({"loader_kwargs": {"batchsize": 2}}, "loader_kwargs .* does not take 'batchsize'"),
        ({"strategy": "random"}, "unknown strategy 'random'"),
        ({"strategy": "optuna"}, "needs n_trials"),
        ({"n_trials": 3}, "settings of strategy='optuna'"),
        ({"n_jobs": 0}, "n_jobs must be a positive integer"),
        ({"model": "resnet999"}, "unknown model name 'resnet999'"),
        ({"model": 3}, "function that builds a model"),
        ({"train": [1, 2, 3]}, "takes a greymatter Dataset"),
        ({"results": 5}, "results must be a file path"),
        ({"executor": "cluster"}, "executor must be None"),
    ],
)
def test_bad_arguments_are_config_errors(data, kwargs, message):
    args = dict(
        model=make_model,
        grid={"lr": [1e-3], "size_inner": [8]},
        train=data[0],
        val=data[1],
        epochs=1,
        progress=False,
    )
    args.update(kwargs)
    with pytest.raises(gm.ConfigError, match=message):
        gm.sweep(**args)


def poisoned_model(size_inner, poison):
    model = gm.models.MNISTNet(hidden=(size_inner,))
    if poison:
        with torch.no_grad():
            next(iter(model.parameters())).fill_(
                float("nan")
            )  # the loss becomes NaN: TrainingError
    return model


@pytest.mark.parametrize("suffix", [".csv", ".db"])
def test_failed_configurations_are_recorded_and_the_sweep_goes_on(data, tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    df = gm.sweep(
        poisoned_model,
        grid={"poison": [False, True], "size_inner": [8], "weight_decay": [0.0, -1.0]},
        train=data[0],
        val=data[1],
        epochs=1,
        results=path,
        n_jobs=1,
        progress=False,
    )
    assert list(df.status) == ["ok", "failed", "failed", "failed"]
    assert df.error.iloc[2].startswith("TrainingError: loss became nan")  # poison, lr 1e-3
    assert df.error.iloc[1].startswith("ConfigError: weight_decay must be in")  # weight_decay -1
    assert df.val_acc.iloc[0] > 0 and df.val_acc.iloc[1:].isna().all()
    # Failed rows are kept and not re-run, unless asked.
    again = gm.sweep(
        poisoned_model,
        grid={"poison": [False, True], "size_inner": [8], "weight_decay": [0.0, -1.0]},
        train=data[0],
        val=data[1],
        epochs=1,
        results=path,
        n_jobs=1,
        progress=False,
    )
    assert list(again.error.iloc[1:]) == list(df.error.iloc[1:])


class FlakyModel:
    """Fails size 9 on its first build only, as a configuration hit by a passing problem would."""

    def __init__(self) -> None:
        self.built = []

    def __call__(self, size_inner):
        self.built.append(size_inner)
        if size_inner == 9 and self.built.count(9) == 1:
            raise RuntimeError("out of memory, this time")
        return gm.models.MNISTNet(hidden=(size_inner,))


def test_retry_failed_reruns_only_the_failed_configurations(data, tmp_path):
    flaky = FlakyModel()
    kwargs = dict(
        grid={"size_inner": [8, 9]},
        train=data[0],
        val=data[1],
        epochs=1,
        results=tmp_path / "r.csv",
        n_jobs=1,
        progress=False,
    )
    assert list(gm.sweep(flaky, **kwargs).status) == ["ok", "failed"]
    assert list(gm.sweep(flaky, **kwargs).error)[1] == "RuntimeError: out of memory, this time"
    assert flaky.built == [8, 9]
    assert list(gm.sweep(flaky, retry_failed=True, **kwargs).status) == ["ok", "ok"]
    assert flaky.built == [8, 9, 9]


@pytest.mark.parametrize("suffix", [".csv", ".sqlite"])
def test_rerun_skips_finished_configurations_and_new_settings_train_anew(data, tmp_path, suffix):
    path = tmp_path / f"sweep{suffix}"
    kwargs = dict(train=data[0], val=data[1], epochs=1, results=path, n_jobs=1, progress=False)
    first = gm.sweep(CountingModel(), grid={"lr": [1e-3, 1e-2], "size_inner": [8, 16]}, **kwargs)
    counting = CountingModel()
    again = gm.sweep(counting, grid={"lr": [1e-3, 1e-2], "size_inner": [8, 16]}, **kwargs)
    assert counting.built == []
    assert again.equals(first)  # seconds too: read back from the store, exactly
    # One more value: only its configurations train, and the table holds the whole grid.
    grown = gm.sweep(counting, grid={"lr": [1e-3, 1e-2], "size_inner": [8, 16, 24]}, **kwargs)
    assert counting.built == [24, 24] and len(grown) == 6
    assert grown.drop(index=[2, 5]).reset_index(drop=True).equals(first)
    # A fixed setting is part of every key: 2 epochs is another sweep.
    counting.built.clear()
    gm.sweep(counting, grid={"lr": [1e-3, 1e-2], "size_inner": [8, 16]}, **{**kwargs, "epochs": 2})
    assert len(counting.built) == 4


def notebook_function(source: str):
    """`make` as a notebook cell defines it: same module and name whatever its body, and its source
    text in linecache under a name of the cell's own, as IPython keeps it."""
    source = textwrap.dedent(source) + "\n"
    filename = f"<ipython-input-{next(_CELLS)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"gm": gm, "__name__": "__main__", "built": []}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["make"], namespace["built"]


_CELLS = itertools.count()


def test_editing_the_model_function_trains_anew(data, tmp_path):
    kwargs = dict(
        grid={"size_inner": [8]},
        train=data[0],
        val=data[1],
        epochs=1,
        results=tmp_path / "r.csv",
        n_jobs=1,
        progress=False,
    )
    body = (
        "def make(size_inner):\n    built.append(size_inner)\n    return "
        "gm.models.MNISTNet(hidden=(size_inner,){})"
    )
    make, built = notebook_function(body.format(""))
    gm.sweep(make, **kwargs)
    same, same_built = notebook_function(body.format(""))  # the cell run again, unchanged
    gm.sweep(same, **kwargs)
    edited, edited_built = notebook_function(body.format(", dropout=0.5"))
    gm.sweep(edited, **kwargs)
    assert (built, same_built, edited_built) == ([8], [], [8])


def test_a_partial_last_csv_line_is_ignored_and_repaired(data, tmp_path):
    path = tmp_path / "sweep.csv"
    kwargs = dict(
        grid={"lr": [1e-3, 1e-2], "size_inner": [8]},
        train=data[0],
        val=data[1],
        epochs=1,
        results=path,
        n_jobs=1,
        progress=False,
    )
    first = gm.sweep(CountingModel(), **kwargs)
    text = path.read_text()
    path.write_text(text[: len(text) - 25])  # the last row cut short, as by a kill during its write
    counting = CountingModel()
    again = gm.sweep(counting, **kwargs)
    assert counting.built == [8]  # only the lost configuration ran again
    assert again.drop(columns="seconds").equals(first.drop(columns="seconds"))
    rows = list(csv.reader(path.read_text().splitlines()))
    assert len(rows) == 3 and all(len(r) == len(rows[0]) for r in rows)


def test_not_a_results_file_is_a_data_error(data, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(gm.DataError, match="not a greymatter sweep results file"):
        gm.sweep(
            make_model,
            grid={"lr": [1e-3], "size_inner": [8]},
            train=data[0],
            epochs=1,
            results=path,
            progress=False,
        )
    assert path.read_text() == "a,b\n1,2\n"


KILL_SCRIPT = """
import sys, time
import greymatter as gm

log_path, results = sys.argv[1], sys.argv[2]

def make_model(size_inner):
    with open(log_path, "a") as f:
        f.write(f"{size_inner}\\n")
    time.sleep(0.4)  # long enough configurations for the test to kill the run in the middle
    return gm.models.MNISTNet(hidden=(size_inner,))

full = gm.datasets.FashionMNIST(train=True)
gm.sweep(make_model, grid={"size_inner": [8, 9, 10, 11, 12, 13]}, train=gm.Subset(full, range(300)),
         val=gm.Subset(full, range(59000, 59100)), epochs=1, results=results, n_jobs=1,
         progress=False)
"""


def _data_rows(path):
    if not path.exists():
        return []
    return [r for r in csv.reader(path.read_text().split("\n")[1:-1])]


def test_killed_sweep_resumes_without_redoing_finished_configurations(tmp_path):
    script, results = tmp_path / "run_sweep.py", tmp_path / "sweep.csv"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    proc = subprocess.Popen([sys.executable, str(script), str(first_log), str(results)])
    deadline = time.monotonic() + 120
    while len(_data_rows(results)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {int(r[2].split(":")[1].strip(" }")) for r in _data_rows(results)}
    assert 2 <= len(finished) < 6, "the kill should land mid-sweep"
    subprocess.run(
        [sys.executable, str(script), str(second_log), str(results)], check=True, timeout=300
    )
    rerun = [int(x) for x in second_log.read_text().split()]
    assert sorted(rerun) == sorted(
        set(range(8, 14)) - finished
    )  # each unfinished one once, no finished one
    keys = [r[0] for r in _data_rows(results)]
    assert len(keys) == len(set(keys)) == 6


def test_keyboard_interrupt_stops_the_sweep_and_keeps_finished_rows(data, tmp_path):
    path = tmp_path / "sweep.csv"
    kwargs = dict(
        grid={"size_inner": [8, 9, 10, 11]},
        train=data[0],
        val=data[1],
        epochs=1,
        results=path,
        n_jobs=1,
        progress=False,
    )
    with pytest.raises(KeyboardInterrupt):
        gm.sweep(CountingModel(interrupt_at=3), **kwargs)
    assert len(_data_rows(path)) == 2
    counting = CountingModel()
    df = gm.sweep(counting, **kwargs)
    assert counting.built == [10, 11] and list(df.status) == ["ok"] * 4


def dropout_model(size_inner):
    return gm.models.MNISTNet(hidden=(size_inner,), dropout=0.3)


def test_worker_processes_give_the_serial_table(data):
    grid = {"lr": [1e-3, 1e-2], "size_inner": [8, 16]}
    serial = gm.sweep(
        dropout_model, grid=grid, train=data[0], val=data[1], epochs=2, n_jobs=1, progress=False
    )
    procs = gm.sweep(
        dropout_model, grid=grid, train=TRAIN, val=VAL, epochs=2, n_jobs=2, progress=False
    )
    assert procs.drop(columns="seconds").equals(serial.drop(columns="seconds"))


def test_datasets_themselves_reach_worker_processes(data):
    """Datasets pickle by rebuilding from their arguments, so no factory is needed for processes."""
    grid = {"size_inner": [8, 16]}
    serial = gm.sweep(
        make_model, grid=grid, train=data[0], val=data[1], epochs=1, n_jobs=1, progress=False
    )
    procs = gm.sweep(
        make_model, grid=grid, train=data[0], val=data[1], epochs=1, n_jobs=2, progress=False
    )
    cols = ["size_inner", "val_acc", "val_loss", "status"]
    assert procs[cols].equals(serial[cols])


UNGUARDED_SCRIPT = """
import os
import greymatter as gm

os.getloadavg = lambda: (0.0, 0.0, 0.0)  # an idle machine: the automatic n_jobs takes every core

class Part:
    def __call__(self):
        return gm.Subset(gm.datasets.FashionMNIST(train=True), range(300))

def make(size_inner):
    return gm.models.MNISTNet(hidden=(size_inner,))

gm.sweep(make, grid={"size_inner": [8, 16]}, train=Part(), epochs=1, n_jobs=N_JOBS, progress=False)
print("finished")
"""


@pytest.mark.parametrize("n_jobs", ["2", "None"])
def test_a_script_without_main_guard_gets_a_clear_error_or_runs_serially(tmp_path, n_jobs):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT.replace("N_JOBS", n_jobs))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    if n_jobs == "2":
        assert (
            run.returncode == 1
            and "ConfigError" in run.stderr
            and '__name__ == "__main__"' in run.stderr
        )
    else:  # chosen automatically: falls back to this process, and says so
        assert run.returncode == 0 and "finished" in run.stdout
        assert "running one configuration at a time" in run.stderr or available_cores() < 2


def crashing_model(size_inner):
    if size_inner == 13:
        os._exit(3)  # the worker process dies, as on a segfault or the OOM killer
    return gm.models.MNISTNet(hidden=(size_inner,))


def test_a_dying_worker_process_loses_only_its_configuration():
    df = gm.sweep(
        crashing_model,
        grid={"size_inner": [8, 13, 16]},
        train=TRAIN,
        val=VAL,
        epochs=1,
        n_jobs=2,
        progress=False,
    )
    assert list(df.status) == ["ok", "failed", "ok"]
    assert "worker process died" in df.error.iloc[1]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import dask

    # One try per task: a configuration that kills its worker is reported, not retried three times.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster, distributed.Client(cluster) as client:
            yield client


def test_dask_local_cluster_gives_the_local_table(data, dask_client, tmp_path):
    grid = {"lr": [1e-3, 1e-2], "size_inner": [8, 16]}
    local = gm.sweep(
        dropout_model, grid=grid, train=data[0], val=data[1], epochs=2, n_jobs=1, progress=False
    )
    on_dask = gm.sweep(
        dropout_model,
        grid=grid,
        train=TRAIN,
        val=VAL,
        epochs=2,
        executor=dask_client,
        results=tmp_path / "dask.csv",
        progress=False,
    )
    assert on_dask.drop(columns="seconds").equals(local.drop(columns="seconds"))
    worker = COLUMNS.index("worker")
    workers = {r[worker].rsplit(":", 1)[0] for r in _data_rows(tmp_path / "dask.csv")}
    assert len(workers) == 2  # both worker processes took configurations


def test_cli_sweep_on_a_dask_scheduler(dask_client, tmp_path, capsys):
    args = [
        "sweep",
        "--lr",
        "1e-3",
        "--size-inner",
        "8,16",
        "--epochs",
        "1",
        "--train-size",
        "300",
        "--results",
        str(tmp_path / "cli.csv"),
    ]
    assert cli.main(args + ["--dask", dask_client.scheduler.address]) == 0
    on_dask = capsys.readouterr().out
    assert "2 of 2 configurations ok" in on_dask
    assert cli.main(args[:-1] + [str(tmp_path / "local.csv"), "--n-jobs", "1"]) == 0
    local = capsys.readouterr().out

    def table(out):  # the printed table without its seconds column
        lines = [line.split() for line in out.splitlines()[:3]]
        drop = lines[0].index("seconds")
        return [line[:drop] + line[drop + 1 :] for line in lines]

    assert table(local) == table(on_dask)


def test_dask_workers_malloc_setting_is_undone_in_that_process_only():
    code = (
        "from greymatter.sweep._process import keep_freed_memory_for_training as k; "
        "print(k(), k())"
    )  # once per process
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    assert subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split() == ["True", "False"]
    env.pop("MALLOC_TRIM_THRESHOLD_")
    assert subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split() == ["False", "False"]


class LocalOnly(gm.Subset):
    """A dataset that cannot leave its process (greymatter's own datasets pickle by rebuilding)."""

    def __reduce__(self):
        raise TypeError("a LocalOnly dataset cannot be pickled")


def test_dask_needs_data_it_can_ship(data, dask_client):
    local = LocalOnly(data[0], range(len(data[0])))
    with pytest.raises(
        gm.ConfigError, match="cannot be sent to Dask workers.*zero-argument function"
    ):
        gm.sweep(
            make_model,
            grid={"size_inner": [8]},
            train=local,
            epochs=1,
            executor=dask_client,
            progress=False,
        )


def test_dask_worker_crash_loses_only_its_configuration(dask_client):
    df = gm.sweep(
        crashing_model,
        grid={"size_inner": [8, 13, 16]},
        train=TRAIN,
        val=VAL,
        epochs=1,
        executor=dask_client,
        progress=False,
    )
    assert list(df.status) == ["ok", "failed", "ok"]
    assert "KilledWorker" in df.error.iloc[1]


def test_optuna_samples_the_grid_and_resumes_from_its_storage(data, tmp_path):
    optuna = pytest.importorskip("optuna")
    grid = {"lr": [1e-3, 3e-3, 1e-2], "size_inner": [8, 16]}
    full = gm.sweep(
        make_model, grid=grid, train=data[0], val=data[1], epochs=1, n_jobs=1, progress=False
    )
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    kwargs = dict(
        grid=grid,
        train=data[0],
        val=data[1],
        epochs=1,
        n_jobs=1,
        progress=False,
        strategy="optuna",
        storage=storage,
        results=tmp_path / "optuna.csv",
    )
    first = gm.sweep(CountingModel(), n_trials=3, **kwargs)
    counting = CountingModel()
    second = gm.sweep(counting, n_trials=8, **kwargs)
    study = optuna.load_study(
        study_name=optuna.get_all_study_summaries(storage)[0].study_name, storage=storage
    )
    assert len(study.trials) == 8 and all(t.state.name == "COMPLETE" for t in study.trials)
    assert len(counting.built) == len(second) - len(
        first
    )  # configurations tried before were not trained again
    for r in second.itertuples():  # every value is the grid run's for the same configuration
        ref = full[(full.lr == r.lr) & (full.size_inner == r.size_inner)]
        assert r.val_acc == ref.val_acc.item() and r.val_loss == ref.val_loss.item()
    assert study.best_value == second.val_acc.max()


def test_cli_sweep_prints_the_table_and_resumes(tmp_path, capsys):
    args = [
        "sweep",
        "--lr",
        "1e-3,1e-2",
        "--size-inner",
        "8",
        "--epochs",
        "1",
        "--train-size",
        "300",
        "--n-jobs",
        "1",
        "--results",
        str(tmp_path / "cli.csv"),
    ]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["lr", "size_inner", "val_acc"]
    assert "best: lr=" in out and "2 of 2 configurations ok" in out
    assert len(_data_rows(tmp_path / "cli.csv")) == 2
    assert (
        cli.main(args) == 0 and len(_data_rows(tmp_path / "cli.csv")) == 2
    )  # resumed: nothing new


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--lr", "1e-3,fast"], "--lr: 'fast' is not a number"),
        (["--size-inner", "8,1.5"], "--size-inner: '1.5' is not an integer"),
        ([], "give at least one list to sweep over"),
        (["--lr", "1e-3,,1e-2"], "--lr: empty value in '1e-3,,1e-2'"),
        (["--lr", "1e-3", "--model", "nope"], "unknown model name 'nope'"),
        (["--lr", "1e-3", "--val-fraction", "1.5"], "--val-fraction must be between 0 and 1"),
    ],
)
def test_cli_sweep_bad_arguments_exit_2_with_one_line(extra, message, capsys):
    assert cli.main(["sweep", "--epochs", "1", "--results", "none", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
