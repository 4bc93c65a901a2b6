"""Seconds to embed a task with Task2Vec, per method, as the task grows (100 / 1k / 10k images).

    nice -n 5 python benchmarks/task2vec_speed.py [--sizes 100,1000,10000] [--max-samples 1000]

Tasks are glyph characters (20 images per class, size / 20 random classes) embedded on the
built-in probe `probe_glyphs_resnet`; one warm-up embedding first so tracing is not timed.
Prints one line per (method, images) and the ratio to the 1,000-image time. With the
default `max_samples`, Fisher epochs draw a fixed number of class-balanced samples, so
only feature caching (one forward pass over every image) grows with the task size. The
`"expected"` method does one backward pass per class, so its time grows with the number
of classes (5 / 50 / 500 here) as well.
"""

import argparse
import time

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--methods", default="montecarlo,expected,variational")
    parser.add_argument("--max-samples", type=int, default=1000)
    args = parser.parse_args(argv)

    from kzoo import episodes
    from kzoo.applications import Task2Vec

    source = episodes.glyphs()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.RandomState(0)
    for method in args.methods.split(","):
        t2v = Task2Vec.from_preset("probe_glyphs_resnet", method=method, max_samples=args.max_samples)
        timings = {}
        for size in [sizes[0]] + sizes:  # the first run warms up tracing
            classes = max(2, size // 20)
            ids = rng.choice(source.num_classes, classes, replace=False)
            task = source.subset(ids)
            rows = rng.choice(task.num_images, min(size, task.num_images), replace=False)
            images, labels = task.images[rows], task.labels[rows]
            keep = np.unique(labels)
            labels = np.searchsorted(keep, labels)
            start = time.perf_counter()
            t2v.embed((images, labels), seed=0)
            timings[size] = time.perf_counter() - start
        base = timings.get(1000, timings[sizes[0]])
        for size in sizes:
            print(f"{method:12s} {size:6d} images: {timings[size]:7.2f} s  ({timings[size] / base:.2f}x the 1k time)",
                  flush=True)


if __name__ == "__main__":
    main()
