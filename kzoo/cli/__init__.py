"""The `kzoo` command: look at data, train, evaluate, export and embed, for every application.

    kzoo list
    kzoo data show glyphs --ways 5 --out episode.png
    kzoo data bench --data omniglot
    kzoo fit protonet --data glyphs --ways 20 --shots 1 --steps 300 --export export/protonet
    kzoo fit tafenet --data glyph_compositions --epochs 8 --learning-rate 1e-3
    kzoo fit amaz --data glyph_compositions --steps 2000
    kzoo fit task2vec --data glyphs --epochs 12
    kzoo evaluate protonet/omniglot_20way_1shot --episodes 600
    kzoo evaluate tafenet/glyphs_gzsl
    kzoo embed task2vec/probe_glyphs_resnet my_tasks/ --out embeddings.npz --plot distances.png
    kzoo export tafenet/glyphs_gzsl export/tafenet
    kzoo tune mtnet --tuner hyperband --max-epochs 9 --fix variant=maml

Every error is one line on stderr with exit status 2 (`--debug` shows the traceback);
TensorFlow's C++ start-up lines are filtered unless `TF_CPP_MIN_LOG_LEVEL` is set.
"""

import os
import sys

from kzoo import native_logs  # before TF_CPP_MIN_LOG_LEVEL is set below: it records whether the user set it
from kzoo.cli import literature
from kzoo.cli.arguments import Parser, positive_float, positive_int, ways_range

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _family(name):
    from kzoo.applications import FAMILIES, application

    cls = application(name)
    return cls, FAMILIES[name.lower()]


# -- commands ---------------------------------------------------------------------------

def list_command(args):
    from kzoo.applications import APPLICATIONS, FAMILIES

    if args.recipes and not args.markdown:
        from kzoo.cli.literature import RECIPES

        for key, recipe in RECIPES.items():
            app, name = key.split("/")
            print(f"{key}: kzoo fit {app} --recipe {name} --data mini_imagenet:PATH\n"
                  f"  = {' '.join(recipe.arguments)}\n  the paper reports {recipe.reported}% ({recipe.source})")
        return
    if args.markdown:
        from kzoo.cli.literature import markdown

        block, table = ("recipes", markdown()) if args.recipes else ("presets", presets_table())
        if args.write:
            from kzoo.files import write_marked_blocks

            write_marked_blocks(args.write, {block: table}, tag="kzoo list")
            print(f"wrote the {block} table of {args.write}")
        else:
            print(table)
        return
    for name, cls in APPLICATIONS.items():
        print(f"{name} ({cls.__module__}.{cls.__name__}, {FAMILIES[name].replace('_', '-')})")
        for preset, meta in cls.presets.items():
            print(f"  {name + '/' + preset:40s} {meta.get('description', '')} {_score_text(meta)}".rstrip())


def presets_table():
    """Every shipped preset as a Markdown table: name, description, recorded score, reproduction script."""
    from kzoo.applications import APPLICATIONS

    lines = ["| preset | what | recorded score | rebuilt by |", "| --- | --- | --- | --- |"]
    for name, cls in APPLICATIONS.items():
        for preset, meta in cls.presets.items():
            lines.append(f"| `{name}/{preset}` | {meta.get('description', '')} | {_score_text(meta)} "
                         f"| `applications/{name}/reproduce.sh` |")
    return "\n".join(lines)


def _source_name(text):
    """`"<Source 'glyphs[test]': ...>"` -> `"glyphs[test]"`."""
    parts = text.split("'")
    return parts[1] if len(parts) > 2 else text


def _score_text(meta):
    """The recorded score of a preset, in one phrase."""
    score = meta.get("evaluation", {})
    if "accuracy" in score and "ways" in score:
        text = (f"{100 * score['accuracy']:.2f}% +- {100 * score['ci95']:.2f}% on "
                f"{score['episodes']} {score['ways']}-way {score['shots']}-shot test episodes")
        for other in meta.get("other_evaluations", []):
            text += (f"; {100 * other['accuracy']:.2f}% +- {100 * other['ci95']:.2f}% on "
                     f"{other['ways']}-way episodes of {_source_name(other['source'])}")
        return text
    if "H" in score:  # the zero-shot READMEs' precision: one decimal
        return (f"GZSL u {100 * score['u']:.1f}%, s {100 * score['s']:.1f}%, H {100 * score['H']:.1f}%; "
                f"unseen classes top-1 {100 * score['zsl_unseen_only']:.1f}%")
    if isinstance(score.get("zsl"), dict):
        ci = score.get("zsl_ci95", {})
        text = "ZSL top-1 " + ", ".join(f"{k} {100 * v:.1f}%" + (f" +- {100 * ci[k]:.1f}%" if k in ci else "")
                                        for k, v in score["zsl"].items() if k != "mean_quality")
        for kind, gzsl in (score.get("gzsl") or {}).items():
            text += f"; GZSL {kind} H {100 * gzsl['H']:.1f}%"
        return text
    if "validation_accuracy" in score:
        return f"probe top-1 {100 * score['validation_accuracy']:.2f}% (validation)"
    parts = [f"{k} MSE {v['mse']:.3f} +- {v['ci95']:.3f}" for k, v in score.items() if isinstance(v, dict) and "mse" in v]
    return ("; ".join(parts) + f" ({next(iter(score.values()))['episodes']} test tasks)") if parts else ""


def fit_command(args, parser_defaults):
    from kzoo.cli import few_shot, task_embedding, zero_shot
    from kzoo.cli.arguments import reject_unused

    cls, family = _family(args.application)
    name = args.application.lower()
    used = {"few_shot": few_shot.FIT_OPTIONS, "task_embedding": task_embedding.FIT_OPTIONS}.get(
        family, zero_shot.FIT_OPTIONS.get(name))
    reject_unused(args, parser_defaults, used | _OUTPUT_OPTIONS, name)
    if family == "few_shot":
        few_shot.fit(cls, args)
    elif family == "zero_shot":
        zero_shot.fit(cls, args, parser_defaults)
    else:
        task_embedding.fit(cls, args)


def evaluate_command(args, parser_defaults):
    from kzoo.applications import APPLICATIONS, FAMILIES, from_preset
    from kzoo.cli import few_shot, task_embedding, zero_shot
    from kzoo.cli.arguments import reject_unused

    model = from_preset(args.preset)
    family = next(FAMILIES[name] for name, cls in APPLICATIONS.items() if isinstance(model, cls))
    if family != "few_shot":
        reject_unused(args, parser_defaults, {"preset", "data", "json"}, type(model).__name__.lower(),
                      "evaluate")
    {"few_shot": few_shot.evaluate, "zero_shot": zero_shot.evaluate,
     "task_embedding": task_embedding.evaluate}[family](model, args)


def export_command(args, parser_defaults):
    from kzoo.applications import from_preset
    from kzoo.export import export_serving

    print(f"serving export: {export_serving(from_preset(args.preset), args.directory, version=args.version)}")


def embed_command(args, parser_defaults):
    from kzoo.cli import task_embedding

    task_embedding.embed(args)


def data_command(args, parser_defaults):
    from kzoo.cli import few_shot

    {"show": few_shot.data_show, "bench": few_shot.data_bench}[args.data_command](args)


def tune_command(args, parser_defaults):
    from kzoo.cli import few_shot

    few_shot.tune(args)


#: what every `kzoo fit` takes
_OUTPUT_OPTIONS = {"application", "save_preset", "description", "overwrite", "export"}


# -- parser -----------------------------------------------------------------------------

def _episode_arguments(parser, ways, shots, queries, tasks):
    parser.add_argument("--ways", type=positive_int, default=ways, help=f"N classes per episode (default {ways})")
    parser.add_argument("--shots", type=positive_int, default=shots, help=f"K support examples per class (default {shots})")
    parser.add_argument("--queries", type=positive_int, default=queries, help=f"Q query examples per class (default {queries})")
    parser.add_argument("--tasks", type=positive_int, default=tasks, help=f"T episodes per batch (default {tasks})")
    parser.add_argument("--rotations", action="store_true", help="add 90/180/270-degree rotated classes")
    parser.add_argument("--seed", type=int, default=0, help="episode seed (default 0)")


def _data_parsers(commands):
    data = commands.add_parser("data", help="look at and time episodic data").add_subparsers(
        dest="data_command", required=True, parser_class=Parser)
    for name, defaults, help_text in (
        ("show", (5, 1, 3, 1), "render a sampled episode to a PNG"),
        ("bench", (20, 1, 15, 16), "print episodes per second of the tf.data pipeline"),
    ):
        sub = data.add_parser(name, help=help_text)
        if name == "show":
            sub.add_argument("data", nargs="?", default="glyphs",
                             help="glyphs | omniglot[:PATH] | folder:PATH | tfds:NAME (default glyphs)")
            sub.add_argument("--out", default="episode.png", help="PNG file to write (default episode.png)")
        else:
            sub.add_argument("--data", default="glyphs", help="data spec (default glyphs)")
            sub.add_argument("--batches", type=int, default=100, help="batches to time (default 100)")
            sub.add_argument("--warmup", type=int, default=10, help="batches before timing (default 10)")
        _episode_arguments(sub, *defaults)
        sub.add_argument("--unlabeled", type=int, default=0, help="u unlabeled support examples per class")
        sub.add_argument("--same-alphabet", action="store_true", help="all classes of an episode from one alphabet")
        sub.add_argument("--distort", action="store_true", help="distort every image (kzoo.episodes.Distortion)")
        sub.add_argument("--split", choices=["all", "train", "validation", "test"], default="all",
                         help="sample from this part of the 70/10/20 alphabet split (default all)")
        sub.set_defaults(func=data_command)


def _fit_parser(commands):
    fit = commands.add_parser(
        "fit", help="train an application, score it, save it as a preset, export it",
        description="Few-shot applications (protonet, mtnet, hypertransformer) train on episodes of --data; "
                    "tafenet and amaz on the seen classes of a zero-shot set; task2vec trains a probe network. "
                    "An option the application does not use is an error.")
    fit.add_argument("application", help="protonet | mtnet | hypertransformer | tafenet | amaz | task2vec")
    fit.add_argument("--data", default=None,
                     help="few-shot and task2vec: glyphs | omniglot[:PATH] | folder:PATH | tfds:NAME, several "
                          "joined by + (train on all, validate and test on the first; default glyphs); "
                          "tafenet, amaz: glyph_compositions | xlsa17:DIR (default glyph_compositions)")
    _episode_arguments(fit, 20, 1, 5, 1)
    fit.add_argument("--steps", type=positive_int, default=1000, help="training steps (default 1000)")
    fit.add_argument("--steps-per-epoch", type=positive_int, default=100, help="steps between validations (default 100)")
    fit.add_argument("--epochs", type=positive_int, default=8,
                     help="tafenet, task2vec: passes over the training images (default 8)")
    fit.add_argument("--batch-size", type=positive_int, default=64, help="tafenet, task2vec: batch size (default 64)")
    fit.add_argument("--descriptions", choices=["attributes", "onehot"], default="attributes",
                     help="tafenet: how classes are described (default attributes)")
    fit.add_argument("--channels", type=int, default=64, help="backbone channels (default 64)")
    fit.add_argument("--learning-rate", type=positive_float, default=None, help="Adam learning rate (default: the app's)")
    fit.add_argument("--learning-rate-drops", type=positive_int, nargs="+", default=None, metavar="EPOCH",
                     help="tafenet: epochs (0-based) at which both learning rates drop 10x (the paper: 30 45 "
                          "of 60)")
    fit.add_argument("--warmup-steps", type=positive_int, default=None,
                     help="linear learning-rate warm-up over this many steps (with --learning-rate)")
    fit.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="an application argument, e.g. --set variant=maml --set inner_lr=0.1 (repeatable)")
    fit.add_argument("--distort", action="store_true",
                     help="distort every training image independently (kzoo.episodes.Distortion)")
    fit.add_argument("--recipe", metavar="NAME", default=None,
                     help="few-shot: a paper's mini-ImageNet setting (kzoo list --recipes); later options override it")
    fit.add_argument("--variable-ways", type=ways_range, default=None, metavar="MIN-MAX",
                     help="few-shot: train on variable-way, variable-shot episodes (Meta-Dataset) of MIN to MAX "
                          "classes, one per batch; --ways and --shots then set only the test episodes")
    fit.add_argument("--val-episodes", type=positive_int, default=20,
                     help="validation episodes per epoch, a multiple of 10 (default 20)")
    fit.add_argument("--select-best", action="store_true",
                     help="keep the weights of the epoch with the best validation accuracy")
    fit.add_argument("--eval-ways", type=int, default=None, help="test N (default --ways)")
    fit.add_argument("--eval-shots", type=int, default=None, help="test K (default --shots)")
    fit.add_argument("--eval-queries", type=int, default=15, help="test queries per class (default 15)")
    fit.add_argument("--eval-episodes", type=positive_int, default=600, help="test episodes (default 600)")
    fit.add_argument("--logdir", default=None, help="TensorBoard log folder")
    fit.add_argument("--export", default=None, help="write a TF Serving export to DIR/<next version>")
    fit.add_argument("--save-preset", default=None, help="write a preset folder")
    fit.add_argument("--description", default=None, help="preset description")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing preset folder")
    fit.add_argument("--verbose", action="store_true", help="progress bar per step (default: one line per epoch)")
    fit.set_defaults(func=fit_command)
    return fit


def _evaluate_parser(commands):
    ev = commands.add_parser("evaluate", help="score a preset with its application's metrics",
                             description="Few-shot: accuracy with 95%% CI on fixed episodes of held-out classes; "
                                         "tafenet, amaz: GZSL u/s/H and ZSL top-1; task2vec: the probe's accuracy.")
    ev.add_argument("preset", help="APPLICATION/NAME (see `kzoo list`) or a preset folder")
    ev.add_argument("--data", default=None, help="data spec (default: the preset's)")
    ev.add_argument("--episodes", type=positive_int, default=600, help="few-shot: test episodes (default 600)")
    ev.add_argument("--ways", type=int, default=None, help="few-shot: N (default: the recorded one)")
    ev.add_argument("--shots", type=int, default=None, help="few-shot: K (default: the recorded one)")
    ev.add_argument("--queries", type=int, default=None, help="few-shot: queries per class")
    ev.add_argument("--seed", type=int, default=None, help="few-shot: episode seed (default: the recorded one)")
    ev.add_argument("--split", choices=["test", "validation"], default="test",
                    help="few-shot: the test classes (default) or the validation classes of the recorded split")
    ev.add_argument("--json", action="store_true", help="also print the score as JSON")
    ev.set_defaults(func=evaluate_command)
    return ev


def _embed_parser(commands):
    embed = commands.add_parser("embed", help="Task2Vec embeddings of every task in a folder",
                                description="TASKS holds one sub-folder per task, each with one folder of images "
                                            "per class. Writes names, vectors and the d_sym distance matrix.")
    embed.add_argument("preset", help="task2vec/NAME (see `kzoo list`) or a probe preset folder")
    embed.add_argument("tasks", help="folder of task folders")
    embed.add_argument("--out", default="embeddings.npz", help=".npz file to write (default embeddings.npz)")
    embed.add_argument("--plot", default=None, help="also write the distance matrix as this PNG")
    embed.add_argument("--method", choices=["expected", "montecarlo", "variational"], default="expected",
                       help="Fisher estimator (default expected: exact over labels, seed-free)")
    embed.add_argument("--max-samples", type=positive_int, default=1000,
                       help="images per task the Fisher is estimated on (default 1000)")
    embed.add_argument("--invert", action="store_true", help="invert the images (dark strokes on white -> light)")
    embed.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    embed.set_defaults(func=embed_command)


def _tune_parser(commands):
    tune = commands.add_parser("tune", help="search an application's hyperparameters with keras-tuner")
    tune.add_argument("application", help="protonet | mtnet | hypertransformer")
    tune.add_argument("--data", default="glyphs", help="data spec (default glyphs); tunes on the validation split")
    _episode_arguments(tune, 5, 1, 5, 4)
    tune.add_argument("--tuner", choices=["random", "hyperband"], default="random")
    tune.add_argument("--objective", default="val_accuracy", help="a logged metric (default val_accuracy)")
    tune.add_argument("--max-trials", type=int, default=10, help="random search trials (default 10)")
    tune.add_argument("--max-epochs", type=int, default=9, help="Hyperband's largest epoch budget (default 9)")
    tune.add_argument("--epochs", type=int, default=3, help="epochs per random-search trial (default 3)")
    tune.add_argument("--steps-per-epoch", type=int, default=100, help="steps per epoch (default 100)")
    tune.add_argument("--validation-episodes", type=int, default=100, help="validation episodes (default 100)")
    tune.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                      help="pin a hyperparameter or pass a constructor argument, e.g. --fix channels=32")
    tune.add_argument("--directory", default="tuning", help="trial folder (default tuning/)")
    tune.add_argument("--overwrite", action="store_true", help="start the search over")
    tune.set_defaults(func=tune_command)


def build_parser():
    """The `kzoo` argument parser; `parser.subparsers` maps a command to its own parser."""
    parser = Parser(prog="kzoo", description="Keras model zoo for meta-learning.")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    listing = commands.add_parser("list", help="applications and presets")
    listing.add_argument("--markdown", action="store_true", help="print the presets as a Markdown table")
    listing.add_argument("--recipes", action="store_true",
                         help="the papers' mini-ImageNet settings (kzoo fit APP --recipe NAME) instead of presets")
    listing.add_argument("--write", default=None, metavar="README",
                         help="with --markdown: write the table between the <!-- kzoo list: presets --> "
                              "(or recipes) markers")
    listing.set_defaults(func=lambda args, _: list_command(args))
    _data_parsers(commands)
    parser.subparsers = {"fit": _fit_parser(commands), "evaluate": _evaluate_parser(commands)}
    _embed_parser(commands)
    _tune_parser(commands)
    ex = commands.add_parser("export", help="write a preset as a TF Serving SavedModel")
    ex.add_argument("preset", help="APPLICATION/NAME or a preset folder")
    ex.add_argument("directory", help="model base path; writes DIRECTORY/<version>")
    ex.add_argument("--version", type=positive_int, default=1)
    ex.set_defaults(func=export_command)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        argv = literature.expand(argv)
    except ValueError as error:
        print(f"kzoo: error: {error}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    args.argv = argv
    sub = parser.subparsers.get(args.command)
    defaults = {a.dest: a.default for a in sub._actions if a.dest != "help"} if sub else {}
    try:
        native_logs.load_tensorflow_quietly()
        args.func(args, defaults)
    except KeyboardInterrupt:
        print("kzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # every error is one line; --debug shows the traceback
        if args.debug:
            raise
        known = isinstance(error, (ValueError, FileNotFoundError))
        text = " ".join(str(error).split()) or type(error).__name__
        print(f"kzoo: error: {text if known else f'{type(error).__name__}: {text}'}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
