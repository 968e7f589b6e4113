import subprocess
import sys

from snn_rram.cli import main


def test_devices_lists_every_card(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for name in ("ideal", "default", "sinh_mild", "sinh_strong", "neurosim_realdevice"):
        assert name in out


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
