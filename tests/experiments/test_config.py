import pytest

from snn_rram import SnnRramError
from snn_rram.experiments import load_config, parse_config
from snn_rram.experiments.config import RunConfig

BASE = """
[network]
weights = "w.npz"
"""


def test_defaults_and_units():
    cfg = parse_config(
        BASE + '[circuit]\nv_read = "200 mV"\npulse_width = "0.1 ms"\n'
        'r_neuron = "1.5 kohm"\n[encoder]\nmax_rate = "0.2 kHz"\n'
    )
    assert cfg.circuit.v_read == pytest.approx(0.2)
    assert cfg.circuit.pulse_width == pytest.approx(1e-4)
    assert cfg.circuit.r_neuron == pytest.approx(1500.0)
    assert cfg.encoder.max_rate == pytest.approx(200.0)
    assert cfg.mapping.method == "linear_pair" and cfg.data.dataset == "mnist_5k"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[mapping]\nbitz = 4\n", r"mapping.bitz: unknown key \(did you mean 'bits'\?\)"),
        ("[mappings]\nbits = 4\n", r"mappings: unknown section \(did you mean 'mapping'\?\)"),
        ("[mapping]\nbits = 4.5\n", "mapping.bits: input should be a valid integer"),
        ("[mapping]\nbits = 1\n", "mapping.bits: input should be greater than or equal to 2"),
        ("[mapping]\nbits = 40\n", "mapping.bits: input should be less than or equal to 16"),
        ('[circuit]\nv_read = "200 mA"\n', r"circuit.v_read: expected a value in V, got '200 mA'"),
        ('[circuit]\nv_read = "fast"\n', "circuit.v_read: expected a number in V"),
        ('[circuit]\nv_read = "2 parsecs"\n', "circuit.v_read: expected a value in V"),
        ("[circuit]\nv_read = -0.2\n", "circuit.v_read: input should be greater than 0"),
        ("[circuit]\nv_read = true\n", r"circuit.v_read: .*got a boolean"),
        ('[circuit]\ninactive_rows = "grund"\n', "circuit.inactive_rows: .*did you mean 'ground'"),
        ('[simulation]\ntarget = "gpu"\n', "simulation.target: expected one of"),
        ("[simulation]\nenergy = 1\n", "simulation.energy: input should be a valid boolean"),
        ("[device.variation]\nsigma = 0.1\n", "device.variation.sigma: unknown key"),
        ('[output]\nname = "a/b"\n', "output.name"),
        ("[data]\nn_images = 0\n", "data.n_images: input should be greater than 0"),
        ('[mapping]\nmethod = "qwms"\n', "mapping.method: .*did you mean 'qwsm'"),
        ("[mapping.options]\nfrobnicate = 1\n", "mapping.options.frobnicate: unknown key"),
        ("[mapping.options]\ncalibrte = true\n", "did you mean 'calibrate'"),
        ("[mapping.options]\ncalibrate = 1\n", "mapping.options.calibrate: input should be"),
        ('[device]\ncard = "defualt"\n', "device.card: .*did you mean 'default'"),
        (
            "[device.variation]\nstuck_lrs = 0.6\nstuck_hrs = 0.6\n",
            "device.variation: .*must not exceed 1",
        ),
        ('[simulation]\ndt = "0.3 ms"\n', "encoder.image_duration: .* whole number"),
        ('[circuit]\npulse_width = "1 s"\n', "circuit.pulse_width: .*longer than"),
        ('[network]\nformat = "onx"\n', "network.format: .*did you mean 'onnx'"),
    ],
)
def test_errors_name_the_field(text, match):
    if text.startswith("[network]"):
        text = text.replace("[network]\n", '[network]\nweights = "w.npz"\n')
    else:
        text = BASE + text
    with pytest.raises(SnnRramError, match=match):
        parse_config(text)


def test_missing_network_and_malformed(tmp_path):
    with pytest.raises(SnnRramError, match="missing required section 'network'"):
        parse_config("[mapping]\nbits = 3\n")
    with pytest.raises(SnnRramError, match="malformed TOML"):
        parse_config("[network\nweights=1")
    with pytest.raises(SnnRramError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_replace_and_round_trip():
    cfg = parse_config(BASE + "[device.variation]\nprogramming_sigma = 0.05\n")
    other = cfg.replace("mapping.bits", 5).replace("circuit.r_neuron", "2 kohm")
    assert (other.mapping.bits, other.circuit.r_neuron) == (5, 2000.0)
    assert other.replace("device.variation.read_sigma", 0.01).device.variation == {
        "programming_sigma": 0.05,
        "read_sigma": 0.01,
    }
    again = parse_config(other.to_toml())
    assert again.to_dict() == other.to_dict()
    with pytest.raises(SnnRramError, match="mapping.bits"):
        cfg.replace("mapping.bits", "four")
    assert isinstance(again, RunConfig)
    # several fields at once, validated together: a method and an option only it takes
    both = cfg.replace({"mapping.method": "qwsm", "mapping.options.power_weight": 0.5})
    assert (both.mapping.method, both.mapping.options) == ("qwsm", {"power_weight": 0.5})
    with pytest.raises(SnnRramError, match="mapping.options.power_weight: unknown key"):
        cfg.replace("mapping.options.power_weight", 0.5)  # linear_pair has no such option
    # a value given for a table is copied, not written into by later paths
    empty: dict = {}
    cfg.replace(
        {"mapping.method": "qwsm", "mapping.options": empty, "mapping.options.parallel": 2}
    )
    assert empty == {}


def test_bundled_configs_are_valid():
    import tomllib
    from pathlib import Path

    from snn_rram.sweep import load_sweep

    root = Path(__file__).parents[2]
    paths = sorted((root / "models" / "experiments").glob("*.toml"))
    kinds = set()
    for path in paths:
        if "base" in tomllib.loads(path.read_text()):  # a sweep file: every point must resolve
            configs = [p.config for p in load_sweep(path).points()]
            kinds.add("sweep")
        else:
            configs = [load_config(path)]
            kinds.add("run")
        for cfg in configs:
            network = cfg.network_path()
            assert network.suffix == ".npz", path.name
            # a study's own networks (under results/) are made by its first step (make target)
            if not network.resolve().is_relative_to((root / "results").resolve()):
                assert network.is_file(), path.name
    assert kinds == {"sweep", "run"}


def test_our_errors_get_no_brian2_banner_and_no_debug_log(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import snn_rram.experiments\n"
        "from snn_rram.experiments import parse_config\n"
        "parse_config('[network]\\nweights = \"w.npz\"\\n[mapping]\\nbitz = 4\\n')\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 1
    assert "SnnRramError: mapping.bitz: unknown key" in proc.stderr
    assert "Brian 2 encountered" not in proc.stderr
    assert list(tmp_path.glob("brian_debug_*")) == []
    # any other exception still goes to Brian2's hook (it is a Brian2 bug report aid)
    proc = subprocess.run(
        [sys.executable, "-c", "import snn_rram.experiments\nraise RuntimeError('x')"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "Brian 2 encountered" in proc.stderr


def _configs():
    """Valid config tables with every field drawn (odd strings included)."""
    from hypothesis import strategies as st

    from snn_rram import devices
    from snn_rram.ann.importers import FORMATS

    text = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
    )
    pos = st.floats(1e-9, 1e9, allow_nan=False, allow_infinity=False)
    nonneg = st.one_of(st.just(0.0), pos)
    ints = st.lists(st.integers(1, 1000), min_size=1, max_size=4)
    seed = st.integers(0, 2**63 - 1)

    @st.composite
    def tables(draw):
        dt = draw(st.sampled_from([1e-5, 5e-5, 1e-4]))
        m = draw(st.integers(1, 10))
        sigma = st.floats(0, 0.5, allow_nan=False)
        variation = draw(
            st.dictionaries(
                st.sampled_from(["programming_sigma", "read_sigma", "stuck_lrs", "stuck_hrs"]),
                sigma,
                max_size=4,
            )
        )
        optional = {
            ("network", "format"): st.sampled_from(FORMATS),
            ("network", "input_shape"): ints,
            ("network", "train_hidden"): ints,
            ("network", "train_epochs"): st.integers(1, 100),
            ("neuron", "leak_tau"): pos,
            ("neuron", "refractory"): nonneg,
        }
        table = {
            "network": {"weights": draw(text), "train_seed": draw(seed)},
            "data": {  # the bundled data set: 4,000 training, 1,000 test images
                "dataset": "mnist_5k",
                "n_images": draw(st.integers(1, 1000)),
                "n_calibration": draw(st.integers(1, 4000)),
            },
            "conversion": {"percentile": draw(st.floats(1e-3, 100.0))},
            "device": {"card": draw(st.sampled_from(sorted(devices.list_cards())))},
            "circuit": {
                "v_read": draw(st.floats(0.01, 2.0)),
                "pulse_width": dt * m,
                "r_neuron": draw(nonneg),
                "inactive_rows": draw(st.sampled_from(["ground", "float"])),
                "r_wire_row": draw(nonneg),
                "r_wire_col": draw(nonneg),
            },
            "mapping": {
                "method": "linear_pair",
                "bits": draw(st.integers(2, 5)),
                "seed": draw(seed),
                "activity": draw(st.sampled_from(["uniform", "calibration"])),
                "fallback": draw(st.sampled_from(["auto", "linear_pair", "none"])),
                "options": {"calibrate": draw(st.booleans())},
            },
            "encoder": {
                "kind": draw(st.sampled_from(["poisson", "regular"])),
                "max_rate": draw(pos),
                "image_duration": dt * (m + draw(st.integers(0, 1000))),
                "seed": draw(seed),
            },
            "neuron": {
                "threshold": draw(pos),
                "reset": draw(st.sampled_from(["subtract", "zero"])),
            },
            "simulation": {
                "dt": dt,
                "target": draw(st.sampled_from(["numpy", "cython", "cpp_standalone"])),
                "energy": draw(st.booleans()),
                "column_solver": draw(st.sampled_from(["table", "exact"])),
                "progress": draw(st.booleans()),
            },
            "output": {
                "directory": draw(text),
                "name": draw(
                    st.from_regex(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
                ),
                "figure": draw(st.booleans()),
            },
        }
        if variation:
            table["device"]["variation"] = variation
        for (section, key), strategy in optional.items():
            if draw(st.booleans()):
                table[section][key] = draw(strategy)
        return table

    return tables()


def test_config_round_trips_through_toml_exactly():
    import warnings

    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_configs())
    def check(table):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bits vs a card's levels: not what is tested here
            cfg = RunConfig.from_dict(table)
            text = cfg.to_toml()
            again = parse_config(text)
        assert again == cfg
        assert again.to_dict() == cfg.to_dict()
        assert again.to_toml() == text
        # every field given is kept, with its type (tuples are written as arrays)
        for section, values in table.items():
            for key, value in values.items():
                got = getattr(getattr(again, section), key)
                assert (list(got) if isinstance(got, tuple) else got) == value, (section, key)

    check()


def test_bits_beyond_the_cards_levels_warn():
    from snn_rram import SnnRramWarning

    with pytest.warns(SnnRramWarning, match="mapping.bits = 7 .* 32 levels"):
        parse_config(BASE + "[mapping]\nbits = 7\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_config(BASE + "[mapping]\nbits = 6\n")  # 31 codes per sign on 32 levels: fine
