"""The Task2Vec README's tables, from results/*.json.

    python applications/task2vec/report.py [FILE.json]   # print every table of one result file
    python applications/task2vec/report.py --write        # rewrite the README's tables between
                                                          # its <!-- report.py: NAME --> markers
"""

import json
from pathlib import Path

import numpy as np

PAPER = {"iNat + CUB": (31.24, 59.52, 30.18, 42.54, 9.97, 6.81), "Mixed": (22.90, 112.49, 75.73, 40.30, 29.23, 27.81)}


MIXED_RULES = ("chance", "generic probe", "domain embedding", "Task2Vec d_sym", "Task2Vec d_asym", "Model2Vec",
               "Task2Vec d_sym, task-sized expert samples", "Model2Vec, task-sized expert samples")


def chosen_errors(results, r):
    """`{rule: per-task error of the expert it chose}` from a `mixed_selection.py` result, plus the optimum."""
    errors = np.array(r["errors"])
    index = {name: j for j, name in enumerate(results["experts"])}
    rows = np.arange(len(errors))
    out = {"chance": errors.mean(1), "generic probe": np.array(r["generic_errors"])}
    out.update({rule: errors[rows, [index[n] for n in names]] for rule, names in r["selected"].items()})
    return errors.min(1), out


def bootstrap_interval(statistic, n, rng, samples=2000):
    """95% interval of `statistic(picks)` over `samples` resamplings of n tasks with replacement;
    `statistic` maps picks `[samples, n]` to `[samples]` values."""
    return np.percentile(statistic(rng.randint(0, n, size=(samples, n))), [2.5, 97.5])


def mixed(results):
    """The tables of `mixed_selection.py`: one row per number of shots, with 95% bootstrap intervals over tasks."""
    method = results["args"]["method"]
    print(f"{len(results['experts'])} experts, {len(results['tasks'])} tasks, {method} embeddings")
    print("| shots | optimal error | " + " | ".join(MIXED_RULES) + " | best expert beats generic |")
    print("|" + " --- |" * (len(MIXED_RULES) + 3))
    for shots, r in results["by_shots"].items():
        table = r["selection"]
        optimal, chosen = chosen_errors(results, r)
        cells = []
        for k in MIXED_RULES:
            lo, hi = bootstrap_interval(lambda picks: chosen[k][picks].mean(1) / optimal[picks].mean(1) - 1,
                                        len(optimal), np.random.RandomState(0))
            assert abs(chosen[k].mean() / optimal.mean() - 1 - table[k]["relative_increase"]) < 5e-3  # errors rounded
            cells.append(f"{100 * table[k]['relative_increase']:+.1f}% [{100 * lo:+.0f}, {100 * hi:+.0f}]")
        print(f"| {shots} | {100 * table['optimal_error']:.2f}% | " + " | ".join(cells)
              + f" | {r['tasks_where_best_expert_beats_generic']} of {len(results['tasks'])} |")
    print()
    rng = np.random.RandomState(0)
    for shots, r in results["by_shots"].items():
        _, chosen = chosen_errors(results, r)
        gain = chosen["generic probe"] - chosen["Task2Vec d_sym"]
        lo, hi = bootstrap_interval(lambda picks: gain[picks].mean(1), gain.size, rng)
        print(f"- {shots} shots: Task2Vec d_sym's expert vs the generic probe: lower error on {np.sum(gain > 0)}, "
              f"higher on {np.sum(gain < 0)} of {gain.size} tasks; mean error {100 * gain.mean():.1f} points lower "
              f"(95% bootstrap interval {100 * lo:.1f} to {100 * hi:.1f})")
    omniglot_tasks = [i for i, t in enumerate(results["tasks"]) if t.startswith("omniglot:")]
    for shots, r in results["by_shots"].items():
        beats = np.array(r["errors"])[omniglot_tasks] < np.array(r["generic_errors"])[omniglot_tasks, None]
        share = {domain: beats[:, [j for j, e in enumerate(results["experts"]) if e.startswith(domain + ":")]].mean()
                 for domain in ("omniglot", "glyphs")}
        print(f"- {shots} shots, the {len(omniglot_tasks)} Omniglot tasks: the Omniglot experts beat the generic probe "
              f"in {100 * share['omniglot']:.0f}% of the (task, expert) pairs, the glyph experts in "
              f"{100 * share['glyphs']:.0f}%")
    print()
    print("How often the expert of the task's own alphabet is picked (it is the best expert in the first column):")
    print("| shots | best expert | " + " | ".join(MIXED_RULES[2:]) + " | chance |")
    print("|" + " --- |" * (len(MIXED_RULES) + 1))
    for shots, r in results["by_shots"].items():
        same = r["same_alphabet_expert"]
        print(f"| {shots} | {100 * same['best_expert_is_it']:.0f}% | "
              + " | ".join(f"{100 * same[k + ' picks it']:.0f}%" for k in MIXED_RULES[2:])
              + f" | {100 * same['chance']:.0f}% |")
    print()
    for shots, r in results["by_shots"].items():
        t = r["taxonomy"]
        print(f"- {shots} shots, tasks' d_sym: within family {t['within_family_mean']:.3f} ({t['pairs_within']} pairs), "
              f"across {t['across_family_mean']:.3f}, correlation {t['correlation']:+.3f}, p = {t['permutation_p']:.3f}")
    print(f"- timings: {json.dumps({k: round(v) for k, v in results['timings'].items()})}, "
          f"total {results['seconds']:.0f} s")


def main(filename="model_selection.json"):
    results = json.loads((Path(__file__).resolve().parent / "results" / filename).read_text())
    if "by_shots" in results:
        return mixed(results)
    n = len(results["tasks"])
    print("| meta-task | optimal error | chance | generic probe | domain emb. | Task2Vec d_sym | "
          "asymmetric Task2Vec | Model2Vec |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (opt, *rel) in PAPER.items():
        print(f"| paper: {name} (ImageNet probe) | {opt:.2f}% | " + " | ".join(
            f"+{r:.2f}%" for r in rel[:2]) + " | - | " + " | ".join(f"+{r:.2f}%" for r in rel[2:]) + " |")
    for method, table in results["selection"].items():
        cells = [table[k]["relative_increase"] * 100 for k in
                 ("chance", "generic probe", "domain embedding", "Task2Vec d_sym", "Task2Vec d_asym", "Model2Vec")]
        print(f"| kzoo: {n} Omniglot/glyph tasks, {method} | {100 * table['optimal_error']:.2f}% | "
              + " | ".join(f"{c:+.2f}%" for c in cells) + " |")
    print()
    print("| embedding | within-family mean d | across-family mean d | correlation | permutation p |")
    print("| --- | --- | --- | --- | --- |")
    for name, t in results["taxonomy"].items():
        if t["pairs_within"] == 0:
            print(f"| {name} | (no same-family pair) | {t['across_family_mean']:.3f} | undefined | - |")
            continue
        print(f"| {name} | {t['within_family_mean']:.3f} ({t['pairs_within']} pairs) | "
              f"{t['across_family_mean']:.3f} ({t['pairs_across']} pairs) | {t['correlation']:+.3f} | "
              f"{t['permutation_p']:.3f} |")
    print()
    for method, p in results.get("permutation", {}).items():
        print(f"- {method}: d_sym(task, same task with permuted label names) = "
              f"{p['d_sym(task, permuted labels)']:.4f}; median d_sym to the other tasks = "
              f"{p['median d_sym to other tasks']:.4f}")
    for method, curve in results.get("norm_vs_samples", {}).items():
        for task, c in curve.items():
            print(f"- {method}, {task}: L1 norm {', '.join(f'{v:.4g}' for v in c['l1_norm'])} at "
                  f"{', '.join(map(str, c['images_per_class']))} images per class")
    print(f"- timings: {json.dumps({k: round(v, 1) for k, v in results['timings'].items()})}, "
          f"total {results['seconds']:.0f} s")


RESULTS = Path(__file__).resolve().parent / "results"
RULE_COLUMNS = ("chance", "generic probe", "domain embedding", "Task2Vec d_sym", "Task2Vec d_asym", "Model2Vec")
BUDGET_ROWS = {  # variational_budget.py's budgets, as the README names them, with their Fisher steps
    "montecarlo": "Monte Carlo, 500 samples", "montecarlo:4000": "Monte Carlo, 4,000 samples",
    "montecarlo:4000:40": "Monte Carlo, 4,000 samples, 40-epoch head",
    "expected": "expected (every image once; the default)",
    "3:0.05": "variational, 3 epochs, Adam 0.05 (the model-selection budget)",
    "10:0.2": "variational, 10 epochs, Adam 0.2", "30:0.2:cosine": "variational, 30 epochs, Adam 0.2 cosine-decayed",
    "30:1.0": "variational, 30 epochs, Adam 1.0"}


def _load(name):
    return json.loads((RESULTS / name).read_text())


def _relative(table, keys=RULE_COLUMNS, digits=2):
    return " | ".join(f"{100 * table[k]['relative_increase']:+.{digits}f}%" for k in keys)


def selection_block(results, paper=True):
    """The Table 1 rows (paper rows first) of a model_selection.py result, and for the main run its taxonomy."""
    lines = ["| meta-task | optimal error | chance | generic probe | domain emb. | Task2Vec d_sym | "
             "asymmetric Task2Vec | Model2Vec |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    if paper:
        for name, (opt, *rel) in PAPER.items():
            lines.append(f"| paper: {name} (ImageNet probe) | {opt:.2f}% | " + " | ".join(
                f"+{r:.2f}%" for r in rel[:2]) + " | - | " + " | ".join(f"+{r:.2f}%" for r in rel[2:]) + " |")
    for method, table in results["selection"].items():
        lines.append(f"| kzoo: {len(results['tasks'])} Omniglot/glyph tasks, {method} | "
                     f"{100 * table['optimal_error']:.2f}% | {_relative(table)} |")
    return "\n".join(lines)


def taxonomy_block(results):
    lines = ["| embedding | within-family mean d | across-family mean d | correlation | permutation p |",
             "| --- | --- | --- | --- | --- |"]
    for name, t in results["taxonomy"].items():
        if t["pairs_within"] == 0:
            lines.append(f"| {name} | (no same-family pair) | {t['across_family_mean']:.3f} | undefined | - |")
        else:
            lines.append(f"| {name} | {t['within_family_mean']:.3f} ({t['pairs_within']} pairs) | "
                         f"{t['across_family_mean']:.3f} ({t['pairs_across']} pairs) | {t['correlation']:+.3f} | "
                         f"{t['permutation_p']:.3f} |")
    lines.append("")
    for method, p in results.get("permutation", {}).items():
        lines.append(f"- {method}: d_sym(task, same task with permuted label names) = "
                     f"{p['d_sym(task, permuted labels)']:.4f}; median d_sym to the other tasks = "
                     f"{p['median d_sym to other tasks']:.4f}")
    for method, curve in results.get("norm_vs_samples", {}).items():
        for task, c in curve.items():
            lines.append(f"- {method}, {task}: L1 norm {', '.join(f'{v:.4g}' for v in c['l1_norm'])} at "
                         f"{', '.join(map(str, c['images_per_class']))} images per class")
    return "\n".join(lines)


def runs_block():
    lines = ["| run | optimal | chance | generic probe | domain emb. | d_sym | d_asym | Model2Vec |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, label in (("model_selection_10epochs.json", "13 tasks, experts 10 epochs"),
                        ("model_selection_35tasks.json", "35 tasks (10-way), 10 epochs, Adam 1e-3"),
                        ("model_selection_35tasks_lr1e-4.json", "35 tasks, 10 epochs, Adam 1e-4")):
        table = next(iter(_load(name)["selection"].values()))
        lines.append(f"| {label} | {100 * table['optimal_error']:.2f}% | {_relative(table)} |")
    return "\n".join(lines)


def _interval(results, r, rule):
    optimal, chosen = chosen_errors(results, r)
    lo, hi = bootstrap_interval(lambda picks: chosen[rule][picks].mean(1) / optimal[picks].mean(1) - 1,
                                len(optimal), np.random.RandomState(0))
    return f"{100 * r['selection'][rule]['relative_increase']:+.1f}% [{100 * lo:+.0f}, {100 * hi:+.0f}]"


def mixed_block(results):
    """Monte Carlo mixed meta-task: one row per number of shots, 95% bootstrap intervals over tasks."""
    opt, *rel = PAPER["Mixed"]
    lines = ["| shots | optimal error | chance | generic probe | domain emb. | Task2Vec d_sym | asymmetric Task2Vec "
             "| Model2Vec |", "| --- | --- | --- | --- | --- | --- | --- | --- |",
             f"| paper, Mixed (ImageNet probe, 26 experts, 50 tasks) | {opt:.2f}% | +{rel[0]:.2f}% | +{rel[1]:.2f}% "
             f"| - | +{rel[2]:.2f}% | +{rel[3]:.2f}% | +{rel[4]:.2f}% |"]
    for shots, r in results["by_shots"].items():
        cells = [_interval(results, r, k) for k in ("chance", "generic probe", "domain embedding")]
        cells.append("**" + _interval(results, r, "Task2Vec d_sym").replace(" [", "** ["))
        cells.append(f"{100 * r['selection']['Task2Vec d_asym']['relative_increase']:+.1f}%")
        cells.append(_interval(results, r, "Model2Vec"))
        lines.append(f"| {shots} | {100 * r['selection']['optimal_error']:.2f}% | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mixed_expected_block(results):
    rules = ("Task2Vec d_sym", "Model2Vec", "Task2Vec d_sym, task-sized expert samples",
             "Model2Vec, task-sized expert samples")
    lines = ["| shots | Task2Vec d_sym | Model2Vec | d_sym, task-sized expert samples | Model2Vec, task-sized expert "
             "samples |", "| --- | --- | --- | --- | --- |"]
    for shots, r in results["by_shots"].items():
        lines.append(f"| {shots} | " + " | ".join(_interval(results, r, k) for k in rules) + " |")
    return "\n".join(lines)


def budget_block(results):
    lines = ["| estimator | steps | d_sym between tasks: mean (min) | seed 0 vs seed 1 | permuted copy "
             "| relative L1 change: seed 0 vs 1 | permuted copy | seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, label in BUDGET_ROWS.items():
        b = results["budgets"].get(key)
        if b is None:
            continue
        seeds = " / ".join(f"{v:.3f}" for v in b["d_sym seed 0 vs seed 1"])
        steps = "-" if key == "expected" else b["steps"]  # every image once: no sampled steps
        l1_seeds = " / ".join(f"{100 * v:.1f}%" for v in b.get("relative L1 change seed 0 vs seed 1", []))
        l1_copy = b.get("relative L1 change permuted copy")
        lines.append(f"| {label} | {steps} | {b['mean d_sym between tasks']:.3f} "
                     f"({b['min d_sym between tasks']:.3f}) | {seeds} | {b['d_sym to the permuted copy']:.3f} "
                     f"| {l1_seeds or '-'} | {'-' if l1_copy is None else f'{100 * l1_copy:.1f}%'} "
                     f"| {b['seconds']:.0f} |")
    return "\n".join(lines)


def blocks():
    main_run = _load("model_selection.json")
    variational = _load("model_selection_variational.json")
    return {"model_selection": selection_block(main_run), "taxonomy": taxonomy_block(main_run),
            "runs": runs_block(), "expected": selection_block(_load("model_selection_expected.json"), paper=False),
            "variational": selection_block(variational, paper=False),
            "mixed": mixed_block(_load("mixed_selection.json")),
            "mixed_expected": mixed_expected_block(_load("mixed_selection_expected.json")),
            "budget": budget_block(_load("variational_budget.json"))}


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write"]:
        from kzoo.files import report_blocks

        report_blocks(Path(__file__).resolve().parent / "README.md", blocks(), write=True)
    else:
        main(*sys.argv[1:])
