"""The `kzoo` command: look at data, train, evaluate, export.

    kzoo list
    kzoo data show glyphs --ways 5 --out episode.png
    kzoo data bench --data omniglot
    kzoo fit protonet --data glyphs --ways 20 --shots 1 --steps 300 --export export/protonet
    kzoo evaluate protonet/omniglot_20way_1shot --episodes 600
    kzoo export protonet/omniglot_20way_1shot export/protonet
    kzoo tune mtnet --tuner hyperband --max-epochs 9 --fix variant=maml
"""

import argparse
import json
import os
import shlex
import sys
import time

from kzoo import native_logs  # before TF_CPP_MIN_LOG_LEVEL is set below: it records whether the user set it

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _positive_int(text):
    """argparse type: an integer >= 1 (`--steps 0` and `--steps -1` fail here, before any work)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}")
    return value


def _positive_float(text):
    """argparse type: a finite number > 0 (`--learning-rate nan` fails here)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, received {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, received {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (`kzoo fit: error: ...`) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _episode_arguments(parser, ways, shots, queries, tasks):
    parser.add_argument("--ways", type=_positive_int, default=ways, help=f"N classes per episode (default {ways})")
    parser.add_argument("--shots", type=_positive_int, default=shots, help=f"K support examples per class (default {shots})")
    parser.add_argument("--queries", type=_positive_int, default=queries, help=f"Q query examples per class (default {queries})")
    parser.add_argument("--tasks", type=_positive_int, default=tasks, help=f"T episodes per batch (default {tasks})")
    parser.add_argument("--rotations", action="store_true", help="add 90/180/270-degree rotated classes")
    parser.add_argument("--seed", type=int, default=0, help="episode seed (default 0)")


def _sources(spec):
    from kzoo.training.recipe import load_sources

    return load_sources(spec)


def _source(spec, part="all"):
    """One `Source`: the spec's (all of them joined for `a+b`), or one part of its split."""
    from kzoo import episodes
    from kzoo.training.recipe import split_source

    sources = _sources(spec)
    if part != "all":
        return dict(zip(("train", "validation", "test"), split_source(sources)))[part]
    return sources[0] if len(sources) == 1 else episodes.union(sources)


# -- data -------------------------------------------------------------------------------

def _sampler(args, src):
    from kzoo.episodes import FewShotSampler

    return FewShotSampler(src, args.ways, args.shots, args.queries, tasks=args.tasks,
                          rotations=args.rotations, same_alphabet=args.same_alphabet,
                          unlabeled=args.unlabeled, seed=args.seed, distortion=args.distort or None)


def data_show(args):
    from kzoo.episodes.plot import plot_episode

    src = _source(args.data, args.split)
    title = (f"{src.name}: {args.ways}-way {args.shots}-shot, {args.queries} queries"
             + (f", {args.unlabeled} unlabeled" if args.unlabeled else ""))
    plot_episode(_sampler(args, src)(0), args.out, class_names=src.class_names, title=title)
    print(f"{src!r}\nwrote {args.out}")


def data_bench(args):
    src = _source(args.data, args.split)
    iterator = iter(_sampler(args, src).dataset())
    for _ in range(args.warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(args.batches):
        next(iterator)
    seconds = time.perf_counter() - start
    print(f"{src!r}")
    print(f"{args.ways}-way {args.shots}-shot {args.queries}-query, T={args.tasks}: "
          f"{args.batches * args.tasks / seconds:.1f} episodes/s "
          f"({args.batches / seconds:.2f} batches/s over {args.batches} batches)")


# -- models -----------------------------------------------------------------------------

def _application(name):
    from kzoo.applications import APPLICATIONS

    if name.lower() not in APPLICATIONS:
        raise ValueError(f"Unknown application {name!r}. Known: {', '.join(sorted(APPLICATIONS))}.")
    return APPLICATIONS[name.lower()]


def _load_preset(spec):
    """`app/preset` or a preset folder -> model."""
    from kzoo.applications import APPLICATIONS
    from kzoo.presets import read_metadata

    if os.path.isdir(spec):
        name = read_metadata(spec).get("application", "")
        for cls in APPLICATIONS.values():
            if cls.__name__ == name:
                return cls.from_preset(spec)
        raise ValueError(f"Expected a preset folder with metadata.json naming its application. Received: {spec!r}.")
    app, _, preset = spec.partition("/")
    if not preset:
        raise ValueError(f"Expected a preset as APPLICATION/NAME (see `kzoo list`) or a folder. Received: {spec!r}.")
    return _application(app).from_preset(preset)


def list_command(args):
    from kzoo.applications import APPLICATIONS

    for name, cls in sorted(APPLICATIONS.items()):
        print(f"{name} ({cls.__module__}.{cls.__name__})")
        for preset, meta in cls.presets.items():
            print(f"  {name}/{preset:28s} {meta.get('description', '')} {_score_text(meta)}".rstrip())
    # Zero-shot and task-embedding presets: loaded from Python (their READMEs say how), not by `kzoo fit`.
    from kzoo.applications import TAFENet
    from kzoo.applications.task2vec import probe_presets

    for name, found in (("tafenet", TAFENet.presets), ("task2vec", probe_presets())):
        if found:
            print(f"{name} (Python API only; see applications/{name}/README.md)")
        for preset, meta in found.items():
            print(f"  {name}/{preset:28s} {meta.get('description', '')}".rstrip())


def _score_text(meta):
    """The recorded test score of a preset, in one phrase."""
    score = meta.get("evaluation", {})
    if "accuracy" in score:
        return (f"{100 * score['accuracy']:.2f}% +- {100 * score['ci95']:.2f}% on "
                f"{score['episodes']} {score['ways']}-way {score['shots']}-shot test episodes")
    parts = [f"{k} MSE {v['mse']:.3f} +- {v['ci95']:.3f}" for k, v in score.items() if isinstance(v, dict) and "mse" in v]
    return ("; ".join(parts) + f" ({next(iter(score.values()))['episodes']} test tasks)") if parts else ""


def fit_command(args):
    from kzoo.export import export_serving
    from kzoo.training.evaluation import format_score
    from kzoo.training.recipe import train_and_evaluate

    from kzoo.files import check_writable_folder
    from kzoo.presets import check_preset_target

    cls = _application(args.application)
    if args.warmup_steps and not args.learning_rate:
        raise ValueError(f"Expected --learning-rate with --warmup-steps (the Adam rate to warm up to). "
                         f"Received: --warmup-steps {args.warmup_steps} alone.")
    if args.val_episodes % 10:
        raise ValueError(f"Expected --val-episodes to be a multiple of 10. Received: {args.val_episodes}.")
    # output paths first: a bad path must not cost a whole training run
    if args.save_preset:
        check_preset_target(args.save_preset, overwrite=args.overwrite)
    if args.export:
        check_writable_folder(args.export, what="--export folder")
    if args.logdir:
        check_writable_folder(args.logdir, what="--logdir folder")
    sources = _sources(args.data)
    source = sources[0] if len(sources) == 1 else sources
    print("data: " + " + ".join(repr(s) for s in sources))
    model = cls(**_constructor_arguments(cls, args, sources[0]))
    model.compile(**({"optimizer": _adam(args.learning_rate, args.warmup_steps)} if args.learning_rate else {}))
    _, score, record = train_and_evaluate(
        model, source, args.ways, args.shots, queries=args.queries, tasks=args.tasks, steps=args.steps,
        steps_per_epoch=args.steps_per_epoch, rotations=args.rotations, seed=args.seed,
        log_dir=args.logdir, eval_ways=args.eval_ways, eval_shots=args.eval_shots,
        eval_queries=args.eval_queries, eval_episodes=args.eval_episodes, distortion=args.distort or None,
        val_episodes=args.val_episodes, select_best=args.select_best, verbose=1 if args.verbose else 2)
    print(f"held-out accuracy ({len(record['data']['test_alphabets'])} test alphabets, "
          f"{record['data']['test_classes']} classes): {format_score(score)}")
    for other in record.get("other_evaluations", []):
        print(f"also scored on {other['source']} ({other['ways']}-way): "
              f"{100 * other['accuracy']:.2f}% +- {100 * other['ci95']:.2f}%")
    if args.save_preset:
        record = {"description": args.description or f"{cls.__name__} trained by `kzoo fit`",
                  "command": "kzoo " + " ".join(shlex.quote(a) for a in args.argv),
                  "data_spec": args.data, **record}
        print(f"preset: {model.save_to_preset(args.save_preset, record, overwrite=args.overwrite)}")
    if args.export:
        print(f"serving export: {export_serving(model, args.export, version=_next_version(args.export))}")


def _constructor_arguments(cls, args, source):
    """The application's arguments: data shape, --channels, N-way outputs, then --set k=v."""
    import ast
    import inspect

    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {"example_shape": source.image_shape, "channels": args.channels}
    if "num_outputs" in accepted:
        kwargs["num_outputs"] = max(args.ways, args.eval_ways or 0)
    if "num_ways" in accepted:  # HyperTransformer: number of logits slices
        kwargs["num_ways"] = max(args.ways, args.eval_ways or 0)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or key not in accepted or key in ("self", "kwargs"):
            raise ValueError(
                f"Expected --set NAME=VALUE with NAME an argument of {cls.__name__} "
                f"({', '.join(p for p in accepted if p not in ('self', 'kwargs'))}). Received: {item!r}."
            )
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs


def _adam(learning_rate, warmup_steps=None):
    import keras

    if warmup_steps:
        from kzoo.training.schedules import LinearWarmup

        learning_rate = LinearWarmup(learning_rate, warmup_steps)
    return keras.optimizers.Adam(learning_rate)


def _next_version(directory):
    versions = [int(p) for p in os.listdir(directory) if p.isdigit()] if os.path.isdir(directory) else []
    return max(versions, default=0) + 1


def evaluate_command(args):
    from kzoo.training.evaluation import evaluate_episodes, format_score
    from kzoo.training.recipe import evaluation_dataset, split_source

    model = _load_preset(args.preset)
    meta = getattr(model, "preset_metadata", {})
    recorded = meta.get("evaluation", {})
    evaluation = {"ways": 20, "shots": 1, "queries": 15, "tasks": 20, "seed": 1234, **recorded}
    for key in ("ways", "shots", "queries", "seed"):
        if getattr(args, key) is not None:
            evaluation[key] = getattr(args, key)
    evaluation["episodes"] = args.episodes
    evaluation["tasks"] = 20 if args.episodes % 20 == 0 else 1
    data = args.data or meta.get("data_spec", "glyphs")
    _, validation, test = split_source(_sources(data), meta.get("data", {}).get("split"))
    part = test if args.split == "test" else validation
    if args.split == "validation":
        evaluation["ways"] = min(evaluation["ways"], part.num_classes)
    print(f"{args.split} classes: {part!r}")
    score = evaluate_episodes(model, evaluation_dataset(part, evaluation), verbose=1)
    print(f"{args.preset}: {evaluation['ways']}-way {evaluation['shots']}-shot {args.split} accuracy "
          f"{format_score(score)}")
    same = all(evaluation[k] == recorded.get(k) for k in ("ways", "shots", "queries", "seed"))
    if recorded and args.split == "test" and same:
        n = score["episodes"]
        print(f"recorded in metadata on the same first {min(n, recorded['episodes'])} episodes: "
              f"{100 * sum(recorded['accuracies'][:n]) / min(n, recorded['episodes']):.2f}%")
    if args.json:
        print(json.dumps({k: v for k, v in score.items() if k != "accuracies"}))


def export_command(args):
    from kzoo.export import export_serving

    model = _load_preset(args.preset)
    print(f"serving export: {export_serving(model, args.directory, version=args.version)}")


def tune_command(args):
    import ast

    from kzoo import episodes, tuning
    from kzoo.training.recipe import split_source

    if args.application.lower() in tuning.ZERO_SHOT:
        raise ValueError(f"Expected a few-shot application for `kzoo tune` (episodes from --data). Received: "
                         f"{args.application!r}, a zero-shot model: tune it from Python with "
                         f"kzoo.tuning.{tuning.HYPERMODELS[args.application.lower()].__name__} (examples/tuning.py).")
    train, validation, _ = split_source(_sources(args.data))
    fixed = {}
    for item in args.fix:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"Expected --fix NAME=VALUE. Received: {item!r}.")
        try:
            fixed[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            fixed[key] = value
    hyper_model = tuning.hypermodel(args.application, example_shape=train.image_shape, ways=args.ways, fixed=fixed)
    tuner = tuning.make_tuner(hyper_model, tuner=args.tuner, objective=args.objective, max_trials=args.max_trials,
                              max_epochs=args.max_epochs, directory=args.directory, seed=args.seed,
                              overwrite=args.overwrite)
    train_data = episodes.few_shot(train, args.ways, args.shots, args.queries, tasks=args.tasks,
                                   rotations=args.rotations, seed=args.seed)
    val_data = episodes.few_shot(validation, args.ways, args.shots, args.queries, tasks=args.tasks,
                                 seed=args.seed + 1, batches=max(1, args.validation_episodes // args.tasks))
    search = {"steps_per_epoch": args.steps_per_epoch, "validation_data": val_data, "verbose": 0}
    if args.tuner == "random":
        search["epochs"] = args.epochs
    tuner.search(train_data, **search)
    best = tuner.oracle.get_best_trials(1)[0]
    print(f"best trial {best.trial_id}: {args.objective} = {best.score:.4f}")
    print("best hyperparameters: " + json.dumps(best.hyperparameters.values, sort_keys=True))


# -- parser -----------------------------------------------------------------------------

def build_parser():
    parser = _Parser(prog="kzoo", description="Keras model zoo for meta-learning.")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("list", help="applications and presets").set_defaults(func=list_command)

    data = commands.add_parser("data", help="look at and time episodic data").add_subparsers(
        dest="data_command", required=True)
    for name, func, defaults, help_text in (
        ("show", data_show, (5, 1, 3, 1), "render a sampled episode to a PNG"),
        ("bench", data_bench, (20, 1, 15, 16), "print episodes per second of the tf.data pipeline"),
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
        sub.set_defaults(func=func)

    fit = commands.add_parser("fit", help="train an application on episodes, score it, export it")
    fit.add_argument("application", help="e.g. protonet (see `kzoo list`)")
    fit.add_argument("--data", default="glyphs",
                     help="glyphs | omniglot[:PATH] | folder:PATH | tfds:NAME, or several joined by + "
                          "(train on all, validate and test on the first)")
    _episode_arguments(fit, 20, 1, 5, 1)
    fit.add_argument("--steps", type=_positive_int, default=1000, help="training steps (default 1000)")
    fit.add_argument("--steps-per-epoch", type=_positive_int, default=100, help="steps between validations (default 100)")
    fit.add_argument("--channels", type=int, default=64, help="backbone channels (default 64)")
    fit.add_argument("--learning-rate", type=_positive_float, default=None, help="Adam learning rate (default: the app's)")
    fit.add_argument("--warmup-steps", type=_positive_int, default=None,
                     help="linear learning-rate warm-up over this many steps (with --learning-rate)")
    fit.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="an application argument, e.g. --set variant=maml --set inner_lr=0.1 (repeatable)")
    fit.add_argument("--distort", action="store_true",
                     help="distort every training image independently (kzoo.episodes.Distortion)")
    fit.add_argument("--val-episodes", type=_positive_int, default=20,
                     help="validation episodes per epoch, a multiple of 10 (default 20)")
    fit.add_argument("--select-best", action="store_true",
                     help="keep the weights of the epoch with the best validation accuracy")
    fit.add_argument("--eval-ways", type=int, default=None, help="test N (default --ways)")
    fit.add_argument("--eval-shots", type=int, default=None, help="test K (default --shots)")
    fit.add_argument("--eval-queries", type=int, default=15, help="test queries per class (default 15)")
    fit.add_argument("--eval-episodes", type=_positive_int, default=600, help="test episodes (default 600)")
    fit.add_argument("--logdir", default=None, help="TensorBoard log folder")
    fit.add_argument("--export", default=None, help="write a TF Serving export to DIR/<next version>")
    fit.add_argument("--save-preset", default=None, help="write a preset folder")
    fit.add_argument("--description", default=None, help="preset description")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing preset folder")
    fit.add_argument("--verbose", action="store_true", help="progress bar per step (default: one line per epoch)")
    fit.set_defaults(func=fit_command)

    ev = commands.add_parser("evaluate", help="score a preset on held-out episodes (mean, 95%% CI)")
    ev.add_argument("preset", help="APPLICATION/NAME (see `kzoo list`) or a preset folder")
    ev.add_argument("--data", default=None, help="data spec (default: the preset's)")
    ev.add_argument("--episodes", type=_positive_int, default=600, help="test episodes (default 600)")
    ev.add_argument("--ways", type=int, default=None)
    ev.add_argument("--shots", type=int, default=None)
    ev.add_argument("--queries", type=int, default=None)
    ev.add_argument("--seed", type=int, default=None)
    ev.add_argument("--split", choices=["test", "validation"], default="test",
                    help="score on the test classes (default) or the validation classes of the recorded split")
    ev.add_argument("--json", action="store_true", help="also print the score as JSON")
    ev.set_defaults(func=evaluate_command)

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

    ex = commands.add_parser("export", help="write a preset as a TF Serving SavedModel")
    ex.add_argument("preset", help="APPLICATION/NAME or a preset folder")
    ex.add_argument("directory", help="model base path; writes DIRECTORY/<version>")
    ex.add_argument("--version", type=int, default=1)
    ex.set_defaults(func=export_command)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        native_logs.load_tensorflow_quietly()
        args.func(args)
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
