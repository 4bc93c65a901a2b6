"""Writes the result tables of applications/amaz/README.md (the paper's numbers alongside).

    python applications/amaz/report.py           # print the tables
    python applications/amaz/report.py --write   # and rewrite them in the README

Rows: results/<variant>_seed<k>.json of variant.py (`amaz` is the preset's model,
eq. 3), as mean ± 95% CI over seeds; f-CLSWGAN from applications/tafenet/results/.
Each table goes between `<!-- report.py: NAME -->` marker lines of the README.
"""

import argparse
import json
import re

import numpy as np
from pathlib import Path

from kzoo.metrics import mean_confidence_interval

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

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


SEED_FILE = re.compile(r"(?P<variant>.+)_seed(?P<seed>\d+)$")


def runs():
    """`{variant: {seed: run}}` from results/<variant>_seed<k>.json (variant.py), seeds in order."""
    found = {}
    for path in sorted(RESULTS.glob("*_seed*.json")):
        match = SEED_FILE.match(path.stem)
        if match:
            found.setdefault(match["variant"], {})[int(match["seed"])] = json.loads(path.read_text())
    return {k: dict(sorted(v.items())) for k, v in found.items()}


def diverged(run):
    """`"NaN at iteration k"` when training stopped on a non-finite loss (`StopOnDivergence`)."""
    match = re.search(r"diverged at step (\d+): (\w+) is (nan|inf)", run.get("diverged", ""))
    return f"{match.group(2)} {match.group(3)} at iteration {match.group(1)}" if match else None


def over_seeds(values):
    """`"mean ± 95% CI over seeds (n seeds)"` of fractions, as percentages."""
    mean, ci = mean_confidence_interval(values)
    if len(values) == 1:
        return f"{100 * mean:.1f} (n=1)"
    return f"{100 * mean:.1f} ± {100 * ci:.1f}" + (f" (n={len(values)})" if len(values) != 3 else "")


def seed_values(seeds, get):
    """`get(evaluation)` of every seed that trained, and the `{seed: reason}` of those that diverged."""
    values, failed = [], {}
    for seed, run in seeds.items():
        if "evaluation" in run:
            values.append(get(run["evaluation"]))
        else:
            failed[seed] = diverged(run) or "no evaluation"
    return values, failed


def cell(seeds, get):
    values, failed = seed_values(seeds, get)
    text = over_seeds(values) if values else "-"
    if failed:
        text += "; diverged: " + ", ".join(f"seed {s} ({why})" for s, why in failed.items())
    return text


def per_seed(seeds, kind="softmax"):
    return ", ".join(f"{100 * r['evaluation']['zsl'][kind]:.1f}" if "evaluation" in r else "NaN" for r in seeds.values())


def paired_difference(a, b, get):
    """Mean ± CI over the seeds both trained of get(a) - get(b), and those seeds."""
    common = [s for s in a if s in b and "evaluation" in a[s] and "evaluation" in b[s]]
    return [get(a[s]["evaluation"]) - get(b[s]["evaluation"]) for s in common], common


def clswgan_zsl():
    """f-CLSWGAN's ZSL top-1 on the same features and split (applications/tafenet/gzsl.py --method clswgan)."""
    rows = []
    paths = [*(HERE.parent / "tafenet" / "results").glob("clswgan_attributes*.json"), *RESULTS.glob("clswgan*.json")]
    for path in sorted(paths, key=lambda p: p.name):
        run = json.loads(path.read_text())
        rows.append((run["hidden"], run["seed"], run["zsl_unseen_only"], run["ci95"]["top1"], run["command"]))
    return sorted(rows, key=lambda row: (row[0], row[1]))


def tables(found):
    blocks = {}
    softmax = lambda e: e["zsl"]["softmax"]  # noqa: E731
    weighted = lambda e: e["zsl"]["weighted_softmax"]  # noqa: E731
    lines = ["| model | seeds | softmax | weighted-softmax | softmax per seed | paper (AwA2, softmax / weighted) |",
             "| --- | --- | ---: | ---: | --- | --- |"]
    for name, paper in (("amaz", f"{PAPER_ZSL_AWA2['softmax']} / {PAPER_ZSL_AWA2['weighted_softmax']}"),
                        ("zsml", f"ZSML {PAPER_ZSML_AWA2} (Table II)")):
        if name in found:
            seeds = found[name]
            lines.append(f"| {name} | {', '.join(map(str, seeds))} | {cell(seeds, softmax)} | {cell(seeds, weighted)} | "
                         f"{per_seed(seeds)} | {paper} |")
    for hidden, seed, top1, ci, command in clswgan_zsl():
        lines.append(f"| f-CLSWGAN, hidden {hidden} (`{command}`) | {seed} | {100 * top1:.1f} "
                     f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}] | - | - | - |")
    if "amaz" in found and "zsml" in found:
        diffs, common = paired_difference(found["amaz"], found["zsml"], softmax)
        if diffs:
            mean, ci = mean_confidence_interval(diffs)
            lines += ["", f"AMAZ - ZSML-like, softmax, paired by seed ({', '.join(map(str, common))}): "
                          f"{100 * mean:+.1f} ± {100 * ci:.1f} points (paper, AwA2: +3.8)."]
    blocks["zsl"] = "\n".join(lines)
    lines = ["| model | weighted-softmax u | s | H | paper (AwA2) u / s / H |", "| --- | ---: | ---: | ---: | --- |"]
    for name in ("amaz", "zsml"):
        if name in found:
            seeds = {s: r for s, r in found[name].items() if "evaluation" not in r or r["evaluation"].get("gzsl")}
            cells = [cell(seeds, lambda e, m=m: e["gzsl"]["weighted_softmax"][m]) for m in ("u", "s", "H")]
            paper = " / ".join(map(str, PAPER_GZSL_AWA2["weighted_softmax"])) if name == "amaz" else "-"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {paper} |")
    blocks["gzsl"] = "\n".join(lines)
    lines = ["| model | @5 | @10 |", "| --- | ---: | ---: |"]
    for name in ("amaz", "zsml"):
        if name in found:
            lines.append(f"| {name} | {cell(found[name], lambda e: e['retrieval']['ap@5'])} | "
                         f"{cell(found[name], lambda e: e['retrieval']['ap@10'])} |")
    blocks["retrieval"] = "\n".join(lines)
    lines = ["| operator (base, operator, activation, bias) | kzoo softmax | per seed | paper SVM (AwA2) |",
             "| --- | ---: | --- | ---: |"]
    for name, row in TABLE_IV_ROWS.items():
        if name in found:
            lines.append(f"| {row} | {cell(found[name], softmax)} | {per_seed(found[name])} | {PAPER_TABLE_IV[name]} |")
    if "zsml" in found:
        lines.append(f"| no modulation (ZSML-like) | {cell(found['zsml'], softmax)} | {per_seed(found['zsml'])} | - |")
    trained = [r["training"]["seconds"] for seeds in found.values() for r in seeds.values() if "training" in r]
    if trained:
        lines += ["", f"Runs: {sum(len(s) for s in found.values())} (variant x seed), 2,000 meta-iterations each, "
                      f"{min(trained):.0f}-{max(trained):.0f} s of training each on 2 shared cores."]
    blocks["table_iv"] = "\n".join(lines)
    return blocks


def width_block(found):
    """ZSL softmax top-1 (seed 0) against network width: AMAZ and ZSML-like (results/ and
    results/width<W>/, variant.py --width) beside f-CLSWGAN at the same hidden width."""
    runs_at = {256: {name: found.get(name, {}).get(0) for name in ("amaz", "zsml")}}
    for folder in RESULTS.glob("width*"):
        width = int(folder.name[len("width"):])
        runs_at[width] = {name: json.loads(p.read_text()) if (p := folder / f"{name}_seed0.json").exists() else None
                          for name in ("amaz", "zsml")}
    gans = {hidden: (top1, ci) for hidden, seed, top1, ci, _ in clswgan_zsl() if seed == 0}

    def zsl(run):
        if run is None:
            return "-"
        if "evaluation" not in run:
            return f"diverged ({diverged(run)})"
        return f"{100 * run['evaluation']['zsl']['softmax']:.1f} ± {100 * run['evaluation']['zsl_ci95']['softmax']:.1f}"

    lines = ["| width (G's units; f-CLSWGAN's hidden) | AMAZ | ZSML-like (no modulation) | f-CLSWGAN |",
             "| ---: | ---: | ---: | ---: |"]
    for width in sorted(set(runs_at) | set(gans)):
        at = runs_at.get(width, {})
        gan = f"{100 * gans[width][0]:.1f} [{100 * gans[width][1][0]:.1f}, {100 * gans[width][1][1]:.1f}]" \
            if width in gans else "-"
        lines.append(f"| {width:,} | {zsl(at.get('amaz'))} | {zsl(at.get('zsml'))} | {gan} |")
    seconds = {w: at["amaz"]["training"]["seconds"] for w, at in runs_at.items() if at.get("amaz") and "training" in at["amaz"]}
    lines += ["", "Seed 0, ZSL softmax top-1 (%) on the 173 unseen classes, ± or [ ] the 95% interval over classes; AMAZ "
                  "2,000 meta-iterations (training " + ", ".join(f"{s:,.0f} s at {w:,}" for w, s in sorted(seconds.items()))
              + "), f-CLSWGAN 30 epochs."]
    return "\n".join(lines)


GAP_ROWS = {"amaz": "AMAZ (eq. 3)", "zsml": "ZSML-like (no modulation)",
            "amaz_pretrained_classifier": "AMAZ, C pretrained on real features and frozen",
            "zsml_pretrained_classifier": "ZSML-like, C pretrained on real features and frozen",
            "clswgan": "f-CLSWGAN",
            "clswgan_no_classifier": "f-CLSWGAN without its classification loss (beta = 0)",
            "clswgan_matched": "f-CLSWGAN on AMAZ's budget"}
MODULATIONS = {"own": "its own (eq. 1 on the class, as `AMAZ.synthesize`)",
               "shuffled": "another unseen class's (a fixed derangement)",
               "mean_seen": "one for all: the mean of the seen classes' embeddings"}


def gap_runs():
    """`{(model, width): {seed: run}}` from results/gap/ (gap.py)."""
    found = {}
    for path in sorted((RESULTS / "gap").glob("*.json")):
        run = json.loads(path.read_text())
        found.setdefault((run["model"], run["width"]), {})[run["seed"]] = run
    return {k: dict(sorted(v.items())) for k, v in found.items()}


def gap_block(found):
    """Each generator of gap.py under both final-classifier protocols, mean ± 95% CI over seeds."""
    if not found:
        return ""
    lines = ["| generator | training; seconds per run | seeds | AMAZ's protocol | f-CLSWGAN's protocol | the "
             "classification loss's classifier on real test_seen | C's loss on G's features |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for (model, width), seeds in sorted(found.items(), key=lambda item: (item[0][1], list(GAP_ROWS).index(item[0][0]))):
        training = [r["training"] for r in seeds.values()]
        if "meta_iterations" in training[0]:
            budget = f"{training[0]['meta_iterations']:,} meta-iterations"
        else:
            budget = (f"{training[0]['epochs']} epochs: {training[0]['generator_steps']:,} G steps, "
                      f"{training[0]['critic_updates']:,} critic steps")
        low, high = min(t["seconds"] for t in training), max(t["seconds"] for t in training)
        budget += f"; {low:,.0f} s" if round(low) == round(high) else f"; {low:,.0f}-{high:,.0f} s"
        protocol = [over_seeds([r["zsl"][name]["top1"] for r in seeds.values()]) for name in ("amaz", "clswgan")]
        real = [r["training"]["classifier_on_real_test_seen"]["top1"] for r in seeds.values()
                if "classifier_on_real_test_seen" in r["training"]]
        c_loss = [r["training"]["history"]["c_loss"][-1] for r in seeds.values() if "history" in r["training"]]
        c_loss = f"{np.mean(c_loss):.3f}" if c_loss else "-"
        lines.append(f"| {GAP_ROWS[model]}, width {width} | {budget} | {', '.join(map(str, seeds))} | {protocol[0]} | "
                     f"{protocol[1]} | {over_seeds(real) if real else '-'} | {c_loss} |")
    pairs = [("amaz_pretrained_classifier", "amaz", "amaz"), ("zsml_pretrained_classifier", "zsml", "amaz"),
             ("amaz", "zsml", "amaz"), ("amaz_pretrained_classifier", "zsml_pretrained_classifier", "amaz"),
             ("amaz", "clswgan", "clswgan"), ("amaz_pretrained_classifier", "clswgan", "clswgan"),
             ("amaz_pretrained_classifier", "clswgan", "amaz")]
    differences = []
    for a, b, protocol in pairs:
        by_seed = {key[0]: runs_ for key, runs_ in found.items() if key[0] in (a, b)}
        common = sorted(set(by_seed.get(a, {})) & set(by_seed.get(b, {})))
        if common:
            diffs = [by_seed[a][k]["zsl"][protocol]["top1"] - by_seed[b][k]["zsl"][protocol]["top1"] for k in common]
            mean, ci = mean_confidence_interval(diffs)
            differences.append(f"| {GAP_ROWS[a]} | {GAP_ROWS[b]} | {'AMAZ' if protocol == 'amaz' else 'f-CLSWGAN'}'s | "
                               f"{', '.join(map(str, common))} | {100 * mean:+.1f} ± {100 * ci:.1f} |")
    if differences:
        lines += ["", "Paired by seed (ZSL top-1 points, ± the 95% CI of the paired differences):", "",
                  "| generator | minus | protocol | seeds | difference |", "| --- | --- | --- | --- | ---: |", *differences]
    commands = sorted({r["command"].replace(f"--seed {r['seed']}", "--seed K").replace(f"--model {r['model']}",
                                                                                         "--model MODEL")
                       for v in found.values() for r in v.values()})
    lines += ["", "ZSL per-class top-1 (%) on the 173 unseen classes, ± the 95% CI over the seeds (K). AMAZ's protocol: "
                  "a 512-unit MLP softmax on 100 synthetic features per unseen class; f-CLSWGAN's: a linear softmax over "
                  "all 692 classes on 300 synthetic features per unseen class and the real trainval features of the "
                  "seen classes, read on the unseen columns. The classifier's column: per-class top-1 over the 519 seen classes; "
                  "C's loss: its cross-entropy on G's features over the last 100 meta-iterations (the logged `c_loss`), "
                  "mean over the seeds. A run's seconds include its scoring and tests; "
                  "2 training runs shared the 2 cores. "
                  "Commands: " + ", ".join(f"`{c}`" for c in commands) + ", MODEL one of "
              + ", ".join(f"`{m}`" for m in GAP_ROWS if any(k[0] == m for k in found)) + " (the rows' order)."]
    return "\n".join(lines)


def modulation_block(found):
    """gap.py's modulation tests: AMAZ's seeds synthesized under other classes' modulations."""
    lines = []
    for (model, width), seeds in sorted(found.items()):
        tests = {s: r["training"]["modulation_tests"] for s, r in seeds.items() if "modulation_tests" in r["training"]}
        if not tests:
            continue
        lines += [""] if lines else []
        lines += [f"| modulation of each unseen class at synthesis ({GAP_ROWS[model]}, width {width}, seeds "
                  f"{', '.join(map(str, tests))}) | ZSL top-1, AMAZ's protocol | minus own, paired by seed |",
                  "| --- | ---: | ---: |"]
        for name, row in MODULATIONS.items():
            values = [t[name]["amaz"]["top1"] for t in tests.values()]
            diffs = [t[name]["amaz"]["top1"] - t["own"]["amaz"]["top1"] for t in tests.values()]
            mean, ci = mean_confidence_interval(diffs)
            lines.append(f"| {row} | {over_seeds(values)} | "
                         + ("-" if name == "own" else f"{100 * mean:+.1f} ± {100 * ci:.1f}") + " |")
    return "\n".join(lines)


def iterations_block(found):
    """AMAZ (seed 0, width 256) after 2,000 (results/amaz_seed0.json) and more meta-iterations (results/iterations/)."""
    runs_ = [found["amaz"][0]] if 0 in found.get("amaz", {}) else []
    runs_ += [json.loads(p.read_text()) for p in sorted((RESULTS / "iterations").glob("amaz_steps*_seed0.json"))]
    lines = ["| meta-iterations | ZSL softmax top-1 | training (s) | command |", "| ---: | ---: | ---: | --- |"]
    for run in sorted((r for r in runs_ if "evaluation" in r), key=lambda r: r["training"]["steps"]):
        lines.append(f"| {run['training']['steps']:,} | {100 * run['evaluation']['zsl']['softmax']:.1f} ± "
                     f"{100 * run['evaluation']['zsl_ci95']['softmax']:.1f} | {run['training']['seconds']:,.0f} | "
                     f"`{run['command']}` |")
    return "\n".join(lines) if len(lines) > 3 else ""


def unclipped_block():
    """The Table IV row trained with the paper's plain support steps (reproduce.sh unclipped), per seed."""
    lines = []
    for path in sorted((RESULTS / "unclipped").glob("*_seed*.json")):
        run, seed = json.loads(path.read_text()), SEED_FILE.match(path.stem)["seed"]
        stopped = diverged(run)
        if stopped:
            lines.append(f"- seed {seed}: {stopped}")
        elif "evaluation" in run:
            lines.append(f"- seed {seed}: trained 2,000 iterations without NaN, ZSL softmax "
                         f"{100 * run['evaluation']['zsl']['softmax']:.1f}%")
    return "\n".join(lines)


def svm_block():
    """svm_convergence.py's rows: kzoo's SVM trained ever longer beside the softmax, on one synthetic set."""
    path = RESULTS / "svm_convergence.json"
    if not path.exists():
        return ""
    result = json.loads(path.read_text())
    lines = ["| classifier | epochs | SVM objective (squared hinge + L2) | accuracy on its synthetic training "
             "features | ZSL top-1 on the real unseen features |", "| --- | ---: | ---: | ---: | ---: |"]
    for r in result["rows"]:
        objective = f"{r['svm_objective']:.4f}" if "svm_objective" in r else "-"
        lines.append(f"| {r['classifier']} | {r['epochs']:,} | {objective} | {100 * r['synthetic_train_accuracy']:.1f}% "
                     f"| {100 * r['real_unseen_top1']:.1f}% ± {100 * r['real_unseen_top1_ci95']:.1f}% |")
    lines += ["", f"`{result['command']}`: the `{result['preset']}` preset, {result['synthetic_per_class']} synthetic "
                  f"features per unseen class (seed {result['seed']}), {result['test_unseen_images']:,} real test "
                  f"features of the {result['unseen_classes']} unseen classes; ± is the 95% interval over classes."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README's tables")
    args = parser.parse_args(argv)
    found = runs()
    blocks = tables(found)
    gaps = gap_runs()
    blocks.update({k: v for k, v in (("unclipped", unclipped_block()), ("svm", svm_block()),
                                     ("width", width_block(found)), ("gap", gap_block(gaps)),
                                     ("iterations", iterations_block(found)),
                                     ("modulation", modulation_block(gaps))) if v})
    from kzoo.files import report_blocks

    report_blocks(HERE / "README.md", blocks, write=args.write)


if __name__ == "__main__":
    main()
