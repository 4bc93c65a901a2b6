"""Evaluating expert selection with Task2Vec (Sect. 4.2-4.3): the ground-truth error of an expert, and the taxonomy check.

>>> import numpy as np
>>> d = np.array([[0, 1, 4], [1, 0, 4], [4, 4, 0]], float)
>>> taxonomy_correlation(d, ["a", "a", "b"], np.random.RandomState(0), permutations=10)["within_family_mean"]
1.0
"""

import numpy as np

#: script families (writing-system genealogy) of the glyph scripts and Omniglot alphabets
SCRIPT_FAMILIES = {
    "Latin": "European", "Greek": "European", "Cyrillic": "European", "Armenian": "Caucasian",
    "Georgian": "Caucasian", "Hebrew": "Semitic", "Arabic": "Semitic", "Early_Aramaic": "Semitic",
    "Tifinagh": "Semitic", "Lao": "Brahmic", "Sanskrit": "Brahmic", "Balinese": "Brahmic", "Tagalog": "Brahmic",
    "Japanese_(katakana)": "East Asian", "Korean": "East Asian", "Ogham": "Ogham",
}


def linear_probe_error(extractor, task, ridge=1e-2):
    """Test error of a ridge-regression (one-hot targets) linear classifier on the extractor's features."""
    f_train = extractor.predict(task["x_train"], batch_size=256, verbose=0).astype(np.float64)
    f_test = extractor.predict(task["x_test"], batch_size=256, verbose=0).astype(np.float64)
    mean, std = f_train.mean(0), f_train.std(0) + 1e-6
    f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
    f_train = np.hstack([f_train, np.ones((len(f_train), 1))])
    f_test = np.hstack([f_test, np.ones((len(f_test), 1))])
    targets = np.eye(int(task["y_train"].max()) + 1)[task["y_train"]]
    w = np.linalg.solve(f_train.T @ f_train + ridge * len(f_train) * np.eye(f_train.shape[1]), f_train.T @ targets)
    return float(np.mean(np.argmax(f_test @ w, 1) != task["y_test"]))


def taxonomy_correlation(distances, families, rng, permutations=2000):
    """Mean within- vs across-family d_sym, the point-biserial correlation and a label-permutation p-value."""
    n = len(families)
    iu = np.triu_indices(n, 1)
    fam = np.array(families)

    def stats(f):
        different = (f[:, None] != f[None, :])[iu].astype(float)
        return np.corrcoef(different, distances[iu])[0, 1], different

    r, different = stats(fam)
    null = np.array([stats(rng.permutation(fam))[0] for _ in range(permutations)])
    return {"within_family_mean": float(distances[iu][different == 0].mean()),
            "across_family_mean": float(distances[iu][different == 1].mean()),
            "pairs_within": int((different == 0).sum()), "pairs_across": int((different == 1).sum()),
            "correlation": float(r), "permutation_p": float((np.sum(null >= r) + 1) / (permutations + 1))}
