"""Semi-supervised HyperTransformer on Omniglot: 20-way 1-shot plus u unlabeled samples per class.

    python applications/hypertransformer/semi_supervised.py            # u = 2 and 4
    python applications/hypertransformer/semi_supervised.py --unlabeled 0 2 4

Same recipe as the supervised `ht_logits_8ch_1shot` run of reproduce.sh (8 channels,
logits generated, 70/10/20 alphabet split seed 0, 20-way 1-shot 5 queries, T=4, 3,000
steps, Adam 1e-3, rotations), with u extra support samples per class labelled -1 in
training and at test time. Unlabeled tokens are introduced incrementally (Section 5.3):
`UnlabeledDropSchedule` masks a random fraction p ~ U(0, m) of them per task, with m
going from 1 to 0 over the first half of training. Test: 600 episodes (seed 1234,
15 queries per class) of the held-out alphabet, each with the same u unlabeled samples
per class; the u = 0 episodes are the ones every other model in this folder is scored on.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from kzoo import episodes
from kzoo.applications import HyperTransformer
from kzoo.applications.hypertransformer import UnlabeledDropSchedule
from kzoo.training import evaluate_episodes, format_score
from kzoo.training.recipe import split_source

RESULTS = Path(__file__).resolve().parent / "results"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unlabeled", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--data", default=None, help="Omniglot folder (default: kzoo's default path)")
    args = parser.parse_args()
    source = episodes.omniglot(args.data or episodes.default_omniglot_path())
    train, _, test = split_source(source)
    for u in args.unlabeled:
        keras.utils.set_random_seed(0)
        model = HyperTransformer(num_ways=20, channels=8, generate="logits")
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        callbacks = [UnlabeledDropSchedule(steps=args.steps // 2, initial=1.0)] if u else []
        start = time.perf_counter()
        model.fit(episodes.few_shot(train, 20, 1, 5, tasks=4, rotations=True, unlabeled=u, seed=0),
                  steps_per_epoch=args.steps // 4, epochs=4, callbacks=callbacks, verbose=2)
        seconds = time.perf_counter() - start
        test_episodes = episodes.few_shot(test, 20, 1, 15, tasks=20, unlabeled=u, seed=1234, batches=30)
        score = evaluate_episodes(model, test_episodes, verbose=0)
        print(f"u={u} unlabeled per class: held-out 20-way 1-shot accuracy {format_score(score)}", flush=True)
        record = {"unlabeled": u, "steps": args.steps, "train_seconds": round(seconds, 1),
                  "accuracy": score["accuracy"], "ci95": score["ci95"], "episodes": score["episodes"]}
        RESULTS.mkdir(exist_ok=True)
        tmp = RESULTS / f".semi_u{u}.json.tmp"
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, RESULTS / f"semi_u{u}.json")


if __name__ == "__main__":
    main()
