"""Executes every tutorial notebook top to bottom, headless, with GREYMATTER_QUICK=1 (smaller data
and fewer epochs), in a fresh folder. A cell that raises fails the test with the cell's source and
traceback.

Notebooks 04-06 take one path when MobileNetV2's ImageNet weights file is present and another when
it is not; both run: once with TORCH_HOME pointing at an empty folder, once at a folder holding a
weights file of the right name (torchvision's random initialisation, so the code path runs, not the
accuracy). Also checks that the committed notebooks carry no outputs and that their figures really
display (image/png outputs, not a Figure's text repr: the notebooks load no matplotlib backend
themselves)."""
import os
import sys
from pathlib import Path

import pytest

from greymatter.jupyter.kernelspec import KERNEL_NAME, kernel_json, write_kernelspec

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.ipynb"))
USES_WEIGHTS = ("04", "05", "06")
WEIGHTS_FILE = (
    "mobilenet_v2-b0353104.pth"  # IMAGENET1K_V1's file name in torch hub's checkpoint folder
)
RUNS = [(p, False) for p in NOTEBOOKS] + [
    (p, True) for p in NOTEBOOKS if p.stem[:2] in USES_WEIGHTS
]


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """The kernel the notebooks name, "greymatter", here running this interpreter (the .venv that
    has greymatter installed) through a kernelspec found first on JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    write_kernelspec(root / "kernels", kernel_json(sys.executable))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(root) + (os.pathsep + old if old else "")
    yield KERNEL_NAME
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


@pytest.fixture(scope="module")
def torch_homes(tmp_path_factory):
    """{False: a TORCH_HOME without weights, True: one with a MobileNetV2 weights file of the
    expected name}."""
    import torch
    import torchvision

    empty = tmp_path_factory.mktemp("torch_home_empty")
    with_weights = tmp_path_factory.mktemp("torch_home_weights")
    (with_weights / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(
        torchvision.models.mobilenet_v2().state_dict(),
        with_weights / "hub" / "checkpoints" / WEIGHTS_FILE,
    )
    return {False: empty, True: with_weights}


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif (
                "data" in out and "image/png" not in out.data
            ):  # a shown figure also carries its text repr
                parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def _pngs(nb) -> int:
    return sum("image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))


@pytest.mark.parametrize(
    "path, weights", RUNS, ids=[p.stem + ("-with-weights" if w else "") for p, w in RUNS]
)
def test_notebook_runs(path, weights, kernel_name, torch_homes, tmp_path, monkeypatch):
    monkeypatch.setenv("GREYMATTER_QUICK", "1")
    monkeypatch.setenv("TORCH_HOME", str(torch_homes[weights]))
    monkeypatch.delenv(
        "MPLBACKEND", raising=False
    )  # the kernel's own inline backend, as in Jupyter
    # One torch/OpenBLAS thread per kernel: the same ~35 s for all runs on an idle machine, but no
    # OpenMP threads spinning against other processes on a busy one (notebook 05 once took 92 s
    # instead of 4 s).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for var in (
        "BRAIN_MRI_DIR",
        "CLOTHING_DIR",
        "LEAF_DIR",
    ):  # the sample folders, not a user's data
        monkeypatch.delenv(var, raising=False)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_name, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on the first error
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors
    # Nothing on stderr: no stray warnings (tqdm's "IProgress not found" included), no empty boxes
    # left by progress bars.
    stderr = [
        o.text
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr"
    ]
    assert not stderr, stderr
    assert _pngs(nb) >= 1, "figures did not display as images"
    text = _text(nb)
    assert "<Figure size" not in text, "a figure showed as text instead of an image"
    # Without weights the notebooks train unfrozen: no "frozen random backbone" warning for learners
    # to puzzle over.
    assert "learns almost nothing" not in text
    # The learner's own classes, losses, optimizers and schedulers train in the C++ engine.
    assert "not fused" not in text
    if path.stem[:2] in USES_WEIGHTS:
        assert ("not found at" in text) is not weights  # the branch this run was meant to take
        assert (WEIGHTS_FILE in text) is not weights


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean(path):
    """No outputs or execution counts in the repository: diffs stay readable and nothing stale is
    shown."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(
        "# " + path.stem[:2]
    )
    assert any('os.environ.get("GREYMATTER_QUICK")' in c.source for c in code)


def test_there_is_a_notebook_per_tutorial():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]
