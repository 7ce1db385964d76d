"""In a Jupyter notebook, the loss and accuracy curves of a running fit, redrawn after every epoch.

One output in the fit cell, shown when fit starts and replaced through its display handle after each
epoch with gm.plots.curves of the history so far (drawn without pyplot, sent as PNG): no new figure
per epoch, and the last drawing stays in the saved notebook. Outside a notebook there is no view.
Like the progress bars it never raises into training: a drawing that fails ends the view."""
from typing import Optional

from .progress import in_notebook

WAITING = {"text/plain": "Loss and accuracy curves appear here after the first epoch."}


class LiveCurves:
    def __init__(self) -> None:
        from IPython.display import display

        self.handle = display(WAITING, raw=True, display_id=True)

    def update(self, history) -> None:
        if self.handle is None:
            return
        try:
            from IPython.display import Image

            from ..plots.training_curves import curves

            self.handle.update(Image(data=curves(history)._repr_png_(), format="png"))
        except Exception:
            self.handle = None


def live_curves(enabled: bool) -> Optional[LiveCurves]:
    """A LiveCurves in a notebook when `enabled`, else None."""
    if not enabled or not in_notebook():
        return None
    try:
        return LiveCurves()
    except Exception:
        return None
