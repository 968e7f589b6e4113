"""Bad-input catalogue of the config, sweep-file and device-card loaders and of the CLI.

Each row is one distinct bad input. Every loader must refuse it with a
:class:`~snn_rram.errors.SnnRramError` that names the offending key path (or, for the CLI,
exit with status 2 and ``snn-rram: error:``/the argument named), leave no file behind in the
folder it was given, and stay within a small memory bound (measured with tracemalloc), also for
``/dev/zero``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import pytest

from snn_rram import SnnRramError, devices
from snn_rram.experiments import load_config
from snn_rram.sweep import load_sweep

#: Peak Python allocation allowed while refusing one bad input, bytes.
PEAK_BYTES = 64 << 20

NET = '[network]\nweights = "w.npz"\n'

# (id, config TOML text, regex the message must match: the key path, and what was wrong)
CONFIGS = [
    ("no-network", "[data]\nn_images = 3\n", r"missing required section 'network'"),
    ("network-not-table", "network = 3\n", r"^network: "),
    (
        "unknown-section-typo",
        NET + "[mapings]\nbits = 3\n",
        r"mapings: unknown section.*'mapping'",
    ),
    ("unknown-key-typo", NET + "[mapping]\nbitz = 4\n", r"mapping\.bitz: unknown key.*'bits'"),
    ("unknown-key-circuit", NET + "[circuit]\nvread = 0.2\n", r"circuit\.vread: .*'v_read'"),
    ("weights-missing", "[network]\nformat = 'npz'\n", r"network\.weights: missing"),
    ("weights-number", "[network]\nweights = 3\n", r"network\.weights: .*string"),
    ("weights-nul", '[network]\nweights = "a\\u0000b"\n', r"network\.weights: .*NUL"),
    ("format-typo", NET + 'format = "onx"\n', r"network\.format: .*'onnx'"),
    ("input-shape-zero", NET + "input_shape = [0, 3]\n", r"network\.input_shape"),
    ("input-shape-str", NET + 'input_shape = "784"\n', r"network\.input_shape"),
    ("train-epochs-0", NET + "train_epochs = 0\n", r"network\.train_epochs"),
    ("train-seed-negative", NET + "train_seed = -1\n", r"network\.train_seed"),
    ("dataset-typo", NET + '[data]\ndataset = "mnits"\n', r"data\.dataset: .*'mnist'"),
    ("n-images-0", NET + "[data]\nn_images = 0\n", r"data\.n_images"),
    ("n-images-huge", NET + "[data]\nn_images = 100000000000\n", r"data\.n_images"),
    ("n-calibration-float", NET + "[data]\nn_calibration = 5.5\n", r"data\.n_calibration"),
    ("n-images-over-test-set", NET + "[data]\nn_images = 1001\n", r"data\.n_images: .*has 1000"),
    (
        "n-calibration-over-train-set",
        NET + "[data]\nn_calibration = 4001\n",
        r"data\.n_calibration: .*has 4000",
    ),
    ("data-path-missing", NET + '[data]\npath = "nowhere"\n', r"data: .*nowhere"),
    ("mnist-without-path", NET + '[data]\ndataset = "mnist"\n', r"data: .*mnist"),
    ("percentile-0", NET + "[conversion]\npercentile = 0\n", r"conversion\.percentile"),
    ("percentile-over-100", NET + "[conversion]\npercentile = 100.5\n", r"conversion\.percentile"),
    ("percentile-nan", NET + "[conversion]\npercentile = nan\n", r"conversion\.percentile"),
    ("card-typo", NET + '[device]\ncard = "sinh_mlid"\n', r"device\.card: .*'sinh_mild'"),
    ("card-missing-file", NET + '[device]\ncard = "nope.toml"\n', r"device\.card: .*not found"),
    ("card-number", NET + "[device]\ncard = 7\n", r"device\.card"),
    (
        "variation-typo",
        NET + "[device.variation]\nread_sigm = 0.1\n",
        r"device\.variation\.read_sigm: .*'read_sigma'",
    ),
    (
        "variation-negative",
        NET + "[device.variation]\nread_sigma = -0.1\n",
        r"device\.variation\.read_sigma",
    ),
    (
        "variation-distribution",
        NET + '[device.variation]\nprogramming_distribution = "gauss"\n',
        r"device\.variation\.programming_distribution",
    ),
    (
        "stuck-over-1",
        NET + "[device.variation]\nstuck_lrs = 0.7\nstuck_hrs = 0.4\n",
        r"device\.variation: stuck_lrs \+ stuck_hrs",
    ),
    (
        "v-read-current",
        NET + '[circuit]\nv_read = "200 mA"\n',
        r"circuit\.v_read: expected a value in V",
    ),
    ("v-read-word", NET + '[circuit]\nv_read = "fast"\n', r"circuit\.v_read"),
    ("v-read-expression", NET + '[circuit]\nv_read = "2**1000 V"\n', r"circuit\.v_read"),
    ("v-read-inf", NET + "[circuit]\nv_read = inf\n", r"circuit\.v_read"),
    (
        "v-read-huge-string",
        NET + '[circuit]\nv_read = "1e400 V"\n',
        r"circuit\.v_read: must be finite",
    ),
    ("v-read-bool", NET + "[circuit]\nv_read = true\n", r"circuit\.v_read: .*boolean"),
    ("r-neuron-negative", NET + '[circuit]\nr_neuron = "-1 kohm"\n', r"circuit\.r_neuron"),
    (
        "rows-typo",
        NET + '[circuit]\ninactive_rows = "flaot"\n',
        r"circuit\.inactive_rows: .*'float'",
    ),
    ("method-typo", NET + '[mapping]\nmethod = "qwms"\n', r"mapping\.method: .*'qwsm'"),
    ("bits-1", NET + "[mapping]\nbits = 1\n", r"mapping\.bits"),
    ("bits-40", NET + "[mapping]\nbits = 40\n", r"mapping\.bits: .*16"),
    ("bits-64", NET + "[mapping]\nbits = 64\n", r"mapping\.bits"),
    (
        "option-unknown",
        NET + "[mapping.options]\nfrobnicate = 1\n",
        r"mapping\.options\.frobnicate: unknown key",
    ),
    (
        "option-other-method",
        NET + "[mapping.options]\npower_weight = 0.1\n",
        r"mapping\.options\.power_weight: unknown key",
    ),
    (
        "option-type",
        NET + '[mapping]\nmethod = "qwsm"\n[mapping.options]\nmax_passes = "many"\n',
        r"mapping\.options\.max_passes",
    ),
    (
        "option-value-the-method-refuses",
        NET + '[mapping]\nmethod = "qwsm"\n[mapping.options]\nparallel = 0\n',
        r"mapping\.options: parallel: .*>= 1",
    ),
    ("options-not-table", NET + "[mapping]\noptions = 3\n", r"mapping\.options"),
    ("encoder-typo", NET + '[encoder]\nkind = "poison"\n', r"encoder\.kind: .*'poisson'"),
    ("max-rate-0", NET + "[encoder]\nmax_rate = 0\n", r"encoder\.max_rate"),
    (
        "max-rate-seconds",
        NET + '[encoder]\nmax_rate = "3 s"\n',
        r"encoder\.max_rate: expected a value in Hz",
    ),
    ("reset-typo", NET + '[neuron]\nreset = "zeros"\n', r"neuron\.reset: .*'zero'"),
    ("leak-negative", NET + "[neuron]\nleak_tau = -1.0\n", r"neuron\.leak_tau"),
    ("target-typo", NET + '[simulation]\ntarget = "cpp"\n', r"simulation\.target"),
    (
        "solver-typo",
        NET + '[simulation]\ncolumn_solver = "exakt"\n',
        r"simulation\.column_solver: .*'exact'",
    ),
    ("energy-int", NET + "[simulation]\nenergy = 1\n", r"simulation\.energy"),
    (
        "dt-not-dividing",
        NET + '[simulation]\ndt = "0.3 ms"\n',
        r"encoder\.image_duration: .*whole number",
    ),
    (
        "dt-longer-than-pulse",
        NET + '[simulation]\ndt = "0.2 ms"\n[circuit]\npulse_width = "0.1 ms"\n',
        r"circuit\.pulse_width: .*whole number",
    ),
    (
        "pulse-longer-than-image",
        NET + '[circuit]\npulse_width = "0.2 s"\n',
        r"circuit\.pulse_width: .*longer than",
    ),
    ("output-name-slash", NET + '[output]\nname = "../x"\n', r"output\.name"),
    ("output-name-empty", NET + '[output]\nname = ""\n', r"output\.name"),
    ("malformed", "[network\nweights = 1", r"config: malformed TOML"),
]

GOOD_CARD = (
    "name = 'x'\nsource = 'test'\n[read]\nmodel = 'linear'\n"
    "[levels]\nkind = 'uniform'\ng_min = 1e-6\ng_max = 1e-5\nn = 4\n"
)

# (id, card TOML text, regex)
CARDS = [
    ("card-unknown-key", GOOD_CARD + "[extra]\n", r"extra: unknown key"),
    ("card-no-levels", GOOD_CARD.split("[levels]")[0], r"levels: missing required key"),
    (
        "card-name-number",
        GOOD_CARD.replace("name = 'x'", "name = 3"),
        r"name: .*string, got 3",
    ),
    ("card-model-typo", GOOD_CARD.replace("'linear'", "'lienar'"), r"read\.model: .*'linear'"),
    ("card-kind-typo", GOOD_CARD.replace("'uniform'", "'unifrom'"), r"levels\.kind: .*'uniform'"),
    ("card-levels-huge", GOOD_CARD.replace("n = 4", f"n = {10**12}"), r"levels\.n: .*65536"),
    ("card-levels-1", GOOD_CARD.replace("n = 4", "n = 1"), r"levels\.n"),
    (
        "card-levels-collapse",
        GOOD_CARD.replace("g_max = 1e-5", "g_max = 1.0000000000000002e-6"),
        r"levels.*collapse",
    ),
    ("card-gmax-below-gmin", GOOD_CARD.replace("g_max = 1e-5", "g_max = 1e-7"), r"levels: g_max"),
    (
        "card-sinh-b-negative",
        GOOD_CARD.replace("model = 'linear'", "model = 'sinh'\nb = -1.0"),
        r"read\.b: must be > 0",
    ),
    (
        "card-measured-duplicates",
        GOOD_CARD.split("[levels]")[0]
        + "[levels]\nkind = 'measured'\nvalues = [1e-6, 1e-6, 2e-6]\n",
        r"levels\.values: .*distinct",
    ),
    (
        "card-variation-typo",
        GOOD_CARD + "[variation]\nstuck_lr = 0.1\n",
        r"variation\.stuck_lr: .*'stuck_lrs'",
    ),
    (
        "card-stuck-over-1",
        GOOD_CARD + "[variation]\nstuck_lrs = 0.8\nstuck_hrs = 0.8\n",
        r"variation: stuck_lrs",
    ),
    # no type coercion, no NaN or infinity, unknown keys at every depth (the pydantic schema)
    ("card-n-float", GOOD_CARD.replace("n = 4", "n = 4.5"), r"levels\.n: .*integer.*4\.5"),
    ("card-n-bool", GOOD_CARD.replace("n = 4", "n = true"), r"levels\.n: .*integer"),
    (
        "card-b-string",
        GOOD_CARD.replace("model = 'linear'", "model = 'sinh'\nb = '2'"),
        r"read\.b: .*number",
    ),
    (
        "card-b-nan",
        GOOD_CARD.replace("model = 'linear'", "model = 'sinh'\nb = nan"),
        r"read\.b: .*finite",
    ),
    (
        "card-gmax-inf",
        GOOD_CARD.replace("g_max = 1e-5", "g_max = inf"),
        r"levels\.g_max: .*finite",
    ),
    ("card-read-key", GOOD_CARD.replace("'linear'", "'linear'\nb = 1.0"), r"read\.b: unknown key"),
    ("card-levels-typo", GOOD_CARD.replace("n = 4", "n = 4\nnn = 4"), r"levels\.nn: .*'n'"),
    (
        "card-read-not-table",
        GOOD_CARD.replace("[read]\n", "read = 3\n[x]\n"),
        r"read: expected a table",
    ),
]

# (id, sweep body after `base = "run.toml"`, regex)
SWEEPS = [
    ("sweep-unknown-key", "colour = 1\n", r"sweep\.colour: unknown key"),
    ("sweep-typo", "repeat = 2\n", r"sweep\.repeat: .*'repeats'"),
    ("sweep-repeats-0", "repeats = 0\n", r"sweep\.repeats"),
    ("sweep-workers-0", "workers = 0\n", r"sweep\.workers"),
    ("sweep-empty-axis", '[grid]\n"mapping.bits" = []\n', r"sweep\.grid\.mapping\.bits"),
    ("sweep-axis-not-list", '[grid]\n"mapping.bits" = 4\n', r"sweep\.grid\.mapping\.bits"),
    (
        "sweep-zip-lengths",
        '[zip]\n"mapping.bits" = [2, 3]\n"mapping.seed" = [1]\n',
        r"sweep: every zip axis",
    ),
    ("sweep-bad-value", '[grid]\n"mapping.bits" = [3, 99]\n', r"mapping\.bits"),
    ("sweep-bad-path", '[grid]\n"mapping.bitz" = [3]\n', r"mapping\.bitz"),
    (
        "sweep-too-many-points",
        '[grid]\n"mapping.seed" = '
        + str(list(range(400)))
        + '\n"encoder.seed" = '
        + str(list(range(400)))
        + "\n",
        r"more than 100000",
    ),
]


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _refused(call, match: str, folder: Path):
    """``call()`` raises SnnRramError matching ``match``, allocates little, writes nothing."""
    before = _listing(folder)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(SnnRramError) as info:
                call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert re.search(match, str(info.value)), f"{match!r} not in {str(info.value)!r}"
    assert peak < PEAK_BYTES, peak
    assert _listing(folder) == before


@pytest.mark.parametrize(("text", "match"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_bad_config(tmp_path, text, match):
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    _refused(lambda: load_config(path), match, tmp_path)


@pytest.mark.parametrize(("text", "match"), [c[1:] for c in CARDS], ids=[c[0] for c in CARDS])
def test_bad_card(tmp_path, text, match):
    path = tmp_path / "card.toml"
    path.write_text(text, encoding="utf-8")
    _refused(lambda: devices.load(path), match, tmp_path)
    # the same card named by a config is refused under device.card
    run = tmp_path / "run.toml"
    run.write_text(NET + '[device]\ncard = "card.toml"\n')
    _refused(lambda: load_config(run), "device.card: .*" + match, tmp_path)


@pytest.mark.parametrize(("body", "match"), [c[1:] for c in SWEEPS], ids=[c[0] for c in SWEEPS])
def test_bad_sweep(tmp_path, body, match):
    (tmp_path / "run.toml").write_text(NET)
    path = tmp_path / "sweep.toml"
    path.write_text(f'base = "run.toml"\ndirectory = "out"\n{body}')
    _refused(lambda: load_sweep(path), match, tmp_path)


# Files that are no TOML text at all, for each of the three loaders.
FILES = [
    ("dev-zero", lambda d: Path("/dev/zero"), r"larger than 1048576 bytes"),
    ("directory", lambda d: d, r"is a directory"),
    ("missing", lambda d: d / "missing.toml", r"not found"),
    (
        "invalid-utf8",
        lambda d: _write(d / "bad.toml", b'[network]\nweights = "\xff\xfe"\n'),
        r"not UTF-8",
    ),
    (
        "too-large",
        lambda d: _write(d / "big.toml", b"# " + b"x" * (1 << 20) + b"\n"),
        r"larger than",
    ),
    ("binary", lambda d: _write(d / "bin.toml", bytes(range(256))), r"not UTF-8|malformed"),
]
LOADERS = [("config", load_config), ("card", devices.load), ("sweep", load_sweep)]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("make", "match"), [f[1:] for f in FILES], ids=[f[0] for f in FILES])
@pytest.mark.parametrize("loader", [f[1] for f in LOADERS], ids=[f[0] for f in LOADERS])
def test_not_a_toml_file(tmp_path, make, match, loader):
    path = make(tmp_path)
    _refused(lambda: loader(path), match, tmp_path)


# (id, arguments, text that must be in stderr)
CLI = [
    ("read-rows-negative", ["read", "--rows", "-1"], "argument --rows"),
    ("read-cols-huge", ["read", "--cols", "1000000"], "argument --cols"),
    ("read-rows-word", ["read", "--rows", "many"], "argument --rows"),
    ("read-activity", ["read", "--activity", "-0.5"], "argument --activity"),
    ("read-v-read", ["read", "--v-read", "-1"], "v_read: must be > 0"),
    ("read-device", ["read", "--device", "defualt"], "did you mean 'default'"),
    ("run-folder", ["run", "{tmp}"], "is a directory"),
    ("run-dev-zero", ["run", "/dev/zero"], "too large"),
    ("run-bad-config", ["run", "{tmp}/bad.toml"], "mapping.bitz: unknown key"),
    ("sweep-folder", ["sweep", "{tmp}"], "is a directory"),
    ("report-binary-csv", ["report", "{tmp}/summary.csv"], "summary.csv"),
    ("info-damaged", ["info", "{tmp}/damaged.h5"], "damaged.h5"),
    ("info-text", ["info", "{tmp}/bad.toml"], "bad.toml"),
]


@pytest.mark.parametrize(("args", "needle"), [c[1:] for c in CLI], ids=[c[0] for c in CLI])
def test_bad_cli_input(tmp_path, args, needle):
    (tmp_path / "bad.toml").write_text(NET + "[mapping]\nbitz = 4\n")
    (tmp_path / "summary.csv").write_bytes(b"\xff\xfe\x00\x01\x02binary")
    (tmp_path / "damaged.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    before = _listing(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", *(a.format(tmp=tmp_path) for a in args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "error:" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _listing(tmp_path) == before


def test_catalogue_size():
    n = len(CONFIGS) + len(CARDS) + len(SWEEPS) + len(FILES) * len(LOADERS) + len(CLI)
    assert n >= 100
