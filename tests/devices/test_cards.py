import numpy as np
import pytest

from snn_rram import SnnRramError, devices


def test_required_cards_exist_with_sources():
    cards = devices.list_cards()
    for name in ("ideal", "default", "sinh_mild", "sinh_strong", "neurosim_realdevice"):
        assert name in cards
        dev = devices.load(name)
        assert dev.name == name
        assert len(dev.source) > 20


def test_neurosim_card():
    dev = devices.load("neurosim_realdevice")
    lv = dev.levels
    assert (lv.n, lv.g_min, lv.g_max, lv.nonlinearity) == (97, 3.0769e-9, 3.8462e-8, 2.4)


def test_paper2_cards_differ_in_nonlinearity():
    mild, strong = devices.load("sinh_mild"), devices.load("sinh_strong")
    assert strong.read_model.b > 2 * mild.read_model.b


def _same_device(a, b):
    """Every field of two devices: read model, levels, variation, texts."""
    assert (a.name, a.source, a.description) == (b.name, b.source, b.description)
    assert a.read_model.to_dict() == b.read_model.to_dict()
    assert type(a.read_model) is type(b.read_model)
    assert a.levels.to_dict() == b.levels.to_dict()
    np.testing.assert_array_equal(a.levels.values, b.levels.values)
    assert a.variation == b.variation


@pytest.mark.parametrize("name", sorted(devices.list_cards()))
def test_card_round_trip(tmp_path, name):
    dev = devices.load(name)
    path = dev.save(tmp_path / f"{name}.toml")
    _same_device(devices.load(path), dev)
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.toml"]  # no temporary left


def test_saved_card_keeps_variation_measured_levels_and_odd_text(tmp_path):
    dev = devices.Device(
        'quote " and \\ and\nnew line, µS',
        devices.Tabulated([1e-6, 1e-5], [-0.2, 0.0, 0.2], [[-2e-7, 0, 2e-7], [-2e-6, 0, 2e-6]]),
        devices.MeasuredLevels(np.array([1e-6, 2.5e-6, 1e-5])),
        devices.Variation(0.05, "lognormal", 0.01, 0.02, 0.03),
        source="a\tsource\n",
        description="ünïcode",
    )
    path = dev.save(tmp_path / "odd.toml")
    _same_device(devices.load(path), dev)
    np.testing.assert_array_equal(devices.load(path).read_model.I, dev.read_model.I)


def test_save_refuses_bad_paths(tmp_path):
    dev = devices.load("ideal")
    with pytest.raises(SnnRramError, match="folder"):
        dev.save(tmp_path / "missing" / "x.toml")
    with pytest.raises(SnnRramError, match=".toml"):
        dev.save(tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []


def test_card_limits(tmp_path):
    from snn_rram.devices import MAX_LEVELS

    card = tmp_path / "big.toml"
    card.write_text(
        "name = 'x'\nsource = 's'\n[read]\nmodel = 'linear'\n"
        f"[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1e-5\nn = {10**12}\n"
    )
    with pytest.raises(
        SnnRramError, match=f"levels.n: expected an integer from 2 to {MAX_LEVELS}"
    ):
        devices.load(card)
    card.write_text(
        "name = 'x'\nsource = 's'\n[read]\nmodel = 'linear'\n"
        "[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1.0000000000000002e-6\nn = 4\n"
    )
    with pytest.raises(SnnRramError, match="collapse onto the same"):
        devices.load(card)


def test_nearly_collapsed_levels_warn():
    from snn_rram import SnnRramWarning

    with pytest.warns(SnnRramWarning, match="indistinguishable"):
        devices.MeasuredLevels(np.array([1e-6, 1e-6 * (1 + 1e-12), 1e-5]))


def test_unknown_preset_and_malformed_cards(tmp_path):
    with pytest.raises(SnnRramError, match="unknown preset 'nope'.*available"):
        devices.load("nope")
    with pytest.raises(SnnRramError, match="did you mean 'sinh_mild'"):
        devices.load("sinh_mlid")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[read\nmodel = 'sinh'")
    with pytest.raises(SnnRramError, match="malformed TOML"):
        devices.load(bad)
    bad.write_text("name = 'x'\nsource = 's'\n[read]\nmodel = 'sinh'\nb = 2.0\n")
    with pytest.raises(SnnRramError, match="levels: missing required key"):
        devices.load(bad)
    bad.write_text(
        "name = 'x'\nsource = 's'\ncolour = 'red'\n[read]\nmodel = 'linear'\n"
        "[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1e-5\nn = 4\n"
    )
    with pytest.raises(SnnRramError, match="colour: unknown key"):
        devices.load(bad)
    bad.write_text(
        "name = 'x'\nsource = 's'\n[read]\nmodel = 'linear'\n"
        "[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1e-5\nn = 4\n"
        "[variation]\nread_sigma = -1.0\n"
    )
    with pytest.raises(SnnRramError, match="read_sigma"):
        devices.load(bad)
    with pytest.raises(SnnRramError, match="not found"):
        devices.load(tmp_path / "missing.toml")


def test_env_path_overrides(tmp_path, monkeypatch):
    card = tmp_path / "mine.toml"
    card.write_text(
        "name = 'mine'\nsource = 'test'\n[read]\nmodel = 'linear'\n"
        "[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1e-5\nn = 4\n"
    )
    monkeypatch.setenv("SNN_RRAM_DEVICE_PATH", str(tmp_path))
    assert devices.load("mine").levels.n == 4


def test_card_schema_is_the_class_signature():
    """The schema of each card table follows the class it builds (no second list of keys)."""
    import dataclasses

    from snn_rram._schema import _table_model
    from snn_rram.devices import iv, levels

    for cls in (*iv.READ_MODELS.values(), *levels.LEVEL_KINDS.values(), devices.Variation):
        init = {f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
        assert set(_table_model(cls).model_fields) == init, cls
    assert iv.from_dict({"model": "sinh", "b": 3}).b == 3.0  # an integer is a number
