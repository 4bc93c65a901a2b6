"""`glyphs`: the built-in character dataset, Unicode letters rendered from font files.

No download: the fonts come from installed packages (matplotlib ships the DejaVu and
STIX families). A class is one character, its alphabet is the character's Unicode
script, and every example is the character drawn in one of the fonts ("the drawer")
with a small random affine distortion and stroke-width change. The result is cached
on disk, keyed by every argument, the font files and the library versions.
"""

import importlib.util
import os
import unicodedata

import numpy as np
from fontTools import unicodedata as font_unicodedata
from fontTools import version as fonttools_version
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

from kzoo.cache import cache_path, load_npz, save_npz
from kzoo.checks import check_int as _check_int
from kzoo.episodes.source import Source

_FORMAT_VERSION = 1
# matplotlib's fonts that draw what their cmap promises. Left out: the DejaVu*Display
# fonts (no letters), STIXNonUni*/STIXSiz* (private-use and big-operator glyphs), the
# cm*10 TeX fonts (their cmaps map letters to unrelated symbols) and
# LastResortHE-Regular.ttf (a box for every code point).
_DEFAULT_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf",
    "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
)
_LETTERS = ("Lu", "Ll", "Lt", "Lo")  # not Lm: modifier letters are mostly tone marks
_NON_SCRIPTS = ("Zyyy", "Zinh", "Zzzz")  # Common, Inherited, Unknown
_MAX_SHARED = 8  # a glyph mapped from more code points marks a fallback ("last resort") font
_DUPLICATE_RMS = 0.04  # clean renderings closer than this (RMS, ink = 1) count as identical
_FIT = 0.75  # largest glyph side, as a fraction of the canvas, before distortion
_ROTATION = 10.0  # degrees, +-
_SHEAR = 0.15  # +-
_SCALE = (0.9, 1.1)
_ASPECT = (0.93, 1.07)
_SHIFT = 0.05  # fraction of the canvas, +-
_STROKES = (-1, 0, 1)  # thinner / unchanged / bolder, in units of canvas / 64 pixels


def glyphs(
    image_size=28,
    examples_per_class=20,
    scripts=None,
    characters=None,
    fonts=None,
    min_fonts=None,
    max_classes=None,
    seed=0,
    cache_dir=None,
):
    """Unicode letters rendered from font files: a built-in few-shot dataset.

    Class = one character (`class_names` holds the character itself, so plots show
    it); alphabet = its Unicode Script property (`fontTools.unicodedata.script`):
    "LATIN SMALL LETTER A" -> "Latin", "CANADIAN SYLLABICS MA" -> "Canadian
    Aboriginal". (The name's first word does not always name the script:
    "MODIFIER LETTER SMALL H" is Latin.)

    Without `characters`, the classes are the letters (categories Lu, Ll, Lt, Lo;
    not Lm, mostly tone marks) that (1) equal their NFKC form (no superscript,
    mathematical or presentation-form variants of another letter); (2) belong to a
    script, not Common or Inherited; (3) are drawn by at least `min_fonts` fonts:
    mapped by the cmap to a glyph that at most 8 code points share (more marks a
    fallback font), and drawn neither empty nor as the font's .notdef (missing
    glyph) box; (4) are not look-alikes: when two selected characters look the same
    in some font (undistorted renderings at `image_size` within 4% RMS, e.g. Latin
    "A", Greek "Α", Cyrillic "А"), the lowest code point stays. Look-alikes are
    removed among the selected characters only, so `scripts=["Greek"]` keeps "Α".
    The default fonts give 2,262 classes in 15 scripts.

    An example draws the character in one of the fonts that draw it (taken in turn,
    in a random order per class) with em = canvas = max(64, 2 x `image_size`) px,
    keeping relative sizes ("o" smaller than "O") but shrinking glyphs wider or
    taller than 75% of the canvas; centres it by its bounding box; thins it
    (erosion), thickens it (Pillow's `stroke_width`) by canvas/64 px or leaves it;
    rotates it by up to 10 degrees, shears it by up to 0.15, scales it by 0.9-1.1
    (aspect 0.93-1.07), shifts it by up to 5% of the canvas; and downsamples with
    Lanczos antialiasing. A class's random draws come from
    `numpy.random.default_rng([seed, code point])`, so they depend on neither the
    other classes nor the machine.

    The first call renders (about 25 s for the default set, one core) and caches
    the arrays in `cache_dir`, keyed by the arguments, the font files' contents and
    the Pillow/FreeType/fontTools/Unicode versions; later calls load them (about
    0.3 s). A corrupt cache file is rendered again.

    Args:
        image_size: height and width of the images, in pixels. Defaults to `28`.
        examples_per_class: images per character. Defaults to `20`.
        scripts: optional list of script names (e.g. `["Greek", "Cyrillic"]`,
            case-insensitive) to restrict the automatic character list to.
            Defaults to all scripts.
        characters: optional string or list of single characters to use as the
            classes, in that order, instead of the automatic list. Each must be drawn
            by at least one of the fonts; the letter, script and look-alike filters do
            not apply. Cannot be combined with `scripts`.
        fonts: optional list of `.ttf`/`.otf` font files to render with, e.g. fonts
            held out from training. Defaults to matplotlib's DejaVu Sans, Sans Mono
            and Serif (4 styles each) and STIX General (4 styles).
        min_fonts: how many fonts must draw a character for it to enter the
            automatic list. Defaults to 2 (1 if only one font is given).
        max_classes: optional cap on the number of classes; keeps evenly spaced
            characters of the (code point ordered) list, so scripts keep their shares.
        seed: non-negative integer seed of the distortions and font order. The same
            seed gives bit-identical images. Defaults to `0`.
        cache_dir: folder for the cache file. Defaults to `$KZOO_CACHE`, else
            `~/.cache/kzoo`.

    Returns:
        A `Source` with uint8 images `[num_classes * examples_per_class, image_size,
        image_size, 1]` (ink = 255, background = 0), `class_names` the characters
        and `alphabets` their scripts.

    Example:

    >>> from kzoo.episodes import glyphs
    >>> src = glyphs(scripts=["Greek"], max_classes=10, examples_per_class=4)
    >>> src.num_classes, src.image_shape, src.alphabet_names
    (10, (28, 28, 1), ['Greek'])
    """
    _check_int(image_size, "image_size", 8)
    _check_int(examples_per_class, "examples_per_class", 1)
    _check_int(seed, "seed", 0)
    if max_classes is not None:
        _check_int(max_classes, "max_classes", 1)
    paths = _check_fonts(fonts)
    if min_fonts is None:
        min_fonts = min(2, len(paths))
    _check_int(min_fonts, "min_fonts", 1)
    characters = _check_characters(characters)
    if scripts is not None:
        if isinstance(scripts, str) or not all(isinstance(s, str) for s in scripts):
            raise ValueError(
                f"Expected `scripts` to be a list of script names. Received: scripts={scripts!r}."
            )
        if characters is not None:
            raise ValueError("Pass either `scripts` or `characters`, not both.")
        scripts = sorted({s.lower() for s in scripts})
    args = dict(
        image_size=int(image_size), examples_per_class=int(examples_per_class), scripts=scripts,
        characters=characters, min_fonts=int(min_fonts), seed=int(seed),
        max_classes=None if max_classes is None else int(max_classes),
    )
    path = _cache_path(cache_dir, args, paths)
    data = _load_cache(path)
    if data is None:
        data = _build(paths, **args)
        save_npz(path, data, what="glyphs")
    return Source(
        data["images"], data["labels"], class_names=[str(c) for c in data["class_names"]],
        alphabets=[str(a) for a in data["alphabets"]], name="glyphs",
    )


def _check_fonts(fonts):
    """Returns the font file paths, checked to exist and to load."""
    if fonts is None:
        spec = importlib.util.find_spec("matplotlib")
        if spec is None:
            raise ValueError("`glyphs()` needs matplotlib's fonts (pip install matplotlib) or `fonts=[...]`.")
        folder = os.path.join(spec.submodule_search_locations[0], "mpl-data", "fonts", "ttf")
        fonts = [os.path.join(folder, name) for name in _DEFAULT_FONTS]
    elif isinstance(fonts, (str, os.PathLike)):
        fonts = [fonts]
    paths = [os.path.abspath(os.fspath(f)) for f in fonts]
    if not paths:
        raise ValueError("Expected at least one font file in `fonts`. Received: [].")
    if len(set(paths)) != len(paths):
        raise ValueError(f"Expected distinct font files in `fonts`. Received: {paths}.")
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"Font file not found in `fonts`: {path}.")
        try:
            ImageFont.truetype(path, 16)
            TTFont(path, lazy=True, fontNumber=0).getBestCmap()
        except Exception as error:
            raise ValueError(f"Cannot read the font file {path} in `fonts`: {error}.") from error
    return paths


def _check_characters(characters):
    if characters is None:
        return None
    chars = list(characters)
    if not chars or not all(isinstance(c, str) and len(c) == 1 for c in chars):
        raise ValueError(
            "Expected `characters` to be a non-empty string or list of single characters. "
            f"Received: characters={characters!r}."
        )
    if len(set(chars)) != len(chars):
        raise ValueError(f"Expected distinct `characters`. Received: characters={characters!r}.")
    return chars


def _describe(char):
    return f"{char!r} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')})"


def _script(char):
    return font_unicodedata.script_name(font_unicodedata.script(char))


# ---------------------------------------------------------------------- cache


def _cache_path(cache_dir, args, paths):
    """The cache file: a hash of the arguments, font files and library versions."""
    key = [_FORMAT_VERSION, args, unicodedata.unidata_version, fonttools_version, Image.__version__,
           features.version("freetype2")]
    return cache_path("glyphs", key, paths, cache_dir)


def _check_cache(data):
    count = int(data["labels"].max()) + 1 if data["labels"].size else 0
    if (data["images"].dtype != np.uint8 or data["images"].shape[0] != data["labels"].shape[0]
            or not len(data["class_names"]) == len(data["alphabets"]) == count):
        raise ValueError("inconsistent arrays")


def _load_cache(path):
    """The cached arrays, or `None` when the file is missing or corrupt."""
    return load_npz(path, ("images", "labels", "class_names", "alphabets"), _check_cache, what="glyphs")


# ---------------------------------------------------------------------- rendering


def _build(paths, image_size, examples_per_class, scripts, characters, min_fonts, max_classes, seed):
    """Chooses the characters, then renders every example. Returns the cache arrays."""
    canvas = max(64, 2 * image_size)
    fonts = [ImageFont.truetype(p, canvas) for p in paths]
    cmaps = [_usable_cmap(p) for p in paths]
    if characters is None:
        codes = _automatic_codes(cmaps, scripts, paths)
    else:
        codes = [ord(c) for c in characters]
    clean = [_clean_renders(font, cmap, codes, canvas, image_size) for font, cmap in zip(fonts, cmaps)]
    covers = {c: [i for i in range(len(fonts)) if c in clean[i]] for c in codes}
    if characters is not None:
        for c in codes:
            if not covers[c]:
                raise ValueError(
                    f"The character {_describe(chr(c))} in `characters` is not drawn by any of "
                    f"the fonts {[os.path.basename(p) for p in paths]}."
                )
    else:
        codes = [c for c in codes if len(covers[c]) >= min_fonts]
        codes = _drop_lookalikes(codes, clean)
        if not codes:
            raise ValueError(
                f"No letters of scripts={scripts} are drawn by at least min_fonts={min_fonts} "
                f"of the fonts {[os.path.basename(p) for p in paths]}."
            )
        if max_classes is not None and max_classes < len(codes):
            codes = [codes[i] for i in np.linspace(0, len(codes) - 1, max_classes).round().astype(int)]
    images = np.zeros((len(codes), examples_per_class, image_size, image_size, 1), np.uint8)
    for k, code in enumerate(codes):
        images[k, ..., 0] = _render_class(chr(code), [fonts[i] for i in covers[code]],
                                          examples_per_class, canvas, image_size, seed)
    return {
        "images": images.reshape((-1, image_size, image_size, 1)),
        "labels": np.repeat(np.arange(len(codes), dtype=np.int32), examples_per_class),
        "class_names": np.array([chr(c) for c in codes]),
        "alphabets": np.array([_script(chr(c)) for c in codes]),
    }


def _usable_cmap(path):
    """Code points -> glyph names, without .notdef and fallback glyphs shared by many."""
    font = TTFont(path, lazy=True, fontNumber=0)
    cmap = font.getBestCmap()
    if len(cmap) > 10 * font["maxp"].numGlyphs:
        raise ValueError(
            f"The font file {path} in `fonts` is a fallback (last resort) font: it maps "
            f"{len(cmap)} code points to {font['maxp'].numGlyphs} glyphs, drawing boxes, not characters."
        )
    shared = {}
    for glyph in cmap.values():
        shared[glyph] = shared.get(glyph, 0) + 1
    return {c: g for c, g in cmap.items() if g != ".notdef" and shared[g] <= _MAX_SHARED}


def _automatic_codes(cmaps, scripts, paths):
    """Sorted letters of the fonts' cmaps that pass the letter and script filters."""
    codes = set()
    for cmap in cmaps:
        for c in cmap:
            char = chr(c)
            if (unicodedata.category(char) in _LETTERS
                    and unicodedata.normalize("NFKC", char) == char
                    and font_unicodedata.script(char) not in _NON_SCRIPTS):
                codes.add(c)
    if scripts is not None:
        known = sorted({_script(chr(c)) for c in codes})
        unknown = [s for s in scripts if s not in {k.lower() for k in known}]
        if unknown:
            raise ValueError(
                f"Unknown script(s) {unknown} in `scripts`: the fonts "
                f"{[os.path.basename(p) for p in paths]} draw letters of {known}."
            )
        codes = {c for c in codes if _script(chr(c)).lower() in scripts}
    return sorted(codes)


def _clean_renders(font, cmap, codes, canvas, size):
    """Undistorted float images of the `codes` this font draws (not empty, not .notdef)."""
    unmapped = next(c for c in (0x10FFFD, 0x0378, 0xFFFF) if c not in cmap)
    missing = _render(font, chr(unmapped), canvas, size)  # the .notdef drawing
    out = {}
    for c in codes:
        if c in cmap:
            image = _render(font, chr(c), canvas, size)
            if image is not None and image.any() and (missing is None or not np.array_equal(image, missing)):
                out[c] = image.astype(np.float32) / 255.0
    return out


def _drop_lookalikes(codes, clean):
    """Keeps the lowest code point among characters that look the same in some font."""
    partners = {c: set() for c in codes}  # lower code points each character looks like
    for renders in clean:
        cs = [c for c in codes if c in renders]
        if len(cs) < 2:
            continue
        x = np.stack([renders[c].ravel() for c in cs])
        sq = (x * x).sum(1)
        close = np.triu(sq[:, None] + sq[None, :] - 2.0 * x @ x.T < _DUPLICATE_RMS**2 * x.shape[1], 1)
        for i, j in np.argwhere(close):
            partners[cs[j]].add(cs[i])
    kept = set()
    for c in codes:  # ascending: a character goes only if a kept lower one looks the same
        if not partners[c] & kept:
            kept.add(c)
    return [c for c in codes if c in kept]


def _glyph(font, char, stroke):
    """The character's ink, cropped to its bounding box; `stroke` < 0 erodes."""
    width = max(stroke, 0)
    x0, y0, x1, y1 = font.getbbox(char, stroke_width=width, anchor="ls")
    pad = 2 + abs(stroke)
    image = Image.new("L", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad))
    ImageDraw.Draw(image).text((pad - x0, pad - y0), char, font=font, fill=255, anchor="ls",
                               stroke_width=width, stroke_fill=255)
    if stroke < 0:
        thin = image.filter(ImageFilter.MinFilter(2 * -stroke + 1))
        if np.asarray(thin, np.float32).sum() >= 0.5 * np.asarray(image, np.float32).sum():
            image = thin  # never erode a hairline glyph away
    box = image.getbbox()
    return None if box is None else image.crop(box)


def _render(font, char, canvas, size, stroke=0, angle=0.0, shear=0.0, scale=(1.0, 1.0), shift=(0.0, 0.0)):
    """One uint8 `[size, size]` image: glyph -> affine onto the canvas -> downsample."""
    glyph = _glyph(font, char, stroke)
    if glyph is None:
        return None
    w, h = glyph.size
    fit = _FIT * canvas / max(w, h)
    if fit < 1.0:
        glyph = glyph.resize((max(1, round(w * fit)), max(1, round(h * fit))), Image.LANCZOS)
        w, h = glyph.size
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag(scale)
    inverse = np.linalg.inv(forward)
    offset = np.array([w / 2, h / 2]) - inverse @ (np.array([canvas / 2, canvas / 2]) + np.asarray(shift))
    coeffs = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    placed = glyph.transform((canvas, canvas), Image.AFFINE, coeffs, resample=Image.BILINEAR)
    return np.asarray(placed.resize((size, size), Image.LANCZOS))


def _render_class(char, fonts, count, canvas, size, seed):
    """`count` distorted images of `char`, fonts taken in turn in a random order."""
    rng = np.random.default_rng([seed, ord(char)])
    order = rng.permutation(len(fonts))
    unit = canvas / 64
    out = np.zeros((count, size, size), np.uint8)
    for k in range(count):
        aspect = rng.uniform(*_ASPECT)
        scale = rng.uniform(*_SCALE)
        out[k] = _render(
            fonts[order[k % len(fonts)]], char, canvas, size,
            stroke=int(round(rng.choice(_STROKES) * unit)),
            angle=rng.uniform(-_ROTATION, _ROTATION),
            shear=rng.uniform(-_SHEAR, _SHEAR),
            scale=(scale * aspect, scale / aspect),
            shift=rng.uniform(-_SHIFT, _SHIFT, size=2) * canvas,
        )
    return out
