"""The `patches` data source: shapes, seeding, whitening, no side effects, and a spec binding it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from netspec.api import compile
from netspec.data import loading
from netspec.data.patches import patches, photos
from netspec.diagnostics.core import NetspecError
from netspec.views import explain


def _spec(data: str, size: int = 64) -> str:
    return (
        f"network p {{\n    input patch: [{size}]\n    z = sparse_code(patch, 16)\n"
        f"    output z\n}}\n"
        f"train p {{\n    data = {data}\n    stage d {{ greedy = [z]  method = dictionary()  "
        f"optimizer = sgd(lr=0.1)  epochs = 1 }}\n}}\n"
    )


def test_patches_are_flat_real_vectors_without_targets() -> None:
    for size in (8, 12):
        s = patches(size=size, n=500, whiten=True, eps=1e-3, seed=0)
        assert s.x.shape == (500, size * size) and s.x.dtype == np.float64
        assert s.y is None and np.all(np.isfinite(s.x))


def test_patches_are_deterministic_per_seed_and_differ_across_seeds() -> None:
    np.random.seed(1)
    a = patches(size=8, n=300, whiten=True, eps=1e-3, seed=3)
    np.random.seed(2)  # the global generator has no say
    b = patches(size=8, n=300, whiten=True, eps=1e-3, seed=3)
    c = patches(size=8, n=300, whiten=True, eps=1e-3, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.allclose(a.x, c.x)


def test_patches_leave_the_global_generators_and_the_disk_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    photos.cache_clear()  # read the photos again, as a first load does
    np.random.seed(123)
    random.seed(456)
    py_state = random.getstate()
    patches(size=8, n=200, whiten=True, eps=1e-3, seed=0)
    assert random.getstate() == py_state
    assert np.random.random() == np.random.RandomState(123).random()
    assert list(tmp_path.iterdir()) == []


def test_whitened_patches_have_identity_covariance() -> None:
    x = patches(size=8, n=20000, whiten=True, eps=1e-4, seed=0).x
    cov = x.T @ x / len(x)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(cov, np.eye(64), atol=0.03)


def test_a_large_eps_damps_the_weakest_directions_only() -> None:
    x = patches(size=8, n=20000, whiten=True, eps=1.0, seed=0).x
    values = np.linalg.eigvalsh(x.T @ x / len(x))
    assert values.max() == pytest.approx(1.0, abs=0.02)  # the strongest stay whitened
    assert values.min() < 0.05  # the weakest (the finest detail) are damped


def test_unwhitened_patches_are_centred_with_unit_mean_variance() -> None:
    x = patches(size=8, n=5000, whiten=False, eps=1e-3, seed=0).x
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-9)
    assert x.var(axis=0).mean() == pytest.approx(1.0)
    neighbours = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    assert neighbours > 0.8  # natural images: neighbouring pixels are alike, unless whitened


def test_a_spec_binds_patches_to_its_flat_input_and_loads_them() -> None:
    compiled = compile(_spec("patches(size=8, n=400, test=0.25, seed=0)"))
    assert compiled.diagnostics == []
    train = compiled.trains["p"]
    assert [b.field for b in train.data.bindings] == ["patch"]
    ds = loading.load(train.data, compiled.networks["p"])
    assert ds.train.arrays["patch"].shape == (300, 64)
    assert ds.train.arrays["patch"].dtype == np.float32
    assert ds.test is not None and ds.test.size == 100


def test_a_spec_whose_input_is_not_the_patch_size_is_an_error() -> None:
    with pytest.raises(NetspecError) as caught:
        compile(_spec("patches(size=12, n=400)"))
    assert [d.code for d in caught.value.diagnostics] == ["E503"]
    assert "gives features `patch` as `[144]`" in str(caught.value)


def test_explain_documents_patches() -> None:
    page = explain.entry_page("patches")
    assert page.startswith("patches: grey size x size patches")
    for param in ("size (int, default 8)", "whiten (bool, default true)", "eps (float"):
        assert param in page
