"""`kzoo fit` and `kzoo evaluate` for the zero-shot applications (TAFE-Net, AMAZ).

Data specs are `kzoo.zsl.evaluation.load`'s: `glyph_compositions` (built in) or
`xlsa17:DIR`. TAFE-Net trains for `--epochs` over the trainval features; AMAZ for
`--steps` meta-iterations on `--ways`/`--shots`/`--queries`/`--tasks` tasks.
"""

import json

#: the `kzoo fit` options each zero-shot recipe takes (any other one set is an error)
FIT_OPTIONS = {
    "tafenet": {"data", "seed", "set", "epochs", "batch_size", "learning_rate", "learning_rate_drops",
                "descriptions", "verbose"},
    "amaz": {"data", "seed", "set", "steps", "steps_per_epoch", "ways", "shots", "queries", "tasks", "logdir",
             "verbose"},
}
#: `kzoo fit amaz`'s task defaults (the paper's): the shared parser's are the few-shot ones
AMAZ_TASKS = {"ways": 10, "shots": 5, "queries": 3, "tasks": 10}


def _data(spec):
    from kzoo.zsl.evaluation import load

    data = load(spec)
    print(f"data: {data!r}")
    return data


def _data_record(data):
    return {"source": repr(data), "statistics": data.statistics(), "feature_backbone": data.extra.get("backbone")}


def fit(cls, args, parser_defaults):
    """Trains TAFE-Net or AMAZ on the seen classes, scores it on the test splits, saves and exports it."""
    import keras

    from kzoo.cli.arguments import adam, check_outputs, constructor_arguments, save_outputs

    name = cls.__name__.lower()
    args.data = args.data or "glyph_compositions"
    check_outputs(args)
    data = _data(args.data)
    keras.utils.set_random_seed(args.seed)
    if name == "tafenet":
        from kzoo.applications.tafenet import recipe

        tasks = recipe.class_descriptions(data, args.descriptions)
        model = cls(**constructor_arguments(cls, {"feature_dim": data.feature_dim, "task_dim": tasks.shape[1]},
                                            args.set))
        model.compile(adam(args.learning_rate) if args.learning_rate else None)
        training = recipe.train(model, data, args.descriptions, epochs=args.epochs, batch_size=args.batch_size,
                                seed=args.seed, verbose=1 if args.verbose else 2,
                                learning_rate_drops=args.learning_rate_drops or ())
        score = recipe.evaluate(model, data, args.descriptions, seed=args.seed)
        record = {"data": _data_record(data), "training": training, "evaluation": score,
                  "replay": recipe.replay(model, data, args.descriptions)}
    else:
        from kzoo.applications.amaz import recipe

        for key, value in AMAZ_TASKS.items():  # the paper's tasks unless the user chose others
            if getattr(args, key) == parser_defaults[key]:
                setattr(args, key, value)
        base = {"feature_dim": data.feature_dim, "attribute_dim": data.attribute_dim,
                "num_classes": int(data.seen_classes.size), "seed": args.seed,
                **(recipe.GLYPH_SIZES if args.data == "glyph_compositions" else {})}
        model = cls(**constructor_arguments(cls, base, args.set))
        model.compile()
        callbacks = []
        if args.logdir:  # the losses (Figure 9) and a 2-D projection of synthetic unseen features (Figure 6)
            from kzoo.applications.amaz import SyntheticFeatureProjection

            unseen = data.unseen_classes[:10]
            callbacks = [keras.callbacks.TensorBoard(args.logdir, update_freq=20),
                         SyntheticFeatureProjection(args.logdir, data.attributes[unseen],
                                                    [data.class_names[c] for c in unseen], per_class=50,
                                                    every=max(1, args.steps // args.steps_per_epoch // 5))]
        training = recipe.train(model, data, steps=args.steps, ways=args.ways, shots=args.shots,
                                queries=args.queries, tasks=args.tasks, seed=args.seed,
                                steps_per_epoch=args.steps_per_epoch, callbacks=callbacks,
                                verbose=1 if args.verbose else 2)
        score = recipe.evaluate(model, data, scale=training["feature_scale"], seed=args.seed)
        record = {"data": _data_record(data), "training": training, "evaluation": score}
    print(summary(name, score))
    save_outputs(model, args, record, f"{cls.__name__} trained by `kzoo fit` on {data.name}")


def evaluate(model, args):
    """Recomputes a zero-shot preset's test scores and prints them beside the recorded ones."""
    meta = getattr(model, "preset_metadata", {})
    data = _data(args.data or meta.get("data_spec", "glyph_compositions"))
    recorded = meta.get("evaluation", {})
    training = meta.get("training", {})
    if type(model).__name__ == "TAFENet":
        from kzoo.applications.tafenet import recipe

        score = recipe.evaluate(model, data, training.get("descriptions", "attributes"),
                                seed=training.get("seed", 0))
    else:
        from kzoo.applications.amaz import recipe

        score = recipe.evaluate(model, data, scale=recorded.get("feature_scale"), seed=recorded.get("seed", 0))
    name = type(model).__name__.lower()
    print(f"{args.preset}: {summary(name, score)}")
    if recorded:
        print(f"recorded in metadata: {summary(name, recorded)}")
    if args.json:
        print(json.dumps(score))


def summary(name, score):
    """One line of a zero-shot score: u/s/H and top-1 (TAFE-Net), or ZSL top-1, GZSL and retrieval (AMAZ)."""
    try:
        if name == "tafenet":
            return (f"GZSL u {100 * score['u']:.2f}% s {100 * score['s']:.2f}% H {100 * score['H']:.2f}%; "
                    f"ZSL top-1 {100 * score['zsl_unseen_only']:.2f}%; composition top-1 "
                    f"{100 * score['top1']:.2f}%, mAP {100 * score['mAP']:.2f}%")
        zsl = ", ".join(f"{k} {100 * v:.2f}%" for k, v in score["zsl"].items() if k != "mean_quality")
        text = f"ZSL top-1 {zsl}"
        for kind, gzsl in (score.get("gzsl") or {}).items():
            text += f"; GZSL {kind} u {100 * gzsl['u']:.2f}% s {100 * gzsl['s']:.2f}% H {100 * gzsl['H']:.2f}%"
        retrieval = score.get("retrieval", {})
        return text + "".join(f"; {k} {100 * v:.2f}%" for k, v in retrieval.items())
    except (KeyError, TypeError):
        return "(no score of this kind recorded)"
