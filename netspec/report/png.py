"""PNG files from RGB pixel arrays, with zlib alone: a grid of filters or samples needs no plotting
library (importing matplotlib costs a run 0.4 s before it draws anything)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def rgb_bytes(colours: np.ndarray) -> np.ndarray:
    """(H, W, 3) colours in [0, 1] as 8-bit values, rounded to the nearest."""
    scaled: np.ndarray = np.rint(np.clip(colours, 0.0, 1.0) * 255.0)
    return scaled.astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    """Write (H, W, 3) uint8 `pixels` as an 8-bit RGB PNG, each row unfiltered."""
    height, width, channels = pixels.shape
    if channels != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 pixels, got {pixels.shape} {pixels.dtype}")
    rows = np.zeros((height, 1 + width * 3), dtype=np.uint8)  # each row: filter byte 0, RGB
    rows[:, 1:] = pixels.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    data = SIGNATURE + _chunk(b"IHDR", header)
    data += _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _chunk(b"IEND", b"")
    path.write_bytes(data)
    return path


def read_png(path: Path) -> np.ndarray:
    """The (H, W, 3) pixels of a PNG `write_png` wrote (for tests and tools, not any PNG)."""
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG file")
    pos, width, height, idat = len(SIGNATURE), 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
            if body[8:10] != b"\x08\x02":
                raise ValueError(f"{path}: not an 8-bit RGB PNG")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * 3)
    if rows[:, 0].any():
        raise ValueError(f"{path}: filtered rows are not read here")
    return rows[:, 1:].reshape(height, width, 3).copy()


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
