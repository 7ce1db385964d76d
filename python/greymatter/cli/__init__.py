"""The `greymatter` command: `train`, `lr-find`, `evaluate`, `predict`, `export`, `sweep`;
`greymatter <command> --help` for each.

    greymatter train --data fashion-mnist --model mnistnet --epochs 2 --out runs/x
    greymatter train --resume runs/x
    greymatter lr-find --data fashion-mnist --model mnistnet
    greymatter evaluate --checkpoint runs/x/best.pth
    greymatter predict --checkpoint runs/x/best.pth shoe.png bag.jpg
    greymatter sweep --lr 1e-4,1e-3,1e-2,1e-1 --size-inner 10,100,1000 --epochs 1 \\
                     --results runs/sweep.csv

  main.py        main(): parse, run one command, errors as one line and an exit code
  parser.py      the argument parser
  train.py, lr_find.py, evaluate.py, predict.py, export.py, sweep.py   one module per command
  inputs.py      data, image reading, augmentation and the model, from the arguments (shared)
  run_folder.py  the run folder train writes and evaluate / predict read back
"""
from .main import main

__all__ = ["main"]
