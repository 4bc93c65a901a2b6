"""Few-shot presets on the glyphs' test scripts drawn in fonts kzoo never renders.

    apt-get download fonts-freefont-ttf && dpkg-deb -x fonts-freefont-ttf_*.deb freefont
    python applications/protonet/other_fonts.py --fonts freefont/usr/share/fonts/truetype/freefont

The 8 scripts of the built-in glyphs' test split (70/10/20 by script, seed 0: Arabic,
Coptic, Georgian, Hebrew, Lisu, Nko, Ogham, Old Italic) are rendered from the given
font files instead of matplotlib's (those of them the fonts draw), with the glyph
source's own distortions; each
preset is scored on the same 600 20-way 1-shot episodes (seed 1234, 15 queries per
class), with a 95% CI. A check only: nothing is trained or selected on it. Writes
results/other_fonts.json.
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kzoo import episodes
from kzoo.files import write_json
from kzoo.applications import from_preset as load_preset  # APPLICATION/NAME or a preset folder
from kzoo.training import evaluate_episodes, format_score
from kzoo.episodes import split_source

HERE = Path(__file__).resolve().parent
PRESETS = ["protonet/omniglot_20way_1shot", "protonet/glyphs_20way_1shot", "hypertransformer/omniglot_20way_1shot",
           "hypertransformer/glyphs_20way_1shot"]


def draws(fonts, script):
    """Whether the fonts draw letters of `script` (the glyph source refuses scripts they do not)."""
    try:
        episodes.glyphs(scripts=[script], fonts=fonts, max_classes=1, examples_per_class=1)
    except ValueError:
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fonts", required=True, help="a folder of .ttf/.otf files (searched recursively)")
    parser.add_argument("--presets", nargs="+", default=PRESETS, help="APPLICATION/NAME or preset folders")
    parser.add_argument("--episodes", type=int, default=600)
    args = parser.parse_args(argv)
    fonts = sorted(str(p) for p in Path(args.fonts).rglob("*") if p.suffix.lower() in (".ttf", ".otf"))
    if not fonts:
        raise SystemExit(f"--fonts: expected .ttf or .otf files under {args.fonts!r}. Received: none.")
    _, _, test = split_source(episodes.glyphs())
    scripts = [s for s in test.alphabet_names if draws(fonts, s)]
    source = episodes.glyphs(scripts=scripts, fonts=fonts)
    print(f"{len(fonts)} fonts; the test scripts in them: {source!r}")
    data = episodes.few_shot(source, 20, 1, 15, tasks=20, seed=1234, batches=args.episodes // 20)
    record = {"fonts": [Path(f).name for f in fonts], "source": repr(source), "scripts": scripts,
              "episodes": {"ways": 20, "shots": 1, "queries": 15, "seed": 1234, "episodes": args.episodes},
              "scores": {}}
    for name in args.presets:
        score = evaluate_episodes(load_preset(name), data, verbose=0)
        print(f"{name}: {format_score(score)}", flush=True)
        record["scores"][name] = {"accuracy": score["accuracy"], "ci95": score["ci95"]}
    write_json(HERE / "results" / "other_fonts.json", record, indent=2)


if __name__ == "__main__":
    main()
