"""`greymatter <command>`: parses the arguments and runs the command's module. Errors become one
line on stderr and an exit code, never a traceback: 2 for bad arguments or data (ConfigError,
DataError, an unwritable --out), 1 for a failed run (TrainingError), 130 for Ctrl-C."""
import sys

from ..datasets import set_max_image_pixels
from . import evaluate, export, lr_find, predict, sweep, train
from .parser import build_parser

__all__ = ["main"]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a bad argument (2, its line already printed)
        return e.code if isinstance(e.code, int) else 0
    commands = {
        "train": lambda a: train.train(a, argv),
        "lr-find": lr_find.lr_find,
        "evaluate": evaluate.evaluate,
        "predict": predict.predict,
        "export": export.export,
        "sweep": sweep.sweep,
    }
    if args.max_image_pixels is not None:
        set_max_image_pixels(args.max_image_pixels)  # for this process and sweep workers
    try:
        return commands[args.command](args)
    except (
        ValueError,
        OSError,
    ) as e:  # DataError / ConfigError / an unwritable --out: one line, no traceback
        print(f"greymatter {args.command}: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # TrainingError (a NaN loss, ...): not the arguments' fault
        print(f"greymatter {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"greymatter {args.command}: interrupted", file=sys.stderr)
        return 130
