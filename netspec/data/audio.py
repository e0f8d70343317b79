"""A folder of WAV clips as samples: the log-mel frames the `speech` source makes
(`netspec.data.speech.log_mel`), labels from the subfolders. Only the standard library's
`wave` and numpy are used: 16-bit PCM, mono or stereo (averaged), any sample rate (resampled
linearly to the features' 16 kHz)."""

from __future__ import annotations

import wave

import numpy as np

from netspec.data import contracts
from netspec.data.contracts import DataError
from netspec.data.folders import labelled_files
from netspec.data.loading import Samples
from netspec.data.speech import FLOOR, RATE, WINDOW, log_mel

__all__ = ["read_wav", "wavs"]


def wavs(path: str, mels: int) -> Samples:
    """Every clip under `path`'s class folders as `[T, mels]` log-mel frames (10 ms each),
    T the longest clip's frame count; shorter clips are padded at the end with silence (the
    features' floor, -1)."""
    names, files, y = labelled_files(path, (".wav",), "WAV clips")
    frames: list[np.ndarray] = []
    problems: list[DataError] = []
    for file in files:
        try:
            sound = read_wav(file)
        except DataError as exc:
            problems.append(exc)
            continue
        frames.append(log_mel(sound[None], mels)[0])
    contracts.problems_raised(problems[: contracts.SHOWN])
    longest = max(len(f) for f in frames)
    x = np.full((len(frames), longest, mels), FLOOR, dtype=np.float32)
    for i, f in enumerate(frames):
        x[i, : len(f)] = f
    return Samples(
        x, y, names, x_from=f"the clips of `{path}`", y_from=f"the class folders of `{path}`"
    )


def read_wav(file: str) -> np.ndarray:
    """A 16-bit PCM WAV file as mono float samples in [-1, 1] at RATE, at least one window
    long (zero-padded); E511 for a file that is not one."""
    try:
        with wave.open(file, "rb") as clip:
            width, channels, rate = clip.getsampwidth(), clip.getnchannels(), clip.getframerate()
            data = clip.readframes(clip.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise _unreadable(file, str(exc)) from None
    if width != 2:
        raise _unreadable(file, f"its samples have {8 * width} bits, not 16")
    sound = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    sound = sound[: len(sound) // channels * channels].reshape(-1, channels).mean(axis=1)
    if rate != RATE and len(sound) > 1:
        times = np.arange(round(len(sound) * RATE / rate)) / RATE
        sound = np.interp(times, np.arange(len(sound)) / rate, sound).astype(np.float32)
    if len(sound) < WINDOW:
        sound = np.pad(sound, (0, WINDOW - len(sound)))
    return sound


def _unreadable(file: str, reason: str) -> DataError:
    return DataError(
        f"cannot read the clip `{file}`: {reason}",
        code=contracts.UNREADABLE,
        help="give 16-bit PCM WAV files (mono or stereo), or remove this one",
    )
