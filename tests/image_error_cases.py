"""Bad-input scenarios for ImageFolder / DataLoader, run in a child process by test_image_errors.py
so a crash or a hang fails the test instead of killing or blocking pytest.

    python image_error_cases.py WORKDIR [CASE ...]
    # prints one JSON line {case: "ok" | traceback}

Each case builds its own folder under WORKDIR: a class of good photos plus the bad input.
"""
import json
import os
import sys
import traceback
import warnings
from pathlib import Path

import greymatter as gm
from greymatter import transforms as T
from greymatter.sample_data import make_image_folder

TF = T.Compose([T.Resize((24, 24)), T.ToTensor()])


def folder(work: Path, name: str) -> Path:
    return make_image_folder(work / name, classes=("good",), per_class=6, size=40, seed=1)


def expect_data_error(fn, *needles):
    try:
        fn()
    except gm.DataError as e:
        assert isinstance(e, ValueError)
        for needle in needles:
            assert needle in str(e), f"{needle!r} not in {str(e)!r}"
        return str(e)
    raise AssertionError(f"no DataError (expected one mentioning {needles})")


def check_raise_and_skip(root: Path, bad: Path, *needles):
    """on_error='raise': ds[i] and a 2-worker DataLoader raise naming the file. 'skip': left out,
    reported."""
    ds = gm.datasets.ImageFolder(root, transform=TF)
    index = [p for p, _ in ds.samples].index(str(bad))
    expect_data_error(lambda: ds[index], str(bad), *needles)
    plain = gm.datasets.ImageFolder(root)  # sized per image: must not need the bad file to be built
    assert plain[(index + 1) % len(plain)][0].shape[0] == 3
    loader = gm.DataLoader(ds, batch_size=3, num_workers=2, shuffle=True, seed=0)
    expect_data_error(lambda: [b for b in loader], str(bad))
    expect_data_error(
        lambda: [b for b in loader], str(bad)
    )  # a second epoch fails the same way, no hang
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        skipping = gm.datasets.ImageFolder(root, transform=TF, on_error="skip")
    assert any(str(bad) in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert len(skipping) == len(ds) - 1
    assert [p for p, _ in skipping.skipped] == [str(bad)]
    assert all(n in skipping.skipped[0][1] for n in needles), skipping.skipped
    seen = sum(len(y) for _, y in gm.DataLoader(skipping, batch_size=4, num_workers=2))
    assert seen == len(ds) - 1


def case_truncated_jpeg(work):
    root = folder(work, "truncated")
    bad = root / "good" / "cut.jpg"
    data = (root / "good" / "good_0000.jpg").read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    check_raise_and_skip(root, bad, "truncated")


def case_zero_byte_file(work):
    root = folder(work, "zero")
    bad = root / "good" / "empty.jpg"
    bad.write_bytes(b"")
    check_raise_and_skip(root, bad, "empty")


def case_text_renamed_jpg(work):
    root = folder(work, "text")
    bad = root / "good" / "notes.jpg"
    bad.write_text("these are my lecture notes, not a photo\n" * 20)
    check_raise_and_skip(root, bad, "not an image")


def case_fifo_named_jpg(work):
    root = folder(work, "fifo")
    bad = root / "good" / "pipe.jpg"
    os.mkfifo(bad)  # opening it for reading would block until a writer came
    check_raise_and_skip(root, bad, "not a regular file")


def case_unreadable_file(work):
    root = folder(work, "perm")
    bad = root / "good" / "locked.jpg"
    bad.write_bytes((root / "good" / "good_0000.jpg").read_bytes())
    bad.chmod(0)
    assert not os.access(bad, os.R_OK), "run this case as a user that file permissions apply to"
    check_raise_and_skip(root, bad, "permission denied")


def case_corrupt_image_data(work):
    """Structure intact (passes the construction-time check), pixels undecodable: fails at load
    time."""
    root = folder(work, "corrupt")
    good = root / "good" / "good_0000.jpg"
    from PIL import Image

    Image.open(good).save(root / "good" / "base.png")
    data = bytearray((root / "good" / "base.png").read_bytes())
    start = data.index(b"IDAT") + 4
    data[start : start + 40] = bytes(range(40))  # garbage in the compressed stream
    bad = root / "good" / "broken.png"
    bad.write_bytes(bytes(data))
    (root / "good" / "base.png").unlink()
    ds = gm.datasets.ImageFolder(root, transform=TF)
    index = [p for p, _ in ds.samples].index(str(bad))
    expect_data_error(lambda: ds[index], str(bad), "cannot decode")
    skipping = gm.datasets.ImageFolder(root, transform=TF, on_error="skip")
    assert len(skipping) == len(ds)  # the cheap check cannot see it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels = [y for _, y in gm.DataLoader(skipping, batch_size=4, num_workers=2)]
    assert sum(len(y) for y in labels) == len(ds) - 1
    assert [p for p, _ in skipping.skipped] == [str(bad)]
    assert any("left out" in str(w.message) for w in caught), [str(w.message) for w in caught]


def case_empty_class_folder(work):
    root = folder(work, "emptyclass")
    (root / "void").mkdir()
    (root / "void" / "readme.txt").write_text("no images here")
    expect_data_error(lambda: gm.datasets.ImageFolder(root), str(root / "void"), "no valid image")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        skipping = gm.datasets.ImageFolder(root, on_error="skip")
    assert skipping.classes == ["good", "void"] and len(skipping) == 6
    assert skipping.skipped[0][0] == str(root / "void")


def case_missing_path(work):
    missing = work / "does" / "not" / "exist"
    for on_error in ("raise", "skip"):
        expect_data_error(
            lambda: gm.datasets.ImageFolder(missing, on_error=on_error),
            str(missing),
            "does not exist",
        )
    expect_data_error(lambda: T.ToTensor()(str(missing / "x.jpg")), "does not exist")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main(argv) -> int:
    work = Path(argv[1])
    names = argv[2:] or list(CASES)
    results = {}
    for name in names:
        try:
            CASES[name](work)
            results[name] = "ok"
        except Exception:  # reported to the parent test, which fails with it
            results[name] = traceback.format_exc()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
