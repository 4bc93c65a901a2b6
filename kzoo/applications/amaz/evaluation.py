"""AMAZ's test protocols: ZSL, GZSL and zero-shot retrieval from synthetic features."""

import numpy as np

from kzoo.applications.amaz.classifiers import train_final_classifiers
from kzoo.applications.amaz.losses import quality_weights
from kzoo.metrics import class_accuracies, mean_confidence_interval
from kzoo.metrics import gzsl_scores as gzsl_metric

CLASSIFIERS = ("softmax", "weighted_softmax", "svm", "weighted_svm")
#: the defaults: the linear SVMs fit the synthetic features and score well below the softmax on the
#: real ones, however long they train (applications/amaz/svm_convergence.py; README, "Final
#: classifiers"), so they are opt-in
DEFAULT_CLASSIFIERS = ("softmax", "weighted_softmax")


def _predict(classifier, features):
    return np.asarray(classifier.predict(np.asarray(features, np.float32), batch_size=4096, verbose=0)).argmax(-1)


def synthetic_training_set(model, class_attributes, classes, num_per_class, seed=0):
    """Synthetic features of `classes`, their labels 0..len(classes)-1 and quality `Q(a')` (eq. 12)."""
    attributes = np.asarray(class_attributes, np.float32)[np.asarray(classes)]
    features, labels = model.synthesize(attributes, num_per_class, seed=seed)
    quality = quality_weights(attributes[labels], model.reconstruct_attributes(features)).numpy()
    return features, labels, quality


def zsl_scores(model, test_features, test_labels, class_attributes, unseen_classes, num_per_class=100,
               kinds=DEFAULT_CLASSIFIERS, seed=0, **options):
    """ZSL: classifiers trained on synthetic unseen features classify real unseen ones.

    Args:
        model: a trained `AMAZ`.
        test_features: `[M, F]` real features of unseen classes.
        test_labels: `[M]` their classes (rows of `class_attributes`).
        class_attributes: `[C, A]`.
        unseen_classes: the unseen classes (the classifiers' label space).
        num_per_class: synthetic features per class (the paper: 100).
        kinds: final classifiers, some of `CLASSIFIERS` (the four of Table II).
            Defaults to `DEFAULT_CLASSIFIERS` (the two softmax ones).
        seed: synthesis and classifier seed. Defaults to `0`.

    Returns:
        `{kind: mean per-class top-1 accuracy}`, `"ci95"`: `{kind: 95% CI half-width
        over classes}`, `"per_class"`: `{kind: [U]}` and `"mean_quality"`.
    """
    unseen = np.asarray(unseen_classes)
    index = {c: i for i, c in enumerate(unseen.tolist())}
    y_true = np.array([index[c] for c in np.asarray(test_labels).tolist()])
    features, labels, quality = synthetic_training_set(model, class_attributes, unseen, num_per_class, seed)
    classifiers = train_final_classifiers(features, labels, unseen.size, quality, kinds=kinds, seed=seed, **options)
    scores, per_class, ci = {}, {}, {}
    for kind, classifier in classifiers.items():
        accuracies, scores[kind] = class_accuracies(y_true, _predict(classifier, test_features), unseen.size)
        per_class[kind] = accuracies.tolist()
        ci[kind] = mean_confidence_interval(accuracies[np.isfinite(accuracies)])[1]
    scores["ci95"] = ci
    scores["per_class"] = per_class
    scores["mean_quality"] = float(quality.mean())
    return scores


def gzsl_scores(model, seen_features, seen_labels, unseen_features, unseen_labels, class_attributes, seen_classes,
                unseen_classes, num_per_class=300, kinds=("weighted_softmax",), seed=0, **options):
    """GZSL: classifiers over seen + unseen classes, trained on synthetic features of both.

    The paper synthesizes 300 features per class for seen and unseen classes
    alike ("synthesized features instead of real data for seen classes to avoid
    bias"). Scored on real test features of seen (S) and unseen (U) classes, each as
    the mean per-class top-1 accuracy over all classes' label space, and H.

    Returns:
        `{kind: {"u": U, "s": S, "H": H}}` (`kzoo.zsl.gzsl_scores`).
    """
    classes = np.concatenate([np.asarray(seen_classes), np.asarray(unseen_classes)])
    features, labels, quality = synthetic_training_set(model, class_attributes, classes, num_per_class, seed)
    classifiers = train_final_classifiers(features, labels, classes.size, quality, kinds=kinds, seed=seed, **options)
    out = {}
    for kind, classifier in classifiers.items():
        out[kind] = gzsl_metric(np.asarray(seen_labels), classes[_predict(classifier, seen_features)],
                                np.asarray(unseen_labels), classes[_predict(classifier, unseen_features)])
    return out


def retrieval_precision(model, test_features, test_labels, class_attributes, unseen_classes, num_per_class=100,
                        top_k=(5, 10), seed=0):
    """Zero-shot retrieval: the mean of `num_per_class` synthetic features of each
    unseen class retrieves its `k` nearest real unseen features (cosine similarity);
    precision@k is the fraction of them from that class, averaged over classes.

    Returns:
        `{"ap@5": ..., "ap@10": ...}` (the paper's "average precision").
    """
    unseen = np.asarray(unseen_classes)
    features, labels = model.synthesize(np.asarray(class_attributes, np.float32)[unseen], num_per_class, seed=seed)
    centers = np.stack([features[labels == i].mean(0) for i in range(unseen.size)])
    real = np.asarray(test_features, np.float32)

    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    ranking = np.argsort(-unit(centers) @ unit(real).T, axis=1)
    truth = np.asarray(test_labels)[ranking] == unseen[:, None]
    return {f"ap@{k}": float(truth[:, :k].mean()) for k in top_k}
