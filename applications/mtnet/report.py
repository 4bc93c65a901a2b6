"""Builds the MT-net README tables and Figure 4 from applications/mtnet/results/*.json.

    python applications/mtnet/report.py          # prints Markdown, writes figure4_update_fraction.png
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
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
    return [json.loads(p.read_text()) for p in sorted((HERE / "results").glob("*.json"))]


def cell(score):
    return f"{score['mse']:.2f} ± {score['ci95']:.2f}"


def table1(records):
    rows = ["| model | 5-shot | 10-shot | 20-shot | paper (5 / 10 / 20) | fraction updated |",
            "| --- | --- | --- | --- | --- | --- |"]
    for name in ("maml", "mnet-full", "mnet", "tnet", "mtnet-full", "mtnet"):
        found = [r for r in records if r["task"] == "sine" and r["model"] == name and r["inner_lr"] == 0.01
                 and r["iterations"] == 60000]
        if not found:
            continue
        r = found[0]
        e = r["evaluation"]
        paper = " / ".join(f"{v:.2f}" for v in PAPER_TABLE1[name])
        rows.append(f"| {NAMES[name]} | {cell(e['5-shot'])} | {cell(e['10-shot'])} | {cell(e['20-shot'])} "
                    f"| {paper} | {r['update_fraction']:.2f} |")
    return "\n".join(rows)


def table2(records):
    rows = ["| alpha | " + " | ".join(f"{NAMES[m]} (paper)" for m in ("maml", "tnet", "mtnet")) + " |",
            "| --- | --- | --- | --- |"]
    for i, alpha in enumerate(ALPHAS):
        cells = []
        for m in ("maml", "tnet", "mtnet"):
            found = [r for r in records if r["task"] == "sine" and r["model"] == m and r["inner_lr"] == alpha
                     and r["iterations"] == 20000]
            ours = cell(found[0]["evaluation"]["10-shot"]) if found else "not run"
            cells.append(f"{ours} ({PAPER_TABLE2[m][i]:.2f})")
        rows.append(f"| {alpha:g} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def figure4(records):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = sorted((int(r["task"].split()[-1]), r["update_fraction"], r["evaluation"]["10-shot"]["mse"])
                    for r in records if r["task"].startswith("polynomial"))
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    ax.bar([str(p[0]) for p in points], [p[1] for p in points], color="tab:blue")
    ax.set_xlabel("polynomial order")
    ax.set_ylabel("fraction of weights updated\n(mean sigmoid(zeta))")
    ax.set_ylim(0, 1)
    ax.set_title("MT-net, 10-shot polynomial regression", fontsize=9)
    for i, (_, fraction, _) in enumerate(points):
        ax.text(i, fraction + 0.02, f"{fraction:.2f}", ha="center", fontsize=8)
    fig.tight_layout()
    path = HERE / "figure4_update_fraction.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return points


def main():
    records = load()
    print("## Table 1\n")
    print(table1(records))
    print("\n## Table 2\n")
    print(table2(records))
    points = figure4(records)
    if points:
        print("\n## Figure 4\n")
        for order, fraction, mse in points:
            print(f"order {order}: fraction updated {fraction:.3f}, 10-shot MSE {mse:.3f}")


if __name__ == "__main__":
    main()
