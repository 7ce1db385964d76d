"""Progress bars for the Trainer: one line that updates in place, in a terminal and in Jupyter.

In Jupyter, tqdm's widget needs ipywidgets (not always installed; Debian has no python3-ipywidgets
package in the default set); without it the text bar is used, whose carriage returns Jupyter renders
as one updating line. Outside Jupyter the bar stays quiet when stderr is not a terminal (logs,
CI)."""
import sys


def in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_bar(total: int, desc: str, leave: bool):
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm
        except ImportError:
            from tqdm.std import tqdm
        return tqdm(
            total=total, desc=desc, leave=leave, unit="batch", disable=False, file=sys.stderr
        )
    from tqdm.std import tqdm

    return tqdm(total=total, desc=desc, leave=leave, unit="batch", disable=None, dynamic_ncols=True)
