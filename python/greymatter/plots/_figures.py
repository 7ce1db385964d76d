"""The Figure every plot returns and how it is saved: PlotFigure (a bare matplotlib Figure that
Jupyter shows without pyplot), _figure to make one, _save to write it when given
``save="path.png"``."""
import io
from pathlib import Path
from typing import Optional

from matplotlib.figure import Figure


class PlotFigure(Figure):
    """A bare matplotlib Figure (not pyplot: no GUI backend, not kept alive by pyplot's registry)
    that Jupyter displays through _repr_png_, with or without `%matplotlib inline`."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


def _figure(*args, **kwargs) -> PlotFigure:
    return PlotFigure(*args, **kwargs)


def _save(fig, save: Optional[str]):
    if save:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig
