"""Bad input never crashes or hangs: each scenario of image_error_cases.py runs in a child process
with a timeout, and must raise a DataError (a ValueError) naming the file, or skip and report it."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "image_error_cases.py"
CASES = [
    "truncated_jpeg",
    "zero_byte_file",
    "text_renamed_jpg",
    "fifo_named_jpg",
    "corrupt_image_data",
    "empty_class_folder",
    "missing_path",
]
TIMEOUT = 120  # seconds for all cases together; a hang fails instead of blocking the suite


def run_cases(names, work: Path, as_user=None) -> dict:
    preexec = None
    if as_user is not None:

        def preexec():
            os.setgid(as_user)
            os.setuid(as_user)

    try:
        done = subprocess.run(
            [sys.executable, str(SCRIPT), str(work), *names],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            preexec_fn=preexec,
            cwd=str(work),
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"bad-input cases hung for {TIMEOUT}s: {e.stderr}")
    assert (
        done.returncode == 0
    ), f"child process died (status {done.returncode}): {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_cases(CASES, tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("case", CASES)
def test_bad_input(results, case):
    assert results[case] == "ok", results[case]


def test_unreadable_file():
    # Permission bits do not stop root: run the case as an unprivileged user then.
    user = 65534 if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o777)
        result = run_cases(["unreadable_file"], Path(work), as_user=user)
    assert result["unreadable_file"] == "ok", result["unreadable_file"]
