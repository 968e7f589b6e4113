"""The bundled files (package data through importlib.resources) and the user search path."""

import os
from importlib import resources
from pathlib import Path

import pytest

from snn_rram import _resources, datasets, devices
from snn_rram.errors import SnnRramError
from snn_rram.experiments.config import config_file, load_config

ROOT = Path(__file__).resolve().parents[1]

CARD = (
    "name = '{name}'\nsource = 'test'\n[read]\nmodel = 'linear'\n"
    "[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1e-5\nn = {n}\n"
)


def test_the_bundle_is_the_repository_folders_reached_through_the_package():
    root = _resources.bundled_root()
    assert root == Path(str(resources.files("snn_rram"))) / "_bundled"
    # in a checkout the bundled folders are the repository's own (symlinks), not copies
    assert (root / "models").resolve() == (ROOT / "models").resolve()
    assert (root / "data").resolve() == (ROOT / "data").resolve()
    assert datasets.bundled_dir() == root / "data" / "mnist_5k"
    assert devices.card_dirs()[-1] == root / "models" / "devices"
    names = {p.stem for p in (ROOT / "models" / "devices").glob("*.toml")}
    assert set(devices.list_cards()) == names
    assert _resources.find("network", "mlp_784_256_10") == (
        root / "models" / "networks" / "mlp_784_256_10.npz"
    )
    assert "demo" in _resources.available("config")


def test_every_bundled_file_is_listed_as_package_data():
    """setup.cfg's package_data globs cover what the code looks up (the wheel test installs it)."""
    import configparser
    import fnmatch

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    globs = [g.strip() for g in cfg["options.package_data"]["snn_rram"].split("\n") if g.strip()]
    needed = [
        *devices.list_cards().values(),
        *_resources.available("config").values(),
        _resources.find("network", "mlp_784_256_10"),
        _resources.find("network", "mlp_784_256_10").with_suffix(".toml"),
        *datasets.bundled_dir().glob("*.gz"),
    ]
    package = Path(str(resources.files("snn_rram")))
    for path in needed:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


def test_user_folders_come_first_in_their_order(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, n in ((first, 4), (second, 6)):
        folder.mkdir()
        (folder / "mine.toml").write_text(CARD.format(name="mine", n=n))
    (second / "default.toml").write_text(CARD.format(name="default", n=3))
    monkeypatch.setenv("SNN_RRAM_DEVICE_PATH", os.pathsep.join([str(first), str(second)]))
    assert devices.card_dirs()[:2] == [first, second]
    assert devices.load("mine").levels.n == 4
    assert devices.load("default").levels.n == 3  # a user card shadows the bundled one
    assert devices.list_cards()["default"] == second / "default.toml"
    # a path is a path: read as it is, never searched
    assert devices.load(str(second / "mine.toml")).levels.n == 6


def test_networks_and_configs_are_searched_the_same_way(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text('[network]\nweights = "mlp_784_256_10"\n')
    monkeypatch.setenv("SNN_RRAM_CONFIG_PATH", str(tmp_path))
    assert config_file("mine") == tmp_path / "mine.toml"
    cfg = load_config("mine")
    assert cfg.network_path() == _resources.find("network", "mlp_784_256_10")
    monkeypatch.setenv("SNN_RRAM_NETWORK_PATH", str(tmp_path))
    (tmp_path / "mlp_784_256_10.npz").write_bytes(b"")
    assert cfg.network_path() == tmp_path / "mlp_784_256_10.npz"


def test_names_and_paths():
    assert _resources.is_name("default")
    for text in ("default.toml", "models/default", "./x", "", f"a{os.sep}b"):
        assert not _resources.is_name(text), text
    assert _resources.find("device", "models/devices/default") is None
    assert _resources.find("device", "no_such_card") is None
    with pytest.raises(SnnRramError, match="kind: expected one of device, network, config"):
        _resources.find("card", "default")
    with pytest.raises(
        SnnRramError, match=r"no example config of that name \(did you mean 'demo'"
    ):
        config_file("dmeo")


def test_a_copied_example_config_works_from_any_folder(tmp_path, monkeypatch):
    copy = tmp_path / "elsewhere" / "demo.toml"
    copy.parent.mkdir()
    copy.write_text(config_file("demo").read_text())
    monkeypatch.chdir(tmp_path)
    cfg = load_config(copy)
    assert cfg.network_path() == _resources.find("network", "mlp_784_256_10")
    assert cfg.output_dir() == (copy.parent / "../../results").resolve()


def test_outputs_of_an_installed_example_go_under_the_current_folder(tmp_path, monkeypatch):
    # an installed package's bundle holds copies: a fake one stands in for site-packages
    bundle = tmp_path / "site-packages" / "snn_rram" / "_bundled"
    (bundle / "models" / "experiments").mkdir(parents=True)
    monkeypatch.setattr(_resources, "bundled_root", lambda: bundle)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    here = bundle / "models" / "experiments"
    assert _resources.is_bundled(here)
    assert _resources.output_folder(here, "../../results") == work / "results"
    assert _resources.output_folder(here, "../../results/qwsm") == work / "results" / "qwsm"
    assert _resources.output_folder(here, tmp_path / "abs") == tmp_path / "abs"
    assert not _resources.is_bundled(work)
    assert _resources.output_folder(work / "cfgs", "../out") == work / "out"
