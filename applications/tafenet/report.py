"""Prints the README's result tables from applications/tafenet/results/*.json.

    python applications/tafenet/scripts/tables.py
"""

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

GZSL_ROWS = [
    ("bilinear_attributes", "bilinear compatibility x W a (ALE/DeViSE-style softmax)"),
    ("tafenet_attributes_beta0", "TAFE-Net without embedding loss (beta = 0)"),
    ("tafenet_attributes_beta0.1", "TAFE-Net, beta = 0.1"),
    ("preset_glyphs_gzsl_eval", "preset `glyphs_gzsl` re-evaluated (= the row above)"),
    ("tafenet_attributes_beta0.1_reference_variant",
     "TAFE-Net, beta = 0.1, linear generators, positives x63 in eq. (6)"),
]
COMPOSITION_ROWS = [
    ("bilinear_attributes", "bilinear", "attribute vectors"),
    ("bilinear_onehot", "bilinear", "one-hot diacritic ++ one-hot letter"),
    ("tafenet_attributes_beta0.1", "TAFE-Net", "attribute vectors"),
    ("tafenet_onehot_beta0.1", "TAFE-Net", "one-hot diacritic ++ one-hot letter"),
]


def load(name):
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    preset = RESULTS / "preset_glyphs_gzsl_eval.json"
    if "ci95" not in result and preset.exists():  # the first runs predate the intervals
        again = json.loads(preset.read_text())
        if all(again.get(k) == result.get(k) for k in ("u", "s", "H", "top1", "mAP")):
            result["ci95"] = again["ci95"]  # the preset is that same model, re-scored
    return result


def pct(value):
    return f"{100 * value:.1f}"


def ci(result, key):
    if not result.get("ci95") or key not in result["ci95"]:
        return ""
    lo, hi = result["ci95"][key]
    return f" [{pct(lo)}, {pct(hi)}]"


def main():
    print("GZSL on the glyph compositional set (per-class top-1 %, 95% bootstrap CI over classes)\n")
    print("| method | u | s | H |\n|---|---|---|---|")
    for name, label in GZSL_ROWS:
        r = load(name)
        if r:
            print(f"| {label} | {pct(r['u'])}{ci(r, 'u')} | {pct(r['s'])}{ci(r, 's')} | {pct(r['H'])}{ci(r, 'H')} |")
    print("\nUnseen (diacritic, letter) pairs: test-unseen images ranked over the unseen pairs (%)\n")
    print("| method | task description | top-1 | top-2 | top-3 | mAP |\n|---|---|---|---|---|---|")
    for name, method, kind in COMPOSITION_ROWS:
        r = load(name)
        if r:
            print(f"| {method} | {kind} | {pct(r['top1'])}{ci(r, 'top1')} | {pct(r['top2'])} | {pct(r['top3'])} "
                  f"| {pct(r['mAP'])} |")
    for name in ("sparsity", "sparsity_coarse"):
        r = load(name)
        if r:
            print(f"\nDynamic sparsity, {name}.json ({r['data']}, {r['split']}, {r['epochs']} epochs)\n")
            print("| beta | test accuracy % | FLOPs saved % | MACs / image (5th-95th percentile) "
                  "| channels input-dependent % |\n|---|---|---|---|---|")
            for row in r["rows"]:
                spread = row.get("macs_per_image_p5_p95")
                spread = f" ({spread[0]:,}-{spread[1]:,})" if spread else ""
                varying = pct(row["channels_input_dependent"]) if "channels_input_dependent" in row else "-"
                print(f"| {row['beta']:g} | {pct(row['test_accuracy'])} | {pct(row['flops_saved'])} "
                      f"| {row['mean_macs_per_image']:,}{spread} | {varying} |")


if __name__ == "__main__":
    main()
