"""Few-shot episodes from your own images: one folder per class.

    python examples/own_images.py /path/to/images      # root/<class>/*.png or root/<group>/<class>/*.png

Without an argument it writes a tiny demo folder first. Shows the episode contract,
renders one episode to own_images_episode.png and scores a freshly built ProtoNet.
"""

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

from kzoo import episodes
from kzoo.applications import ProtoNet
from kzoo.episodes.plot import plot_episode


def demo_folder():
    root = tempfile.mkdtemp(prefix="kzoo-images-")
    rng = np.random.RandomState(0)
    for c in range(8):
        pattern = rng.rand(8, 8) > 0.5
        os.makedirs(f"{root}/shape{c}")
        for i in range(5):
            image = np.roll(np.kron(pattern, np.ones((4, 4))), rng.randint(-2, 3), axis=1) * 255
            Image.fromarray(image.astype("uint8")).save(f"{root}/shape{c}/{i}.png")
    return root


root = sys.argv[1] if len(sys.argv) > 1 else demo_folder()
source = episodes.image_folder(root, image_size=28)
print(source)

sampler = episodes.FewShotSampler(source, ways=4, shots=1, queries=3, tasks=2, seed=0)
episode = sampler(0)
for key in ("support_x", "support_y", "query_x", "query_y"):
    print(f"{key:10s} {episode[key].dtype.name:8s} {tuple(episode[key].shape)}")
plot_episode(episode, "own_images_episode.png", class_names=source.class_names)
print("wrote own_images_episode.png")

model = ProtoNet(example_shape=source.image_shape, channels=16)
x = {k: episode[k] for k in ("support_x", "support_y", "query_x")}
print("query logits:", model.predict(x, verbose=0).shape)
