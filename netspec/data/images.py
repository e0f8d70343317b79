"""A folder of images as samples: `[C, H, W]` pixels in [0, 1], labels from the subfolders.
Pillow (which matplotlib brings) is imported only when a folder is read."""

from __future__ import annotations

import numpy as np

from netspec.data import contracts
from netspec.data.contracts import DataError
from netspec.data.folders import labelled_files
from netspec.data.loading import Samples

__all__ = ["IMAGE_SUFFIXES", "images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def images(path: str, size: tuple[int, int], color: bool) -> Samples:
    """Every image under `path`'s class folders, resized to `size` = [height, width], grey
    (C = 1) or RGB (C = 3), scaled from 0..255 to [0, 1]; E511 names a file that does not read."""
    from PIL import Image, UnidentifiedImageError

    names, files, y = labelled_files(path, IMAGE_SUFFIXES, "images")
    height, width = size
    channels = 3 if color else 1
    x = np.zeros((len(files), channels, height, width), dtype=np.float32)
    problems: list[DataError] = []
    for i, file in enumerate(files):
        try:
            with Image.open(file) as image:
                pixels = image.convert("RGB" if color else "L").resize((width, height))
                array = np.asarray(pixels, dtype=np.float32) / 255.0
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            problems.append(
                DataError(
                    f"cannot read the image `{file}`: {exc}",
                    code=contracts.UNREADABLE,
                    help="replace or remove the file (netspec reads PNG, JPEG, BMP, GIF, TIFF "
                    "and WebP)",
                )
            )
            continue
        x[i] = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    contracts.problems_raised(problems[: contracts.SHOWN])
    return Samples(
        x,
        y,
        names,
        x_from=f"the images of `{path}`",
        y_from=f"the class folders of `{path}`",
    )
