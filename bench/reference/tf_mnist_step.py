#!/usr/bin/env python3
"""TensorFlow 2 reference for `rgan bench mnist-step` (the same iteration as
`torch_mnist_step.py`; see its docstring), written as a TF-GAN user writes it today: Keras
layers, a custom spectral-norm layer doing one power iteration per call (TF-GAN's
`spectral_normalization_custom_getter` semantics), `tf.GradientTape`, Keras Adam, and the whole
iteration in one `tf.function` (`--xla`: `jit_compile=True`). NHWC, TF's CPU layout.

`--wgan-gp`: the critic without batch norm, Wasserstein losses, and the gradient penalty λ = 10
computed by TF-GAN's own `wasserstein_gradient_penalty` (tensorflow-gan 2.1.0; its package
`__init__` needs `tf.estimator`, which TensorFlow 2.16 removed, so only the losses module is
imported), Adam 1e-4 / 1e-4 with β = (0.5, 0.9), as `torch_mnist_step.py --wgan-gp`.

Prints one JSON line: {"ms_per_iter": median, "iters": N, "gflops": ..., "peak_rss_mb": ...}.
"""
import argparse
import json
import os
import resource

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
from timing import median_ms  # noqa: E402

GFLOP_PER_ITER = 11.72  # by layer count, batch 32 (rgan::bench::mnist_step_flops)


class SpectralNorm(layers.Layer):
    """Wraps a Dense or Conv2D layer: its kernel divided by the largest singular value of the
    kernel reshaped to [-1, out], estimated by one power iteration per call."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        self.layer.build(input_shape)
        out = self.layer.kernel.shape[-1]
        self.u = self.add_weight(shape=(1, out), initializer="random_normal", trainable=False, name="u")

    def call(self, x):
        kernel = self.layer.kernel
        w = tf.reshape(kernel, [-1, kernel.shape[-1]])
        v = tf.math.l2_normalize(tf.matmul(self.u, w, transpose_b=True))
        u = tf.math.l2_normalize(tf.matmul(v, w))
        self.u.assign(u)
        sigma = tf.reduce_sum(tf.matmul(v, w) * u)
        w_sn = kernel / sigma
        if isinstance(self.layer, layers.Conv2D):
            y = tf.nn.conv2d(x, w_sn, strides=self.layer.strides, padding="SAME")
        else:
            y = tf.matmul(x, w_sn)
        if self.layer.use_bias:
            y = y + self.layer.bias
        return y


def tfgan_losses():
    """TF-GAN's `losses_impl` module, imported without the package's `__init__` (see above)."""
    import importlib
    import importlib.util
    import sys
    import types
    root = importlib.util.find_spec("tensorflow_gan").submodule_search_locations[0]
    for name, path in (("tensorflow_gan", root), ("tensorflow_gan.python", os.path.join(root, "python"))):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [path]
            sys.modules[name] = module
    return importlib.import_module("tensorflow_gan.python.losses.losses_impl")


def bn():
    return layers.BatchNormalization(momentum=0.999, epsilon=1e-3)


def generator(noise_dims):
    return keras.Sequential([
        keras.Input((noise_dims,)),
        layers.Dense(1024, use_bias=False), bn(), layers.ReLU(),
        layers.Dense(7 * 7 * 128, use_bias=False), bn(), layers.ReLU(),
        layers.Reshape((7, 7, 128)),
        layers.Conv2DTranspose(64, 4, strides=2, padding="same"), bn(), layers.ReLU(),
        layers.Conv2DTranspose(32, 4, strides=2, padding="same"), bn(), layers.ReLU(),
        layers.Conv2D(1, 4, padding="same", activation="tanh"),
    ])


def discriminator(batch_norm=True):
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        SpectralNorm(layers.Conv2D(64, 4, strides=2, padding="same")), layers.LeakyReLU(0.01),
        SpectralNorm(layers.Conv2D(128, 4, strides=2, padding="same")), layers.LeakyReLU(0.01),
        layers.Flatten(),
        SpectralNorm(layers.Dense(1024, use_bias=False)),
        *([bn()] if batch_norm else []), layers.LeakyReLU(0.01),
        layers.Dense(1),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xla", action="store_true", help="compile the iteration with XLA (jit_compile=True)")
    parser.add_argument("--wgan-gp", action="store_true", help="the WGAN-GP iteration (TF-GAN's penalty)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    tf.random.set_seed(0)
    batch, noise_dims = args.batch_size, 64
    g, d = generator(noise_dims), discriminator(batch_norm=not args.wgan_gp)
    if args.wgan_gp:
        penalty = tfgan_losses().wasserstein_gradient_penalty
        g_opt = keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9, epsilon=1e-8)
        d_opt = keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9, epsilon=1e-8)
    else:
        g_opt = keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-8)
        d_opt = keras.optimizers.Adam(1e-4, beta_1=0.5, epsilon=1e-8)
    real = tf.random.uniform([batch, 28, 28, 1], -1.0, 1.0)
    real_target = tf.fill([batch, 1], 1.0 * (1 - 0.25) + 0.5 * 0.25)

    def ce(labels, logits):
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))

    @tf.function(jit_compile=args.xla)
    def iteration():
        fake = g(tf.random.normal([batch, noise_dims]), training=True)
        with tf.GradientTape() as tape:
            real_logits = d(real, training=True)
            fake_logits = d(fake, training=True)
            if args.wgan_gp:
                d_loss = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits) + penalty(
                    real, fake, None, lambda x, _: d(x, training=True), "critic",
                    weights=10.0, loss_collection=None)
            else:
                d_loss = ce(real_target, real_logits) + ce(tf.zeros_like(fake_logits), fake_logits)
        d_opt.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
        with tf.GradientTape() as tape:
            logits = d(g(tf.random.normal([batch, noise_dims]), training=True), training=True)
            g_loss = -tf.reduce_mean(logits) if args.wgan_gp else ce(tf.ones_like(logits), logits)
        # Only the generator's variables are differentiated: no discriminator weight gradients.
        g_opt.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
        return d_loss, g_loss

    ms = median_ms(lambda: [t.numpy() for t in iteration()], args.warmup, args.iters)
    print(json.dumps({
        "impl": ("tf-xla" if args.xla else "tf-function") + ("-wgan-gp" if args.wgan_gp else ""),
        "ms_per_iter": ms,
        "iters": args.iters,
        "gflops": GFLOP_PER_ITER * batch / 32 / (ms * 1e-3),
        "batch_size": batch,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": tf.__version__,
    }))


if __name__ == "__main__":
    main()
