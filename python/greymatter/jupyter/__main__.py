"""python -m greymatter.jupyter --notebooks DIR --into WORK_DIR: registers the "greymatter" kernel
for this user and copies the notebooks of DIR into WORK_DIR (keeping copies the user edited)."""
import argparse
import sys

from .kernelspec import DISPLAY_NAME, install_for_user
from .workspace import copy_notebooks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greymatter.jupyter", description=__doc__)
    parser.add_argument("--notebooks", required=True, help="the stored notebooks' folder")
    parser.add_argument("--into", required=True, help="the working folder Jupyter opens")
    args = parser.parse_args(argv)
    folder = install_for_user()
    print(f'kernel "{DISPLAY_NAME}" ({sys.executable}) registered in {folder}')
    report = copy_notebooks(args.notebooks, args.into)
    for name, action in report:
        print(f"{args.into}/{name}: {action}")
    if any(action.startswith("kept") for _, action in report):
        print(f"(delete a kept copy to get the version in {args.notebooks}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
