"""Sweep files: axes, labels, repeats, hashing of points, validation."""

import re

import pytest

from snn_rram.errors import SnnRramError
from snn_rram.sweep import load_sweep, point_key

from .conftest import MLP, write_base, write_sweep


def test_grid_zip_and_extra_points(tmp_path):
    path = write_sweep(
        tmp_path,
        """
[grid]
"mapping.bits" = [3, 4]
"mapping.method" = ["linear_pair", "min_error"]
[zip]
"circuit.r_neuron" = [100.0, 500.0]
"circuit.v_read" = [0.2, 0.1]
[[extra]]
label = "calibrated"
"mapping.method" = "linear_pair"
"mapping.options.calibrate" = true
""",
    )
    spec = load_sweep(path)
    points = spec.points()
    # grid 2 x 2 crossed with 2 zip rows, plus the extra crossed with the 2 bits x 2 zip rows
    assert len(points) == 2 * 2 * 2 + 2 * 2
    assert len({p.key for p in points}) == len(points)
    grid = [p for p in points if p.axes["label"] == ""]
    extra = [p for p in points if p.axes["label"] == "calibrated"]
    assert len(grid) == 8 and len(extra) == 4
    for p in points:
        cfg = p.config
        assert cfg.mapping.bits == p.axes["mapping.bits"]
        assert cfg.circuit.r_neuron == p.axes["circuit.r_neuron"]
        # zip axes stay paired
        assert {100.0: 0.2, 500.0: 0.1}[cfg.circuit.r_neuron] == cfg.circuit.v_read
        assert cfg.output.directory == str(tmp_path / "out" / "points")
        assert cfg.output.name == p.key
        assert cfg.output.figure is False and cfg.simulation.progress is False
        assert p.key == point_key(cfg)
    assert all(p.config.mapping.options == {"calibrate": True} for p in extra)
    assert all(p.config.mapping.options == {} for p in grid)
    assert spec.directory == (tmp_path / "out").resolve()
    # stable: the same file gives the same points in the same order
    assert [p.key for p in load_sweep(path).points()] == [p.key for p in points]


def test_unquoted_dotted_keys_mean_the_same(tmp_path):
    quoted = write_sweep(
        tmp_path,
        '[grid]\n"mapping.bits" = [3, 4]\n[[extra]]\nlabel = "x"\n"mapping.bits" = 6\n',
        "quoted.toml",
    )
    bare = write_sweep(
        tmp_path, '[grid]\nmapping.bits = [3, 4]\n[[extra]]\nlabel = "x"\nmapping.bits = 6\n'
    )
    a, b = load_sweep(quoted).points(), load_sweep(bare).points()
    assert [p.key for p in a] == [p.key for p in b]
    assert [p.config.mapping.bits for p in b] == [3, 4, 6]


def test_repeats_get_distinct_seeds_and_stable_keys(tmp_path):
    path = write_sweep(tmp_path, 'repeats = 3\nseed = 7\n[grid]\n"mapping.bits" = [3, 4]\n')
    points = load_sweep(path).points()
    assert len(points) == 6 and len({p.key for p in points}) == 6
    assert sorted(p.axes["repeat"] for p in points) == [0, 0, 1, 1, 2, 2]
    seeds = {(p.config.mapping.seed, p.config.encoder.seed) for p in points}
    assert len(seeds) == 3 and all(m == e for m, e in seeds)
    # paired: repeat r of every point has the same seed, another repeat another one
    by_repeat = {}
    for p in points:
        by_repeat.setdefault(p.axes["repeat"], set()).add(p.config.encoder.seed)
    assert (
        all(len(v) == 1 for v in by_repeat.values()) and len(set().union(*by_repeat.values())) == 3
    )
    # a seed field swept as an axis keeps its values
    body = 'repeats = 2\nseed = 7\n[grid]\n"encoder.seed" = [11, 12]\n'
    swept = load_sweep(write_sweep(tmp_path, body, "s.toml")).points()
    assert sorted(p.config.encoder.seed for p in swept) == [11, 11, 12, 12]
    assert len({p.config.mapping.seed for p in swept}) == 2
    body = 'repeats = 3\nseed = 8\n[grid]\n"mapping.bits" = [3, 4]\n'
    other = write_sweep(tmp_path, body, "o.toml")
    assert not {p.key for p in points} & {p.key for p in load_sweep(other).points()}


def test_key_ignores_where_results_go(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_base(tmp_path / "a")
    # the same network named by a relative path from another folder
    rel = MLP.relative_to(MLP.parents[2])
    write_base(tmp_path / "b", network=f'weights = "{rel}"')
    sa = load_sweep(write_sweep(tmp_path / "a", '[grid]\n"mapping.bits" = [3]\n'))
    sb_path = tmp_path / "b" / "s.toml"
    sb_path.write_text('base = "base.toml"\ndirectory = "x"\n[grid]\n"mapping.bits" = [3]\n')
    sb = load_sweep(sb_path)
    (pa,), (pb,) = sa.points(), sb.points()
    assert pa.config.output.directory != pb.config.output.directory
    assert pa.key == pb.key
    assert point_key(pa.config.replace("mapping.bits", 4)) != pa.key


def test_key_follows_the_network_files_content(tmp_path):
    # a network retrained into the same file must not find the old network's results
    import shutil

    net = tmp_path / "net.npz"
    shutil.copyfile(MLP, net)
    write_base(tmp_path, network='weights = "net.npz"')
    (p,) = load_sweep(write_sweep(tmp_path, '[grid]\n"mapping.bits" = [3]\n')).points()
    assert point_key(p.config) == p.key
    with open(net, "ab") as fh:  # same path, other bytes
        fh.write(b"\0")
    assert point_key(p.config) != p.key


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("colour = 1\n", "sweep.colour: unknown key"),
        ("repeat = 2\n", "did you mean 'repeats'"),
        (
            '[grid]\n"mapping.bits" = [2, 3, 4, 5, 6, 7, 8, 9, 10]\n"mapping.seed" = '
            + str(list(range(20000)))
            + "\n",
            "more than 100000",
        ),
        ('[grid]\n"mapping.bits" = [1, 4]\n', "mapping.bits"),
        ('[grid]\n"mapping.bits" = []\n', "sweep.grid.mapping.bits"),
        ('[grid]\n"mapping.bits" = 4\n', "non-empty list"),
        ('[grid]\n"wiring.kind" = [1]\n', "unknown section 'wiring'"),
        ('[grid]\n"mapping.colour" = [1]\n', "mapping.colour"),
        ('[zip]\n"circuit.v_read" = [0.1, 0.2]\n"circuit.r_neuron" = [1.0]\n', "same number"),
        ("repeats = 0\n", "sweep.repeats"),
        ("retries = -1\n", "sweep.retries"),
        ("workers = 0\n", "sweep.workers"),
        ('seed_fields = "mapping.seed"\n', "sweep.seed_fields"),
        ('[grid]\n"encoder.kind" = ["poisson", "burst"]\n', "encoder.kind"),
    ],
)
def test_invalid_sweep_files_name_the_field(tmp_path, body, message):
    path = write_sweep(tmp_path, body)
    with pytest.raises(SnnRramError, match="(?i)" + re.escape(message)):
        load_sweep(path)


def test_missing_sweep_file_and_base(tmp_path):
    with pytest.raises(SnnRramError, match="not found"):
        load_sweep(tmp_path / "nope.toml")
    path = tmp_path / "s.toml"
    path.write_text('directory = "out"\n')
    with pytest.raises(SnnRramError, match="sweep.base"):
        load_sweep(path)
    path.write_text("base = [\n")
    with pytest.raises(SnnRramError, match="malformed TOML"):
        load_sweep(path)
