"""Builds the MT-net README tables and Figure 4 from applications/mtnet/results/*.json.

    python applications/mtnet/report.py          # prints Markdown, writes figure4_update_fraction.png
    python applications/mtnet/report.py --write  # and replaces the tables in README.md

In README.md each table sits between `<!-- report.py: NAME -->` and
`<!-- /report.py: NAME -->` lines (NAME = table1, table2, figure4); `--write`
rewrites only what is between them.

Every cell is the mean over the seeds that were run (`reproduce.sh regression`: 0-4)
of each seed's mean MSE on the same 600 test tasks, with the seed-to-seed 95% CI
(Student t, n - 1 degrees of freedom): the spread a new training run would show.
"""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from kzoo.files import atomic_path, write_marked_blocks

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PAPER_TABLE1 = {  # Lee & Choi 2018, Table 1: 5 / 10 / 20-shot loss after adaptation
    "maml": (1.07, 0.71, 0.50), "mnet-full": (0.91, 0.63, 0.38), "mnet": (0.88, 0.60, 0.41),
    "tnet": (0.83, 0.56, 0.38), "mtnet-full": (0.81, 0.51, 0.35), "mtnet": (0.76, 0.49, 0.33),
}
PAPER_TABLE2 = {  # Table 2: 10-shot loss for alpha = 10 ... 0.0001
    "maml": (171.92, 5.81, 1.05, 0.71, 0.82, 2.54),
    "tnet": (4.08, 4.15, 0.68, 0.56, 0.59, 0.62),
    "mtnet": (4.18, 0.61, 0.54, 0.49, 0.59, 0.72),
}
ALPHAS = (10, 1, 0.1, 0.01, 0.001, 0.0001)
NAMES = {"maml": "MAML", "tnet": "T-net", "mnet": "M-net", "mtnet": "MT-net", "mnet-full": "M-net-full",
         "mtnet-full": "MT-net-full"}


def load():
    """`{(task, model, inner_lr, iterations): [record per seed]}`."""
    runs = defaultdict(list)
    for path in sorted((HERE / "results").glob("*_seed*.json")):
        r = json.loads(path.read_text())
        runs[(r["task"], r["model"], r["inner_lr"], r["iterations"])].append(r)
    return runs


def seed_mean(values):
    """Mean and seed-to-seed 95% CI half-width (0 for one seed)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), 0.0
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(half)


def cell(records, shots):
    """Seed mean ± seed-to-seed 95% CI; one seed has no seed-to-seed CI, so none is shown."""
    mean, half = seed_mean([r["evaluation"][f"{shots}-shot"]["mse"] for r in records])
    return f"{mean:.2f} ± {half:.2f}" if len(records) > 1 else f"{mean:.2f}"


def fraction(records):
    mean, half = seed_mean([r["update_fraction"] for r in records])
    return f"{mean:.3f} ± {half:.3f}"


def table1(runs):
    rows = ["| model | 5-shot | 10-shot | 20-shot | paper (5 / 10 / 20) | fraction updated | seeds |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("maml", "mnet-full", "mnet", "tnet", "mtnet-full", "mtnet"):
        found = runs.get(("sine", name, 0.01, 60000))
        if not found:
            continue
        paper = " / ".join(f"{v:.2f}" for v in PAPER_TABLE1[name])
        rows.append(f"| {NAMES[name]} | {cell(found, 5)} | {cell(found, 10)} | {cell(found, 20)} "
                    f"| {paper} | {fraction(found)} | {len(found)} |")
    return "\n".join(rows)


def table2(runs):
    rows = ["| alpha | " + " | ".join(f"{NAMES[m]} (paper)" for m in ("maml", "tnet", "mtnet")) + " | seeds |",
            "| --- | --- | --- | --- | --- |"]
    for i, alpha in enumerate(ALPHAS):
        cells, seeds = [], set()
        for m in ("maml", "tnet", "mtnet"):
            found = runs.get(("sine", m, alpha, 60000))
            cells.append(f"{cell(found, 10) if found else 'not run'} ({PAPER_TABLE2[m][i]:.2f})")
            seeds.add(len(found or []))
        rows.append(f"| {alpha:g} | " + " | ".join(cells) + f" | {'/'.join(map(str, sorted(seeds)))} |")
    return "\n".join(rows)


def alpha_curves(runs, alpha=1):
    """Plots the meta-training loss per tenth of the 60k iterations at `alpha` (seed mean, and each seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    drawn = False
    for m, colour in (("maml", "tab:grey"), ("tnet", "tab:blue"), ("mtnet", "tab:red")):
        curves = [r["train_loss_per_tenth"] for r in runs.get(("sine", m, alpha, 60000), [])
                  if "train_loss_per_tenth" in r]
        if not curves:
            continue
        steps = np.arange(1, len(curves[0]) + 1) * 6000
        for c in curves:
            ax.plot(steps, c, color=colour, alpha=0.3, linewidth=0.8)
        ax.plot(steps, np.mean(curves, axis=0), color=colour, label=f"{NAMES[m]} ({len(curves)} seed{'s' if len(curves) > 1 else ''})")
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.axvline(20000, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel("query MSE after one step\n(training, mean over 6k iterations)")
    ax.set_yscale("log")
    ax.set_title(f"Sine, alpha = {alpha:g}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = HERE / "results" / f"table2_alpha{alpha:g}_training.png"
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return path


def target_variance(order, coefficient=1.0, x_max=5.0):
    """Var(y) of y = sum_i c_i x^i, c_i ~ U[-a, a], x ~ U[-x_max, x_max]: sum_i a^2/3 * x_max^(2i) / (2i + 1).

    (The c_i are independent with mean 0, so the cross terms vanish.) Predicting 0 scores this MSE.

    >>> round(target_variance(2), 2)
    44.78
    """
    return sum(coefficient ** 2 / 3 * x_max ** (2 * i) / (2 * i + 1) for i in range(order + 1))


def figure4_points(runs):
    """One point per (order, coefficient range) of the MT-net polynomial runs, sorted."""
    points = []
    for (task, model, _, _), records in sorted(runs.items()):
        if not task.startswith("polynomial") or model != "mtnet":
            continue
        words = task.split()
        order = int(words[2])
        coefficient = float(words[4]) if len(words) > 4 else 1.0
        fractions = [r["update_fraction"] for r in records]
        steps = [r["one_inner_step"] for r in records if "one_inner_step" in r]
        step = {k: seed_mean([s[k] for s in steps]) for k in ("before", "all_masks_open", "sampled_masks")} \
            if steps else None
        points.append({"order": order, "coefficient": coefficient, "fraction": seed_mean(fractions),
                       "fractions": fractions, "mse": seed_mean([r["evaluation"]["10-shot"]["mse"] for r in records]),
                       "variance": target_variance(order, coefficient), "seeds": len(records), "step": step,
                       "step_seeds": len(steps)})
    return sorted(points, key=lambda p: (p["coefficient"] != 1.0, p["order"], p["coefficient"]))


def label(point):
    return str(point["order"]) if point["coefficient"] == 1.0 else f"{point['order']} (c = {point['coefficient']:g})"


def figure4(points):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    colours = ["tab:blue" if p["coefficient"] == 1.0 else "tab:orange" for p in points]
    ax.bar([label(p) for p in points], [p["fraction"][0] for p in points], yerr=[p["fraction"][1] for p in points],
           capsize=4, color=colours, alpha=0.8)
    for i, p in enumerate(points):
        ax.plot([i] * len(p["fractions"]), p["fractions"], "k.", markersize=4)
        ax.text(i + 0.12, p["fraction"][0] + 0.03, f"{p['fraction'][0]:.2f}", fontsize=8)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")  # every mask logit at its initial 0
    ax.set_xlabel("polynomial order (orange: coefficients in [-c, c])")
    ax.set_ylabel("fraction of weights updated\n(mean sigmoid(zeta))")
    ax.set_ylim(0, 1)
    ax.set_title(f"MT-net, 10-shot polynomials ({points[0]['seeds']} seeds, 95% CI)", fontsize=9)
    fig.tight_layout()
    path = HERE / "results" / "figure4_update_fraction.png"
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def figure4_table(points):
    lines = ["| order | fraction updated | per seed | 10-shot MSE | Var(y) | MSE / Var(y) | seeds |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for p in points:
        lines.append(f"| {label(p)} | {p['fraction'][0]:.3f} ± {p['fraction'][1]:.3f} | "
                     f"{', '.join(f'{f:.3f}' for f in p['fractions'])} | {p['mse'][0]:.2f} ± {p['mse'][1]:.2f} | "
                     f"{p['variance']:.2f} | {p['mse'][0] / p['variance']:.3f} | {p['seeds']} |")
    stepped = [p for p in points if p["step"]]
    if stepped:
        lines += ["", "One inner step (alpha = 0.01) on 100 fresh 10-shot tasks, support MSE (seed mean ± 95% CI):",
                  "", "| order | before | all masks open | sampled masks | seeds |", "| --- | --- | --- | --- | --- |"]
        for p in stepped:
            cells = " | ".join(f"{p['step'][k][0]:.3f} ± {p['step'][k][1]:.3f}"
                               for k in ("before", "all_masks_open", "sampled_masks"))
            lines.append(f"| {label(p)} | {cells} | {p['step_seeds']} |")
    return "\n".join(lines)


def omniglot_table():
    """The Omniglot runs' held-out accuracies, read from the logs `reproduce.sh omniglot` writes,
    and the ProtoNet preset's recorded 20-way score on the same test episodes."""
    import re

    pattern = re.compile(r"held-out accuracy .*: ([0-9.]+)% \+- ([0-9.]+)% \((\d+) episodes\)")

    def cell(ways, variant):
        path = RESULTS / f"omniglot_{ways}way_{variant}.log"
        found = pattern.findall(path.read_text(errors="replace")) if path.exists() else []
        return f"{found[-1][0]}% ± {found[-1][1]}%" if found else "-"

    paper = {"mtnet": "96.2% / 99.5%", "maml": "95.8% / 98.7%"}
    lines = ["| model | 20-way 1-shot | 5-way 1-shot | paper (20-way / 5-way, standard split) |",
             "| --- | --- | --- | --- |"]
    for variant, label in (("mtnet", "MT-net"), ("maml", "MAML")):
        lines.append(f"| {label} | {cell(20, variant)} | {cell(5, variant)} | {paper[variant]} |")
    meta = HERE.parents[1] / "saved_models" / "protonet" / "omniglot_20way_1shot" / "metadata.json"
    if meta.exists():
        e = json.loads(meta.read_text())["evaluation"]
        lines.append(f"| ProtoNet (the `protonet/omniglot_20way_1shot` preset: Omniglot + glyphs) | "
                     f"{100 * e['accuracy']:.2f}% ± {100 * e['ci95']:.2f}% | - | 92.0% / 97.4% (as quoted in the "
                     "MT-net paper) |")
    return "\n".join(lines)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the tables in README.md")
    args = parser.parse_args(argv)
    runs = load()
    blocks = {"table1": table1(runs), "table2": table2(runs), "omniglot": omniglot_table()}
    alpha_curves(runs, alpha=1)
    points = figure4_points(runs)
    if points:
        figure4(points)
        blocks["figure4"] = figure4_table(points)
    for name, body in blocks.items():
        print(f"## {name}\n\n{body}\n")
    if args.write:
        print(f"wrote {write_marked_blocks(HERE / 'README.md', blocks, tag='report.py')}")


if __name__ == "__main__":
    main()
