"""What a fit, an evaluation and a sweep show in a Jupyter kernel, with IPython's display calls
recorded in-process (a Screen: the outputs of one cell, in order, updated through their display
ids as a front end does): progress as one widget or text line per bar, nothing on stderr, the live
curves as one figure redrawn after every epoch; and that nothing of it happens outside a kernel or
raises into training when ipywidgets is missing, old, or has no front end.
tests/test_notebooks_browser.py checks the same in a real browser."""
import base64
import io
import sys
import types

import IPython
import pytest
from PIL import Image

import greymatter as gm
from greymatter.train import live_curves, notebook_bars


class Screen:
    """A cell's outputs as the front end holds them: [bundle], each bundle a dict of mime type ->
    data, or {"widget": the displayed widget}."""

    def __init__(self) -> None:
        self.outputs = []
        self.updates = {}  # output index -> number of times it was redrawn

    def display(self, obj, raw=False, display_id=None, **_):
        self.outputs.append(self._bundle(obj, raw))
        if display_id:
            return Handle(self, len(self.outputs) - 1)
        return None

    def _bundle(self, obj, raw):
        if raw:
            return dict(obj)
        if hasattr(obj, "_repr_png_"):
            png = obj._repr_png_()  # IPython's Image gives it base64-encoded, as sent
            return {"image/png": base64.b64decode(png) if isinstance(png, str) else png}
        return {"widget": obj}

    def texts(self):
        return [o["text/plain"] for o in self.outputs if "text/plain" in o]

    def pngs(self):
        return [o["image/png"] for o in self.outputs if "image/png" in o]


class Handle:
    def __init__(self, screen: Screen, index: int) -> None:
        self.screen, self.index = screen, index

    def update(self, obj, raw=False, **_):
        self.screen.outputs[self.index] = self.screen._bundle(obj, raw)
        self.screen.updates[self.index] = self.screen.updates.get(self.index, 0) + 1


class KernelShell:
    config = {"IPKernelApp": {}}


@pytest.fixture
def screen(monkeypatch):
    """A Jupyter kernel, as greymatter sees one, with no ipywidgets: returns its Screen."""
    shown = Screen()
    monkeypatch.setattr(IPython, "get_ipython", lambda: KernelShell())
    monkeypatch.setattr(IPython.display, "display", shown.display)
    monkeypatch.setattr(notebook_bars, "display", shown.display)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    return shown


def fake_ipywidgets(validated=True, broken=()):
    """An ipywidgets module with the four widgets the bar uses, recording their values; a class
    named in `broken` raises as tqdm's bar does on Debian's 6.0 (AttributeError)."""

    class Widget:
        _version_validated = validated
        made = []

        def __init__(self, **traits):
            if type(self).__name__ in broken:
                raise AttributeError(f"'{type(self).__name__}' object has no attribute 'style'")
            self.__dict__.update(traits)
            self.closed = False
            Widget.made.append(self)

        def close(self):
            self.closed = True

    module = types.ModuleType("ipywidgets")
    module.Widget = Widget
    for name in ("HBox", "HTML", "IntProgress"):
        setattr(module, name, type(name, (Widget,), {}))
    return module


def run_bar(total=10, leave=True, postfix=True):
    bar = gm.train.progress.progress_bar(total, "epoch 1/1", leave=leave)
    for done in range(1, total + 1):
        bar.update(done - bar.n)
    if postfix:
        bar.set_postfix(loss="0.1234", acc="0.9000", refresh=True)
    bar.close()
    return bar


def test_text_bar_is_one_line_updated_in_place_and_kept(screen, capfd):
    run_bar()
    assert len(screen.outputs) == 1 and screen.updates[0] >= 2
    line = screen.texts()[0]
    assert line.startswith("epoch 1/1: 100%|") and "10/10" in line and "loss=0.1234" in line
    assert capfd.readouterr().err == ""  # no stderr box in the notebook


def test_a_bar_that_does_not_stay_leaves_an_empty_line(screen):
    run_bar(leave=False, postfix=False)
    assert screen.outputs == [{"text/plain": ""}]


def test_widget_bar_when_the_front_end_has_widgets(screen, monkeypatch):
    widgets = fake_ipywidgets(validated=True)
    monkeypatch.setitem(sys.modules, "ipywidgets", widgets)
    run_bar()
    shown = [o["widget"] for o in screen.outputs if "widget" in o]
    assert len(shown) == 1 and isinstance(shown[0], widgets.HBox)
    left, progress, right = shown[0].children
    assert (progress.value, progress.max) == (10, 10)
    assert left.value.startswith("epoch 1/1: 100%") and "loss=0.1234" in right.value
    assert all(w.closed for w in widgets.Widget.made)
    # The line above the widget keeps the final state for the saved notebook.
    assert screen.outputs[0]["text/plain"].startswith("epoch 1/1: 100%|")


@pytest.mark.parametrize(
    "widgets",
    [
        fake_ipywidgets(validated=None),  # no widget JavaScript answered (nbclient, no extension)
        fake_ipywidgets(validated=False),  # JavaScript of another version
        fake_ipywidgets(broken=("IntProgress",)),  # a widget that cannot be built
        types.ModuleType("ipywidgets"),  # no progress widgets at all
    ],
    ids=["no-front-end", "wrong-version", "broken-widget", "empty-module"],
)
def test_text_bar_when_widgets_do_not_work(screen, monkeypatch, widgets):
    monkeypatch.setitem(sys.modules, "ipywidgets", widgets)
    run_bar()
    assert [o for o in screen.outputs if "widget" in o] == []
    assert screen.texts()[-1].startswith("epoch 1/1: 100%|")


def test_a_widget_failing_midway_falls_back_to_text(screen, monkeypatch):
    widgets = fake_ipywidgets(validated=True)

    def refuse(self, name, value):
        if name == "value" and getattr(self, "closed", None) is False:
            raise RuntimeError("comm closed")
        object.__setattr__(self, name, value)

    widgets.IntProgress.__setattr__ = refuse
    monkeypatch.setitem(sys.modules, "ipywidgets", widgets)
    run_bar()
    assert screen.texts()[0].startswith("epoch 1/1: 100%|")


def test_debians_ipywidgets_without_a_kernel_falls_back_to_text(screen, monkeypatch):
    """The real package, told its JavaScript answered, but with no kernel to open comms on."""
    monkeypatch.delitem(sys.modules, "ipywidgets")
    ipywidgets = pytest.importorskip("ipywidgets")
    monkeypatch.setattr(ipywidgets.Widget, "_version_validated", True, raising=False)
    run_bar()
    assert screen.texts()[-1].startswith("epoch 1/1: 100%|")


def test_a_display_that_fails_leaves_training_silent(screen, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no front end")

    monkeypatch.setattr(notebook_bars, "display", broken)
    run_bar()  # no exception


@pytest.fixture
def tiny(tiny_mnist):
    ds = gm.datasets.MNIST(root=tiny_mnist[0])
    train, val = gm.random_split(ds, [0.8, 0.2], seed=0)
    return gm.DataLoader(train, batch_size=32), gm.DataLoader(val, batch_size=64)


def test_fit_shows_one_figure_redrawn_after_every_epoch(screen, tiny, capfd, monkeypatch):
    monkeypatch.setattr(live_curves, "OVERHEAD_LIMIT", 1e9)  # drawing as if it cost nothing
    trainer = gm.Trainer(gm.models.MNISTNet(hidden=(16,)), seed=0)
    hist = trainer.fit(*tiny, epochs=3)
    figures = [i for i, o in enumerate(screen.outputs) if "image/png" in o]
    assert figures == [0]  # one figure, above the epochs' bars
    assert screen.updates[0] == 3
    # What stays is the curves of the whole run, as gm.plots.curves draws them.
    assert screen.outputs[0]["image/png"] == gm.plots.curves(hist)._repr_png_()
    assert Image.open(io.BytesIO(screen.outputs[0]["image/png"])).size[0] > 500
    epochs = [t for t in screen.texts() if t.startswith("epoch")]
    assert [t.split(":")[0] for t in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("100%" in t and "acc=" in t for t in epochs)
    assert set(screen.texts()) - set(epochs) == {""}  # validation bars vanish
    assert capfd.readouterr().err == ""


def test_epochs_shorter_than_a_drawing_are_drawn_together_and_the_last_always(
    screen, tiny, monkeypatch
):
    monkeypatch.setattr(live_curves, "OVERHEAD_LIMIT", 1e-9)  # no drawing is ever affordable
    hist = gm.Trainer(gm.models.MNISTNet(hidden=(16,)), seed=0).fit(*tiny, epochs=4)
    assert screen.updates[0] == 2  # the first epoch, then the run's end
    assert screen.outputs[0]["image/png"] == gm.plots.curves(hist)._repr_png_()


@pytest.mark.parametrize(
    "trainer_live, fit_live, progress, figure, bars",
    [
        (None, False, True, False, True),  # fit(live=False)
        (False, None, True, False, True),  # Trainer(live=False)
        (None, None, False, False, False),  # progress=False: a quiet Trainer
        (None, True, False, True, False),  # ... unless asked for the curves
        (False, True, True, True, True),  # fit's choice wins
    ],
)
def test_live_follows_progress_unless_set(
    screen, tiny, trainer_live, fit_live, progress, figure, bars
):
    trainer = gm.Trainer(
        gm.models.MNISTNet(hidden=(16,)), seed=0, live=trainer_live, progress=progress
    )
    trainer.fit(*tiny, epochs=2, live=fit_live)
    assert bool(screen.pngs()) is figure
    assert any(t.startswith("epoch") for t in screen.texts()) is bars


def test_evaluate_and_predict_leave_no_stderr(screen, tiny, capfd):
    trainer = gm.Trainer(gm.models.MNISTNet(hidden=(16,)), seed=0)
    trainer.evaluate(tiny[1])
    trainer.predict(tiny[1])
    assert screen.outputs and all(o == {"text/plain": ""} for o in screen.outputs)
    assert capfd.readouterr().err == ""


def test_sweep_shows_its_bar_in_the_notebook(screen, tiny):
    gm.sweep(
        lambda: gm.models.MNISTNet(hidden=(8,)),
        grid={"lr": [1e-3, 1e-2]},
        train=tiny[0].dataset,
        val=tiny[1].dataset,
        epochs=1,
        n_jobs=1,
    )
    lines = [t for t in screen.texts() if t.startswith("sweep")]
    assert len(lines) == 1 and "2/2" in lines[0] and "val_acc=" in lines[0]


def test_outside_a_notebook_nothing_is_displayed(tiny, monkeypatch, capfd):
    shown = Screen()
    monkeypatch.setattr(IPython.display, "display", shown.display)
    monkeypatch.setattr(notebook_bars, "display", shown.display)
    hist = gm.Trainer(gm.models.MNISTNet(hidden=(16,)), seed=0, live=True).fit(*tiny, epochs=2)
    assert len(hist) == 2 and shown.outputs == []
    assert capfd.readouterr().err == ""  # tqdm stays quiet: stderr is not a terminal here
