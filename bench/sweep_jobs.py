"""How should a sweep use this machine's cores? Fashion-MNIST MNISTNet(hidden=(size_inner,)) sweep
over lr x size_inner, timed in one process in these ways:

  serial-inherit   one configuration at a time with the process's threads (torch intra-op +
                   OpenBLAS pool)
  serial-single    one configuration at a time, one torch + one OpenBLAS thread (gm.sweep's
                   per-configuration setting)
  processes        n_jobs spawned worker processes, each single-threaded (gm.sweep's n_jobs > 1;
                   data built by a factory once per worker)
  threads-single   n_jobs at once in a ThreadPoolExecutor, each single-threaded
  threads-inherit  n_jobs at once in threads, each with the process's threads (shows the OpenBLAS
                   thrash)
  dask             a LocalCluster of n_jobs single-thread worker processes on loopback (start-up
                   included)

Prints seconds per way and the ratio to the first way, and checks that the single-threaded ways
agree exactly.

    .venv/bin/python bench/sweep_jobs.py [--train 54000] [--epochs 2] [--sizes 10,100,1000] \\
                                         [--repeat 2]
"""
import argparse
import concurrent.futures as cf
import contextlib
import time
from unittest import mock

import greymatter as gm
from greymatter._threads import available_cores


def make_model(size_inner):
    return gm.models.MNISTNet(hidden=(size_inner,))


class FashionPart:
    """Picklable data factory: the first `n` (train) or the last 6,000 (val) Fashion-MNIST training
    images."""

    def __init__(self, part: str, n: int) -> None:
        self.part, self.n = part, n

    def __call__(self):
        full = gm.datasets.FashionMNIST(train=True)
        return gm.Subset(full, range(self.n) if self.part == "train" else range(54000, 60000))


def run(way: str, args, grid):
    jobs = args.jobs
    kwargs = dict(grid=grid, epochs=args.epochs, progress=False, seed=0)
    inherit = way.endswith("inherit")
    patch = (
        mock.patch("greymatter.sweep.run.single_threaded", contextlib.nullcontext)
        if inherit
        else contextlib.nullcontext()
    )
    start = time.perf_counter()
    with patch:
        if way == "processes":
            df = gm.sweep(
                make_model,
                train=FashionPart("train", args.train),
                val=FashionPart("val", 0),
                n_jobs=jobs,
                **kwargs,
            )
        elif way == "dask":
            from distributed import Client, LocalCluster

            with LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            ) as cluster, Client(cluster) as client:
                print(f"  dask cluster up in {time.perf_counter() - start:.2f} s")
                df = gm.sweep(
                    make_model,
                    train=FashionPart("train", args.train),
                    val=FashionPart("val", 0),
                    executor=client,
                    **kwargs,
                )
        elif way.startswith("threads"):
            with cf.ThreadPoolExecutor(jobs) as pool:
                df = gm.sweep(
                    make_model,
                    train=FashionPart("train", args.train)(),
                    val=FashionPart("val", 0)(),
                    executor=pool,
                    **kwargs,
                )
        else:
            df = gm.sweep(
                make_model,
                train=FashionPart("train", args.train)(),
                val=FashionPart("val", 0)(),
                n_jobs=1,
                **kwargs,
            )
    return time.perf_counter() - start, df


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", type=int, default=54000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--lrs", default="1e-3,1e-2")
    p.add_argument("--jobs", type=int, default=available_cores())
    p.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs per way; the fastest counts (the machine is shared)",
    )
    p.add_argument(
        "--ways", default="serial-inherit,serial-single,processes,threads-single,threads-inherit"
    )
    args = p.parse_args()
    grid = {
        "lr": [float(v) for v in args.lrs.split(",")],
        "size_inner": [int(v) for v in args.sizes.split(",")],
    }
    ways = args.ways.split(",")
    n = len(grid["lr"]) * len(grid["size_inner"])
    print(
        f"{n} configurations x {args.epochs} epochs on {args.train} images, {args.jobs} jobs, "
        f"{available_cores()} cores"
    )
    best, tables = {}, {}
    for _ in range(args.repeat):  # interleaved, so a burst of load elsewhere hits every way alike
        for way in ways:
            seconds, df = run(way, args, grid)
            best[way] = min(best.get(way, float("inf")), seconds)
            tables[way] = df
    ref = best[ways[0]]
    for way in ways:
        print(
            f"{way:16s} {best[way]:7.2f} s   {ref / best[way]:5.2f}x vs {ways[0]}   "
            f"(configurations' own seconds, summed: {tables[way].seconds.sum():.2f})"
        )
    single = [w for w in ways if not w.endswith("inherit")]
    cols = ["val_acc", "val_loss", "train_loss"]
    same = all(tables[w][cols].equals(tables[single[0]][cols]) for w in single)
    print(f"single-threaded ways give identical tables: {same}")
    print(tables[single[0]].drop(columns=["error"]).to_string(index=False))


if __name__ == "__main__":
    main()
