"""Markdown tables from the JSON results of `reproduce.py` (paper numbers alongside).

    python applications/amaz/report.py applications/amaz/results
"""

import json
import sys
from pathlib import Path

# Table II (AwA2 column) and Table IV of the paper, per-class top-1 accuracy (%)
PAPER_ZSL_AWA2 = {"softmax": 67.6, "weighted_softmax": 68.2, "svm": 72.4, "weighted_svm": 71.7}
PAPER_ZSML_AWA2 = 68.6
PAPER_GZSL_AWA2 = {"weighted_softmax": (60.1, 69.2, 64.3), "weighted_svm": (56.0, 74.6, 64.0)}
PAPER_TABLE_IV = {"t4_w": 10.8, "t4_sigmoid_w": 22.9, "t4_softmax_w": 22.5, "t4_base_plus_sigmoid": 72.0,
                  "t4_base_minus_sigmoid": 71.2, "t4_base_plus_softmax": 70.8, "t4_base_minus_softmax": 69.6,
                  "amaz": 72.4}
TABLE_IV_ROWS = {"t4_w": "w/o, w/o, w/o, w/o  (w * o)", "t4_sigmoid_w": "w/o, w/o, sigmoid, w/o",
                 "t4_softmax_w": "w/o, w/o, softmax, w/o", "t4_base_plus_sigmoid": "w, +, sigmoid, w/o",
                 "t4_base_minus_sigmoid": "w, -, sigmoid, w/o", "t4_base_plus_softmax": "w, +, softmax, w/o",
                 "t4_base_minus_softmax": "w, -, softmax, w/o", "amaz": "w, +, sigmoid, w  (eq. 3)"}


def diverged(run):
    """`"NaN by iteration k"` when a training loss became NaN (the scores are then chance), else `None`."""
    history = run.get("history", {})
    epochs = [i for i, values in enumerate(zip(*history.values())) if any(v != v for v in values)]
    if not epochs:
        return None
    per_epoch = run["steps"] // max(1, len(next(iter(history.values()))))
    return f"diverged: NaN by iteration {(epochs[0] + 1) * per_epoch}"


def pct(value, ci=None):
    return f"{100 * value:.1f}" + (f" ± {100 * ci:.1f}" if ci is not None else "")


def main(folder):
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))}
    lines = ["### ZSL, per-class top-1 accuracy (%) on the unseen classes, ± 95% CI over classes", "",
             "| model | softmax | weighted-softmax | SVM | weighted-SVM | paper (AwA2) |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name in ("amaz", "zsml"):
        if name not in runs:
            continue
        zsl = runs[name]["zsl"]
        cells = [pct(zsl[k], zsl["ci95"][k]) if k in zsl else "-" for k in PAPER_ZSL_AWA2]
        paper = (" / ".join(f"{v}" for v in PAPER_ZSL_AWA2.values()) if name == "amaz"
                 else f"ZSML {PAPER_ZSML_AWA2} (Table II)")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {paper} |")
    lines += ["", "### GZSL (%): u / s / H", "", "| model | weighted-softmax | weighted-SVM | paper (AwA2) |",
              "| --- | --- | --- | --- |"]
    for name in ("amaz", "zsml"):
        if name in runs and "gzsl" in runs[name]:
            g = runs[name]["gzsl"]
            cells = [" / ".join(pct(g[k][m]) for m in ("u", "s", "H")) if k in g else "-" for k in PAPER_GZSL_AWA2]
            paper = "; ".join(" / ".join(map(str, v)) for v in PAPER_GZSL_AWA2.values()) if name == "amaz" else "-"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {paper} |")
    lines += ["", "### Zero-shot retrieval, precision of the top 5 / top 10 (%)", "", "| model | @5 | @10 |",
              "| --- | ---: | ---: |"]
    for name in ("amaz", "zsml"):
        if name in runs:
            r = runs[name]["retrieval"]
            lines.append(f"| {name} | {pct(r['ap@5'])} | {pct(r['ap@10'])} |")
    lines += ["", "### Table IV: modulator operator (base, operator, activation, bias), ZSL accuracy (%)", "",
              "| operator | kzoo SVM | kzoo softmax | paper SVM (AwA2) |", "| --- | ---: | ---: | ---: |"]
    cell = lambda zsl, k: pct(zsl[k], zsl["ci95"][k]) if k in zsl else "-"
    for name, row in TABLE_IV_ROWS.items():
        if name in runs:
            zsl, failed = runs[name]["zsl"], diverged(runs[name])
            scores = f"{failed} | {failed}" if failed else f"{cell(zsl, 'svm')} | {cell(zsl, 'softmax')}"
            lines.append(f"| {row} | {scores} | {PAPER_TABLE_IV[name]} |")
    if "zsml" in runs:
        zsl = runs["zsml"]["zsl"]
        lines.append(f"| no modulation (ZSML-like) | {cell(zsl, 'svm')} | {cell(zsl, 'softmax')} | - |")
    lines += ["", "Runs: " + "; ".join(f"{k}: {v['steps']} steps, {v['train_seconds']} s training, "
                                       f"{v['eval_seconds']} s evaluation" for k, v in runs.items())]
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "applications/amaz/results")
