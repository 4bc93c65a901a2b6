"""Model2Vec (Achille et al., ICCV 2019, Sect. 3.4): embed models next to the tasks they solve well."""

import keras
import numpy as np
import tensorflow as tf

from kzoo.applications.task2vec.embedding import TaskEmbedding, _check_comparable


def soft_labels(errors, alpha=20.0, mask=None):
    """The soft best-expert labels of the supplementary (Sect. 4.3).

    p^(y_i) = Softmax(-alpha * (error_i - mean(error_i)) / std(error_i)) over the
    experts j allowed for task i (`mask[i, j]`), so large `alpha` tends to the one-hot
    label of the best expert.

    Args:
        errors: `[N, K]` test errors of a classifier for task i on expert j.
        alpha: the sharpness. Defaults to `20`.
        mask: optional bool `[N, K]`, `False` where expert j may not be chosen for
            task i (e.g. it was trained on task i). Defaults to all allowed.

    Returns:
        `[N, K]` rows summing to 1 (0 where masked).
    """
    errors = np.asarray(errors, np.float64)
    mask = np.ones_like(errors, bool) if mask is None else np.asarray(mask, bool)
    out = np.zeros_like(errors)
    for i in range(errors.shape[0]):
        e = errors[i, mask[i]]
        z = (e - e.mean()) / (e.std() + 1e-12)
        logits = -alpha * z
        p = np.exp(logits - logits.max())
        out[i, mask[i]] = p / p.sum()
    return out


def _pairwise_dsym(a, b):
    """d_sym between every row of a `[N, D]` and b `[K, D]` -> `[N, K]` (differentiable)."""
    a, b = a[:, None, :], b[None, :, :]
    total = a + b
    total = tf.where(total > 0, total, tf.ones_like(total))
    u, v = a / total, b / total
    cos = tf.reduce_sum(u * v, -1) / (tf.norm(u, axis=-1) * tf.norm(v, axis=-1) + 1e-12)
    return 1.0 - cos


class Model2Vec:
    """Model2Vec: model embeddings m_j = F_j + b_j learned to predict the best expert for a task.

    F_j is the Task2Vec embedding of the task expert j was trained on (zero if unknown)
    and b_j a learned "model bias" (Sect. 3.4). For a task t the prediction is
    p(j | t) = Softmax_j(-gamma * d_asym(m_j -> t)) with a learned gamma > 0, trained
    with the cross-entropy to the soft labels of `soft_labels` (supplementary Sect. 4.3:
    alpha = 20, Adam learning rate 0.05, weight decay 5e-4, 81 epochs). Embeddings are
    divided per filter by their RMS over the training tasks first (as the official
    code's normalised embeddings), so one learning rate fits every probe. The
    expert for a new task is argmin_j d_asym(m_j -> t).

    Args:
        experts: list of K `TaskEmbedding`s (the expert's training task) or `None`
            (unknown task: F_j = 0).
        alpha: the d_asym complexity weight. Defaults to `0.15`.
        label_alpha: the soft-label sharpness. Defaults to `20`.
        learning_rate: Adam learning rate. Defaults to `0.05`.
        weight_decay: weight decay of the model biases. Defaults to `5e-4`.
        epochs: full-batch training steps. Defaults to `81`.

    Example:

    >>> import numpy as np
    >>> from kzoo.applications.task2vec import TaskEmbedding
    >>> rng = np.random.RandomState(0)
    >>> tasks = [TaskEmbedding(rng.rand(6) + 0.1) for _ in range(8)]
    >>> m2v = Model2Vec(tasks[:3])
    >>> errors = np.tile([0.5, 0.1, 0.5], (8, 1))          # expert 1 is best everywhere
    >>> m2v.fit(tasks, errors).select_expert(tasks[0])
    1
    """

    def __init__(self, experts, alpha=0.15, label_alpha=20.0, learning_rate=0.05, weight_decay=5e-4, epochs=81):
        experts = list(experts)
        known = [e for e in experts if e is not None]
        if not known:
            raise ValueError("Expected at least one expert with a TaskEmbedding. Received: only None.")
        for e in known:
            _check_comparable(known[0], e)
        self.reference = known[0]
        dim = known[0].vector.size
        self.expert_vectors = np.stack([e.vector if e is not None else np.zeros(dim, np.float32) for e in experts])
        self.expert_trivial = np.stack([e.trivial if e is not None else np.zeros(dim, np.float32) for e in experts])
        self.alpha = alpha
        self.label_alpha = label_alpha
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.scale = None
        self.bias = np.zeros_like(self.expert_vectors)
        self.gamma = 1.0

    @property
    def num_experts(self):
        return self.expert_vectors.shape[0]

    def _task_matrix(self, tasks):
        tasks = list(tasks)
        for t in tasks:
            _check_comparable(self.reference, t)
        return np.stack([t.vector for t in tasks]).astype(np.float64)

    def _distances(self, task_matrix, bias):
        models = tf.maximum(tf.constant(self.expert_vectors / self.scale) + bias, 1e-6)
        trivial = tf.constant(self.expert_trivial / self.scale)
        tasks = tf.constant(task_matrix / self.scale)
        to_trivial = tf.linalg.diag_part(_pairwise_dsym(models, trivial))  # d_sym(m_j, t0_j)
        return tf.transpose(_pairwise_dsym(models, tasks)) - self.alpha * to_trivial[None, :]

    def fit(self, tasks, errors, mask=None):
        """Learns the model biases b_j and gamma.

        Args:
            tasks: N `TaskEmbedding`s.
            errors: `[N, K]` error of a classifier for task i on expert j.
            mask: optional bool `[N, K]`, `False` where expert j is excluded for
                task i (e.g. trained on it). Defaults to all allowed.

        Returns:
            `self`.
        """
        task_matrix = self._task_matrix(tasks)
        errors = np.asarray(errors, np.float64)
        if errors.shape != (task_matrix.shape[0], self.num_experts):
            raise ValueError(
                f"Expected `errors` of shape [{task_matrix.shape[0]}, {self.num_experts}] (tasks x experts). "
                f"Received: errors.shape={errors.shape}.")
        mask = np.ones_like(errors, bool) if mask is None else np.asarray(mask, bool)
        rms = np.sqrt(np.mean(task_matrix ** 2, axis=0))
        self.scale = np.where(rms > 0, rms, 1.0)
        targets = tf.constant(soft_labels(errors, self.label_alpha, mask))
        bias = tf.Variable(np.zeros_like(self.expert_vectors, np.float64), name="model_bias")
        log_gamma = tf.Variable(np.log(10.0), dtype=tf.float64, name="log_gamma")
        bias_optimizer = keras.optimizers.Adam(self.learning_rate, weight_decay=self.weight_decay)
        gamma_optimizer = keras.optimizers.Adam(self.learning_rate)
        penalty = tf.constant(np.where(mask, 0.0, -1e9))

        def loss_fn():
            logits = -tf.exp(log_gamma) * self._distances(task_matrix, bias) + penalty
            return -tf.reduce_mean(tf.reduce_sum(targets * tf.nn.log_softmax(logits, -1), -1))

        @tf.function
        def train():
            for _ in tf.range(self.epochs):
                with tf.GradientTape() as tape:
                    loss = loss_fn()
                grad_bias, grad_gamma = tape.gradient(loss, [bias, log_gamma])
                bias_optimizer.apply([grad_bias], [bias])
                gamma_optimizer.apply([grad_gamma], [log_gamma])
            return loss_fn()

        bias_optimizer.build([bias])
        gamma_optimizer.build([log_gamma])
        loss = train()
        if not (np.isfinite(float(loss)) and np.all(np.isfinite(bias.numpy())) and np.isfinite(log_gamma.numpy())):
            raise FloatingPointError(
                f"Model2Vec.fit diverged: the loss or the learned biases are NaN or inf. Lower "
                f"learning_rate={self.learning_rate:g}."
            )
        self.bias = bias.numpy()
        self.gamma = float(np.exp(log_gamma.numpy()))
        self.final_loss = float(loss)
        return self

    def distances(self, tasks):
        """`[N, K]` learned d_asym(m_j -> t_i)."""
        if self.scale is None:
            raise ValueError("Model2Vec is not fitted: call `fit(tasks, errors)` first.")
        return self._distances(self._task_matrix(tasks), tf.constant(self.bias)).numpy()

    def select_expert(self, task, exclude=()):
        """The index of the expert closest to `task` (a `TaskEmbedding`), skipping `exclude`."""
        d = self.distances([task])[0]
        d[list(exclude)] = np.inf
        return int(np.argmin(d))

    @classmethod
    def leave_one_out(cls, experts, tasks, errors, mask=None, **options):
        """Leave-one-out selections: for each task i, fit on the other tasks and select for task i.

        Returns:
            int array `[N]`: the selected expert per task (never a masked one).
        """
        tasks = list(tasks)
        errors = np.asarray(errors, np.float64)
        mask = np.ones_like(errors, bool) if mask is None else np.asarray(mask, bool)
        chosen = []
        for i in range(len(tasks)):
            keep = [k for k in range(len(tasks)) if k != i]
            model = cls(experts, **options).fit([tasks[k] for k in keep], errors[keep], mask[keep])
            chosen.append(model.select_expert(tasks[i], exclude=np.flatnonzero(~mask[i])))
        return np.array(chosen)


__all__ = ["Model2Vec", "TaskEmbedding", "soft_labels"]
