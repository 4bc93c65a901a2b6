"""`kzoo data`, `fit`, `evaluate` and `tune` for the few-shot applications (ProtoNet, MT-net, HyperTransformer).

Data specs are `kzoo.episodes.load`'s (`glyphs`, `omniglot[:PATH]`, `folder:PATH`,
`tfds:NAME`), several joined by `+`; training and scoring go through
`kzoo.training.recipe`.
"""

import json
import time


def _sources(spec):
    from kzoo.episodes import load_sources

    return load_sources(spec)


def _source(spec, part="all"):
    """One `Source`: the spec's (all of them joined for `a+b`), or one part of its split."""
    from kzoo import episodes
    from kzoo.episodes import split_source

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

#: the `kzoo fit` options the few-shot recipe takes (any other one set is an error)
FIT_OPTIONS = {"data", "ways", "shots", "queries", "tasks", "rotations", "seed", "steps", "steps_per_epoch",
               "channels", "learning_rate", "warmup_steps", "set", "distort", "val_episodes", "select_best",
               "eval_ways", "eval_shots", "eval_queries", "eval_episodes", "logdir", "verbose",
               "variable_ways"}


def fit(cls, args):
    """Trains a few-shot application on episodes, scores it on held-out alphabets, saves and exports it."""
    from kzoo.cli.arguments import adam, check_outputs, constructor_arguments, save_outputs
    from kzoo.training.evaluation import format_score
    from kzoo.training.recipe import train_and_evaluate

    args.data = args.data or "glyphs"
    if args.warmup_steps and not args.learning_rate:
        raise ValueError(f"Expected --learning-rate with --warmup-steps (the Adam rate to warm up to). "
                         f"Received: --warmup-steps {args.warmup_steps} alone.")
    if args.val_episodes % 10:
        raise ValueError(f"Expected --val-episodes to be a multiple of 10. Received: {args.val_episodes}.")
    variable = None
    if args.variable_ways:
        if args.tasks != 1:
            raise ValueError(f"Expected no --tasks with --variable-ways (variable episodes come one per batch). "
                             f"Received: --tasks {args.tasks}.")
        variable = dict(zip(("min_ways", "max_ways"), args.variable_ways))
    check_outputs(args)
    sources = _sources(args.data)
    source = sources[0] if len(sources) == 1 else sources
    print("data: " + " + ".join(repr(s) for s in sources))
    ways = max(args.ways, args.eval_ways or 0, variable["max_ways"] if variable else 0)
    # num_outputs: MT-net's N-way head; num_ways: HyperTransformer's logits slices
    base = {"example_shape": sources[0].image_shape, "channels": args.channels, "num_outputs": ways, "num_ways": ways}
    model = cls(**constructor_arguments(cls, base, args.set))
    model.compile(**({"optimizer": adam(args.learning_rate, args.warmup_steps)} if args.learning_rate else {}))
    _, score, record = train_and_evaluate(
        model, source, args.ways, args.shots, queries=args.queries, tasks=args.tasks, steps=args.steps,
        steps_per_epoch=args.steps_per_epoch, rotations=args.rotations, seed=args.seed,
        log_dir=args.logdir, eval_ways=args.eval_ways, eval_shots=args.eval_shots,
        eval_queries=args.eval_queries, eval_episodes=args.eval_episodes, distortion=args.distort or None,
        val_episodes=args.val_episodes, select_best=args.select_best, variable=variable,
        verbose=1 if args.verbose else 2)
    print(f"held-out accuracy ({len(record['data']['test_alphabets'])} test alphabets, "
          f"{record['data']['test_classes']} classes): {format_score(score)}")
    for other in record.get("other_evaluations", []):
        print(f"also scored on {other['source']} ({other['ways']}-way): "
              f"{100 * other['accuracy']:.2f}% +- {100 * other['ci95']:.2f}%")
    save_outputs(model, args, record, f"{cls.__name__} trained by `kzoo fit`")


def evaluate(model, args):
    """Scores a few-shot preset on fixed episodes of its test (or validation) classes."""
    from kzoo.training.evaluation import evaluate_episodes, format_score
    from kzoo.episodes import split_source
    from kzoo.training.recipe import evaluation_dataset

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


def tune(args):
    import ast

    from kzoo import episodes, tuning
    from kzoo.episodes import split_source

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
