import subprocess
import sys

import pytest

from snn_rram.cli import main


def test_devices_lists_every_card(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for name in ("ideal", "default", "sinh_mild", "sinh_strong", "neurosim_realdevice"):
        assert name in out


def test_examples_lists_the_example_configs_with_their_kind(capsys):
    assert main(["examples"]) == 0
    lines = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert lines["demo"] == "run"
    assert lines["qwsm_study"] == "sweep"


def test_read_prints_a_table(capsys):
    assert (
        main(["read", "--rows", "6", "--cols", "3", "--inactive-rows", "float", "--r-wire", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "solver='nodal'" in out
    assert out.count("\n") >= 6
    assert "drivers" in out


def test_errors_exit_with_status_2():
    proc = subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", "read", "--device", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown preset 'nope'" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", "read", "--v-read", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "v_read: must be > 0" in proc.stderr


def _cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["read", "--rows", "-1"], "--rows"),
        (["read", "--cols", "100000"], "--cols"),
        (["read", "--activity", "1.5"], "--activity"),
        (["read", "--seed", "-3"], "--seed"),
        (["sweep", "--workers", "0", "x.toml"], "--workers"),
    ],
)
def test_integer_and_range_arguments_checked(args, field, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"snn-rram: error: {args[0]}: argument {field}: expected" in err
    assert "Traceback" not in err


def test_bad_files_give_one_line_and_debug_gives_the_traceback(tmp_path):
    csv = tmp_path / "summary.csv"
    csv.write_bytes(b"\xff\xfe\x00\x01binary")
    damaged = tmp_path / "run.h5"
    damaged.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    for args, words in [
        (["sweep", str(tmp_path)], "is a directory"),
        (["report", str(csv)], "summary.csv"),
        (["info", str(damaged)], "run.h5"),
        (["run", "/dev/zero"], "too large"),
    ]:
        proc = _cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("snn-rram: error: ") and words in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    proc = _cli("--debug", "sweep", str(tmp_path))
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5", "summary.csv"]
