"""What `make notebook` sets up before starting Jupyter: the "greymatter" kernel (started here
through jupyter_client, as the notebook server starts it) and the working copies of the notebooks,
which never overwrite a copy the user edited."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import greymatter as gm
from greymatter.jupyter import kernelspec, workspace

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_stored_notebooks_name_the_greymatter_kernel():
    for path in sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
        spec = json.loads(path.read_text())["metadata"]["kernelspec"]
        assert (spec["name"], spec["display_name"]) == ("greymatter", kernelspec.DISPLAY_NAME)


def test_kernel_json_runs_this_interpreter_quietly():
    spec = kernelspec.kernel_json(load_widgets=False)
    assert spec["argv"][0] == sys.executable  # the venv's python, not the file it links to
    assert spec["display_name"] == "Python (greymatter)"
    assert (
        "--IPKernelApp.extensions=ipywidgets" in kernelspec.kernel_json(load_widgets=True)["argv"]
    )
    assert "--IPKernelApp.extensions=ipywidgets" not in spec["argv"]


def test_the_kernel_starts_imports_greymatter_and_silences_only_tqdms_warning(
    tmp_path, monkeypatch
):
    jupyter_client = pytest.importorskip("jupyter_client")
    kernelspec.write_kernelspec(tmp_path / "kernels")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    code = (
        "import warnings, greymatter\n"
        "from tqdm.std import TqdmWarning\n"
        "warnings.warn(\n"
        "    'IProgress not found. Please update jupyter and ipywidgets.', TqdmWarning)\n"
        "warnings.warn('IProgress is fine', TqdmWarning)\n"
        "print(greymatter.__file__)\n"
    )
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name="greymatter")
    try:
        streams = []
        client.execute_interactive(
            code,
            timeout=120,
            output_hook=lambda m: streams.append(m["content"])
            if m["msg_type"] == "stream"
            else None,
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    out = "".join(s["text"] for s in streams if s["name"] == "stdout")
    err = "".join(s["text"] for s in streams if s["name"] == "stderr")
    assert out.strip() == gm.__file__
    assert "IProgress not found" not in err and "IProgress is fine" in err


def test_install_for_user_writes_the_users_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    folder = kernelspec.install_for_user()
    assert folder == tmp_path / "kernels" / "greymatter"
    assert json.loads((folder / "kernel.json").read_text())["argv"][0] == sys.executable
    kernelspec.install_for_user()  # again: replaces it


def _edit(path: Path, source: str) -> None:
    nb = json.loads(path.read_text())
    nb["cells"][1]["source"] = source
    path.write_text(json.dumps(nb))


def _run(path: Path) -> None:
    """What running a notebook in Jupyter changes: outputs and execution counts, not sources."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 1
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
    path.write_text(json.dumps(nb))


def test_working_copies_are_made_and_edits_kept(tmp_path):
    stored, work = tmp_path / "notebooks", tmp_path / "work"
    shutil.copytree(NOTEBOOKS, stored, ignore=shutil.ignore_patterns("work", "data", "runs"))
    names = sorted(p.name for p in stored.glob("[0-9]*.ipynb"))
    assert workspace.copy_notebooks(stored, work) == [(n, "copied") for n in names]
    assert all((work / n).read_bytes() == (stored / n).read_bytes() for n in names)

    first, second, third = (work / n for n in names[:3])
    _run(first)  # only run: kept as it is, outputs included
    _edit(second, "print('mine')")  # edited by the user
    _edit(stored / names[2], "print('new tutorial text')")  # the repository's copy moved on
    _edit(stored / names[1], "print('new tutorial text')")
    ran = first.read_text()
    report = dict(workspace.copy_notebooks(stored, work))
    assert report[names[0]] == "unchanged" and first.read_text() == ran
    assert report[names[1]] == "kept (edited)"
    assert json.loads(second.read_text())["cells"][1]["source"] == "print('mine')"
    assert report[names[2]] == "updated" and third.read_bytes() == (stored / names[2]).read_bytes()
    assert workspace.copy_notebooks(stored, work)[2] == (names[2], "unchanged")


def test_an_unreadable_copy_is_kept_and_a_missing_folder_named(tmp_path):
    work = tmp_path / "work"
    workspace.copy_notebooks(NOTEBOOKS, work)
    broken = sorted(work.glob("[0-9]*.ipynb"))[0]
    broken.write_text("{ half a notebook")
    assert dict(workspace.copy_notebooks(NOTEBOOKS, work))[broken.name] == "kept (edited)"
    assert broken.read_text() == "{ half a notebook"
    with pytest.raises(gm.ConfigError, match="no tutorial notebooks"):
        workspace.copy_notebooks(tmp_path / "nowhere", work)


def test_the_command_make_notebook_runs(tmp_path):
    env = {**os.environ, "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run(
        [sys.executable, "-m", "greymatter.jupyter", "--notebooks", str(NOTEBOOKS)]
        + ["--into", str(tmp_path / "work")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert (
        '"Python (greymatter)"' in run.stdout and "01_fashion_mnist_mlp.ipynb: copied" in run.stdout
    )
    assert (tmp_path / "data" / "kernels" / "greymatter" / "kernel.json").is_file()
    assert len(list((tmp_path / "work").glob("[0-9]*.ipynb"))) == 6
