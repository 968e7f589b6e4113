import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.devices import UniformLevels, Variation

LEVELS = UniformLevels(1e-6, 1e-5, 16)


def test_no_variation_is_identity():
    G = np.linspace(1e-6, 1e-5, 12).reshape(3, 4)
    np.testing.assert_array_equal(Variation().program(G, LEVELS, 0), G)
    assert not Variation().programming_active


def test_programming_error_statistics_and_seeding():
    G = np.full(200_000, 5e-6)
    v = Variation(programming_sigma=0.1)
    a, b = v.program(G, LEVELS, 7), v.program(G, LEVELS, 7)
    np.testing.assert_array_equal(a, b)
    assert np.std(a / G - 1) == pytest.approx(0.1, rel=0.02)
    logn = Variation(programming_sigma=0.2, programming_distribution="lognormal")
    x = logn.program(G, LEVELS, 1)
    assert np.std(np.log(x / G)) == pytest.approx(0.2, rel=0.02)
    assert (x > 0).all()


def test_stuck_faults():
    G = np.full(100_000, 5e-6)
    out = Variation(stuck_lrs=0.1, stuck_hrs=0.05).program(G, LEVELS, 3)
    assert np.mean(out == LEVELS.g_max) == pytest.approx(0.1, abs=0.005)
    assert np.mean(out == LEVELS.g_min) == pytest.approx(0.05, abs=0.004)
    # "no device" (0 S) entries stay absent
    G[::2] = 0.0
    out = Variation(stuck_lrs=0.5, programming_sigma=0.1).program(G, LEVELS, 3)
    assert (out[::2] == 0).all()


def test_read_noise_per_read():
    G = np.full((3, 4), 5e-6)
    v = Variation(read_sigma=0.05)
    reads = v.read(G, 0, size=(1000,))
    assert reads.shape == (1000, 3, 4)
    assert np.std(reads / G - 1) == pytest.approx(0.05, rel=0.05)
    assert not np.array_equal(reads[0], reads[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"programming_sigma": -0.1}, "programming_sigma"),
        ({"programming_distribution": "uniform"}, "programming_distribution"),
        ({"stuck_lrs": 0.7, "stuck_hrs": 0.6}, "must not exceed 1"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(SnnRramError, match=match):
        Variation(**kwargs)


def test_seed_required():
    with pytest.raises(SnnRramError, match="seed"):
        Variation(programming_sigma=0.1).program([1e-6], LEVELS, None)
