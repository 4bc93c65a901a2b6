"""Writes the presets table of applications/protonet/README.md from the presets' metadata.

    python applications/protonet/report.py          # prints the table
    python applications/protonet/report.py --write  # and replaces it in README.md

Every number comes from `saved_models/protonet/<preset>/metadata.json`, which the
preset's own `kzoo fit` command (reproduce.sh) wrote: test accuracy on 600 fixed
episodes with its 95% CI, the other sources' test parts scored beside it, and the
validation score that selected the weights, where the recipe selected them.
"""

import argparse
import json
from pathlib import Path

from kzoo.files import write_marked_blocks

HERE = Path(__file__).resolve().parent
PRESETS = HERE.parents[1] / "saved_models" / "protonet"
PAPER = {"omniglot_20way_1shot": "96.0%", "omniglot_20way_5shot": "98.9%", "glyphs_20way_1shot": "(built-in data)"}


def percent(score):
    return f"{100 * score['accuracy']:.2f}% ± {100 * score['ci95']:.2f}%"


def row(name, meta):
    t, e, data = meta["training"], meta["evaluation"], meta["data"]
    spec = meta.get("data_spec", "?")
    training = f"`{spec}`, {t['ways']}-way {t['shots']}-shot, {t['steps']:,} episodes"
    extras = [w for w, on in (("rotations", t.get("rotations")), ("distortions", "distortion" in t)) if on]
    if extras:
        training += " + " + " + ".join(extras)
    selected = t.get("selected")
    chosen = (f"epoch {selected['epoch']} of {selected['of_epochs']} "
              f"({100 * selected['value']:.2f}%, {selected['validation_episodes']} episodes)") if selected else "last epoch"
    test = f"{e['ways']}-way {e['shots']}-shot, {', '.join(data['test_alphabets'])}"
    if len(data["test_alphabets"]) > 3:
        test = f"{e['ways']}-way {e['shots']}-shot, {len(data['test_alphabets'])} unseen scripts"
    others = "; ".join(f"{o['source'].split(chr(39))[1]}: {percent(o)}" for o in meta.get("other_evaluations", []))
    return (f"| `{name}` | {training} | {chosen} | {test} | **{percent(e)}** | {others or '-'} | "
            f"{PAPER.get(name, '-')} |")


def table():
    lines = ["| preset | training | weights (validation accuracy) | test episodes | kzoo accuracy | "
             "other test parts | paper (Snell et al., Table 1) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in PAPER:
        path = PRESETS / name / "metadata.json"
        if path.exists():
            lines.append(row(name, json.loads(path.read_text())))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    text = table()
    print(text)
    if args.write:
        print(f"wrote {write_marked_blocks(HERE / 'README.md', {'presets': text}, tag='report.py')}")


if __name__ == "__main__":
    main()
