"""`kzoo fit APP --recipe NAME`: the papers' mini-ImageNet settings as named `kzoo fit` arguments.

A recipe is the `kzoo fit` command line of a paper's mini-ImageNet experiment (Ravi &
Larochelle's 64/16/20 class split, 84x84 RGB), with the accuracy the paper reports.
Arguments given after it override it (`--steps 2` for a smoke run). Nothing in a recipe
was run here at its full length: these are a GPU user's commands, and kzoo's own
numbers for them are not claimed until `kzoo fit` writes them into a preset.

>>> recipe = RECIPES["protonet/mini_imagenet_5way_1shot"]
>>> recipe.reported
'49.42 +- 0.78'
>>> expand(["fit", "protonet", "--recipe", "mini_imagenet_5way_1shot", "--steps", "2"])[:4]
['fit', 'protonet', '--ways', '30']
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """One paper's mini-ImageNet setting: `kzoo fit <application> <arguments>` and what the paper reports."""

    application: str
    arguments: tuple
    reported: str  # mean +- 95% CI, in %, as the paper prints it
    source: str  # where the number is printed
    differences: str  # what kzoo does differently from the paper's setting, or ""


_EVAL_5WAY_1SHOT = ("--eval-ways", "5", "--eval-shots", "1", "--eval-queries", "15", "--eval-episodes", "600")
_EVAL_5WAY_5SHOT = ("--eval-ways", "5", "--eval-shots", "5", "--eval-queries", "15", "--eval-episodes", "600")
_SELECT = ("--val-episodes", "100", "--select-best")
# MAML's and MT-net's mini-ImageNet network and inner loop (Finn et al. 2017, Sect. 5.2; Lee & Choi 2018, Sect. 6.2)
_MAML_NET = ("--channels", "32", "--set", "pool=True", "--set", "inner_steps=5", "--set", "eval_inner_steps=10",
             "--set", "inner_lr=0.01")
_HT_NET = ("--set", "num_layers=1", "--set", "nu=0.5", "--set", "num_heads=8", "--learning-rate", "0.001")
_HT_DIFFERENCES = ("Adam 1e-3 on 4 episodes per step (the paper: SGD, millions of steps); no ImageNet-style "
                   "flip, colour and crop augmentation")

RECIPES = {
    "protonet/mini_imagenet_5way_1shot": Recipe(
        "protonet", ("--ways", "30", "--shots", "1", "--queries", "15", "--channels", "64", "--steps", "30000",
                     "--steps-per-epoch", "1000", *_SELECT, *_EVAL_5WAY_1SHOT),
        "49.42 +- 0.78", "Snell et al. 2017, Table 2 (30-way training)",
        "Adam 1e-3 without the paper's halving every 2,000 episodes; best epoch by validation accuracy"),
    "protonet/mini_imagenet_5way_5shot": Recipe(
        "protonet", ("--ways", "20", "--shots", "5", "--queries", "15", "--channels", "64", "--steps", "30000",
                     "--steps-per-epoch", "1000", *_SELECT, *_EVAL_5WAY_5SHOT),
        "68.20 +- 0.66", "Snell et al. 2017, Table 2 (20-way training)",
        "Adam 1e-3 without the paper's halving every 2,000 episodes; best epoch by validation accuracy"),
    "mtnet/mini_imagenet_5way_1shot": Recipe(
        "mtnet", ("--ways", "5", "--shots", "1", "--queries", "15", "--tasks", "4", *_MAML_NET,
                  "--set", "variant=mtnet", "--steps", "60000", "--steps-per-epoch", "1000", *_SELECT,
                  *_EVAL_5WAY_1SHOT),
        "51.70 +- 1.84", "Lee & Choi 2018, Table 3",
        "no gradient clipping to +-10 (the reference code's)"),
    "mtnet/mini_imagenet_maml_5way_1shot": Recipe(
        "mtnet", ("--ways", "5", "--shots", "1", "--queries", "15", "--tasks", "4", *_MAML_NET,
                  "--set", "variant=maml", "--steps", "60000", "--steps-per-epoch", "1000", *_SELECT,
                  *_EVAL_5WAY_1SHOT),
        "48.70 +- 1.84", "Finn et al. 2017, Table 1 (quoted in Lee & Choi 2018, Table 3)", ""),
    "hypertransformer/mini_imagenet_5way_1shot": Recipe(
        "hypertransformer", ("--ways", "5", "--shots", "1", "--queries", "15", "--tasks", "4", "--channels", "32",
                             *_HT_NET, "--steps", "50000", "--steps-per-epoch", "1000", *_SELECT,
                             *_EVAL_5WAY_1SHOT),
        "53.8", "Zhmoginov et al. 2022, Table 1 (32 channels, logits generated; CI 0.2-0.5)", _HT_DIFFERENCES),
    "hypertransformer/mini_imagenet_5way_5shot": Recipe(
        "hypertransformer", ("--ways", "5", "--shots", "5", "--queries", "15", "--tasks", "4", "--channels", "32",
                             *_HT_NET, "--steps", "50000", "--steps-per-epoch", "1000", *_SELECT,
                             *_EVAL_5WAY_5SHOT),
        "67.1", "Zhmoginov et al. 2022, Table 1 (32 channels, logits generated; CI 0.2-0.5)", _HT_DIFFERENCES),
}

#: why the other applications have no mini-ImageNet recipe
NOT_FEW_SHOT = {
    "tafenet": "zero-shot: its benchmarks are class descriptions (xlsa17 AwA/CUB/SUN features: --data xlsa17:DIR)",
    "amaz": "zero-shot: its benchmarks are class descriptions (xlsa17 AwA/CUB/SUN features: --data xlsa17:DIR)",
    "task2vec": "embeds tasks (iNaturalist/CUB taxonomies in the paper), no few-shot accuracy to report",
}


def expand(argv):
    """`argv` with `--recipe NAME` replaced by the recipe's arguments (later arguments override them).

    Raises:
        ValueError: for an unknown recipe, or one of another application.
    """
    if "--recipe" not in argv:
        return list(argv)
    at = argv.index("--recipe")
    if at + 1 >= len(argv):
        raise ValueError("Expected a recipe name after --recipe. Received: nothing.")
    application = argv[1] if len(argv) > 1 and argv[0] == "fit" else None
    name = argv[at + 1]
    key = name if "/" in name else f"{application}/{name}"
    if key not in RECIPES:
        known = ", ".join(k for k in RECIPES if application is None or k.startswith(application + "/"))
        why = f" ({NOT_FEW_SHOT[application]})" if application in NOT_FEW_SHOT else ""
        raise ValueError(f"Unknown recipe {name!r} for {application}{why}. Known: {known or 'none'}.")
    recipe = RECIPES[key]
    if recipe.application != application:
        raise ValueError(f"Expected `kzoo fit {recipe.application} --recipe {key}`. Received: it for {application}.")
    return [*argv[:at], *recipe.arguments, *argv[at + 2:]]


def markdown():
    """The recipes as a Markdown table (`kzoo list --recipes --markdown`)."""
    rows = ["| recipe | `kzoo fit` command (add `--data mini_imagenet:PATH`) | paper reports (%) | where | kzoo differs |",
            "| --- | --- | --- | --- | --- |"]
    for key, r in RECIPES.items():
        app, name = key.split("/")
        rows.append(f"| `{key}` | `kzoo fit {app} --recipe {name}` = `{' '.join(r.arguments)}` | {r.reported} | "
                    f"{r.source} | {r.differences or '-'} |")
    for app, why in NOT_FEW_SHOT.items():
        rows.append(f"| {app} | none: {why} | | | |")
    return "\n".join(rows)
