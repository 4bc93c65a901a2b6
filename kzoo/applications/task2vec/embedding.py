"""Task2Vec embeddings and their distances (Achille et al., ICCV 2019, Sect. 3.3)."""

import json
from pathlib import Path

import numpy as np

from kzoo.files import atomic_path


class TaskEmbedding:
    """A Task2Vec embedding: one value per probe filter, with what produced it.

    Attributes:
        vector: float32 `[num_filters]`, the per-filter Fisher information (Monte
            Carlo) or precision per image F + (beta / N) lambda^2 (expected; learned
            for variational); the mean probe activations for `method="domain"`.
        trivial: float32 `[num_filters]`, the trivial embedding t0 of Sect. 3.1 (the
            prior's (beta / N) lambda^2 for expected and variational; zeros for the
            others).
        method: `"montecarlo"`, `"expected"`, `"variational"` or `"domain"`.
        probe: a fingerprint of the probe (name, layers, filters and a hash of the
            weights): embeddings of different probes cannot be compared.
        metadata: dict (task name, images, classes, seed, head accuracy, layers...).
    """

    def __init__(self, vector, trivial=None, method="expected", probe="", metadata=None):
        self.vector = np.asarray(vector, np.float32)
        if self.vector.ndim != 1:
            raise ValueError(f"Expected a 1-D `vector`. Received: shape {self.vector.shape}.")
        self.trivial = np.zeros_like(self.vector) if trivial is None else np.asarray(trivial, np.float32)
        if self.trivial.shape != self.vector.shape:
            raise ValueError(
                f"Expected `trivial` of shape {self.vector.shape}. Received: shape {self.trivial.shape}.")
        self.method = method
        self.probe = probe
        self.metadata = dict(metadata or {})

    @property
    def name(self):
        return self.metadata.get("name", "")

    def __repr__(self):
        return (f"<TaskEmbedding {self.name!r}: {self.method}, {self.vector.size} filters, "
                f"L1 norm {float(np.abs(self.vector).sum()):.4g}>")

    def save(self, path):
        """Writes the embedding to a `.npz` file (atomically)."""
        path = Path(path)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, vector=self.vector, trivial=self.trivial, method=self.method, probe=self.probe,
                     metadata=json.dumps(self.metadata))
        return path

    @classmethod
    def load(cls, path):
        """Reads an embedding written by `save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["vector"], data["trivial"], method=str(data["method"]), probe=str(data["probe"]),
                           metadata=json.loads(str(data["metadata"])))
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"Expected a TaskEmbedding .npz file. Received: {str(path)!r} ({error}).") from error


def _check_comparable(a, b):
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, TaskEmbedding):
            raise ValueError(f"Expected `{name}` to be a TaskEmbedding. Received: {type(value).__name__}.")  # noqa: TRY004 (kzoo raises ValueError for bad input)
    if a.probe != b.probe or a.vector.shape != b.vector.shape:
        raise ValueError(
            "Expected embeddings computed on the same probe network. Received: "
            f"{a.name or 'a'!r} from probe {a.probe!r} and {b.name or 'b'!r} from probe {b.probe!r}."
        )
    if a.method != b.method:
        raise ValueError(f"Expected embeddings of the same method. Received: {a.method!r} and {b.method!r}.")


def _cosine_distance(u, v):
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0.0 or nv == 0.0:
        return 1.0
    if np.array_equal(u, v):
        return 0.0
    return float(max(0.0, 1.0 - np.dot(u, v) / (nu * nv)))


def _sym(fa, fb):
    total = fa + fb
    total = np.where(total > 0, total, 1.0)
    return _cosine_distance(fa / total, fb / total)


def d_sym(a, b):
    """The symmetric Task2Vec distance (Sect. 3.3).

    d_sym(F_a, F_b) = d_cos(F_a / (F_a + F_b), F_b / (F_a + F_b)), element-wise
    division, d_cos the cosine distance (a zero vector is at distance 1).

    Args:
        a, b: `TaskEmbedding`s of the same probe and method.

    Returns:
        A float in [0, 2]; 0 iff the embeddings are proportional.
    """
    _check_comparable(a, b)
    return _sym(a.vector.astype(np.float64), b.vector.astype(np.float64))


def d_asym(a, b, alpha=0.15):
    """The asymmetric Task2Vec "distance" a -> b (Sect. 3.3): transfer from task a to task b.

    d_asym(t_a -> t_b) = d_sym(t_a, t_b) - alpha * d_sym(t_a, t_0), where t_0 is the
    trivial embedding of a: the more complex the source task a (the farther from
    t_0), the smaller the score, so complex source tasks (models) come closer.

    Args:
        a: the source task (e.g. the task an expert was trained on).
        b: the target task.
        alpha: the complexity weight. Defaults to `0.15` (the paper's).
    """
    _check_comparable(a, b)
    fa = a.vector.astype(np.float64)
    return _sym(fa, b.vector.astype(np.float64)) - alpha * _sym(fa, a.trivial.astype(np.float64))


def distance_matrix(embeddings, distance="sym", alpha=0.15):
    """`[n, n]` matrix of `d_sym` (or `d_asym(row -> column)` for `distance="asym"`)."""
    if distance not in ("sym", "asym"):
        raise ValueError(f'Expected `distance` "sym" or "asym". Received: distance={distance!r}.')
    n = len(embeddings)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = d_sym(embeddings[i], embeddings[j]) if distance == "sym" else \
                d_asym(embeddings[i], embeddings[j], alpha)
    return out
