"""Writes the Omniglot tables of applications/hypertransformer/README.md from the runs' logs.

    python applications/hypertransformer/report.py           # print the tables
    python applications/hypertransformer/report.py --write   # and rewrite them in the README

Each cell is the "held-out accuracy" line that `kzoo fit` printed at the end of the run
(results/<run>.log, the run names of reproduce.sh); a run without a log is "not run".
"""

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCORE = re.compile(r"held-out accuracy \([^)]*\): ([0-9.]+)% \+- ([0-9.]+)%")

# (row label, log name with {ch} and {shot}), in the README's order
ROWS = [
    ("HT, logits generated", "ht_logits_{ch}ch_{shot}shot"),
    ("HT, all layers generated", "ht_all_{ch}ch_{shot}shot"),
    ("HT, logits generated, warm-up", "ht_logits_{ch}ch_{shot}shot_warmup"),
    ("HT, all layers generated, warm-up", "ht_all_{ch}ch_{shot}shot_warmup"),
    ("MAML", "maml_{ch}ch_{shot}shot"),
    ("ProtoNet", "protonet_{ch}ch_{shot}shot"),
]
PRESETS = {"ht_logits_8ch_1shot": "omniglot_20way_1shot", "ht_logits_8ch_5shot": "omniglot_20way_5shot"}
EXTRA_1SHOT = [("MAML, 4,000 meta-steps (`maml_8_long`: 64,000 episodes)", "maml_8ch_1shot_4000steps")]
PAPER_1SHOT = "| paper (Table 1, 20-way 1-shot, 8 channels) | HT 87.2, MAML++ 81.4 | — |"


def score(name):
    """`(mean, ci)` in % from results/NAME.log, or `None` when it was not run."""
    path = RESULTS / f"{name}.log"
    if not path.exists():
        return None
    found = SCORE.findall(path.read_text())
    return (float(found[-1][0]), float(found[-1][1])) if found else None


def cell(name, best):
    value = score(name)
    if value is None:
        return "not run"
    text = f"{value[0]:.2f}% ± {value[1]:.2f}%"
    text = f"**{text}**" if name in best else text
    return text + (f" (preset `{PRESETS[name]}`)" if name in PRESETS else "")


def table(shot):
    names = {ch: [pattern.format(ch=ch, shot=shot) for _, pattern in ROWS] for ch in (8, 4)}
    best = {max((n for n in names[ch] if score(n)), key=lambda n: score(n)[0]) for ch in (8, 4)}
    lines = ["| model | 8 channels | 4 channels |", "| --- | --- | --- |"]
    for label, pattern in ROWS:
        lines.append(f"| {label} | {cell(pattern.format(ch=8, shot=shot), best)} "
                     f"| {cell(pattern.format(ch=4, shot=shot), best)} |")
    if shot == 1:
        for label, name in EXTRA_1SHOT:
            lines.insert(-1, f"| {label} | {cell(name, best)} | — |")
        lines.append(PAPER_1SHOT)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README's tables")
    args = parser.parse_args(argv)
    blocks = {"omniglot_1shot": table(1), "omniglot_5shot": table(5)}
    from kzoo.files import report_blocks

    report_blocks(HERE / "README.md", blocks, write=args.write)


if __name__ == "__main__":
    main()
