"""Episode grids as PNG: one row per class, support images then query images."""

import numpy as np

from kzoo.files import atomic_path


def plot_episode(episode, path, class_names=None, task=0, title=None):
    """Draws task `task` of a sampled batch as a grid and writes it to `path` (PNG).

    Args:
        episode: a dict from `FewShotSampler(...)(step)` (support_x, support_y,
            query_x, query_y and optionally classes/rotations), as tensors or arrays.
        path: the PNG file to write (atomically: temporary file, then rename).
        class_names: optional list mapping source class ids to names, shown at the
            start of each row (needs `episode["classes"]`).
        task: which task of the batch to draw. Defaults to `0`.
        title: optional figure title.

    Row n shows class n: its labelled support images (blue frame), its unlabeled
    support images if any (grey frame, label -1) and its query images.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = {k: np.asarray(v)[task] for k, v in episode.items()}
    ways = int(e["query_y"].max()) + 1 if e["query_y"].size else int(e["support_y"].max()) + 1
    rows = []
    for n in range(ways):
        labelled = e["support_x"][e["support_y"] == n]
        # unlabeled support samples are laid out right after their class's labelled ones
        per_class = len(e["support_y"]) // ways
        block = slice(n * per_class, (n + 1) * per_class)
        unlabeled = e["support_x"][block][e["support_y"][block] == -1]
        rows.append((labelled, unlabeled, e["query_x"][e["query_y"] == n]))
    cols = max(len(a) + len(b) + len(c) for a, b, c in rows)
    fig, axes = plt.subplots(ways, cols, figsize=(0.7 * cols + 1.2, 0.7 * ways + 0.6), squeeze=False)
    for n, (labelled, unlabeled, query) in enumerate(rows):
        images = [(im, "tab:blue") for im in labelled] + [(im, "0.6") for im in unlabeled]
        images += [(im, "white") for im in query]
        for j, ax in enumerate(axes[n]):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(images):
                image, colour = images[j]
                ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray_r", vmin=0, vmax=1)
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_edgecolor(colour)
                    spine.set_linewidth(2)
        label = f"{n}"
        if class_names is not None and "classes" in e:
            label = f"{n}: {class_names[int(e['classes'][n])]}"
            if "rotations" in e and int(e["rotations"][n]):
                label += f" ({90 * int(e['rotations'][n])}°)"
        axes[n][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle(title or f"{ways}-way episode: support (blue frame), unlabeled (grey), queries", fontsize=9)
    fig.tight_layout()
    _save_atomically(fig, path)
    plt.close(fig)
    return path


def _save_atomically(fig, path):
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
