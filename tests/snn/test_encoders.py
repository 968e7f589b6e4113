import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.snn import PoissonEncoder, RegularEncoder


def test_poisson_rates_dead_time_and_boundaries():
    rng = np.random.default_rng(0)
    images = rng.random((20, 50))
    enc = PoissonEncoder(max_rate=200.0, dead_time=3e-4)
    sp = enc.encode(images, 1e-4, 0.2, rng=7)
    assert sp.n_images == 20 and sp.image_steps == 2000 and sp.dt == 1e-4
    assert sp.min_gap_steps() >= 3  # across image boundaries too
    assert np.all(np.diff(sp.steps) >= 0)
    counts = sp.counts()
    expected = images * 200.0 * 0.2
    # mean rate matches intensity x max_rate (renewal process with dead time)
    assert counts.sum() == pytest.approx(expected.sum(), rel=0.03)
    assert np.corrcoef(counts.ravel(), expected.ravel())[0, 1] > 0.9
    # seeded
    again = enc.encode(images, 1e-4, 0.2, rng=7)
    np.testing.assert_array_equal(sp.indices, again.indices)
    np.testing.assert_array_equal(sp.steps, again.steps)
    assert sp.duration == pytest.approx(4.0)
    np.testing.assert_allclose(sp.times, sp.steps * 1e-4)


def test_zero_intensity_never_spikes():
    images = np.zeros((3, 5))
    images[:, 2] = 1.0
    sp = PoissonEncoder(100.0, 1e-4).encode(images, 1e-4, 0.1, rng=1)
    assert set(np.unique(sp.indices)) == {2}


def test_regular_encoder():
    images = np.array([[1.0, 0.5, 0.0]])
    sp = RegularEncoder(max_rate=100.0, dead_time=1e-4).encode(images, 1e-4, 0.1)
    counts = sp.counts()[0]
    assert counts.tolist() == [10, 5, 0]
    first = sp.steps[sp.indices == 0]
    assert np.all(np.diff(first) == 100)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: PoissonEncoder(max_rate=-1.0), "max_rate: must be > 0"),
        (lambda: PoissonEncoder(dead_time=-1.0), "dead_time: must be >= 0"),
        (lambda: PoissonEncoder(100.0).encode(np.ones((2, 3)) * 2, 1e-4, 0.1, 0), r"\[0, 1\]"),
        (lambda: PoissonEncoder(100.0).encode(np.ones(3), 1e-4, 0.1, 0), "images: expected"),
        (
            lambda: PoissonEncoder(100.0).encode(np.ones((1, 3)), 1e-4, 0.10005, 0),
            "not a whole number",
        ),
        (lambda: PoissonEncoder(5000.0, 5e-4).encode(np.ones((1, 3)), 1e-4, 0.1, 0), "too high"),
        (lambda: PoissonEncoder(100.0).encode(np.ones((1, 3)), 1e-4, 0.1, None), "seed"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(SnnRramError, match=match):
        call()
