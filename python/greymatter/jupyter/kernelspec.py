"""The Jupyter kernel the tutorial notebooks name: "greymatter", shown as "Python (greymatter)",
running the interpreter greymatter is installed in (the repository's .venv for `make notebook`).

Beyond what `ipykernel install` writes, the spec
- loads ipywidgets when the kernel starts, when that interpreter has it: ipywidgets 6 (Debian 12)
  registers its comm targets only when imported, and the front end checks its widget JavaScript
  against them once, as it connects; loaded later, every widget shows "Widget Javascript not
  detected" instead (greymatter's progress bars then use text; see train/notebook_bars.py);
- silences tqdm's "IProgress not found" warning, which `import torch` triggers in a kernel without
  ipywidgets (torch.hub imports tqdm.auto) and whose advice does not apply to greymatter."""
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

KERNEL_NAME = "greymatter"
DISPLAY_NAME = "Python (greymatter)"
QUIET_WARNINGS = "ignore:IProgress not found"  # PYTHONWARNINGS: message prefix, any category


def kernel_json(python: Optional[str] = None, load_widgets: Optional[bool] = None) -> dict:
    """kernel.json for `python` (default: this interpreter, as invoked: a venv's python stays the
    venv's). load_widgets=None loads ipywidgets at start when this interpreter can import it."""
    if load_widgets is None:
        load_widgets = importlib.util.find_spec("ipywidgets") is not None
    argv = [python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if load_widgets:
        argv.append("--IPKernelApp.extensions=ipywidgets")
    return {
        "argv": argv,
        "display_name": DISPLAY_NAME,
        "language": "python",
        # pydevd (the debugger ipykernel loads) otherwise warns about frozen modules on every
        # start, in the server's terminal.
        "env": {"PYTHONWARNINGS": QUIET_WARNINGS, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }


def write_kernelspec(kernels_dir, spec: Optional[dict] = None, name: str = KERNEL_NAME) -> Path:
    """Writes `spec` (default kernel_json()) as kernels_dir/name/kernel.json: a folder to put on
    JUPYTER_PATH as <dir>/kernels. Returns the kernel's folder."""
    folder = Path(kernels_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec or kernel_json(), indent=1) + "\n")
    return folder


def install_for_user(spec: Optional[dict] = None) -> Path:
    """Registers the kernel in the user's Jupyter data folder (replacing an older "greymatter"
    kernel), where every Jupyter front end of this user finds it. Returns the installed folder."""
    from jupyter_client.kernelspec import KernelSpecManager

    staging = Path(tempfile.mkdtemp(prefix="greymatter-kernel-"))
    try:
        write_kernelspec(staging, spec)
        return Path(
            KernelSpecManager().install_kernel_spec(
                str(staging / KERNEL_NAME), KERNEL_NAME, user=True
            )
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
