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


def test_card_round_trip(tmp_path):
    import tomllib

    dev = devices.load("sinh_mild")
    path = tmp_path / "copy.toml"
    lines = []
    t = dev.to_dict()
    lines += [f'name = "{t["name"]}"', f'source = "{t["source"]}"'.replace("\n", " ")]
    for table in ("read", "levels", "variation"):
        lines.append(f"[{table}]")
        for k, v in t[table].items():
            lines.append(f"{k} = {v!r}".replace("'", '"'))
    path.write_text("\n".join(lines))
    assert tomllib.loads(path.read_text())
    again = devices.load(path)
    np.testing.assert_array_equal(again.levels.values, dev.levels.values)


def test_unknown_preset_and_malformed_cards(tmp_path):
    with pytest.raises(SnnRramError, match="unknown preset 'nope'.*available"):
        devices.load("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[read\nmodel = 'sinh'")
    with pytest.raises(SnnRramError, match="malformed TOML"):
        devices.load(bad)
    bad.write_text("name = 'x'\nsource = 's'\n[read]\nmodel = 'sinh'\nb = 2.0\n")
    with pytest.raises(SnnRramError, match="missing required key 'levels'"):
        devices.load(bad)
    bad.write_text(
        "name = 'x'\nsource = 's'\ncolour = 'red'\n[read]\nmodel = 'linear'\n"
        "[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1e-5\nn = 4\n"
    )
    with pytest.raises(SnnRramError, match="unknown key.*colour"):
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
