"""MT-nets and their relatives: MAML, T-net, M-net (Lee & Choi, ICML 2018)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kzoo import distribute
from kzoo.applications.episodic_model import EpisodicModel
from kzoo.checks import check_float, check_int, check_sizes
from kzoo.layers.batch_stat_normalization import BatchStatNormalization
from kzoo.layers.masked_transform_cell import MaskedTransformCell
from kzoo.training.inner_loop import inner_loop

#: variant -> (use_transform, use_mask)
VARIANTS = {"maml": (False, False), "tnet": (True, False), "mnet": (False, True), "mtnet": (True, True)}


@keras.saving.register_keras_serializable(package="kzoo")
class MTNet(EpisodicModel):
    """Gradient-based meta-learning with a learned layerwise metric and subspace.

    Every layer is a `MaskedTransformCell` `y = T (W x + b)` (eq. 7). For each task,
    a binary mask M is sampled per cell (eq. 11) and the task learner takes
    `inner_steps` steps `W <- W - alpha * M * grad_W L_support` (eq. 8) on the fast
    weights W, b only; the meta-learner updates everything (W and b's initial values,
    T, the mask logits zeta, normalization) on the query loss after adaptation
    (eq. 13), differentiating through the inner steps (second order unless
    `first_order=True`). `call(episode)` runs the adaptation, so `predict`,
    `evaluate` and the serving export all adapt to the support set first.

    Variants share the code: `"maml"` (no T, no mask), `"tnet"` (T), `"mnet"`
    (mask), `"mtnet"` (both); `full_mask=True` gives the "-full" variants (one
    mask logit per weight).

    Networks: for `example_shape=(d,)` (regression, e.g. sine waves) an MLP with
    `hidden` cells and ReLU (the paper's 1-40-40-1); for images `[H, W, C]`
    (classification) `blocks` conv cells (3x3, stride 2 or `pool`, `channels` filters) each
    followed by `BatchStatNormalization` and ReLU (T acts before the norm, as in the
    official code), spatial mean, then a dense cell to `num_outputs` logits.

    Args:
        example_shape: shape of one input. Defaults to `(1,)` (sine regression).
        variant: `"mtnet"`, `"tnet"`, `"mnet"` or `"maml"`. Defaults to `"mtnet"`.
        full_mask: one mask logit per weight ("-full"). Defaults to `False`.
        num_outputs: the largest N (classification: episodes may hold N <=
            `num_outputs` classes, e.g. variable-way episodes; the softmax and the
            logits then cover their N classes) or the output size (regression).
            Defaults to `1`.
        hidden: MLP cell sizes. Defaults to `(40, 40)`.
        channels: conv filters. Defaults to `64`.
        blocks: conv cells. Defaults to `4`.
        inner_steps: task-learner steps in training. Defaults to `1`.
        eval_inner_steps: steps at inference (the paper adapts longer at test
            time). Defaults to `inner_steps`.
        inner_lr: alpha. Defaults to `0.01` (sine; the paper uses 0.4 for 5-way
            and 0.1 for 20-way Omniglot).
        first_order: drop second-order terms. Defaults to `False`.
        remat: recompute each inner step's support pass when the meta-gradient
            reaches it instead of storing its activations
            (`kzoo.training.inner_loop(remat=True)`): second-order memory then
            grows with `inner_steps` by one copy of the fast weights per step, for
            about one more support forward and backward per step. Same gradients.
            Defaults to `False`.
        temperature: Gumbel-softmax temperature c. Defaults to `1.0`.
        inference_mask: `"mode"` uses the most likely mask (zeta > 0) at
            inference, so predictions and served outputs are deterministic;
            `"sample"` samples as in training (the paper's test protocol).
            Defaults to `"mode"`.
        seed: seed of the mask noise. Every batch draws a fresh stateless seed from
            it, and each task of the batch (and each replica) and each cell folds in
            its own index, so masks are independent across cells and tasks and the
            same seed replays the same masks. Defaults to `None` (drawn from Keras's
            global seed, `keras.utils.set_random_seed`).
        pool: images: stride-1 convolutions, each block ending in 2x2 max-pooling
            (MAML's and MT-net's mini-ImageNet network) instead of stride-2
            convolutions (their Omniglot network). Defaults to `False`.

    Example:

    >>> from kzoo import episodes
    >>> from kzoo.applications import MTNet
    >>> model = MTNet(variant="mtnet", inner_lr=0.01)
    >>> model.compile()
    >>> history = model.fit(episodes.sinusoid(tasks=4), steps_per_epoch=5, verbose=0)
    >>> model.predict(episodes.sinusoid(batches=1, seed=1), verbose=0).shape
    (4, 10, 1)
    """

    preset_folder = "mtnet"

    def __init__(self, example_shape=(1,), variant="mtnet", full_mask=False, num_outputs=1,
                 hidden=(40, 40), channels=64, blocks=4, inner_steps=1, eval_inner_steps=None,
                 inner_lr=0.01, first_order=False, temperature=1.0, inference_mask="mode", seed=None,
                 pool=False, remat=False, **kwargs):
        super().__init__(example_shape=example_shape, **kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"Unknown `variant` {variant!r}. Expected one of {sorted(VARIANTS)}.")
        use_transform, use_mask = VARIANTS[variant]
        if full_mask and not use_mask:
            raise ValueError(f"`full_mask=True` needs a masked variant (mnet, mtnet). Received: variant={variant!r}.")
        for name, value, minimum in (("inner_steps", inner_steps, 0), ("num_outputs", num_outputs, 1),
                                     ("channels", channels, 1), ("blocks", blocks, 1)):
            check_int(value, name, minimum)
        eval_inner_steps = inner_steps if eval_inner_steps is None else eval_inner_steps
        check_int(eval_inner_steps, "eval_inner_steps", 0)
        inner_lr = check_float(inner_lr, "inner_lr", 0)
        temperature = check_float(temperature, "temperature", 0)
        hidden = check_sizes(hidden, "hidden")
        if inference_mask not in ("mode", "sample"):
            raise ValueError(f'Expected `inference_mask` "mode" or "sample". Received: {inference_mask!r}.')
        if len(self.example_shape) not in (1, 3):
            raise ValueError(
                "Expected `example_shape` (features,) for regression or (height, width, channels) "
                f"for images. Received: {self.example_shape!r}."
            )
        self.classification = len(self.example_shape) == 3
        self.variant, self.full_mask = variant, bool(full_mask)
        self.num_outputs, self.hidden = num_outputs, tuple(hidden)
        self.channels, self.blocks = channels, blocks
        self.inner_steps, self.eval_inner_steps = inner_steps, eval_inner_steps
        self.inner_lr, self.first_order = float(inner_lr), bool(first_order)
        self.temperature, self.inference_mask = float(temperature), inference_mask
        if seed is not None:
            check_int(seed, "seed", 0)
        self.seed = seed
        self.pool = bool(pool)
        self.remat = bool(remat)
        self.mask_seed_generator = keras.random.SeedGenerator(seed)

        cell = dict(use_transform=use_transform, use_mask=use_mask, full_mask=full_mask, temperature=temperature,
                    dtype=self.dtype_policy)
        if self.classification:
            self.cells = [MaskedTransformCell(channels, kernel_size=3, strides=1 if self.pool else 2,
                                              name=f"conv{i}", **cell)
                          for i in range(blocks)]
            self.norms = [BatchStatNormalization(name=f"norm{i}", dtype=self.dtype_policy) for i in range(blocks)]
            head_init = "glorot_uniform"
        else:
            # the paper: W ~ truncated normal with std 0.01 (Section 6.1)
            dense_init = keras.initializers.TruncatedNormal(stddev=0.01)
            self.cells = [MaskedTransformCell(h, kernel_initializer=dense_init, name=f"dense{i}", **cell)
                          for i, h in enumerate(self.hidden)]
            self.norms = []
            head_init = dense_init
        self.cells.append(MaskedTransformCell(num_outputs, kernel_initializer=head_init, name="head", **cell))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.pre_loss_tracker = keras.metrics.Mean(name="pre_adaptation_loss")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")
        self.pre_accuracy_tracker = keras.metrics.Mean(name="pre_adaptation_accuracy")
        self.fraction_tracker = keras.metrics.Mean(name="update_fraction")

    # -- network ------------------------------------------------------------------------

    def build_layers(self, example_shape):
        shape = (None, *example_shape)
        for i, cell in enumerate(self.cells):
            if self.classification and i == len(self.norms):
                shape = (None, shape[-1])  # spatial mean before the head
            cell.build(shape)
            shape = cell.compute_output_shape(shape)
            if i < len(self.norms):
                self.norms[i].build(shape)

    def initial_fast_weights(self):
        """The meta-learned initial W, b of every cell, as one flat list of tensors."""
        return [tf.convert_to_tensor(v.value) for cell in self.cells for v in cell.fast_variables]

    def sample_masks(self, mode, seed=None):
        """Every cell's `[kernel_mask, bias_mask]`, as one flat list.

        `seed`: a stateless `[2]` seed for this task; cell i folds in i, so cells
        never share noise. `None` uses each cell's own generator."""
        if seed is None or mode != "sample":
            return [m for cell in self.cells for m in cell.sample_masks(mode)]
        seed = tf.cast(seed, tf.int64)
        return [m for i, cell in enumerate(self.cells)
                for m in cell.sample_masks(mode, seed=tf.random.experimental.stateless_fold_in(seed, i))]

    def task_seeds(self, tasks):
        """One stateless `[2]` seed per task of this batch: `[T, 2]` int64.

        A fresh draw from the model's generator per batch (with the replica's index
        folded in under a distribution strategy), split into one independent seed per task."""
        base = tf.cast(self.mask_seed_generator.next(), tf.int64)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            base = tf.random.experimental.stateless_fold_in(base, context.replica_id_in_sync_group)
        return tf.random.experimental.stateless_split(base, num=tasks)

    #: query passes normalize with the fused kernel (`BatchStatNormalization(first_order=True)`)
    fused_query_norms = True

    def forward(self, x, fast_weights, first_order_norms=False):
        """One task's network output with the given fast weights: `[B, ...] -> [B, num_outputs]`.

        `first_order_norms`: the pass is differentiated at most once (a query pass,
        or any pass of first-order MAML), so its normalizations may use the fused
        kernel."""
        first_order_norms = first_order_norms and self.fused_query_norms
        h = x
        for i, cell in enumerate(self.cells):
            kernel, bias = fast_weights[2 * i], fast_weights[2 * i + 1]
            if self.classification and i == len(self.norms):
                h = ops.mean(h, axis=(1, 2))
            h = cell(h, kernel=kernel, bias=bias)
            if i < len(self.norms):
                h = self.norms[i](h, first_order=first_order_norms)
            if i < len(self.cells) - 1:
                h = ops.relu(h)
            if self.pool and i < len(self.norms):
                h = ops.max_pool(h, pool_size=2, strides=2, padding="same")
        return h

    def task_loss(self, outputs, targets, ways=None):
        """Mean cross-entropy over labelled examples (label -1 is ignored), or MSE.

        `ways`: the task's N when it has fewer classes than `num_outputs` (the
        softmax then runs over its N classes only). Computed in float32 under a
        mixed-precision policy (the inner-loop gradients start here)."""
        if outputs.dtype in ("float16", "bfloat16", tf.float16, tf.bfloat16):
            outputs = ops.cast(outputs, "float32")
        if not self.classification:
            return ops.mean(ops.square(outputs - ops.cast(targets, outputs.dtype)))
        outputs = self._only_present(outputs, ways)
        labelled = ops.cast(targets >= 0, outputs.dtype)
        losses = keras.losses.sparse_categorical_crossentropy(ops.maximum(targets, 0), outputs, from_logits=True)
        return ops.sum(losses * labelled) / ops.maximum(ops.sum(labelled), 1.0)

    def adapt_task(self, support_x, support_y, steps, mask_mode, seed=None):
        """Fast weights after `steps` masked inner steps on one task's support set.

        `seed`: the task's stateless mask seed (see `task_seeds`); `None` draws from
        the cells' own generators."""
        masks = self.sample_masks(mask_mode, seed)
        ways = self._ways(support_y)
        return inner_loop(lambda w: self.task_loss(self.forward(support_x, w, self.first_order), support_y, ways),
                          self.initial_fast_weights(), steps, self.inner_lr, masks, self.first_order,
                          remat=self.remat)

    # -- episodes -----------------------------------------------------------------------

    def _map_tasks(self, fn, elems, output_dtype, unroll):
        """Applies `fn(*task_elems, task_seed)` to each task. Meta-training unrolls a static task axis (the
        fastest on CPU: 1.6x `tf.map_fn`, 3x `tf.vectorized_map` for 4 conv tasks);
        inference maps over any number of tasks with one small graph."""
        tasks = elems[0].shape[0]
        elems = (*elems, self.task_seeds(tasks if tasks is not None else tf.shape(elems[0])[0]))
        if unroll and tasks is not None:
            return ops.stack([fn(*(e[t] for e in elems)) for t in range(tasks)])
        return tf.map_fn(lambda e: fn(*e), elems, fn_output_signature=output_dtype)

    def _ways(self, support_y):
        """A task's N = max(support_y) + 1 (classification), else None."""
        return ops.max(support_y) + 1 if self.classification else None

    def _only_present(self, outputs, ways):
        """float32 logits `[..., num_outputs]` with the columns >= `ways` set to the lowest float32 (None: as they are)."""
        if ways is None:
            return outputs
        present = ops.arange(self.num_outputs) < ops.cast(ways, "int32")
        return ops.where(present, outputs, ops.convert_to_tensor(np.finfo(np.float32).min, outputs.dtype))

    def _check_ways(self, support_y):
        if not self.classification:
            return support_y
        check = tf.debugging.assert_less(
            support_y, self.num_outputs,
            message=f"support_y labels must be < num_outputs ({self.num_outputs}), the model's N")
        with tf.control_dependencies([check]):
            return tf.identity(support_y)

    def call_episode(self, support_x, support_y, query_x, training=None):
        steps = self.inner_steps if training else self.eval_inner_steps
        mask_mode = "sample" if training else self.inference_mask
        support_y = self._check_ways(support_y)

        def one_task(sx, sy, qx, seed):
            return self.forward(qx, self.adapt_task(sx, sy, steps, mask_mode, seed), first_order_norms=True)

        outputs = self._map_tasks(one_task, (support_x, support_y, query_x), self.compute_dtype, unroll=bool(training))
        if self.classification:  # the episode's N classes (num_outputs is the largest N)
            outputs = outputs[..., :ops.max(support_y) + 1]
        return outputs

    # -- training -----------------------------------------------------------------------

    @property
    def metrics(self):
        trackers = [self.loss_tracker, self.pre_loss_tracker]
        if self.classification:
            trackers += [self.accuracy_tracker, self.pre_accuracy_tracker]
        return trackers + [self.fraction_tracker]

    def compile(self, optimizer="auto", **kwargs):
        """Adam(1e-3) by default (the paper's meta-optimizer, `default_optimizer`); losses and metrics are built in."""
        kwargs.pop("loss", None)
        kwargs.pop("metrics", None)
        keras.Model.compile(self, optimizer=self.default_optimizer() if optimizer == "auto" else optimizer, **kwargs)

    def _query_losses(self, x, query_y, training):
        """Per-task query losses and outputs, before and after adaptation."""
        support_x, support_y, query_x = self._check_episode(x)
        support_y = self._check_ways(support_y)
        if self.classification:
            checks = [tf.debugging.assert_non_negative(query_y, message="query_y labels must be >= 0"),
                      tf.debugging.assert_less(tf.cast(query_y, tf.int32), self.num_outputs,
                                               message=f"query_y labels must be < N (num_outputs={self.num_outputs})")]
            with tf.control_dependencies(checks):
                query_y = tf.identity(tf.cast(query_y, tf.int32))
        else:
            query_y = ops.cast(query_y, self.compute_dtype)
        steps = self.inner_steps if training else self.eval_inner_steps
        mask_mode = "sample" if training else self.inference_mask

        def one_task(sx, sy, qx, qy, seed):
            # the pre-adaptation metrics are not differentiated: without stop_gradient the tape
            # back-propagates the zero gradient of their stacked entries through a whole extra
            # query forward pass (MAML 5-way, 32 channels: 1.9x slower steps)
            # the query passes are differentiated once (second-order terms come from the
            # support pass inside adapt_task), so their normalizations run fused
            before = tf.stop_gradient(self.forward(qx, self.initial_fast_weights(), first_order_norms=True))
            after = self.forward(qx, self.adapt_task(sx, sy, steps, mask_mode, seed), first_order_norms=True)
            ways = self._ways(sy)
            return ops.stack([self.task_loss(before, qy, ways), self.task_loss(after, qy, ways),
                              tf.stop_gradient(self._accuracy(before, qy, ways)),
                              tf.stop_gradient(self._accuracy(after, qy, ways))])

        stats_dtype = "float32" if self.compute_dtype in ("float16", "bfloat16") else self.compute_dtype
        return self._map_tasks(one_task, (support_x, support_y, query_x, query_y), stats_dtype, unroll=training)

    def _accuracy(self, outputs, targets, ways=None):
        dtype = "float32" if self.compute_dtype in ("float16", "bfloat16") else self.compute_dtype
        if not self.classification:
            return ops.convert_to_tensor(0.0, dtype)
        outputs = self._only_present(ops.cast(outputs, "float32"), ways)
        predicted = ops.cast(ops.argmax(outputs, axis=-1), "int32")
        return ops.mean(ops.cast(predicted == ops.cast(targets, "int32"), dtype))

    def _update_trackers(self, per_task):
        self.pre_loss_tracker.update_state(ops.mean(per_task[:, 0]))
        self.loss_tracker.update_state(ops.mean(per_task[:, 1]))
        if self.classification:
            self.pre_accuracy_tracker.update_state(ops.mean(per_task[:, 2]))
            self.accuracy_tracker.update_state(ops.mean(per_task[:, 3]))
        self.fraction_tracker.update_state(self.update_fraction())
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, y = data[0], data[1]
        with tf.GradientTape() as tape:
            per_task = self._query_losses(x, y, training=True)
            loss = ops.mean(per_task[:, 1])  # eq. (13): query loss after adaptation
            # replicas' gradients are summed; mixed_float16 scales the loss against underflow
            loss = self.optimizer.scale_loss(distribute.scale_loss_for_replicas(loss))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._update_trackers(per_task)

    def test_step(self, data):
        return self._update_trackers(self._query_losses(data[0], data[1], training=False))

    def update_fraction(self):
        """Expected fraction of fast weights the masks let change (the paper's Figure 4)."""
        cells = [c for c in self.cells if c.use_mask]
        if not cells:
            return ops.convert_to_tensor(1.0)
        sizes = [float(np.prod(c.mask_logits.shape)) for c in cells]
        total = sum(sizes)
        return sum(c.update_fraction() * (n / total) for c, n in zip(cells, sizes))

    def get_config(self):
        return {
            **super().get_config(), "variant": self.variant, "full_mask": self.full_mask,
            "num_outputs": self.num_outputs, "hidden": list(self.hidden), "channels": self.channels,
            "blocks": self.blocks, "inner_steps": self.inner_steps, "eval_inner_steps": self.eval_inner_steps,
            "inner_lr": self.inner_lr, "first_order": self.first_order, "temperature": self.temperature,
            "inference_mask": self.inference_mask, "seed": self.seed, "pool": self.pool,
            "remat": self.remat,
        }
