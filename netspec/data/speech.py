"""The `speech` and `speech_frames` sources: spoken digit words made by a source-filter model,
as log-mel frames, classed by word (`speech`) or, frame by frame, by phone (`speech_frames`).

Speech is a sound source shaped by a filter. The source is the glottis: the vocal folds open and
close f0 times a second (about 120 Hz for a low voice, 220 Hz for a high one), a pulse train
whose spectrum is a comb of harmonics at f0, 2 f0, ...; for hissing sounds (s, f, th) it is
turbulent noise instead. The filter is the vocal tract: its resonances, the formants F1, F2, F3,
lift the harmonics near them, and moving the tongue and lips moves the formants, which is what
tells one vowel from another. Each formant here is a 2nd-order IIR resonator (Klatt 1980):

    y[t] = A x[t] + B y[t-1] + C y[t-2],  B = 2 r cos(2 pi F / fs),  C = -r^2,  A = 1 - B - C

with r = exp(-pi bandwidth / fs), three of them in cascade for the voice and one for the noise.

A word is a sequence of phones ("seven" = s eh v ah n), each with formant targets and a voiced
and a noise amplitude; the controls move linearly from one phone's targets to the next. A
speaker has a pitch, a vocal tract length (a shorter tract scales every formant up: children's
and most women's formants are 10-20 % higher than men's), a speaking rate, and a slight accent
(their own offsets to each phone's targets); each utterance adds jitter to the pitch, its own
rate, small formant offsets and background noise at 15 to 35 dB below the speech.

The sound (16 kHz) becomes frames as a recogniser hears it: a 25 ms Hann window every 10 ms, the
power spectrum (numpy's FFT), summed in `mels` triangular bands equally spaced on the mel scale
(as the ear resolves pitch), in decibels below the utterance's loudest band, -80..0 dB mapped to
-1..1. Every utterance is FRAMES frames long: the word, with silence before and after.

The synthesiser knows where each phone starts and ends, so each frame's phone is known exactly:
the one said at the frame's middle (12.5 ms into its window), `sil` outside the word. That is
the target of frame-level phone classification, the task of hybrid acoustic models (Mohamed,
Dahl & Hinton 2012), which `speech_frames` sets with a window of context frames per sample.

>>> s = speech(words=3, speakers=2, n=6, mels=20, seed=0)
>>> s.x.shape, s.x.dtype, sorted(s.y.tolist()), s.names
((6, 64, 20), dtype('float64'), [0, 0, 1, 1, 2, 2], ('zero', 'one', 'two'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netspec.data.loading import Samples

RATE = 16_000  # samples a second
WINDOW, HOP, FFT = 400, 160, 512  # 25 ms, 10 ms; the window zero-padded to 512 for the FFT
FRAMES = 64  # frames per utterance: 0.65 s
LENGTH = HOP * (FRAMES - 1) + WINDOW  # samples per utterance
CHUNK = 2048  # utterances synthesised together (the filters run over all of them at once)
BLOCK = 80  # the controls (formants, amplitudes, pitch) are held for 5 ms at a time
BANDWIDTHS = (70.0, 100.0, 160.0)  # of F1, F2, F3, in Hz
NOISE = 0.003  # the frication noise source, against a voice amplitude of 1
FLOOR_DB = 80.0  # how far below the loudest band a frame's band may go
FLOOR = -1.0  # the features' value there: silence


@dataclass(frozen=True)
class Phone:
    """A phone's targets: formants at its start and end (they differ in diphthongs), its voiced
    and noise amplitudes, the centre and bandwidth of its noise's resonance, its duration."""

    formants: tuple[float, float, float]
    ms: float
    voice: float = 1.0
    noise: float = 0.0
    hiss: tuple[float, float] = (5000.0, 2000.0)  # noise resonance: centre, bandwidth (Hz)
    end: tuple[float, float, float] | None = None  # diphthongs glide to these formants


# Formants of an adult male voice (after Peterson & Barney 1952 and Klatt 1980). Stops are a
# silent closure then a short burst of noise; unvoiced phones carry the formants of their place
# of articulation, so the vowels next to them bend towards it (the transitions that tell t from k).
PHONES: dict[str, Phone] = {
    "ih": Phone((400, 1900, 2550), 90),
    "eh": Phone((530, 1700, 2500), 100),
    "ah": Phone((620, 1220, 2550), 90),
    "ao": Phone((590, 920, 2540), 150),
    "iy": Phone((300, 2250, 3000), 150),
    "uw": Phone((350, 1300, 2250), 150, end=(320, 900, 2200)),
    "ow": Phone((520, 1050, 2400), 160, end=(380, 800, 2300)),
    "ay": Phone((680, 1150, 2500), 190, end=(400, 1900, 2550)),
    "ey": Phone((500, 1750, 2500), 160, end=(330, 2200, 2700)),
    "r": Phone((320, 1100, 1450), 60, voice=0.8),
    "w": Phone((290, 650, 2150), 60, voice=0.7),
    "n": Phone((260, 1700, 2600), 70, voice=0.35),
    "z": Phone((250, 1700, 2600), 100, voice=0.4, noise=0.5, hiss=(5000, 1500)),
    "v": Phone((250, 1100, 2100), 60, voice=0.4, noise=0.15, hiss=(4000, 4000)),
    "s": Phone((320, 1700, 2600), 120, voice=0.0, noise=1.0, hiss=(5500, 1500)),
    "f": Phone((320, 1100, 2100), 110, voice=0.0, noise=0.3, hiss=(6500, 4000)),
    "th": Phone((320, 1400, 2600), 100, voice=0.0, noise=0.3, hiss=(4500, 4000)),
    "t-": Phone((320, 1700, 2600), 50, voice=0.0),  # closure
    "t": Phone((320, 1700, 2600), 25, voice=0.0, noise=1.0, hiss=(4000, 1500)),  # burst
    "k-": Phone((300, 2000, 2400), 55, voice=0.0),
    "k": Phone((300, 2000, 2400), 30, voice=0.0, noise=0.8, hiss=(2200, 800)),
}

WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("zero", ("z", "ih", "r", "ow")),
    ("one", ("w", "ah", "n")),
    ("two", ("t-", "t", "uw")),
    ("three", ("th", "r", "iy")),
    ("four", ("f", "ao", "r")),
    ("five", ("f", "ay", "v")),
    ("six", ("s", "ih", "k-", "k", "s")),
    ("seven", ("s", "eh", "v", "ah", "n")),
    ("eight", ("ey", "t-", "t")),
    ("nine", ("n", "ay", "n")),
)

# The classes of `speech_frames`: silence, then every phone but the stop closures, which are
# silent too and fold into `sil`, as TIMIT's closures do in the 39 phones of Lee & Hon (1989).
CLOSURES = frozenset({"t-", "k-"})
PHONE_CLASSES: tuple[str, ...] = ("sil", *(p for p in PHONES if p not in CLOSURES))


@dataclass(frozen=True)
class Speakers:
    """A voice per speaker, each between a low adult one (f0 100 Hz, the table's formants) and
    a high one (f0 250 Hz, formants 20 % higher): pitch and tract length go together, with
    some spread."""

    pitch: np.ndarray  # (S,) mean f0, Hz
    tract: np.ndarray  # (S,) formant scale: > 1 for a shorter vocal tract
    rate: np.ndarray  # (S,) duration scale: < 1 speaks faster
    accent: np.ndarray  # (S, len(PHONES), 3) relative offsets to each phone's formants

    @staticmethod
    def draw(count: int, rng: np.random.Generator) -> Speakers:
        height = rng.uniform(size=count)
        return Speakers(
            pitch=100.0 * 2.5**height * rng.uniform(0.92, 1.08, count),
            tract=(1.0 + 0.2 * height) * rng.uniform(0.97, 1.03, count),
            rate=rng.uniform(0.9, 1.1, count),
            accent=rng.normal(0.0, 0.04, size=(count, len(PHONES), 3)),
        )


def speech(words: int, speakers: int, n: int, mels: int, seed: int) -> Samples:
    """`n` utterances of the first `words` digit words by `speakers` speakers, as
    `[FRAMES, mels]` log-mel frames; the class is the word. Utterance `i` is by speaker
    `i % speakers` (its group, so the loader holds out whole speakers for testing), and the
    words are balanced as in `netspec.data.synthetic`. `more["phones"]` holds each frame's
    PHONE_CLASSES id, the targets of a network that also learns the phones."""
    said = _utterances(words, speakers, n, mels, seed)
    names = tuple(name for name, _ in WORDS[:words])
    phones = {"phones": (said.phones, PHONE_CLASSES)}  # a second task's targets
    return Samples(said.x, said.y, names, groups=said.who, more=phones)


def speech_frames(speakers: int, utterances: int, mels: int, context: int, seed: int) -> Samples:
    """Frame-level phone classification on the utterances `speech(10, speakers, utterances,
    mels, seed)` says: a sample per frame, `context` frames centred on it (the utterance's first
    and last frames repeated past its ends), flattened frame by frame to `context * mels`
    values; its class is the phone said at the centre frame's middle (PHONE_CLASSES), silence
    and stop closures as `sil`. Utterance `i`'s frames are samples `i * FRAMES` to
    `(i + 1) * FRAMES - 1`, all in the group of its speaker.

    >>> s = speech_frames(speakers=2, utterances=3, mels=20, context=11, seed=0)
    >>> s.x.shape, s.y.shape, s.names[:3], len(s.names), s.groups[[0, 63, 64]].tolist()
    ((192, 220), (192,), ('sil', 'ih', 'eh'), 20, [0, 0, 1])
    """
    said = _utterances(10, speakers, utterances, mels, seed)
    half = context // 2
    padded = np.pad(said.x, ((0, 0), (half, half), (0, 0)), mode="edge")  # (U, FRAMES + 2 half, M)
    windows = np.lib.stride_tricks.sliding_window_view(padded, context, axis=1)  # (U, F, M, C)
    x = windows.transpose(0, 1, 3, 2).reshape(utterances * FRAMES, context * mels)
    return Samples(x, said.phones.ravel(), PHONE_CLASSES, groups=np.repeat(said.who, FRAMES))


@dataclass(frozen=True)
class Utterances:
    """What `speech` and `speech_frames` are made from, for utterances 0..U-1."""

    x: np.ndarray  # (U, FRAMES, mels) log-mel frames
    y: np.ndarray  # (U,) the word said
    who: np.ndarray  # (U,) its speaker
    phones: np.ndarray  # (U, FRAMES) the PHONE_CLASSES id said at each frame's middle


def _utterances(words: int, speakers: int, n: int, mels: int, seed: int) -> Utterances:
    rng = np.random.default_rng(seed)
    voices = Speakers.draw(speakers, rng)
    y = rng.permutation(np.arange(n, dtype=np.int64) % words)
    who = np.arange(n) % speakers
    controls = np.zeros((n, BLOCKS, 8))
    phones = np.zeros((n, FRAMES), dtype=np.int64)
    for w in range(words):
        said = np.flatnonzero(y == w)
        if not len(said):  # fewer utterances than words
            continue
        edges = _edges(WORDS[w][1], voices, who[said], rng)
        controls[said] = _controls_at(edges, WORDS[w][1], voices, who[said], rng)
        phones[said] = _frame_phones(edges, WORDS[w][1])
    x = np.zeros((n, FRAMES, mels))
    for i in range(0, n, CHUNK):
        waves = _synthesise(controls[i : i + CHUNK], rng)
        for j in range(0, len(waves), 256):  # the frames of 256 utterances take 100 MB
            x[i + j : i + j + 256] = log_mel(waves[j : j + 256], mels)
    return Utterances(x, y, who, phones)


# --- controls: what the source and the filter do in each 5 ms block ------------------------------

NAMES = tuple(PHONES)
BLOCKS = LENGTH // BLOCK + 1
TIMES = (np.arange(BLOCKS) + 0.5) * BLOCK / RATE * 1000.0  # block centres, ms


def _controls(
    phones: tuple[str, ...], voices: Speakers, who: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(M, BLOCKS, 8) for M utterances of one word by speakers `who`, per block: F1, F2, F3,
    voice, noise, hiss centre, hiss bandwidth, f0.

    Each phone holds its targets in its middle and moves linearly to the next phone's over
    the 20 ms around their boundary (its amplitudes over 5 ms)."""
    return _controls_at(_edges(phones, voices, who, rng), phones, voices, who, rng)


def _edges(
    phones: tuple[str, ...], voices: Speakers, who: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(M, phones + 1) times in ms where each phone starts, then where the last one ends."""
    m = len(who)
    rate = voices.rate[who, None] * rng.uniform(0.9, 1.1, (m, 1))
    ms = np.array([PHONES[p].ms for p in phones]) * rate * rng.uniform(0.88, 1.12, (m, len(phones)))
    start = rng.uniform(30.0, 90.0, (m, 1))  # silence before the word, ms
    room = LENGTH / RATE * 1000.0 - 20.0 - start  # a word too slow for FRAMES is sped up
    ms *= np.minimum(1.0, room / ms.sum(axis=1, keepdims=True))
    edges: np.ndarray = start + np.concatenate([np.zeros((m, 1)), np.cumsum(ms, axis=1)], axis=1)
    return edges


def _controls_at(
    edges: np.ndarray,
    phones: tuple[str, ...],
    voices: Speakers,
    who: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """`_controls` for phones starting and ending at `edges`."""
    m, table = len(who), [PHONES[p] for p in phones]
    jitter = rng.normal(0.0, 0.03, (m, len(phones), 3))  # this utterance's formant offsets
    accent = voices.accent[who][:, [NAMES.index(p) for p in phones]]
    scale = voices.tract[who, None, None] * (1.0 + accent + jitter)  # (M, phones, 3)
    starts = np.array([p.formants for p in table]) * scale
    ends = np.array([p.end or p.formants for p in table]) * scale
    formants = np.stack([starts, ends], axis=2)  # (M, phones, 2, 3)
    sources = np.array([(p.voice, p.noise, *p.hiss) for p in table])  # (phones, 4)
    sources = np.broadcast_to(sources[None, :, None], (m, len(phones), 2, 4))
    out = np.zeros((m, BLOCKS, 8))
    out[:, :, 0:3] = _tracks(edges, formants, 10.0)
    out[:, :, 3:7] = _tracks(edges, sources, 2.5)
    silent = (edges[:, :1] > TIMES) | (edges[:, -1:] < TIMES)  # before or after the word
    out[:, :, 3:5] *= ~silent[:, :, None]
    # Pitch falls through the word (a statement's declination); jitter from block to block.
    through = np.clip((TIMES - edges[:, :1]) / (edges[:, -1:] - edges[:, :1]), 0.0, 1.0)
    jittered = 1.0 + rng.normal(0.0, 0.01, (m, BLOCKS))
    out[:, :, 7] = voices.pitch[who, None] * (1.08 - 0.18 * through) * jittered
    return out


def _tracks(edges: np.ndarray, values: np.ndarray, ramp: float) -> np.ndarray:
    """(M, BLOCKS, C) controls from (M, phones + 1) phone edges in ms and (M, phones, 2, C)
    values at each phone's start and end: the start value `ramp` ms after the phone starts,
    the end value `ramp` ms before it ends (both at its middle when it is shorter), linear in
    between."""
    m, c = len(edges), values.shape[-1]
    lo, hi = edges[:, :-1], edges[:, 1:]
    mid = (lo + hi) / 2
    keys = np.stack([np.minimum(lo + ramp, mid), np.maximum(hi - ramp, mid)], axis=2)
    keys = keys.reshape(m, -1)  # (M, 2 phones), rising
    # One np.interp for all rows: row r is moved by r * apart, past every other row's keys,
    # and its times are clipped to its own keys, so it only reads those.
    apart = 10.0 * (keys.max() - keys.min() + TIMES[-1])
    shift = apart * np.arange(m)[:, None]
    times = (np.clip(TIMES, keys[:, :1], keys[:, -1:]) + shift).ravel()
    flat = values.reshape(m, -1, c)
    out = np.stack(
        [np.interp(times, (keys + shift).ravel(), flat[:, :, j].ravel()) for j in range(c)], axis=-1
    )
    return out.reshape(m, BLOCKS, c)


CENTRES = (np.arange(FRAMES) * HOP + WINDOW / 2) / RATE * 1000.0  # frame middles, ms


def _frame_phones(edges: np.ndarray, phones: tuple[str, ...]) -> np.ndarray:
    """(M, FRAMES) PHONE_CLASSES ids of the phone said at each frame's middle, from (M,
    phones + 1) phone edges in ms: `sil` before the first phone, after the last, and in
    closures."""
    ids = np.array([0 if p in CLOSURES else PHONE_CLASSES.index(p) for p in phones] + [0])
    at = (CENTRES[None, :, None] >= edges[:, None, :]).sum(axis=-1) - 1  # (M, FRAMES), -1..P
    out: np.ndarray = np.where(at < 0, 0, ids[np.maximum(at, 0)])
    return out


# --- the sound ---------------------------------------------------------------------------------


def _coefficients(freq: np.ndarray, bandwidth: np.ndarray) -> tuple[np.ndarray, ...]:
    """A resonator's A, B, C (see the module docstring) at each control value."""
    r = np.exp(-np.pi * bandwidth / RATE)
    b = 2.0 * r * np.cos(2.0 * np.pi * np.minimum(freq, 0.45 * RATE) / RATE)
    c = -(r**2)
    return tuple(v.astype(np.float32) for v in (1.0 - b - c, b, c))


def _peak_gain(freq: np.ndarray, bandwidth: np.ndarray) -> np.ndarray:
    """A resonator's gain at its own frequency, to divide by: its A is set for a gain of 1 at
    0 Hz, which lifts a resonance at 5 kHz about 30-fold."""
    z = np.exp(-2j * np.pi * np.minimum(freq, 0.45 * RATE) / RATE)
    a, b, c = _coefficients(freq, bandwidth)
    gain: np.ndarray = np.abs(a / (1.0 - b * z - c * z**2))
    return gain


def _synthesise(controls: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, LENGTH) waveforms for (N, BLOCKS, 8) controls, filtered sample by sample (the
    resonators' coefficients change every block), all utterances at once."""
    c = controls.transpose(1, 0, 2)  # (BLOCKS, N, 8): a block's values for all, side by side
    n = c.shape[1]
    glottis = 0.96  # a double pole at 0 Hz: the glottal pulse's -12 dB per octave tilt
    (a1, b1, c1), (a2, b2, c2), (a3, b3, c3) = (
        _coefficients(c[:, :, f], np.full((BLOCKS, n), BANDWIDTHS[f])) for f in range(3)
    )
    ah, bh, ch = _coefficients(c[:, :, 5], c[:, :, 6])
    a1 = a1 * c[:, :, 3] * (1 - glottis) ** 2  # the voice's amplitude folded into F1's gain
    ah = ah * c[:, :, 4] * NOISE / _peak_gain(c[:, :, 5], c[:, :, 6])  # the noise's too
    step = (c[:, :, 7] / RATE).astype(np.float32)  # glottal cycles per sample
    noise = rng.standard_normal((LENGTH, n), dtype=np.float32)
    out = np.empty((LENGTH, n), dtype=np.float32)
    phase, g1, g2 = (np.zeros(n, dtype=np.float32) for _ in range(3))
    # Each resonator's last two outputs; F1, F2, F3 in cascade, the noise's in parallel.
    p1, q1, p2, q2, p3, q3, ph, qh = (np.zeros(n, dtype=np.float32) for _ in range(8))
    for t in range(LENGTH):
        k = t // BLOCK
        phase += step[k]
        pulse = phase >= 1.0  # the folds close once per cycle
        phase -= pulse
        g = pulse + 2 * glottis * g1 - glottis**2 * g2
        f1 = a1[k] * g + b1[k] * p1 + c1[k] * q1
        f2 = a2[k] * f1 + b2[k] * p2 + c2[k] * q2
        f3 = a3[k] * f2 + b3[k] * p3 + c3[k] * q3
        h = ah[k] * noise[t] + bh[k] * ph + ch[k] * qh
        np.subtract(f3, p3, out=out[t])  # the lips radiate the flow's change: +6 dB/octave
        out[t] += h
        g1, g2, p1, q1, p2, q2, p3, q3, ph, qh = g, g1, f1, p1, f2, p2, f3, p3, h, ph
    # The background: the same draws in reverse time, so no sample of it meets its own hiss.
    return _with_background(out.T, noise[::-1].T, rng)


def _with_background(waves: np.ndarray, noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each waveform plus white `noise` 15 to 35 dB below its power."""
    power = np.mean(waves**2, axis=1, keepdims=True)
    snr_db = rng.uniform(15.0, 35.0, size=(len(waves), 1))
    noisy: np.ndarray = waves + (np.sqrt(power / 10 ** (snr_db / 10)) * noise).astype(np.float32)
    return noisy


# --- the frames --------------------------------------------------------------------------------


def log_mel(waves: np.ndarray, mels: int) -> np.ndarray:
    """(N, L) waveforms at RATE -> (N, frames, mels) log-mel energies, mapped to -1..1 (FLOOR,
    FLOOR_DB below each waveform's loudest band); FRAMES frames when L is LENGTH."""
    frames = np.lib.stride_tricks.sliding_window_view(waves, WINDOW, axis=1)[:, ::HOP]
    spectrum = np.fft.rfft(frames * np.hanning(WINDOW).astype(np.float32), n=FFT, axis=-1)
    power = spectrum.real**2 + spectrum.imag**2  # (N, FRAMES, FFT // 2 + 1)
    db = 10.0 * np.log10(power @ mel_filters(mels) + 1e-12)
    db = np.maximum(db - db.max(axis=(1, 2), keepdims=True), -FLOOR_DB)
    scaled: np.ndarray = db / (FLOOR_DB / 2) + 1.0
    return scaled


def mel_filters(mels: int) -> np.ndarray:
    """(FFT // 2 + 1, mels) triangular filters, centres equally spaced on the mel scale
    m = 2595 log10(1 + f / 700) from 60 Hz to RATE / 2.

    >>> w = mel_filters(20)
    >>> w.shape, bool((w.sum(axis=0) > 0).all())
    ((257, 20), True)
    """
    top = 2595.0 * np.log10(1.0 + RATE / 2 / 700.0)
    bottom = 2595.0 * np.log10(1.0 + 60.0 / 700.0)
    hz = 700.0 * (10 ** (np.linspace(bottom, top, mels + 2) / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(FFT, 1.0 / RATE)[:, None]
    lo, mid, hi = hz[:-2], hz[1:-1], hz[2:]
    rising, falling = (bins - lo) / (mid - lo), (hi - bins) / (hi - mid)
    return np.maximum(0.0, np.minimum(rising, falling))
