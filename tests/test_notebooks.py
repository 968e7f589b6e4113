"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel and are stored stripped.

Each notebook is executed with nbclient in a ``python3`` kernel (ipykernel, launched with this
interpreter, so with the virtualenv's packages), its working directory the notebooks folder, as
Jupyter would run it. Jupyter's and IPython's own files (connection files, history) and the
notebooks' temporary folders go to pytest's temporary directory, never to the home folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "01_spike_dynamics.ipynb",
    "02_import_and_convert.ipynb",
    "03_sweep_analysis.ipynb",
    "04_analog_and_device_aware.ipynb",
    "05_ternary_pcsa.ipynb",
    "06_training_on_the_array.ipynb",
}
KERNEL = "python3"
CELL_TIMEOUT = 600  # s, per cell: generous, the test must not fail on a slow machine
#: Cell metadata a stripped notebook may keep (Jupyter's own cell tags).
CELL_METADATA = {"tags"}


def _ids(paths):
    return [p.stem for p in paths]


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_the_notebooks_are_there():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert set(nb.metadata) == {"kernelspec"}, (
        f"{path.name}: notebook metadata {dict(nb.metadata)}"
    )
    assert nb.metadata.kernelspec.name == KERNEL
    assert nb.cells, f"{path.name}: no cells"
    for k, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {k}"
        assert set(cell.metadata) <= CELL_METADATA, f"{where}: metadata {dict(cell.metadata)}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{where}: has outputs"
            assert cell.execution_count is None, f"{where}: has an execution count"
            assert cell.source.strip(), f"{where}: empty code cell"


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """Environment of the kernel: headless matplotlib, nothing written to the home folder."""
    for var, sub in (
        ("IPYTHONDIR", "ipython"),
        ("JUPYTER_CONFIG_DIR", "jupyter/config"),
        ("JUPYTER_DATA_DIR", "jupyter/data"),
        ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))
    tmp = tmp_path / "tmp"  # the notebooks' tempfile.mkdtemp() folders
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MPLCONFIGDIR", os.environ.get("MPLCONFIGDIR", str(tmp_path / "mpl")))
    monkeypatch.setenv(
        "SNN_RRAM_BUILD_DIR", os.environ.get("SNN_RRAM_BUILD_DIR", str(tmp_path / "build"))
    )
    monkeypatch.delenv("SNN_RRAM_SCHEDULER", raising=False)  # sweeps start a local cluster
    return tmp


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    n_code = sum(cell.cell_type == "code" for cell in nb.cells)
    # a first cell, in memory only, that tells which Python the kernel runs
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    before = _listing(NOTEBOOK_DIR)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on an error

    assert nb.cells[0].outputs[0]["text"].strip() == sys.executable
    code = [cell for cell in nb.cells[1:] if cell.cell_type == "code"]
    assert len(code) == n_code
    for cell in code:
        assert cell.execution_count is not None
        errors = [out for out in cell.outputs if out.output_type == "error"]
        assert not errors, f"{path.name}: {errors}"
    # nothing written next to the notebooks (only under temporary folders)
    assert _listing(NOTEBOOK_DIR) == before
    figures = [
        out
        for cell in code
        for out in cell.outputs
        if out.output_type == "display_data" and "image/png" in out.get("data", {})
    ]
    assert figures, f"{path.name}: drew no figure"
