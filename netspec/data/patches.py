"""The `patches` data source: square patches of the two photos scikit-learn ships, grey-scaled,
flattened and whitened, drawn from `default_rng(seed)`; features only, for sparse coding,
Gaussian RBMs and autoencoders on natural images.

Natural images are dominated by their low spatial frequencies (power falls off about as 1/f^2),
so unwhitened patches are mostly smooth gradients. ZCA whitening, W = U diag(1 / sqrt(l + eps))
U^T from the eigenvectors U and eigenvalues l of the patches' covariance, flattens that spectrum
while keeping each whitened patch as close as it can to the original (W is symmetric: pixels stay
pixels), which is what lets sparse coding find localized edges rather than blobs.

>>> s = patches(size=4, n=300, whiten=True, eps=1e-3, seed=0)
>>> s.x.shape, s.x.dtype, s.y is None
((300, 16), dtype('float64'), True)
>>> bool(abs(s.x.mean(axis=0)).max() < 1e-9)
True
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from netspec.data.loading import Samples

# ITU-R BT.601 luma, the usual weights for grey-scaling RGB (PIL's `convert("L")` uses them).
LUMA = np.array([0.299, 0.587, 0.114])
# The whitening's eps is a fraction of the mean eigenvalue, so it does not depend on the pixels'
# scale. A small one (the default) gives every whitened direction a variance near 1; a large one
# (about 1) whitens the low frequencies only and damps the highest, the low-pass that Olshausen &
# Field's whitening filter has too, which keeps JPEG noise out of what is learned.
EPS = 1e-3
# The photos are halved (2x2 means, to 213 x 320) before patches are cut: this averages away most
# of the JPEG blocks and noise, which whitening would otherwise amplify, and puts more edges and
# fewer fine textures (roof tiles, leaves) in each patch.
SHRINK = 2


@lru_cache(maxsize=1)
def photos() -> np.ndarray:
    """(2, 213, 320) float64: `china.jpg` and `flower.jpg`, grey, in [0, 1], halved; read-only."""
    from sklearn.datasets import load_sample_images  # type: ignore[import-untyped]

    images = load_sample_images().images  # two (427, 640, 3) uint8 arrays
    grey = np.stack([np.asarray(im, dtype=np.float64) @ LUMA / 255.0 for im in images])
    halved = shrink(grey, SHRINK)
    halved.setflags(write=False)
    return halved


def shrink(images: np.ndarray, factor: int) -> np.ndarray:
    """(K, H, W) -> (K, H // factor, W // factor): the means of factor x factor blocks.

    >>> shrink(np.arange(16.0).reshape(1, 4, 4), 2).tolist()
    [[[2.5, 4.5], [10.5, 12.5]]]
    """
    k, h, w = images.shape
    h, w = h // factor, w // factor
    blocks = images[:, : h * factor, : w * factor].reshape(k, h, factor, w, factor)
    means: np.ndarray = blocks.mean(axis=(2, 4))
    return means


def draw(images: np.ndarray, size: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, size * size) patches, each from a photo picked uniformly, at a uniform corner."""
    count, height, width = images.shape
    if size > min(height, width):
        raise ValueError(f"`size` (={size}) is larger than the photos ({height}x{width})")
    which = rng.integers(count, size=n)[:, None, None]
    top = rng.integers(height - size + 1, size=n)[:, None, None]
    left = rng.integers(width - size + 1, size=n)[:, None, None]
    steps = np.arange(size)
    cut = images[which, top + steps[None, :, None], left + steps[None, None, :]]  # (n, s, s)
    flat: np.ndarray = cut.reshape(n, size * size)
    return flat


def zca(x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """`x` (N, D), its columns' means removed, times the ZCA whitening matrix of its covariance.

    >>> x = np.random.default_rng(1).normal(size=(2000, 3)) @ [[3, 1, 0], [0, 1, 0], [0, 0, 5]]
    >>> bool(np.allclose(np.cov(zca(x), rowvar=False, bias=True), np.eye(3), atol=0.02))
    True
    """
    centred = x - x.mean(axis=0)
    cov = centred.T @ centred / len(x)  # (D, D)
    values, vectors = np.linalg.eigh(cov)
    values = np.clip(values, 0.0, None)  # eigh may return tiny negatives
    scale = 1.0 / np.sqrt(values + eps * values.mean())
    whitened: np.ndarray = centred @ (vectors * scale) @ vectors.T  # W = U diag(scale) U^T
    return whitened


def standardize(x: np.ndarray) -> np.ndarray:
    """`x` less each column's mean, divided by one overall standard deviation, so the pixels
    keep their correlations and the mean variance of a value is 1."""
    centred = x - x.mean(axis=0)
    scaled: np.ndarray = centred / centred.std()
    return scaled


def patches(size: int, n: int, whiten: bool, eps: float, seed: int) -> Samples:
    """`n` grey `size x size` patches of scikit-learn's sample photos (halved), flattened to
    (n, size * size) float64; ZCA-whitened with the drawn patches' own covariance and `eps`, or
    with `whiten=false` only centred and scaled (`standardize`). Features only: no target."""
    rng = np.random.default_rng(seed)
    x = draw(photos(), size, n, rng)
    return Samples(zca(x, eps) if whiten else standardize(x))
