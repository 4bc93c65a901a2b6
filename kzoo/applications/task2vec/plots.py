"""PNG plots of task distances: a clustered distance matrix and a 2-D map (Task2Vec Figs. 1-2)."""

from pathlib import Path

import numpy as np

from kzoo.files import atomic_path


def _check_square(distances, names):
    distances = np.asarray(distances, np.float64)
    if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
        raise ValueError(f"Expected a square `distances` matrix. Received: shape {distances.shape}.")
    if len(names) != distances.shape[0]:
        raise ValueError(f"Expected {distances.shape[0]} `names`. Received: {len(names)}.")
    return distances


def _save(figure, path):
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=120, bbox_inches="tight")
    return path


def _group_colors(groups):
    import matplotlib

    names = sorted(set(groups))
    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {g: cmap(i % cmap.N) for i, g in enumerate(names)}


def clustering_order(distances):
    """Leaf order of average-linkage hierarchical clustering of a symmetric distance matrix."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    symmetric = 0.5 * (distances + distances.T)
    np.fill_diagonal(symmetric, 0.0)
    return leaves_list(linkage(squareform(np.maximum(symmetric, 0.0), checks=False), method="average"))


def plot_distance_matrix(distances, names, path, groups=None, title="Task2Vec d_sym"):
    """Writes the distance matrix, rows/columns in hierarchical-clustering order, as a PNG.

    Args:
        distances: `[n, n]` symmetric distances (e.g. `task2vec.distance_matrix`).
        names: n task names.
        path: the PNG file to write.
        groups: optional n group names (e.g. script family), drawn as a colour bar.
        title: the figure title.

    Returns:
        The leaf order used (int array `[n]`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    distances = _check_square(distances, names)
    order = clustering_order(distances)
    n = len(names)
    figure, ax = plt.subplots(figsize=(0.32 * n + 3, 0.32 * n + 2))
    image = ax.imshow(distances[np.ix_(order, order)], cmap="viridis")
    labels = [names[i] for i in order]
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    if groups is not None:
        colors = _group_colors(groups)
        for tick, i in zip(ax.get_yticklabels(), order):
            tick.set_color(colors[groups[i]])
        for tick, i in zip(ax.get_xticklabels(), order):
            tick.set_color(colors[groups[i]])
    figure.colorbar(image, ax=ax, fraction=0.04)
    ax.set_title(title)
    _save(figure, path)
    plt.close(figure)
    return order


def classical_mds(distances, dims=2):
    """`[n, dims]` coordinates whose Euclidean distances approximate `distances` (Torgerson MDS)."""
    d = 0.5 * (distances + distances.T)
    n = d.shape[0]
    centering = np.eye(n) - np.ones((n, n)) / n
    gram = -0.5 * centering @ (d ** 2) @ centering
    values, vectors = np.linalg.eigh(gram)
    top = np.argsort(values)[::-1][:dims]
    return vectors[:, top] * np.sqrt(np.maximum(values[top], 0.0))


def plot_embedding_2d(distances, names, path, groups=None, title="Task2Vec embeddings (MDS of d_sym)"):
    """Writes a 2-D projection (classical MDS of the distances) of the task embeddings as a PNG.

    Returns:
        The `[n, 2]` coordinates.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    distances = _check_square(distances, names)
    points = classical_mds(distances)
    figure, ax = plt.subplots(figsize=(7, 6))
    colors = _group_colors(groups) if groups is not None else None
    for i, name in enumerate(names):
        color = colors[groups[i]] if colors else "C0"
        ax.scatter(points[i, 0], points[i, 1], color=color, s=30)
        ax.annotate(name, points[i], fontsize=7, xytext=(3, 3), textcoords="offset points")
    if colors:
        for group, color in colors.items():
            ax.scatter([], [], color=color, label=group)
        ax.legend(fontsize=7, loc="best")
    ax.set_title(title)
    _save(figure, path)
    plt.close(figure)
    return points
