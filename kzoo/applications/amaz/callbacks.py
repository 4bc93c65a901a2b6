"""TensorBoard view of AMAZ's synthetic features (the paper's Figure 6)."""

import io

import keras
import numpy as np
import tensorflow as tf


def project_2d(features):
    """The first two principal components of `[M, F]` features, `[M, 2]` (PCA via SVD)."""
    centered = np.asarray(features, np.float64) - np.mean(features, axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    return (centered @ vt[:2].T).astype(np.float32)


def plot_projection(points, labels, class_names=None, title="synthetic features (PCA)", path=None):
    """Scatter plot of 2-D points coloured by class; returns PNG bytes (and writes `path`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=80)
    for i, c in enumerate(np.unique(labels)):
        mask = labels == c
        name = class_names[c] if class_names is not None else str(c)
        ax.scatter(points[mask, 0], points[mask, 1], s=6, color=plt.cm.tab20(i % 20), label=name)
    if np.unique(labels).size <= 20:
        ax.legend(fontsize=6, markerscale=2, loc="best")
    ax.set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    if path is not None:
        with open(path, "wb") as f:
            f.write(buffer.getvalue())
    return buffer.getvalue()


class SyntheticFeatureProjection(keras.callbacks.Callback):
    """Writes a 2-D projection of synthetic unseen-class features to TensorBoard.

    At the end of every `every`-th epoch, draws `per_class` features for each class
    of `class_attributes` (with the model's synthesis sigma), projects them with
    PCA and writes the scatter plot as the image summary
    `synthetic_features/pca` at `step = model.optimizer.iterations`. (The paper
    uses t-SNE; PCA needs no extra dependency and is deterministic.)

    Args:
        log_dir: folder for the event files.
        class_attributes: `[C, A]` attributes of the classes to show (e.g. unseen).
        class_names: optional names for the legend.
        per_class: features per class. Defaults to `50`.
        every: epochs between plots. Defaults to `1`.
    """

    def __init__(self, log_dir, class_attributes, class_names=None, per_class=50, every=1):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"Expected `every` >= 1. Received: every={every!r}.")
        self.log_dir = str(log_dir)
        self.class_attributes = np.asarray(class_attributes, np.float32)
        self.class_names = class_names
        self.per_class = per_class
        self.every = every
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        features, labels = self.model.synthesize(self.class_attributes, self.per_class, seed=epoch)
        png = plot_projection(project_2d(features), labels, self.class_names,
                              title=f"synthetic features, epoch {epoch + 1} (PCA)")
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            tf.summary.image("synthetic_features/pca", tf.image.decode_png(png)[None],
                             step=self.model.optimizer.iterations)
        self._writer.flush()
