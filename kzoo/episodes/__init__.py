"""Episodic data: sources -> class index -> in-graph episode sampler -> tf.data.

>>> from kzoo import episodes
>>> src = episodes.glyphs()                      # built in, no download
>>> train, val, test = src.split((0.7, 0.1, 0.2), by="alphabet", seed=0)
>>> ds = episodes.few_shot(train, ways=20, shots=1, queries=15, tasks=16, rotations=True)
"""

from kzoo.episodes.cifar_fs import cifar_fs
from kzoo.episodes.cub import cub
from kzoo.episodes.distortion import Distortion
from kzoo.episodes.glyph_source import glyphs
from kzoo.episodes.image_files import image_folder
from kzoo.episodes.mini_imagenet import mini_imagenet
from kzoo.episodes.mixture import mixture
from kzoo.episodes.omniglot_source import omniglot
from kzoo.episodes.regression import polynomial, sinusoid
from kzoo.episodes.sampler import FewShotSampler, few_shot
from kzoo.episodes.source import Source, union
from kzoo.episodes.splits import SPLIT, load_sources, other_test_parts, split_source
from kzoo.episodes.tfds_source import tfds
from kzoo.episodes.tiered_imagenet import tiered_imagenet
from kzoo.episodes.variable import VariableEpisodeSampler, variable_few_shot
from kzoo.episodes.zero_shot import ZeroShotTaskSampler, zero_shot_tasks


def arrays(images, labels, class_names=None, alphabets=None):
    """A `Source` from in-memory arrays.

    Args:
        images: `[M, H, W, C]`, uint8 in [0, 255] or float in [0, 1].
        labels: int `[M]`, classes 0..C-1.
        class_names: optional list of C names.
        alphabets: optional list of C group names (for `split(by="alphabet")`).
    """
    return Source(images, labels, class_names=class_names, alphabets=alphabets, name="arrays")


def load(spec, **kwargs):
    """A `Source` from a short spec string, as the `kzoo` command takes it.

    `"glyphs"`, `"omniglot"` (looks in `../shared/data/omniglot` and
    `$KZOO_OMNIGLOT`), `"omniglot:PATH"`, `"folder:PATH"`, `"tfds:NAME"`, and the
    benchmarks `"mini_imagenet:PATH"`, `"tiered_imagenet:PATH"`, `"cifar_fs:PATH"`,
    `"cub:PATH"` (all three splits in one `Source` that `split_source` splits back
    into their published class splits).
    """
    kind, _, arg = spec.partition(":")
    if kind == "glyphs":
        return glyphs(**kwargs)
    if kind == "omniglot":
        return omniglot(arg or default_omniglot_path(), **kwargs)
    if kind == "folder" and arg:
        return image_folder(arg, **kwargs)
    if kind == "tfds":
        return tfds(arg or "omniglot", **kwargs)
    if kind in BENCHMARKS and arg:  # its train, val and test splits; split_source splits them back
        from kzoo.episodes.splits import with_published_splits

        return with_published_splits([BENCHMARKS[kind](arg, part, **kwargs) for part in ("train", "val", "test")],
                                     name=kind)
    raise ValueError(
        "Expected a data spec: glyphs, omniglot, omniglot:PATH, folder:PATH, tfds:NAME, or "
        f"{', '.join(f'{b}:PATH' for b in BENCHMARKS)}. Received: {spec!r}."
    )


#: the few-shot benchmarks `load` reads with their published class splits
BENCHMARKS = {"mini_imagenet": mini_imagenet, "tiered_imagenet": tiered_imagenet, "cifar_fs": cifar_fs, "cub": cub}


def default_omniglot_path():
    """`$KZOO_OMNIGLOT`, else the first of `./shared/data/omniglot`, `../shared/data/omniglot`."""
    import os
    from pathlib import Path

    if os.environ.get("KZOO_OMNIGLOT"):
        return os.environ["KZOO_OMNIGLOT"]
    for base in (Path.cwd(), *Path.cwd().parents):
        candidate = base / "shared" / "data" / "omniglot"
        if candidate.is_dir():
            return str(candidate)
    raise FileNotFoundError(
        "No Omniglot data found: set KZOO_OMNIGLOT or pass omniglot:PATH to a folder holding "
        "the official images_background*.zip files (kzoo never downloads data)."
    )


__all__ = [
    "Distortion", "FewShotSampler", "Source", "arrays", "cifar_fs", "cub", "few_shot", "glyphs", "image_folder", "load", "mini_imagenet", "mixture",
    "omniglot", "polynomial", "sinusoid", "tfds", "tiered_imagenet", "union", "SPLIT", "load_sources", "other_test_parts",
    "split_source", "VariableEpisodeSampler", "variable_few_shot", "ZeroShotTaskSampler", "zero_shot_tasks",
]
