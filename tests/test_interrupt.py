"""Ctrl-C during Trainer.fit: the C++ loop stops within a batch or two of the signal whatever
``progress_every`` is, and fit then does what the docs say: best weights restored,
``history.interrupted`` set, the resume state of finished epochs kept, KeyboardInterrupt
re-raised."""
import os
import signal
import threading
import time

import pytest
import torch

import greymatter as gm

SEND_AFTER_STEPS = 10


@pytest.fixture(scope="module")
def fashion():
    return gm.datasets.FashionMNIST(
        train=True, transform=gm.transforms.Compose([gm.transforms.ToTensor()])
    )


def _interrupt_after(trainer, steps: int, sent: dict) -> threading.Thread:
    """A thread that sends this process SIGINT once the optimizer has made `steps` steps and records
    the step count it saw just before sending."""

    def watch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            seen = trainer.engine.optimizer_steps
            if seen >= steps:
                sent["steps"] = seen
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.0002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_sigint_stops_fit_within_two_batches_with_the_default_progress_interval(fashion, tmp_path):
    loader = gm.DataLoader(fashion, batch_size=64, shuffle=True, num_workers=2, seed=0)
    assert len(loader) > 900  # hundreds of batches: the default interval (50) would be far too late
    model = gm.models.MNISTNet()
    trainer = gm.Trainer(model, lr=1e-3, progress=False, checkpoint=tmp_path / "best.pth")
    assert trainer.progress_every == 50
    trainer.fit(loader, epochs=1)  # a finished epoch: best weights and resume state exist
    best = {k: v.clone() for k, v in model.state_dict().items()}
    first_epoch_steps = trainer.engine.optimizer_steps
    sent: dict = {}
    watcher = _interrupt_after(trainer, first_epoch_steps + SEND_AFTER_STEPS, sent)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(loader, epochs=1)
    watcher.join()
    after = trainer.engine.optimizer_steps
    assert sent["steps"] >= first_epoch_steps + SEND_AFTER_STEPS
    assert after - sent["steps"] <= 2, (sent, after)
    assert trainer.history.interrupted
    assert len(trainer.history) == 1  # the interrupted epoch left no row
    for name, tensor in model.state_dict().items():  # the best (first) epoch's weights are back
        assert torch.equal(tensor, best[name]), name
    resumed = gm.Trainer(gm.models.MNISTNet(), lr=1e-3, progress=False)
    resumed.resume(tmp_path / "best.resume.pth")
    assert resumed.epoch == 1
    # The SIGINT handler is Python's again: a Ctrl-C outside fit is an ordinary KeyboardInterrupt.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)


def test_a_custom_sigint_handler_is_left_in_charge(fashion):
    """With the user's own handler (one that does not raise), Ctrl-C does not stop training: the
    loop keeps going and the handler runs at the next progress check, as before."""
    subset = gm.datasets.Subset(fashion, range(64 * 200))
    loader = gm.DataLoader(subset, batch_size=64, num_workers=2)
    trainer = gm.Trainer(gm.models.MNISTNet(), progress=False)
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        sent: dict = {}
        watcher = _interrupt_after(trainer, SEND_AFTER_STEPS, sent)
        history = trainer.fit(loader, epochs=1)
        watcher.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls == [signal.SIGINT]
    assert not history.interrupted and len(history) == 1
    assert trainer.engine.optimizer_steps == 200
