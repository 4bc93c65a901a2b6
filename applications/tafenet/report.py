"""Writes the result tables of applications/tafenet/README.md from the presets' metadata and results/*.json.

    python applications/tafenet/report.py           # print the tables
    python applications/tafenet/report.py --write   # and rewrite them in the README

Each table goes between `<!-- report.py: NAME -->` marker lines of the README.
"""

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PRESETS = HERE.parents[1] / "saved_models" / "tafenet"

GZSL_ROWS = [
    ("bilinear_attributes", "bilinear compatibility x W a (ALE/DeViSE-style softmax)"),
    ("tafenet_attributes_beta0", "TAFE-Net without embedding loss (beta = 0)"),
    ("tafenet_attributes_beta0.1_calibrated", "TAFE-Net, beta = 0.1, the older preset recipe (8 epochs)"),
    ("tafenet_attributes_beta0.1_reference_variant",
     "TAFE-Net, beta = 0.1, linear generators, positives x63 in eq. (6) (the authors' code)"),
    ("tafenet_ablation_reference_init", "TAFE-Net, the authors' initialisation N(0, 0.001) / N(0, 0.01)"),
    ("tafenet_ablation_beta1", "TAFE-Net, beta = 1 (the authors' ZSL setting)"),
    ("tafenet_ablation_epochs30", "TAFE-Net, 30 epochs instead of 8"),
    ("tafenet_ablation_task_units64", "TAFE-Net, task network 64 wide instead of 256"),
    ("tafenet_ablation_no_task_norm", "TAFE-Net, no BatchNorm in the task network"),
    ("tafenet_ablation_softmax", "TAFE-Net, softmax over the step's classes instead of eq. (5)'s binary loss"),
    ("tafenet_ablation_no_task_norm_softmax", "TAFE-Net, no BatchNorm in T, softmax loss"),
    ("tafenet_ablation_task_lr1", "TAFE-Net, T at the full learning rate (multiplier 1, not 0.1)"),
    ("tafenet_ablation_task_lr1_linear", "TAFE-Net, T at the full rate, linear generators"),
    ("tafenet_ablation_task_lr1_linear_softmax", "TAFE-Net, T at the full rate, linear generators, softmax loss"),
    ("tafenet_ablation_task_lr1_no_task_norm", "TAFE-Net, T at the full rate, no BatchNorm in T"),
    ("tafenet_ablation_task_lr1_no_task_norm_linear", "TAFE-Net, T at the full rate, no BatchNorm, linear generators"),
    ("tafenet_ablation_task_lr1_no_task_norm_linear_softmax",
     "TAFE-Net, T at the full rate, no BatchNorm, linear generators, softmax loss"),
    ("tafenet_ablation_task_lr1_no_task_norm_linear_epochs20",
     "TAFE-Net, T at the full rate, no BatchNorm, linear generators, 20 epochs"),
    ("preset:glyphs_gzsl", "TAFE-Net, the same, 60 epochs with the paper's schedule: the recipe chosen on "
                           "validation (preset `glyphs_gzsl`)"),
]
COMPOSITION_ROWS = [
    ("bilinear_attributes", "bilinear", "attribute vectors (81-d)"),
    ("bilinear_onehot", "bilinear", "one-hot diacritic ++ one-hot letter (162-d)"),
    ("tafenet_attributes_beta0.1_calibrated", "TAFE-Net, the older preset recipe", "attribute vectors (81-d)"),
    ("tafenet_onehot_beta0.1_calibrated", "TAFE-Net, the older preset recipe",
     "one-hot diacritic ++ one-hot letter (162-d)"),
    ("preset:glyphs_gzsl", "TAFE-Net, the chosen recipe (`glyphs_gzsl`)", "attribute vectors (81-d)"),
    ("preset:glyphs_composition_onehot", "TAFE-Net, the chosen recipe (`glyphs_composition_onehot`)",
     "one-hot diacritic ++ one-hot letter (162-d)"),
]
#: the baselines table: (result name, method, descriptions); every row from gzsl.py --calibrate
BASELINE_ROWS = [
    (f"{method}_{tasks}{suffix}", label, kind)
    for tasks, kind in (("attributes", "attributes"), ("onehot", "one-hot"))
    for method, suffix, label in (
        ("bilinear", "", "bilinear x W a (ALE/DeViSE-style softmax)"),
        ("eszsl", "", "ESZSL (closed form, regularizers chosen on held-out seen classes)"),
        ("clswgan", "", "f-CLSWGAN (generated unseen features, softmax classifier)"),
        ("tafenet", "_beta0.1_calibrated", "TAFE-Net, the older preset recipe (8 epochs, T at 0.1x the rate)"),
    )
]


#: the recipes compared on validation (reproduce.sh selection): (result prefix, label)
CANDIDATES = [
    ("preset", "the older preset recipe: T at 0.1x the learning rate, BatchNorm in T, ReLU generators, 8 epochs"),
    ("linear20", "T at the full rate, no BatchNorm in T, linear generators, 20 epochs (the best ablation)"),
    ("paper60", "T at the full rate, no BatchNorm in T, linear generators, 60 epochs with the paper's schedule "
                "(10x lower at 30 and 45)"),
    ("affine60", "the paper's schedule with an affine T (no ReLU in T)"),
    ("paper60_w128", "the paper's schedule, every width 128 (feature network, T; the classifier stays 128)"),
    ("paper60_w512", "the paper's schedule, every width 512"),
]
SEEDS = (0, 1, 2)


def over_seeds(results, key):
    """`mean ± 95% CI` (1.96 std / sqrt(n) over the seeds, kzoo.metrics.mean_confidence_interval) in %."""
    from kzoo.metrics import mean_confidence_interval

    mean, half = mean_confidence_interval([r[key] for r in results])
    return f"{100 * mean:.1f} ± {100 * half:.1f}"


def seeds_of(name):
    """The results `NAME_seed{0,1,2}` that exist."""
    return [r for r in (load(f"{name}_seed{seed}") for seed in SEEDS) if r]


def chosen_recipe(tasks):
    """The candidate with the best mean validation H over seeds 0-2 (the selection table's rule)."""
    means = {prefix: sum(r["H"] for r in found) / len(found)
             for prefix, _ in CANDIDATES if len(found := seeds_of(f"validation/{tasks}_{prefix}")) == len(SEEDS)}
    return max(means, key=means.get) if means else None


def selection_table():
    lines = ["| task descriptions | recipe | seeds | validation u | s | H | H per seed | unseen top-1 |",
             "|---|---|---|---|---|---|---|---|"]
    for tasks in ("attributes", "onehot"):
        for prefix, label in CANDIDATES:
            found = seeds_of(f"validation/{tasks}_{prefix}")
            if found:
                lines.append(f"| {tasks} | {label} | {len(found)} | {over_seeds(found, 'u')} | "
                             f"{over_seeds(found, 's')} | **{over_seeds(found, 'H')}** | {' / '.join(pct(r['H']) for r in found)} | "
                             f"{over_seeds(found, 'top1')} |")
    return "\n".join(lines)


def recipe_table():
    lines = ["| method (test split, seeds 0-2) | task descriptions | u | s | H | unseen pairs top-1 | mAP |",
             "|---|---|---|---|---|---|---|"]
    for tasks in ("attributes", "onehot"):
        chosen = chosen_recipe(tasks)
        rows = [(f"tafenet_{tasks}_paper60", "TAFE-Net, 60 epochs with the paper's schedule, ReLU T"),
                (f"tafenet_{tasks}_affine60", "TAFE-Net, the same with an affine T")]
        if chosen not in ("paper60", "affine60"):
            rows.append((f"tafenet_{tasks}_{chosen}", f"TAFE-Net, {dict(CANDIDATES)[chosen]}"))
        for name, label in rows + [(f"bilinear_{tasks}", "bilinear compatibility x W a, 20 epochs")]:
            if name.endswith(chosen):
                label += " (chosen on validation)"
            found = seeds_of(name)
            if found:
                n = "" if len(found) == 3 else f" (seeds: {len(found)})"
                lines.append(f"| {label}{n} | {tasks} | " + " | ".join(over_seeds(found, k) for k in ("u", "s"))
                             + f" | **{over_seeds(found, 'H')}** | "
                             + " | ".join(over_seeds(found, k) for k in ("top1", "mAP")) + " |")
    return "\n".join(lines)


def load(name):
    """A result dict: `preset:NAME` reads the preset's recorded evaluation, else results/NAME.json."""
    if name.startswith("preset:"):
        path = PRESETS / name.split(":", 1)[1] / "metadata.json"
        return json.loads(path.read_text())["evaluation"] if path.exists() else None
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def pct(value):
    return f"{100 * value:.1f}"


def ci(result, key):
    if key not in result.get("ci95", {}):
        return ""
    lo, hi = result["ci95"][key]
    return f" [{pct(lo)}, {pct(hi)}]"


def gzsl_table():
    lines = ["| method (glyph compositional set, 173 unseen / 519 seen classes) | u | s | H |", "|---|---|---|---|"]
    for name, label in GZSL_ROWS:
        r = load(name)
        if r:
            lines.append(f"| {label} | {pct(r['u'])}{ci(r, 'u')} | {pct(r['s'])}{ci(r, 's')} "
                         f"| {pct(r['H'])}{ci(r, 'H')} |")
    return "\n".join(lines)


def composition_table():
    lines = ["| method | task description | top-1 | top-2 | top-3 | mAP |", "|---|---|---|---|---|---|"]
    for name, method, kind in COMPOSITION_ROWS:
        r = load(name)
        if r:
            lines.append(f"| {method} | {kind} | {pct(r['top1'])}{ci(r, 'top1')} | {pct(r['top2'])} "
                         f"| {pct(r['top3'])} | {pct(r['mAP'])} |")
    return "\n".join(lines)


def baselines_table():
    lines = ["| method | task descriptions | ZSL top-1 (unseen only) | GZSL u | s | H | calibrated stacking: gamma "
             "| u | s | H |", "|---|---|---|---|---|---|---|---|---|---|"]
    chosen = [(f"tafenet_{tasks}_{prefix}_calibrated", f"TAFE-Net, the recipe chosen on validation ({prefix})", kind)
              for tasks, kind in (("attributes", "attributes"), ("onehot", "one-hot"))
              if (prefix := chosen_recipe(tasks))]
    for name, label, kind in BASELINE_ROWS + chosen:
        r = load(name)
        if not r:
            continue
        c = r.get("calibrated")
        calibrated = (f"{c['gamma']:.3g} | {pct(c['u'])} | {pct(c['s'])} | {pct(c['H'])}{ci(c, 'H')}" if c
                      else "- | - | - | -")
        lines.append(f"| {label} | {kind} | {pct(r['zsl_unseen_only'])} | {pct(r['u'])} | {pct(r['s'])} "
                     f"| {pct(r['H'])}{ci(r, 'H')} | {calibrated} |")
    return "\n".join(lines)


def sparsity_table():
    r = load("sparsity")
    lines = ["| beta (eq. 7) | test accuracy % | FLOPs saved % | MACs / image, mean (5th-95th percentile over "
             "test images) | channels on for some images, off for others % |", "|---|---|---|---|---|"]
    for row in (r or {}).get("rows", []):
        spread = row.get("macs_per_image_p5_p95")
        spread = f" ({spread[0]:,}-{spread[1]:,})" if spread else ""
        saved = pct(row["flops_saved"]) + (" (meta-learner overhead)" if row["flops_saved"] < 0 else "")
        lines.append(f"| {row['beta']:g} | {pct(row['test_accuracy'])} | {saved} "
                     f"| {row['mean_macs_per_image']:,}{spread} | {pct(row['channels_input_dependent'])} |")
    return "\n".join(lines)


def presets_table():
    lines = ["| preset | task descriptions | trained by | recorded |", "|---|---|---|---|"]
    for folder in sorted(PRESETS.iterdir()):
        meta = json.loads((folder / "metadata.json").read_text())
        e = meta["evaluation"]
        lines.append(f"| `{folder.name}` | {meta['training']['descriptions']} | `{meta['command']}` | "
                     f"u {pct(e['u'])}, s {pct(e['s'])}, H {pct(e['H'])}; unseen pairs top-1 {pct(e['top1'])}, "
                     f"mAP {pct(e['mAP'])} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README's tables")
    args = parser.parse_args(argv)
    blocks = {"selection": selection_table(), "recipe": recipe_table(), "baselines": baselines_table(), "gzsl": gzsl_table(), "composition": composition_table(),
              "sparsity": sparsity_table(), "presets": presets_table()}
    from kzoo.files import report_blocks

    report_blocks(HERE / "README.md", blocks, write=args.write)


if __name__ == "__main__":
    main()
