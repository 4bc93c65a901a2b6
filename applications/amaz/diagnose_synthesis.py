"""Diagnostic: where do synthetic features stop matching real ones?

    python applications/amaz/diagnose_synthesis.py STEPS OUTPUT_ACTIVATION(linear|relu) [TASKS] [MODULATE(1|0)]

Trains AMAZ (glyph sizes, dropout 0, 10-way 5/3-shot) for STEPS meta-iterations, then prints,
for real (scaled) trainval features and for G's output on a training task batch
(training=True, sigma 0.1) and at synthesis (training=False, sigma 0.1 and 1), the mean value and
the mean per-dimension std; and the nearest-class-mean accuracy of real test features against the
means of 20 synthetic features per class (seen: test_seen over the 519 seen classes; unseen:
test_unseen over the 173 unseen classes; chance 0.2% / 0.6%), with BatchNorm in inference mode
(moving statistics) and in batch-statistics mode.
"""
import sys, time
import numpy as np, tensorflow as tf, keras
from kzoo import zsl
from kzoo.applications.amaz import AMAZ, zero_shot_tasks

data = zsl.glyph_compositions(verbose=0)
x, y = data.split("trainval"); scale = x.max(); x = x / scale
tx, ty = data.split("test_seen"); tx = tx / scale
ux, uy = data.split("test_unseen"); ux = ux / scale
seen, unseen = data.seen_classes, data.unseen_classes
steps = int(sys.argv[1]); act = None if sys.argv[2] == "linear" else sys.argv[2]
T = int(sys.argv[3]) if len(sys.argv) > 3 else 10
mod = (sys.argv[4] == "1") if len(sys.argv) > 4 else True
keras.utils.set_random_seed(0)
ds = zero_shot_tasks(x, y, data.attributes, seen, tasks=T)
m = AMAZ(feature_dim=256, attribute_dim=81, num_classes=len(seen), generator_units=(256, 256, 256), embedding_dim=128,
         discriminator_units=(256, 128), classifier_units=(128, 128), decoder_units=(256, 128),
         meta_learning_rates=(1e-3,) * 3, dropout=0.0, modulate=mod, output_activation=act)
m.compile()
t = time.time()
h = m.fit(ds, steps_per_epoch=steps, verbose=0)
print("steps", steps, "act", act, "T", T, "mod", mod, "train s", round(time.time() - t),
      {k: round(v[-1], 3) for k, v in h.history.items()}, flush=True)
stat = lambda f: (round(float(f.mean()), 3), round(float(f.std(0).mean()), 3), round(float((f < 0).mean()), 3))
print("real trainval mean/std/neg", stat(x))
batch = next(iter(ds))
real, attributes, noise, emb = m._task_inputs(batch, "support", True)
fake = m.generate(noise, attributes, emb, training=True).numpy().reshape(-1, 256)
print("train-mode fake (task batch, sigma .1)", stat(fake))

def synth(classes, sigma, batch_stats, n=20):
    a = data.attributes[classes].astype(np.float32)
    labels = np.repeat(np.arange(len(classes)), n)
    z = sigma * np.random.RandomState(0).normal(size=(labels.size, m.noise_dim)).astype(np.float32)
    if batch_stats:
        aa = a[labels][:, None, :]
        e = m.task_embedding(aa, False) if mod else None
        f = m.generate(z[:, None, :], aa, e, training=True).numpy()[:, 0]
    else:
        f, labels = m.synthesize(a, n, sigma=sigma)
    return f, labels

def ncm(classes, rx, ry, sigma, batch_stats):
    f, l = synth(classes, sigma, batch_stats)
    means = np.stack([f[l == i].mean(0) for i in range(len(classes))])
    d = ((rx[:, None] - means[None]) ** 2).sum(-1)
    return round(float((classes[d.argmin(1)] == ry).mean()), 4), stat(f)

for bs in (False, True):
    for sigma in (0.1, 1.0):
        print("batch_stats" if bs else "moving_stats", "sigma", sigma, "seen NCM", ncm(seen, tx, ty, sigma, bs),
              "unseen NCM", ncm(unseen, ux, uy, sigma, bs), flush=True)
