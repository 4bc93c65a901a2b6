"""Prints the README tables from results/model_selection.json (or the file named as the first argument)."""

import json
from pathlib import Path

PAPER = {"iNat + CUB": (31.24, 59.52, 30.18, 42.54, 9.97, 6.81), "Mixed": (22.90, 112.49, 75.73, 40.30, 29.23, 27.81)}


def main(filename="model_selection.json"):
    results = json.loads((Path(__file__).resolve().parent / "results" / filename).read_text())
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


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:])
