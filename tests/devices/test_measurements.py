"""Measured CSV files to a device card: `snn-rram fit IV.csv [--levels LEVELS.csv] -o CARD`."""

import numpy as np
import pytest

from snn_rram import devices
from snn_rram.cli import main
from snn_rram.devices.measurements import fit_card, read_iv_csv, read_levels_csv
from snn_rram.errors import SnnRramError

G_STATES = np.array([2e-6, 5e-6, 1.2e-5])
B = 2.0


def _iv_csv(path, noise=0.0):
    V = np.linspace(-0.4, 0.4, 17)
    I = G_STATES[:, None] / B * np.sinh(B * V[None, :])
    I = I * (1 + noise * np.random.default_rng(0).standard_normal(I.shape))
    lines = ["# a comment line", "V,low,mid,high"]
    lines += [",".join(f"{x:.10g}" for x in (v, *I[:, k])) for k, v in enumerate(V)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _levels_csv(path):
    pulses = np.tile(np.arange(16), 2)  # two cycles
    G = 1e-6 + 1.5e-5 * -np.expm1(-pulses / 6.0)
    path.write_text(
        "pulses,G\n" + "".join(f"{p},{g:.10g}\n" for p, g in zip(pulses, G, strict=True))
    )
    return path


def test_an_iv_file_gives_the_model_and_measured_levels(tmp_path):
    V, I, names = read_iv_csv(_iv_csv(tmp_path / "iv.csv"))
    assert V.shape == (17,) and I.shape == (3, 17) and names == ["low", "mid", "high"]
    fit = fit_card(tmp_path / "iv.csv", name="cell")
    assert fit.device.read_model.to_dict() == {"model": "sinh", "b": pytest.approx(B, rel=1e-6)}
    np.testing.assert_allclose(fit.device.levels.values, G_STATES, rtol=1e-6)
    assert fit.iv.r2 > 0.999999
    assert "iv.csv (sha256 " in fit.device.source
    card = fit.device.save(tmp_path / "cell.toml")
    loaded = devices.load(card)
    np.testing.assert_array_equal(loaded.levels.values, fit.device.levels.values)


def test_a_levels_file_gives_the_potentiation_levels(tmp_path):
    pulses, G = read_levels_csv(_levels_csv(tmp_path / "levels.csv"))
    assert pulses.size == G.size == 32
    fit = fit_card(_iv_csv(tmp_path / "iv.csv"), tmp_path / "levels.csv")
    lv = fit.device.levels
    assert lv.n == 16 and lv.g_min == pytest.approx(1e-6, rel=1e-6)
    assert fit.levels.A == pytest.approx(6.0, rel=1e-6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("volts,I\n0.1,1e-6\n", "expected the header 'V,<state>"),
        ("V,a\n", "expected a header row and data rows"),
        ("V,a\n0.1,1e-6\n0.2\n", "line 3: 1 values, the header has 2"),
        ("V,a\n0.1,1e-6\n0.2,one\n", "line 3: not a number"),
        ("V,a\n0.1,nan\n", "NaN or infinite"),
    ],
)
def test_bad_iv_files_are_refused_with_the_line(tmp_path, text, message):
    path = tmp_path / "iv.csv"
    path.write_text(text)
    with pytest.raises(SnnRramError, match=message):
        read_iv_csv(path)


def test_bad_levels_file_and_binary_file(tmp_path):
    path = tmp_path / "levels.csv"
    path.write_text("pulse,G\n0,1e-6\n")
    with pytest.raises(SnnRramError, match="expected the header 'pulses,G'"):
        read_levels_csv(path)
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(SnnRramError, match="not UTF-8"):
        read_levels_csv(path)


def test_the_command_writes_the_card_and_its_figure(tmp_path, capsys):
    iv, lv = _iv_csv(tmp_path / "iv.csv", noise=0.01), _levels_csv(tmp_path / "levels.csv")
    out = tmp_path / "mycell.toml"
    assert main(["fit", str(iv), "--levels", str(lv), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "I–V fit (sinh, 3 states): R² 0.99" in text and "levels fit: R² 1.000000" in text
    device = devices.load(out)
    assert device.name == "mycell" and device.levels.n == 16
    assert device.read_model.b == pytest.approx(B, rel=0.05)
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert main(["fit", str(iv), "-o", str(tmp_path / "card.txt")]) == 2
    assert "a device card is a .toml file" in capsys.readouterr().err
