"""Progress bars for the Trainer and sweeps: one bar per loop, updating in place.

In a terminal: tqdm, quiet when stderr is not a terminal (logs, CI). In a Jupyter kernel nothing
goes to stderr (an erased text bar there leaves an empty stderr box): a widget bar where the front
end can show ipywidgets, else a text line updated through a display handle (notebook_bars.py). Which
one is decided by what works, not by what imports: Debian 12's ipywidgets 6.0 imports fine but lacks
what tqdm's own notebook bar needs, and with no widget JavaScript in the front end (nbclient, a
server without the extension) a widget would show nothing but a warning. A progress bar never raises
into training: whatever fails in the display falls back to text, then to nothing."""
import sys
from typing import Optional


def in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_bar(total: Optional[int], desc: str, leave: bool, unit: str = "batch"):
    """A bar with tqdm's methods the callers use: update(n), n, set_postfix(**values), close()."""
    if in_notebook():
        from . import notebook_bars

        return notebook_bars.notebook_bar(total, desc, leave, unit)
    from tqdm.std import tqdm

    return tqdm(total=total, desc=desc, leave=leave, unit=unit, disable=None, dynamic_ncols=True)
