"""Diagnostic: does AMAZ's synthesis align with real features as meta-training goes on?

    python applications/amaz/diagnose_alignment.py TASKS STEPS MODULATE(1|0)

Every 200 meta-iterations prints the training losses, and the nearest-class-mean
accuracy of real test features against the means of 20 synthetic features per class
(seen classes with sigma 1, unseen with sigma 1 and 0.1) with the synthetic
features' mean per-dimension std (real features: about 0.10 after scaling).
(results/diagnostic_T4_1400steps.log: `4 1400 1`.)
"""
import sys, time, numpy as np, tensorflow as tf, keras
from kzoo import zsl
from kzoo.applications.amaz import *
data = zsl.glyph_compositions(verbose=0)
x, y = data.split("trainval"); scale = x.max(); x = x / scale
tx, ty = data.split("test_seen"); tx = tx / scale
ux, uy = data.split("test_unseen"); ux = ux / scale
seen, unseen = data.seen_classes, data.unseen_classes
T = int(sys.argv[1]); steps = int(sys.argv[2]); mod = sys.argv[3] == "1"
ds = zero_shot_tasks(x, y, data.attributes, seen, tasks=T)
m = AMAZ(feature_dim=256, attribute_dim=81, num_classes=len(seen), generator_units=(256,256,256), embedding_dim=128, discriminator_units=(256,128), classifier_units=(128,128), decoder_units=(256,128), meta_learning_rates=(1e-3,)*3, dropout=0.0, modulate=mod)
m.compile()
def ncm(classes, x, y, sigma, n=20):
    f, l = m.synthesize(data.attributes[classes], n, sigma=sigma)
    means = np.stack([f[l == i].mean(0) for i in range(len(classes))])
    d = ((x[:, None] - means[None]) ** 2).sum(-1)
    return round(float((classes[d.argmin(1)] == y).mean()), 4), round(float(f.std(0).mean()), 3)
t = time.time()
for epoch in range(steps // 200):
    h = m.fit(ds, steps_per_epoch=200, verbose=0)
    print((epoch + 1) * 200, round(time.time() - t), {k: round(v[-1], 3) for k, v in h.history.items()},
          "seen", ncm(seen, tx, ty, 1.0), "unseen s=1", ncm(unseen, ux, uy, 1.0), "unseen s=.1", ncm(unseen, ux, uy, 0.1), flush=True)
