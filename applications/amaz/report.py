"""Writes the result tables of applications/amaz/README.md (the paper's numbers alongside).

    python applications/amaz/report.py           # print the tables
    python applications/amaz/report.py --write   # and rewrite them in the README

Rows: `amaz` is the preset `amaz/glyphs_zsl` (its metadata), the others are
results/<variant>.json of variant.py. Each table goes between
`<!-- report.py: NAME -->` marker lines of the README.
"""

import argparse
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PRESET = HERE.parents[1] / "saved_models" / "amaz" / "glyphs_zsl" / "metadata.json"

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


def runs():
    """`{name: {"training": ..., "evaluation": ...}}`: the preset as `amaz`, and every results/*.json."""
    found = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}
    if PRESET.exists():
        found["amaz"] = json.loads(PRESET.read_text())
    return found


def diverged(run):
    """`"diverged: NaN at iteration k"` when training stopped on a non-finite loss (`StopOnDivergence`)."""
    match = re.search(r"diverged at step (\d+): (\w+) is (nan|inf)", run.get("diverged", ""))
    return f"diverged: {match.group(2)} {match.group(3)} at iteration {match.group(1)}" if match else None


def pct(value, ci=None):
    return f"{100 * value:.1f}" + (f" ± {100 * ci:.1f}" if ci is not None else "")


def zsl_cell(evaluation, kind):
    return pct(evaluation["zsl"][kind], evaluation["zsl_ci95"][kind]) if kind in evaluation["zsl"] else "-"


def tables(found):
    blocks = {}
    lines = ["| model | softmax | weighted-softmax | SVM | weighted-SVM | paper (AwA2) |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name in ("amaz", "zsml"):
        if name in found:
            e = found[name]["evaluation"]
            paper = (" / ".join(f"{v}" for v in PAPER_ZSL_AWA2.values()) if name == "amaz"
                     else f"ZSML {PAPER_ZSML_AWA2} (Table II)")
            lines.append(f"| {name} | " + " | ".join(zsl_cell(e, k) for k in PAPER_ZSL_AWA2) + f" | {paper} |")
    blocks["zsl"] = "\n".join(lines)
    lines = ["| model | weighted-softmax | weighted-SVM | paper (AwA2) |", "| --- | --- | --- | --- |"]
    for name in ("amaz", "zsml"):
        if name in found and found[name]["evaluation"].get("gzsl"):
            g = found[name]["evaluation"]["gzsl"]
            cells = [" / ".join(pct(g[k][m]) for m in ("u", "s", "H")) if k in g else "-" for k in PAPER_GZSL_AWA2]
            paper = "; ".join(" / ".join(map(str, v)) for v in PAPER_GZSL_AWA2.values()) if name == "amaz" else "-"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {paper} |")
    blocks["gzsl"] = "\n".join(lines)
    lines = ["| model | @5 | @10 |", "| --- | ---: | ---: |"]
    for name in ("amaz", "zsml"):
        if name in found:
            r = found[name]["evaluation"]["retrieval"]
            lines.append(f"| {name} | {pct(r['ap@5'])} | {pct(r['ap@10'])} |")
    blocks["retrieval"] = "\n".join(lines)
    lines = ["| operator | kzoo SVM | kzoo softmax | paper SVM (AwA2) |", "| --- | ---: | ---: | ---: |"]
    for name, row in TABLE_IV_ROWS.items():
        if name in found:
            failed = diverged(found[name])
            e = found[name].get("evaluation")
            scores = f"{failed} | {failed}" if failed else f"{zsl_cell(e, 'svm')} | {zsl_cell(e, 'softmax')}"
            lines.append(f"| {row} | {scores} | {PAPER_TABLE_IV[name]} |")
    if "zsml" in found:
        e = found["zsml"]["evaluation"]
        lines.append(f"| no modulation (ZSML-like) | {zsl_cell(e, 'svm')} | {zsl_cell(e, 'softmax')} | - |")
    lines += ["", "Runs: " + "; ".join(f"{k}: {v['training']['steps']} meta-iterations, "
                                       f"{v['training']['seconds']} s training" for k, v in found.items()
                                       if "training" in v) + "."]
    blocks["table_iv"] = "\n".join(lines)
    return blocks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README's tables")
    args = parser.parse_args(argv)
    blocks = tables(runs())
    from kzoo.files import report_blocks

    report_blocks(HERE / "README.md", blocks, write=args.write)


if __name__ == "__main__":
    main()
