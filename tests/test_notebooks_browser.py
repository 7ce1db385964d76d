"""The tutorial notebooks as a learner runs them: a Jupyter Notebook server with the "greymatter"
kernel, headless Chromium driven through Selenium, Run All on each notebook (GREYMATTER_QUICK=1),
then what the page shows: every cell ran, no error and nothing on stderr, figures as <img>, progress
as a widget or as one text line per epoch, no "Widget Javascript not detected", and in notebook 01
a fit cell holding one figure redrawn after every epoch (also in the saved file).

Two servers, one per progress path:
- "widgets": the kernel loads ipywidgets at start (as greymatter's kernelspec does) and the page has
  the widget extension: progress bars are widgets while they run;
- "text": ipywidgets cannot be imported in the kernel (a sitecustomize hides it) and the page has no
  widget extension, as on a machine without python3-ipywidgets: bars are text lines.
Notebooks 04-06 take their no-weights path on "text" and their weights-file path on "widgets"
(test_notebooks.py runs both through nbclient).

Skipped, saying what is missing, without Chromium, chromedriver, Selenium, Jupyter Notebook or
(for the widget path) ipywidgets; `make test` installs them (packaging/test-packages.txt)."""
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from greymatter.jupyter.kernelspec import KERNEL_NAME, kernel_json, write_kernelspec

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"  # IMAGENET1K_V1's file name in torch hub's folder
NOTEBOOK_TIMEOUT_S = 300
EPOCH_LINE = re.compile(r"^((?:epoch \d+/\d+|sweep)): +\d+%", re.M)


def _missing() -> str:
    missing = [
        name
        for name, present in (
            ("chromium", os.path.exists(CHROMIUM)),
            ("chromium-driver", os.path.exists(CHROMEDRIVER)),
            ("python3-selenium", importlib.util.find_spec("selenium") is not None),
            ("jupyter-notebook", importlib.util.find_spec("notebook") is not None),
        )
        if not present
    ]
    return ", ".join(missing)


pytestmark = pytest.mark.skipif(
    bool(_missing()), reason=f"needs {_missing()} (make test installs them)"
)

# Installed into every page before its own scripts: console messages kept for the test, and a
# MutationObserver counting what appears in each cell's outputs (images, widget progress bars), so
# that redraws show even though only the last one stays in the page.
PAGE_HOOK = """
window.__gm = {console: [], widgets: 0};
for (const level of ['log', 'info', 'warn', 'error']) {
  const original = console[level].bind(console);
  console[level] = (...args) => { window.__gm.console.push(args.join(' ')); original(...args); };
}
document.addEventListener('DOMContentLoaded', () => {
  new MutationObserver(records => {
    for (const record of records) for (const node of record.addedNodes) {
      if (!(node instanceof Element)) continue;
      const cell = node.closest('.cell');
      const images = (node.matches('img') ? 1 : 0) + node.querySelectorAll('img').length;
      if (cell && images) cell.__gmImages = (cell.__gmImages || 0) + images;
      const bars = '.widget-hprogress, .widget-progress';
      window.__gm.widgets += (node.matches(bars) ? 1 : 0) + node.querySelectorAll(bars).length;
    }
  }).observe(document.body, {childList: true, subtree: true});
});
"""

READY = """
const nb = window.Jupyter && Jupyter.notebook;
return !!(nb && nb._fully_loaded && nb.kernel && nb.kernel.is_connected()
          && nb.kernel.name === arguments[0]);
"""

STATE = """
const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code');
const indicator = document.querySelector('#kernel_indicator_icon');
const idle = indicator.classList.contains('kernel_idle_icon');
return {
  done: idle && cells.every(c => typeof c.input_prompt_number === 'number'),
  failed: document.querySelectorAll('.output_error').length > 0,
  cells: cells.map(c => {
    const out = c.output_area.element[0];
    const texts = sel => Array.from(out.querySelectorAll(sel)).map(e => e.innerText);
    return {
      source: c.get_text(),
      count: c.input_prompt_number === undefined ? null : c.input_prompt_number,
      images: out.querySelectorAll('.output_png img').length,
      images_seen: c.element[0].__gmImages || 0,
      errors: texts('.output_error'),
      stderr: texts('.output_stderr'),
      text: out.innerText,
    };
  }),
  widgets_seen: window.__gm.widgets,
  widget_manager: !!Jupyter.WidgetManager,
  page: document.body.innerText,
};
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class Server:
    """A Jupyter Notebook server on a free port serving `folder`, its kernels "greymatter" running
    this interpreter."""

    def __init__(self, folder: Path, home: Path, widgets: bool, torch_home: Path) -> None:
        self.folder = folder
        jupyter_path, config = home / "share", home / "config"
        spec = kernel_json(sys.executable, load_widgets=widgets)
        env = dict(os.environ)
        for name in ("BRAIN_MRI_DIR", "CLOTHING_DIR", "LEAF_DIR", "MPLBACKEND"):
            env.pop(name, None)  # the notebooks' sample data and the kernel's inline backend
        env.update(
            GREYMATTER_QUICK="1",
            TORCH_HOME=str(torch_home),
            OMP_NUM_THREADS="1",  # one thread per kernel: no OpenMP spinning on a busy machine
            JUPYTER_PATH=os.pathsep.join(
                filter(None, [str(jupyter_path), env.get("JUPYTER_PATH")])
            ),
            JUPYTER_CONFIG_DIR=str(config),
            # Also first on the config path, which Jupyter reads before JUPYTER_CONFIG_DIR.
            JUPYTER_CONFIG_PATH=os.pathsep.join(
                filter(None, [str(config), env.get("JUPYTER_CONFIG_PATH")])
            ),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        )
        if not widgets:
            hidden = home / "no_ipywidgets"
            hidden.mkdir()
            (hidden / "sitecustomize.py").write_text(HIDE_IPYWIDGETS)
            spec["env"]["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(hidden), env.get("PYTHONPATH")])
            )
            (config / "nbconfig").mkdir(parents=True)
            (config / "nbconfig" / "notebook.json").write_text(
                json.dumps({"load_extensions": {"jupyter-js-widgets/extension": False}})
            )
        write_kernelspec(jupyter_path / "kernels", spec)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "notebook", "--no-browser", "--ip=127.0.0.1"]
        args += [f"--port={self.port}", "--port-retries=0", f"--notebook-dir={folder}"]
        args += [
            "--NotebookApp.token=",
            "--NotebookApp.password=",
            "--NotebookApp.disable_check_xsrf=True",
        ]
        if os.geteuid() == 0:
            args.append("--allow-root")
        self.log = open(home / "server.log", "w")
        self.process = subprocess.Popen(
            args, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                specs = _get(f"{self.url}/api/kernelspecs")["kernelspecs"]
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"Jupyter did not start:\n{(home / 'server.log').read_text()}")
                time.sleep(0.3)
        assert KERNEL_NAME in specs, f"kernelspec not found; server lists {sorted(specs)}"

    def shut_down_kernels(self) -> None:
        for session in _get(f"{self.url}/api/sessions"):
            request = urllib.request.Request(
                f"{self.url}/api/sessions/{session['id']}", method="DELETE"
            )
            urllib.request.urlopen(request, timeout=30).close()

    def stop(self) -> None:
        # The server shuts its kernels down on SIGTERM; the session's group catches stragglers.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


HIDE_IPYWIDGETS = '''"""Hides ipywidgets from this kernel, as if not installed."""
import sys


class HideIpywidgets:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "ipywidgets":
            raise ImportError(f"No module named {name!r} (hidden by the test)", name=name)
        return None


sys.meta_path.insert(0, HideIpywidgets())
'''


def _browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PAGE_HOOK})
    driver.set_script_timeout(60)
    return driver


@pytest.fixture(scope="module", params=["widgets", "text"])
def session(request, tmp_path_factory):
    """(progress path, server, browser), one server and one browser per path."""
    path = request.param
    if path == "widgets" and importlib.util.find_spec("ipywidgets") is None:
        pytest.skip("the widget path needs python3-ipywidgets (make test installs it)")
    home = tmp_path_factory.mktemp(f"jupyter-{path}")
    folder = home / "notebooks"
    folder.mkdir()
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, folder)
    torch_home = home / "torch"
    if path == "widgets":
        import torch
        import torchvision

        (torch_home / "hub" / "checkpoints").mkdir(parents=True)
        torch.manual_seed(0)
        torch.save(
            torchvision.models.mobilenet_v2().state_dict(),
            torch_home / "hub" / "checkpoints" / WEIGHTS_FILE,
        )
    server = Server(folder, home, widgets=path == "widgets", torch_home=torch_home)
    driver = None
    try:
        driver = _browser(home / "chromium")
        yield path, server, driver
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


def _wait(condition, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _run_all(server, driver, name: str, widgets: bool) -> dict:
    driver.get(f"{server.url}/notebooks/{name}")
    _wait(lambda: driver.execute_script(READY, KERNEL_NAME), 90, "the notebook and its kernel")
    if widgets:
        # ipywidgets' front end checks its version with the kernel as it connects; cells queued
        # before that answer would run before the kernel knows widgets can be shown.
        _wait(
            lambda: any(
                "versions are compatible" in m
                for m in driver.execute_script("return window.__gm.console")
            ),
            30,
            "the widget version check",
        )
    driver.execute_script("Jupyter.notebook.execute_all_cells()")
    state = _wait(
        lambda: (lambda s: s if s["done"] or s["failed"] else None)(driver.execute_script(STATE)),
        NOTEBOOK_TIMEOUT_S,
        f"{name} to run",
        interval=1,
    )
    # Saved as a learner's Ctrl-S would; also lets the next page load without a leave-page dialog.
    driver.execute_script("Jupyter.notebook.save_notebook()")
    _wait(lambda: not driver.execute_script("return Jupyter.notebook.dirty"), 30, "the save")
    driver.get("about:blank")  # the page gone first, or it answers the shutdown with a second one
    server.shut_down_kernels()
    return state


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_notebook_in_the_browser(session, notebook):
    path, server, driver = session
    state = _run_all(server, driver, notebook.name, widgets=path == "widgets")
    cells = state["cells"]
    problems = [(c["source"][:200], e) for c in cells for e in c["errors"] + c["stderr"]]
    assert not problems, "error or stderr output:\n" + "\n\n".join(
        f"--- cell:\n{src}\n--- output:\n{out}" for src, out in problems
    )
    assert [c["count"] for c in cells] == list(range(1, len(cells) + 1)), "not every cell ran"
    assert "Widget Javascript not detected" not in state["page"]
    assert sum(c["images"] for c in cells) >= 1, "no figure shown as an image"
    assert "<Figure size" not in state["page"], "a figure shown as text"

    # Progress: each bar that stays is one line per epoch (redrawn in place, never appended), a
    # widget while it ran on the widget path, text only on the other.
    lines = [label for c in cells for label in _counted_once(c)]
    if notebook.stem[:2] in ("01", "03", "04", "05", "06"):
        assert lines, "no progress line in the page"
    if path == "widgets":
        assert state["widget_manager"] and (state["widgets_seen"] > 0 or not lines)
    else:
        assert not state["widget_manager"] and state["widgets_seen"] == 0

    if notebook.stem.startswith("01"):
        _check_live_curves(cells, server.folder / notebook.name)


def _counted_once(cell: dict):
    labels = EPOCH_LINE.findall(cell["text"])
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    assert not repeated, f"progress lines repeated instead of updated: {repeated}"
    return labels


def _check_live_curves(cells, saved: Path) -> None:
    fit = next(i for i, c in enumerate(cells) if "hist = trainer.fit(" in c["source"])
    epochs = [label for label in EPOCH_LINE.findall(cells[fit]["text"]) if label != "sweep"]
    assert len(epochs) == 2  # GREYMATTER_QUICK's epochs
    assert cells[fit]["images"] == 1, "the fit cell should hold exactly one figure"
    assert cells[fit]["images_seen"] >= len(epochs), "the figure was not redrawn after each epoch"
    nb = json.loads(saved.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    outputs = code[fit]["outputs"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1
    assert nb["metadata"]["kernelspec"]["name"] == KERNEL_NAME
