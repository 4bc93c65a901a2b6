"""Zero-shot evaluation of a compatibility scorer: GZSL u/s/H, ZSL top-1, composition top-k and mAP.

A scorer maps features `[B, D]` to class scores `[B, C]` over all C classes (seen and
unseen), e.g. `TAFENet.predict(features, tasks=descriptions)` or a bilinear baseline.
"""

import numpy as np

from kzoo.metrics import gzsl_scores, harmonic_mean, mean_average_precision, per_class_accuracy, top_k_accuracy


def load(spec):
    """The `ZeroShotData` of a data spec: `"glyph_compositions"` (built in) or `"xlsa17:DIR"`.

    >>> load("mnist")
    Traceback (most recent call last):
    ...
    ValueError: Expected a zero-shot data spec: glyph_compositions or xlsa17:DIR (res101.mat + att_splits.mat). Received: 'mnist'.
    """
    from kzoo.zsl.compositional import glyph_compositions
    from kzoo.zsl.xlsa17 import load_xlsa17

    kind, _, path = spec.partition(":")
    if kind == "glyph_compositions" and not path:
        return glyph_compositions(verbose=0)
    if kind == "xlsa17" and path:
        return load_xlsa17(path)
    raise ValueError(f"Expected a zero-shot data spec: glyph_compositions or xlsa17:DIR (res101.mat + "
                     f"att_splits.mat). Received: {spec!r}.")


def bootstrap_intervals(y_seen, pred_seen, y_unseen, pred_unseen, top1_hits, seed=0, rounds=1000):
    """95% bootstrap intervals (2.5 / 97.5 percentiles) of u, s, H (classes resampled) and top-1 (images resampled)."""
    rng = np.random.default_rng([seed, 99])
    acc_s = np.array([np.mean(pred_seen[y_seen == c] == c) for c in np.unique(y_seen)])
    acc_u = np.array([np.mean(pred_unseen[y_unseen == c] == c) for c in np.unique(y_unseen)])
    draws = {k: [] for k in ("u", "s", "H", "top1")}
    for _ in range(rounds):
        s = acc_s[rng.integers(0, acc_s.size, acc_s.size)].mean()
        u = acc_u[rng.integers(0, acc_u.size, acc_u.size)].mean()
        draws["s"].append(s)
        draws["u"].append(u)
        draws["H"].append(harmonic_mean(u, s))
        draws["top1"].append(top1_hits[rng.integers(0, top1_hits.size, top1_hits.size)].mean())
    return {k: [round(float(v), 4) for v in np.percentile(d, [2.5, 97.5])] for k, d in draws.items()}


def score_compatibility(data, scorer, seed=0, calibration=None):
    """Scores `scorer` on the test splits of `data`.

    - GZSL (Xian et al.): test-seen and test-unseen images against all classes,
      per-class top-1 `u`, `s` and their harmonic mean `H`.
    - ZSL: test-unseen images against the unseen classes only (`zsl_unseen_only`,
      per-class; `top1`..`top3` per image, and retrieval `mAP`, the composition
      metrics of Misra et al.).

    Args:
        data: a `ZeroShotData`.
        scorer: callable, features `[B, D]` -> scores `[B, C]` over all classes.
        seed: seed of the bootstrap intervals. Defaults to `0`.
        calibration: optional gamma of calibrated stacking (Chao et al. 2016,
            `kzoo.zsl.validation.calibrated_predictions`), chosen on validation data
            (`choose_calibration`); the GZSL scores with it are added as
            `"calibrated": {"gamma", "u", "s", "H", "ci95"}`. Defaults to `None`.

    Returns:
        A dict of floats (rounded to 4 digits), `ci95` (bootstrap intervals) and an
        `evaluation` sentence.
    """
    xs, ys = data.split("test_seen")
    xu, yu = data.split("test_unseen")
    scores_seen, scores_unseen = np.asarray(scorer(xs)), np.asarray(scorer(xu))
    pred_seen, pred_unseen = np.argmax(scores_seen, 1), np.argmax(scores_unseen, 1)
    result = {k: round(v, 4) for k, v in gzsl_scores(ys, pred_seen, yu, pred_unseen).items()}
    unseen = data.unseen_classes
    result["zsl_unseen_only"] = round(per_class_accuracy(yu, unseen[np.argmax(scores_unseen[:, unseen], 1)]), 4)
    target = np.searchsorted(unseen, yu)
    ranked = scores_unseen[:, unseen]
    result.update({f"top{k}": round(top_k_accuracy(target, ranked, k), 4) for k in (1, 2, 3)})
    result["mAP"] = round(mean_average_precision(target, ranked), 4)
    hits = np.argmax(ranked, 1) == target
    result["ci95"] = bootstrap_intervals(ys, pred_seen, yu, pred_unseen, hits, seed=seed)
    if calibration is not None:
        from kzoo.zsl.validation import calibrated_predictions

        cal_seen = calibrated_predictions(scores_seen, data.seen_classes, calibration)
        cal_unseen = calibrated_predictions(scores_unseen, data.seen_classes, calibration)
        calibrated = {k: round(v, 4) for k, v in gzsl_scores(ys, cal_seen, yu, cal_unseen).items()}
        intervals = bootstrap_intervals(ys, cal_seen, yu, cal_unseen, hits, seed=seed)
        result["calibrated"] = {"gamma": float(calibration), **calibrated,
                                "ci95": {k: intervals[k] for k in ("u", "s", "H")}}
    result["evaluation"] = (f"GZSL: per-class top-1 of {len(ys)} test-seen and {len(yu)} test-unseen images "
                            f"against all {data.num_classes} classes; composition: the {len(yu)} test-unseen "
                            f"images ranked over the {unseen.size} unseen pairs (top-k, retrieval mAP)")
    return result
