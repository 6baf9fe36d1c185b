#!/usr/bin/env python3
"""TensorFlow 2 reference for `rgan bench cifar-step` (the same iteration as
`torch_cifar_step.py`; see its docstring), written as a TF-GAN user writes it today: Keras
layers with `padding='same'` (TF's own, so the networks are TF-GAN's CIFAR-10 DCGAN as they
are), `tf.GradientTape`, Keras Adam, TF-GAN's own `wasserstein_gradient_penalty` (weight 1;
tensorflow-gan 2.1.0, imported as `tf_mnist_step.py` imports it), and the whole iteration in
one `tf.function` (`--xla`: `jit_compile=True`). NHWC, TF's CPU layout.

One iteration: a generator update through the discriminator (only the generator's variables are
differentiated), then a discriminator update on fresh generated images with the penalty; Adam
2e-4, β = (0.5, 0.999), ε 1e-8, for both. Keras's Adam (like TF-GAN's `tf.train.AdamOptimizer`)
adds ε to √v before the bias correction, PyTorch's and rgan's after it: the same update but for
gradients near ε/√(1 − β2ᵗ).

`--check FILE` (`rgan bench cifar-step --write-check DIR`, DIR/cifar_step_check.npz) checks the
losses of the two recorded steps against rgan's before timing, as `torch_cifar_step.py --check`
does (same measure, same tolerances), in a second `tf.function` of the same iteration (with the
same `jit_compile`) that takes the recorded noise and penalty weights as arguments. TF-GAN's
penalty draws its weights with `tf.random.uniform`; while that function is traced, the `tf` that
TF-GAN's losses module sees hands back the recorded weights instead (nothing else in it
changes). rgan's weights are in NCHW order: the dense layer before the generator's reshape (and
its batch norm) and the one after the discriminator's flatten have their units reordered to
NHWC's order. The first generator loss (before any update) agrees to about 1e-7, the others to
1e-5–1e-3: Keras's Adam also moves the weights of near-zero gradients less than rgan's in
its first update (with ε = 1e-8·√(1 − β2), which makes Keras's first update rgan's, the first
step's discriminator loss agrees to 1e-6 at batch 32 with one seed).

Prints one JSON line: {"ms_per_iter": median, "iters": N, "gflops": ..., "peak_rss_mb": ...}.
"""
import argparse
import contextlib
import json
import os
import resource
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

from step_check import compare_recorded_losses  # noqa: E402
from tf_mnist_step import tfgan_losses  # noqa: E402
from timing import median_ms  # noqa: E402

GFLOP_PER_ITER = 19.82  # by layer count, batch 32 (rgan::bench::cifar_step_flops)
NOISE_DIMS = 64
GP_WEIGHT = 1.0


def init():
    return keras.initializers.TruncatedNormal(stddev=0.02)


def bn(name):
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


# Layer names are rgan's field names (`--check` loads rgan's weights by them).
def generator(noise_dims=NOISE_DIMS):
    return keras.Sequential([
        keras.Input((noise_dims,)),
        layers.Dense(4 * 4 * 256, use_bias=False, kernel_initializer=init(), name="project"),
        bn("project_bn"), layers.ReLU(),
        layers.Reshape((4, 4, 256)),
        layers.Conv2DTranspose(128, 5, strides=2, padding="same", use_bias=False, kernel_initializer=init(),
                               name="deconv1"),
        bn("bn1"), layers.ReLU(),
        layers.Conv2DTranspose(64, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init(),
                               name="deconv2"),
        bn("bn2"), layers.ReLU(),
        layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh", kernel_initializer=init(),
                               name="output"),
    ], name="generator")


def discriminator():
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(64, 5, strides=2, padding="same", kernel_initializer=init(), name="conv1"),
        layers.LeakyReLU(0.2),
        layers.Conv2D(128, 5, strides=2, padding="same", use_bias=False, kernel_initializer=init(), name="conv2"),
        bn("bn2"), layers.LeakyReLU(0.2),
        layers.Conv2D(256, 5, strides=2, padding="same", use_bias=False, kernel_initializer=init(), name="conv3"),
        bn("bn3"), layers.LeakyReLU(0.2),
        layers.Flatten(),
        layers.Dense(1, kernel_initializer=init(), name="output"),
    ], name="discriminator")


class _RecordedAlpha:
    """Stands for `tf` in TF-GAN's losses module while the check's function is traced: its
    `random.uniform` returns the recorded interpolation weights; everything else is TF's."""

    def __init__(self, alpha):
        outer = self

        class Random:
            def __getattr__(self, name):
                return getattr(tf.random, name)

            @staticmethod
            def uniform(shape, **kwargs):
                if [int(s) for s in shape] != outer.alpha.shape.as_list():
                    raise ValueError(f"TF-GAN draws alpha of shape {shape}, the record has {outer.alpha.shape}")
                return outer.alpha

        self.alpha = alpha
        self.random = Random()

    def __getattr__(self, name):
        return getattr(tf, name)


@contextlib.contextmanager
def penalty_alpha(losses, alpha):
    """TF-GAN's penalty with the interpolation weights `alpha` ([batch, 1, 1, 1]); its own
    random draw when `alpha` is None."""
    if alpha is None:
        yield
        return
    saved = losses.tf
    losses.tf = _RecordedAlpha(alpha)
    try:
        yield
    finally:
        losses.tf = saved


def nchw_units():
    """The order of NHWC's flattened 4×4×256 units in rgan's NCHW order."""
    return np.arange(4 * 4 * 256).reshape(256, 4, 4).transpose(1, 2, 0).reshape(-1)


def load_rgan(model, arrays, prefix):
    """Copies rgan's tensors `prefix.<layer>.<param>` (burn's layouts) into the Keras model."""
    units = nchw_units()
    loaded = set()
    for key in arrays.files:
        if not key.startswith(prefix + "."):
            continue
        name, param = key[len(prefix) + 1:].rsplit(".", 1)
        layer = model.get_layer(name)
        value = np.asarray(arrays[key], dtype=np.float32)
        if isinstance(layer, layers.Dense) and param == "weight":
            # burn's [in, out] is Keras's kernel; the 4096 units are reordered to NHWC.
            value = value[:, units] if name == "project" else value[units, :]
        elif isinstance(layer, layers.BatchNormalization) and name == "project_bn":
            value = value[units]
        if value.ndim == 4:
            # Convolutions [out, in, k, k] and transposed ones [in, out, k, k] → [k, k, in, out] / [k, k, out, in].
            value = value.transpose(2, 3, 1, 0)
        variable = {"weight": "kernel", "bias": "bias", "gamma": "gamma", "beta": "beta",
                    "running_mean": "moving_mean", "running_var": "moving_variance"}[param]
        variable = getattr(layer, variable)
        if tuple(variable.shape) != value.shape:
            sys.exit(f"--check: rgan's {key} {value.shape} does not fit {variable.path} {tuple(variable.shape)}")
        variable.assign(value)
        loaded.add(variable.path)
    missing = [v.path for v in model.weights if v.path not in loaded]
    if missing:
        sys.exit(f"--check: the file has no values for {missing}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xla", action="store_true", help="compile the iteration with XLA (jit_compile=True)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--check", metavar="FILE",
                        help="first check the losses against rgan's (rgan bench cifar-step --write-check DIR)")
    parser.add_argument("--check-rtol", type=float, default=1e-4,
                        help="tolerance of the loss before any update (the first generator loss)")
    parser.add_argument("--check-rtol-later", type=float, default=2e-2,
                        help="tolerance of the losses after an Adam update (all the others)")
    args = parser.parse_args()
    tf.random.set_seed(0)
    batch = args.batch_size
    g, d = generator(), discriminator()
    losses = tfgan_losses()
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    g_opt.build(g.trainable_variables)
    d_opt.build(d.trainable_variables)

    def step(real, g_noise, d_noise, alpha=None):
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(d(g(g_noise, training=True), training=True))
        # Only the generator's variables are differentiated: no discriminator weight gradients.
        g_opt.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
        fake = g(d_noise, training=True)
        with tf.GradientTape() as tape:
            real_logits = d(real, training=True)
            fake_logits = d(fake, training=True)
            with penalty_alpha(losses, alpha):
                penalty = losses.wasserstein_gradient_penalty(
                    real, fake, None, lambda x, _: d(x, training=True), "critic",
                    weights=GP_WEIGHT, loss_collection=None)
            d_loss = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits) + penalty
        d_opt.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
        return g_loss, d_loss, penalty

    check = None
    if args.check:
        check = run_check(args, g, d, tf.function(step, jit_compile=args.xla))

    real = tf.random.uniform([batch, 32, 32, 3], -1.0, 1.0)

    @tf.function(jit_compile=args.xla)
    def iteration():
        return step(real, tf.random.normal([batch, NOISE_DIMS]), tf.random.normal([batch, NOISE_DIMS]))

    ms = median_ms(lambda: [t.numpy() for t in iteration()], args.warmup, args.iters)
    result = {
        "impl": "tf-xla" if args.xla else "tf-function",
        "ms_per_iter": ms,
        "iters": args.iters,
        "gflops": GFLOP_PER_ITER * batch / 32 / (ms * 1e-3),
        "batch_size": batch,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": tf.__version__,
    }
    if check is not None:
        result["check"] = check
    print(json.dumps(result))


def run_check(args, g, d, checked_step):
    """Runs the recorded steps from rgan's weights and inputs; exits 1 when a loss differs."""
    arrays = np.load(args.check)
    real = arrays["real"].astype(np.float32)
    if real.shape[0] != args.batch_size:
        sys.exit(f"--check: {args.check} was written at batch size {real.shape[0]}, not {args.batch_size}")
    load_rgan(g, arrays, "generator")
    load_rgan(d, arrays, "discriminator")
    real = tf.constant(real.transpose(0, 2, 3, 1))

    def run_step(k):
        alpha = arrays["alpha"][k].astype(np.float32).reshape(-1, 1, 1, 1)
        losses = checked_step(real, tf.constant(arrays["g_noise"][k].astype(np.float32)),
                              tf.constant(arrays["d_noise"][k].astype(np.float32)), tf.constant(alpha))
        return [float(t.numpy()) for t in losses]

    return compare_recorded_losses(args, arrays, run_step, "tf")


if __name__ == "__main__":
    main()
