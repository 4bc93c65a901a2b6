"""`glyph_compositions`: a built-in compositional zero-shot set, no download.

Classes are letters with a canonical Unicode decomposition into a base letter and
combining marks ("é" = "e" + COMBINING ACUTE ACCENT, "ῷ" = "ω" + PERISPOMENI +
YPOGEGRAMMENI) plus their plain base letters, rendered by `kzoo.episodes.glyphs`.
Class attributes are binary: script, case, base letter (caseless) and each
combining mark. Unseen classes are precomposed letters whose every attribute is
carried by some seen class while the combination is not - the glyph analogue of
AWA/CUB's attribute-based zero-shot split and of MIT-States' unseen (attribute,
object) pairs (here attribute = the diacritics, object = the base letter).

Visual features come from a small conv net trained on the seen classes' training
images only (the analogue of the benchmarks' ImageNet ResNet-101 features, which
never saw the unseen classes' images).
"""

import json
import os
import unicodedata

import numpy as np

from kzoo.cache import cache_path, load_npz, save_npz
from kzoo.checks import check_int
from kzoo.episodes import glyph_source
from kzoo.zsl.backbone import WEIGHTS_FILE, backbone_features, backbone_folder, sha256
from kzoo.zsl.dataset import ZeroShotData

_FORMAT_VERSION = 1
_CASED = ("Lu", "Ll")


def glyph_compositions(
    image_size=32,
    examples_per_class=20,
    unseen_fraction=0.25,
    test_seen_fraction=0.2,
    scripts=None,
    bases=None,
    fonts=None,
    min_fonts=2,
    backbone_channels=64,
    backbone_epochs=8,
    seed=0,
    backbone_weights="auto",
    cache_dir=None,
    verbose=1,
):
    """The built-in compositional zero-shot dataset of diacritic letters.

    Characters: every cased letter (Lu, Ll) drawn by at least `min_fonts` fonts
    whose canonical decomposition (NFD) is a cased base letter followed by combining
    marks (category Mn), that equals its NFKC form (no compatibility or singleton
    variants), plus each base letter itself. Characters that look the same in some
    font (`glyphs`' look-alike rule, e.g. Cyrillic "ё" and Latin "ë") keep the lowest
    code point; a letter whose base letter was dropped is dropped, and of letters
    with the same marks in another order ("Ǖ", "Ṻ") the first stays. With matplotlib's
    fonts this gives Latin, Greek and Cyrillic letters (see `statistics()`).

    Attributes (binary, `attribute_names`): `script:<name>`, `case:upper` /
    `case:lower`, `base:<lowercase base letter>` and `mark:<mark name>` for every
    combining mark present (a letter with two marks has two ones).

    Split (seeded): plain letters are always seen. Precomposed letters are visited
    in a random order and made unseen while each of their attributes, their
    diacritic combination and their base letter (the composition view) stay carried
    by at least one seen class, until `unseen_fraction` of all classes are unseen
    (fewer if the coverage rule stops it). So every unseen attribute occurs among the
    seen classes but no unseen combination does. Splits follow Xian et al.: of each
    seen class, `test_seen_fraction` of its images (at random) form `test_seen`, the
    rest `trainval`; every image of an unseen class is in `test_unseen`.

    Features: a `ConvBackbone(backbone_channels, 4 blocks)` with a softmax head over
    the seen classes, trained for `backbone_epochs` epochs (Adam 1e-3, batch 64) on
    the `trainval` images only, with `keras.utils.set_random_seed(seed)`. That
    training is not bit-reproducible across machines (CPU kernels round
    differently), so the backbone trained for the default arguments ships with kzoo
    (`saved_models/zsl/glyph_compositions_backbone/`, written by
    `save_glyph_backbone`) and is loaded instead of trained when the arguments
    match, so that every machine gets the same features and the TAFE-Net and AMAZ
    presets replay their recorded scores; the
    features are its flattened output (ReLU, then max-pool) for every image,
    `backbone_channels * (image_size // 16)**2` wide.

    The images are rendered and cached by `glyphs(characters=...)`; the features
    and split are cached in `cache_dir` too (atomic writes, keyed by every argument,
    the images, the library versions and the backbone weights). First call with the
    defaults: about a minute on 2 CPU cores with the shipped backbone (3-5 minutes
    when one is trained); later calls: about a second.

    Args:
        image_size: image height and width. Defaults to `32` (marks are a few pixels).
        examples_per_class: images per class. Defaults to `20`.
        unseen_fraction: target fraction of classes that are unseen. Defaults to `0.25`.
        test_seen_fraction: fraction of each seen class's images held out for
            `test_seen`. Defaults to `0.2`.
        scripts: optional list of script names to keep (e.g. `["Latin"]`).
        bases: optional string of base letters to keep (e.g. `"aeiouAEIOU"`).
        fonts: optional font files (as in `glyphs`). Defaults to matplotlib's 16.
        min_fonts: fonts that must draw a character. Defaults to `2` (1 for one font).
        backbone_channels: conv channels of the feature backbone. Defaults to `64`.
        backbone_epochs: training epochs of the backbone. Defaults to `8`.
        seed: non-negative integer seed of rendering, split and backbone. Defaults to `0`.
        backbone_weights: `"auto"` (the shipped backbone when it was trained with
            these arguments, else a new one is trained), `None` (always train), or
            a folder written by `save_glyph_backbone`. Defaults to `"auto"`.
        cache_dir: cache folder. Defaults to `$KZOO_CACHE`, else `~/.cache/kzoo`.
        verbose: print progress while building (not when loading). Defaults to `1`.

    Returns:
        A `ZeroShotData` with `images` uint8 `[N, image_size, image_size, 1]`,
        `features` float32 `[N, D]`, attributes `[C, A]`, and in `extra`: the
        composition view `pair_attribute` int32 `[C]` (index into
        `pair_attribute_names`, the diacritic combination, `"none"` for plain
        letters), `pair_object` int32 `[C]` (index into `object_names`, the base
        letter), `scripts` `[C]` and `backbone` (its training command and scores,
        and the weights file with its SHA-256 when it was loaded).

    Example:

    >>> from kzoo import zsl
    >>> data = zsl.glyph_compositions()  # doctest: +SKIP
    >>> print(zsl.statistics_table(data))  # doctest: +SKIP
    """
    args, paths = _data_arguments(image_size, examples_per_class, unseen_fraction, test_seen_fraction, scripts,
                                  bases, fonts, min_fonts, backbone_channels, backbone_epochs, seed)
    weights = backbone_folder(backbone_weights, args)
    path = _cache_path(cache_dir, args, paths, weights)
    data = _load_cache(path)
    if data is None:
        data, _ = _build(paths, cache_dir, verbose, path, weights=weights, **args)
        save_npz(path, data, what="glyph compositions")
    chars = [str(c) for c in data["chars"]]
    table = _attribute_table(chars)
    report = json.loads(str(data["report"]))
    extra = {
        "pair_attribute": table["pair_attribute"], "pair_attribute_names": table["pair_attribute_names"],
        "pair_object": table["pair_object"], "object_names": table["object_names"],
        "scripts": table["scripts"], "backbone": report,
    }
    return ZeroShotData(
        data["features"], data["labels"], table["attributes"], data["trainval"], data["test_seen"],
        data["test_unseen"],
        class_names=chars, attribute_names=table["attribute_names"], name="glyph-compositions",
        images=data["images"], granularity="fine", extra=extra,
    )


def _data_arguments(image_size, examples_per_class, unseen_fraction, test_seen_fraction, scripts, bases, fonts,
                    min_fonts, backbone_channels, backbone_epochs, seed):
    """Checks `glyph_compositions`' data arguments: the normalised arguments and the font paths."""
    check_int(image_size, "image_size", 16)
    check_int(examples_per_class, "examples_per_class", 2)
    check_int(seed, "seed", 0)
    check_int(backbone_channels, "backbone_channels", 1)
    check_int(backbone_epochs, "backbone_epochs", 0)
    for name, value in (("unseen_fraction", unseen_fraction), ("test_seen_fraction", test_seen_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
            raise ValueError(f"Expected `{name}` in (0, 1). Received: {name}={value!r}.")
    if scripts is not None:
        if isinstance(scripts, str) or not all(isinstance(s, str) for s in scripts):
            raise ValueError(f"Expected `scripts` to be a list of script names. Received: scripts={scripts!r}.")
        scripts = sorted(s.lower() for s in scripts)
    if bases is not None and (not isinstance(bases, str) or not bases):
        raise ValueError(f"Expected `bases` to be a non-empty string of letters. Received: bases={bases!r}.")
    check_int(min_fonts, "min_fonts", 1)
    paths = glyph_source._check_fonts(fonts)
    min_fonts = min(min_fonts, len(paths))

    args = dict(image_size=int(image_size), examples_per_class=int(examples_per_class),
                unseen_fraction=float(unseen_fraction), test_seen_fraction=float(test_seen_fraction),
                scripts=scripts, bases=bases, min_fonts=int(min_fonts), channels=int(backbone_channels),
                epochs=int(backbone_epochs), seed=int(seed))
    return args, paths


def _build(paths, cache_dir, verbose, path, image_size, examples_per_class, unseen_fraction, test_seen_fraction,
           scripts, bases, min_fonts, channels, epochs, seed, weights=None):
    """Chooses the characters, splits, renders and trains (or loads) the backbone.

    Returns the cache arrays and the backbone + softmax head (a `keras.Model`)."""
    if verbose:
        print("glyph_compositions: choosing characters and rendering (first call only)", flush=True)
    chars = _choose_characters(paths, scripts, bases, min_fonts, image_size)
    unseen = _split_classes(_attribute_table(chars), unseen_fraction, seed)
    src = glyph_source.glyphs(image_size=image_size, examples_per_class=examples_per_class,
                              characters=chars, fonts=paths, seed=seed, cache_dir=cache_dir)
    rng = np.random.default_rng([seed, 7])
    trainval, test_seen, test_unseen = [], [], []
    held = max(1, int(round(test_seen_fraction * examples_per_class)))
    for c in range(len(chars)):
        rows = np.arange(src.offsets[c], src.offsets[c + 1])
        if c in unseen:
            test_unseen.extend(rows)
        else:
            pick = np.zeros(rows.size, bool)
            pick[rng.choice(rows.size, held, replace=False)] = True
            test_seen.extend(rows[pick])
            trainval.extend(rows[~pick])
    trainval, test_seen, test_unseen = (np.array(sorted(x), np.int64) for x in (trainval, test_seen, test_unseen))
    if verbose:
        action = f"loading the feature backbone from {weights}" if weights else (
            f"training the feature backbone on {trainval.size} images of {len(chars) - len(unseen)} seen classes")
        print(f"glyph_compositions: {action} (cached afterwards in {path})", flush=True)
    features, report, model = backbone_features(src.images, src.labels, trainval, test_seen, channels, epochs, seed,
                                                 verbose, weights, chars)
    return {"chars": np.array(chars), "images": src.images, "labels": src.labels, "features": features,
            "trainval": trainval, "test_seen": test_seen, "test_unseen": test_unseen,
            "report": np.array(json.dumps(report))}, model


def composition_tasks(data, kind="attributes"):
    """Task descriptions of the (diacritic, base letter) pairs of `glyph_compositions`.

    Args:
        data: a `ZeroShotData` from `glyph_compositions`.
        kind: `"onehot"` - the concatenation of a one-hot diacritic combination and a
            one-hot base letter (TAFE-Net's one-hot task encoding, Table 4), or
            `"attributes"` - the class attribute vectors (script, case, base letter,
            each mark; the analogue of the paper's word2vec pair encoding).
            Defaults to `"attributes"`.

    Returns:
        float32 `[C, dim]`, one row per class (= pair).
    """
    if "pair_attribute" not in data.extra:
        raise ValueError(f"Expected a dataset from `glyph_compositions` (with the pair view). Received: {data!r}.")
    if kind == "attributes":
        return data.attributes
    if kind == "onehot":
        a = np.eye(len(data.extra["pair_attribute_names"]), dtype=np.float32)[data.extra["pair_attribute"]]
        o = np.eye(len(data.extra["object_names"]), dtype=np.float32)[data.extra["pair_object"]]
        return np.concatenate([a, o], axis=1)
    raise ValueError(f'Expected `kind` "attributes" or "onehot". Received: kind={kind!r}.')


# ---------------------------------------------------------------------- characters


def _decompose(char):
    """`(base, marks)` for a cased letter = cased base + combining marks, else `None`."""
    if unicodedata.category(char) not in _CASED or unicodedata.normalize("NFKC", char) != char:
        return None
    nfd = unicodedata.normalize("NFD", char)
    if len(nfd) < 2 or unicodedata.category(nfd[0]) not in _CASED:
        return None
    if not all(unicodedata.category(m) == "Mn" for m in nfd[1:]):
        return None
    return nfd[0], nfd[1:]


def _choose_characters(paths, scripts, bases, min_fonts, image_size):
    """Plain base letters first, then precomposed letters, each in code point order."""
    cmaps = [glyph_source._usable_cmap(p) for p in paths]
    drawn = {}
    for cmap in cmaps:
        for c in cmap:
            drawn[c] = drawn.get(c, 0) + 1
    composed = {}
    for c, count in drawn.items():
        parts = _decompose(chr(c)) if count >= min_fonts else None
        if parts is None or drawn.get(ord(parts[0]), 0) < min_fonts:
            continue
        if scripts is not None and glyph_source._script(chr(c)).lower() not in scripts:
            continue
        if bases is not None and parts[0] not in bases:
            continue
        composed[c] = parts
    codes = sorted(set(composed) | {ord(b) for b, _ in composed.values()})
    if not composed:
        raise ValueError(f"No precomposed letters with scripts={scripts}, bases={bases!r} are drawn by "
                         f"{min_fonts} of the fonts {[os.path.basename(p) for p in paths]}.")
    canvas = max(64, 2 * image_size)
    from PIL import ImageFont

    fonts = [ImageFont.truetype(p, canvas) for p in paths]
    clean = [glyph_source._clean_renders(f, cmap, codes, canvas, image_size) for f, cmap in zip(fonts, cmaps)]
    kept = set(glyph_source._drop_lookalikes(codes, clean))
    composed = {c: p for c, p in composed.items() if c in kept and ord(p[0]) in kept}
    # The attributes ignore the order of marks ("Ǖ" = U + diaeresis + macron and
    # "Ṻ" = U + macron + diaeresis): the lowest code point of each mark set stays.
    first = {}
    for c in sorted(composed):
        first.setdefault((composed[c][0], frozenset(composed[c][1])), c)
    composed = {c: composed[c] for c in first.values()}
    plain = sorted({ord(b) for b, _ in composed.values()})
    return [chr(c) for c in plain] + [chr(c) for c in sorted(composed)]


def _mark_name(mark):
    return unicodedata.name(mark, f"U+{ord(mark):04X}").lower().replace("combining ", "")


def _attribute_table(chars):
    """Binary class attributes and the (diacritic, object) pair view."""
    info = []
    for ch in chars:
        base, marks = _decompose(ch) or (ch, "")
        info.append(dict(script=glyph_source._script(ch), case="upper" if unicodedata.category(ch) == "Lu" else "lower",
                         base=base.lower(), marks=[_mark_name(m) for m in marks], object=base,
                         combo="+".join(_mark_name(m) for m in marks) or "none"))
    names = ([f"script:{s}" for s in sorted({i["script"] for i in info})] + ["case:upper", "case:lower"]
             + [f"base:{b}" for b in sorted({i["base"] for i in info})]
             + [f"mark:{m}" for m in sorted({m for i in info for m in i["marks"]})])
    column = {n: j for j, n in enumerate(names)}
    attributes = np.zeros((len(chars), len(names)), np.float32)
    for k, i in enumerate(info):
        marks = [f"mark:{m}" for m in i["marks"]]
        for n in (f"script:{i['script']}", f"case:{i['case']}", f"base:{i['base']}", *marks):
            attributes[k, column[n]] = 1.0
    rows = {}
    for k, row in enumerate(attributes):
        key = row.tobytes()
        if key in rows:  # `_choose_characters` removes such pairs; this guards `characters` edits
            raise ValueError(f"Classes {chars[rows[key]]!r} and {chars[k]!r} have the same attributes.")
        rows[key] = k
    combos = sorted({i["combo"] for i in info}, key=lambda s: (s != "none", s))
    objects = sorted({i["object"] for i in info})
    return {
        "attributes": attributes, "attribute_names": names, "scripts": [i["script"] for i in info],
        "pair_attribute": np.array([combos.index(i["combo"]) for i in info], np.int32),
        "pair_attribute_names": combos,
        "pair_object": np.array([objects.index(i["object"]) for i in info], np.int32),
        "object_names": objects,
    }


def _split_classes(table, unseen_fraction, seed):
    """Seeded greedy choice of unseen classes that keeps every attribute seen."""
    attributes = table["attributes"]
    num_classes = attributes.shape[0]
    # Columns that must stay carried by a seen class: the attributes, then the pair view.
    combos = np.eye(len(table["pair_attribute_names"]))[table["pair_attribute"]]
    objects = np.eye(len(table["object_names"]))[table["pair_object"]]
    carried = np.concatenate([attributes, combos, objects], axis=1) > 0
    seen_count = carried.sum(0)
    candidates = [c for c in range(num_classes) if table["pair_attribute"][c] != 0]  # not plain letters
    order = np.random.default_rng([seed, 11]).permutation(len(candidates))
    target = int(round(unseen_fraction * num_classes))
    unseen = set()
    for i in order:
        if len(unseen) >= target:
            break
        c = candidates[i]
        if np.all(seen_count[carried[c]] >= 2):
            seen_count[carried[c]] -= 1
            unseen.add(c)
    if not unseen:
        raise ValueError("No class can be unseen: every precomposed letter carries an attribute no other "
                         "class has. Use more `bases` or `scripts`.")
    return unseen


def _cache_path(cache_dir, args, paths, weights=None):
    """A hash of the arguments, font files, library versions and backbone weights."""
    import keras
    import tensorflow as tf
    from fontTools import version as fonttools_version
    from PIL import Image, features

    key = [_FORMAT_VERSION, args, unicodedata.unidata_version, fonttools_version, Image.__version__,
           features.version("freetype2"), keras.__version__, tf.__version__,
           sha256(os.path.join(weights, WEIGHTS_FILE)) if weights else None]
    return cache_path("glyph-compositions", key, paths, cache_dir)


_KEYS = ("chars", "images", "labels", "features", "trainval", "test_seen", "test_unseen", "report")


def _check_cache(data):
    n = data["labels"].shape[0]
    if (data["images"].shape[0] != n or data["features"].shape[0] != n
            or not np.all(np.isfinite(data["features"])) or data["labels"].max() + 1 != len(data["chars"])):
        raise ValueError("inconsistent arrays")
    json.loads(str(data["report"]))


def _load_cache(path):
    """The cached arrays, or `None` when the file is missing or corrupt."""
    return load_npz(path, _KEYS, _check_cache, what="glyph-compositions")
