import h5py
import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import results
from snn_rram._io import is_temporary
from snn_rram.errors import SnnRramError
from snn_rram.plot import standard_figures

PNG = b"\x89PNG\r\n\x1a\n"


def assert_pngs(paths, folder):
    """Each file is a PNG that decodes to a drawn figure; different figures differ."""
    assert paths
    images = []
    for p in paths:
        assert p.parent == folder and p.suffix == ".png"
        assert p.read_bytes().startswith(PNG)
        img = plt.imread(p)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200, img.shape
        rgb = img[..., :3]
        # drawn: far from a blank page, with ink (dark pixels) and colour or grey levels
        assert rgb.std() > 0.05 and (rgb.min(axis=2) < 0.3).mean() > 0.001
        images.append(rgb)
    for i in range(len(images)):
        for j in range(i):
            same_shape = images[i].shape == images[j].shape
            assert not (same_shape and np.array_equal(images[i], images[j])), (paths[i], paths[j])
    assert not [q for q in folder.iterdir() if is_temporary(q)]


def test_run_file(run_file, tmp_path):
    out = tmp_path / "figs" / "deeper"  # created
    paths = standard_figures(run_file, out)
    assert [p.name for p in paths] == ["run_rasters.png", "run_fc1.png", "run_fc2.png"]
    assert_pngs(paths, out)


def test_run_file_next_to_itself(run_file, tmp_path):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(run_file.read_bytes())
    paths = standard_figures(str(copy))
    assert {p.name for p in paths} == {"copy_rasters.png", "copy_fc1.png", "copy_fc2.png"}
    assert_pngs(paths, tmp_path)


def test_sparse_layer_without_energy(tmp_path):
    G = sp.random(30, 8, density=0.3, random_state=0, format="csr") * 1e-5
    G.data += 1e-6
    layer = results.LayerRecord(
        name="conv 1",
        conductances=G,
        device_energy=None,
        read_counts=np.zeros(30, dtype=np.int64),
        neuron_energy=None,
        row_input=np.arange(30),
        readout=sp.identity(8, format="csr"),
        mapping="linear_pair",
        device="default",
        mapping_report={},
    )
    spikes = {"input": results.SpikeRecord([0.001, 0.012], [3, 5], 30, 0.01)}
    metrics = {
        "n_images": 2,
        "snn_accuracy": 0.5,
        "simulated_time": 0.02,
        "counts": np.zeros((2, 8), dtype=np.int64),
        "predictions": np.zeros(2, dtype=np.int64),
        "labels": np.array([0, 1]),
    }
    path = results.save(
        tmp_path / "sparse.h5",
        config_text="",
        weights_sha256="0" * 64,
        layers=[layer],
        spikes=spikes,
        metrics=metrics,
    )
    paths = standard_figures(path)
    assert [p.name for p in paths] == ["sparse_rasters.png", "sparse_conv_1.png"]
    assert_pngs(paths, tmp_path)


def test_sweep_summary_h5_csv_and_folder(sweep_dir, tmp_path):
    expected = {"summary_mapping_method.png", "summary_mapping_bits.png"}  # what varies
    for source, out in (
        (sweep_dir / "summary.h5", tmp_path / "h5"),
        (sweep_dir / "summary.csv", tmp_path / "csv"),
        (sweep_dir, tmp_path / "folder"),
    ):
        paths = standard_figures(source, out)
        assert {p.name for p in paths} == expected
        assert_pngs(paths, out)


def test_unknown_or_malformed_files(tmp_path, sweep_dir):
    with pytest.raises(SnnRramError, match="no such file or folder"):
        standard_figures(tmp_path / "missing.h5")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SnnRramError, match="notes.txt.*neither an snn-rram result"):
        standard_figures(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(SnnRramError, match="other.h5.*neither an snn-rram result"):
        standard_figures(other)
    broken = tmp_path / "broken.h5"
    with h5py.File(broken, "w") as f:
        f.attrs["schema_version"] = 1  # not complete
    with pytest.raises(SnnRramError, match="broken.h5"):
        standard_figures(broken)
    damaged = tmp_path / "damaged_summary.h5"
    with h5py.File(damaged, "w") as f:
        f.attrs["columns"] = ["snn_accuracy", "gone"]
        f["snn_accuracy"] = [0.5]
    with pytest.raises(SnnRramError, match="damaged_summary.h5.*damaged sweep summary"):
        standard_figures(damaged)
    csv = tmp_path / "table.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(SnnRramError, match="table.csv.*no snn_accuracy"):
        standard_figures(csv)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnnRramError, match="holds no sweep summary"):
        standard_figures(tmp_path / "empty")
    failed = tmp_path / "failed.csv"
    failed.write_text("key,mapping.bits,status,snn_accuracy\na,2,failed,\nb,3,failed,\n")
    with pytest.raises(SnnRramError, match="failed.csv.*no point with results"):
        standard_figures(failed)
    assert not list(tmp_path.glob("*.png"))


def test_labelled_extra_points_are_series_of_their_own(tmp_path):
    rows = ["key,mapping.method,mapping.bits,label,repeat,status,snn_accuracy"]
    for k, (method, label) in enumerate(
        [("linear_pair", ""), ("qwsm", ""), ("linear_pair", "calibrated")]
    ):
        for bits in (2, 3):
            rows.append(f"k{k}{bits},{method},{bits},{label},0,done,{0.5 + 0.1 * k + 0.01 * bits}")
    (tmp_path / "summary.csv").write_text("\n".join(rows) + "\n")
    paths = standard_figures(tmp_path / "summary.csv")
    assert {p.name for p in paths} == {"summary_mapping_bits.png", "summary_series.png"}
    assert_pngs(paths, tmp_path)
