"""`greymatter export`: a trained checkpoint as an ONNX file, with its metadata JSON beside it.

    greymatter export --checkpoint runs/x/best.pth --out model.onnx     # also writes model.json

The input size, channels and normalization come from the run folder (run.json, else best.json, as
evaluate and predict read them); the classes from best.json. greymatter.export writes and checks
the file. This module only loads and exports; it never trains. """
from pathlib import Path

from ..onnx_export import export as export_onnx
from .run_folder import load_run

__all__ = ["export"]


def export(args) -> int:
    run = load_run(args.checkpoint)
    run.print_notes()
    spec = run.spec
    export_onnx(
        run.model,
        args.out,
        (spec.channels, spec.size, spec.size),
        classes=run.classes,
        mean=spec.mean,
        std=spec.std,
        loss=run.loss,
        check=not args.no_check,
    )
    checked = "" if args.no_check else " (onnx.checker and OpenCV DNN agree)"
    print(f"wrote {args.out}{checked} and {Path(args.out).with_suffix('.json')}")
    return 0
