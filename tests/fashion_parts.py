"""Fashion-MNIST subsets for sweep tests, as picklable factories: worker processes and Dask workers
build the subset themselves instead of receiving the images."""
import greymatter as gm


class FashionPart:
    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop

    def __call__(self):
        return gm.Subset(gm.datasets.FashionMNIST(train=True), range(self.start, self.stop))


TRAIN, VAL = FashionPart(0, 600), FashionPart(59000, 59300)
