"""In a Jupyter notebook, the loss and accuracy curves of a running fit, redrawn after every epoch.

One output in the fit cell, shown when fit starts and replaced through its display handle after each
epoch with gm.plots.curves of the history so far (drawn without pyplot, sent as PNG): no new figure
per epoch, and the last drawing stays in the saved notebook. Drawing takes a fraction of a second,
which would double the time of epochs that short, so an epoch ending sooner than OVERHEAD_LIMIT
allows after the last drawing is drawn later (at the latest when fit ends). Outside a notebook there
is no view. Like the progress bars it never raises into training: a drawing that fails ends it."""
import time
from typing import Optional

from .progress import in_notebook

WAITING = {"text/plain": "Loss and accuracy curves appear here after the first epoch."}
OVERHEAD_LIMIT = 0.2  # drawing time / training time between drawings, at most


class LiveCurves:
    def __init__(self) -> None:
        from IPython.display import display

        self.handle = display(WAITING, raw=True, display_id=True)
        self.drawn_at = 0.0  # when the last drawing ended
        self.cost = 0.0  # how long it took
        self.pending = None  # a history not drawn yet

    def update(self, history) -> None:
        """After an epoch: draws `history` unless that would exceed OVERHEAD_LIMIT."""
        if time.monotonic() - self.drawn_at < self.cost / OVERHEAD_LIMIT:
            self.pending = history
        else:
            self._draw(history)

    def finish(self) -> None:
        """When fit ends, however it ends: draws the last epoch if it was left out."""
        if self.pending is not None:
            self._draw(self.pending)

    def _draw(self, history) -> None:
        self.pending = None
        if self.handle is None:
            return
        start = time.monotonic()
        try:
            from IPython.display import Image

            from ..plots.training_curves import curves

            self.handle.update(Image(data=curves(history)._repr_png_(), format="png"))
        except Exception:
            self.handle = None
        self.drawn_at = time.monotonic()
        self.cost = self.drawn_at - start


def live_curves(enabled: bool) -> Optional[LiveCurves]:
    """A LiveCurves in a notebook when `enabled`, else None."""
    if not enabled or not in_notebook():
        return None
    try:
        return LiveCurves()
    except Exception:
        return None
