import subprocess
import sys
from pathlib import Path

from snn_rram.cli import main


def test_plot_prints_the_written_files(run_file, tmp_path, capsys):
    assert main(["plot", str(run_file), "-o", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.split()
    assert [Path(p).name for p in lines] == ["run_rasters.png", "run_fc1.png", "run_fc2.png"]
    for p in lines:
        assert Path(p).parent == tmp_path and Path(p).stat().st_size > 0


def test_plot_a_sweep_folder(sweep_dir, tmp_path, capsys):
    assert main(["plot", str(sweep_dir), "--out-dir", str(tmp_path)]) == 0
    names = sorted(Path(p).name for p in capsys.readouterr().out.split())
    assert names == ["summary_mapping_bits.png", "summary_mapping_method.png"]


def test_plot_errors_exit_with_status_2(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nothing.h5")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snn-rram: error: path: no such file") and "nothing.h5" in err
    proc = subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", "plot", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "holds no sweep summary" in proc.stderr
