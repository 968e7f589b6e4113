"""SPICE netlists of array reads, and running them in ngspice.

Node names (ngspice lower-cases them):

- ``r{i}`` row i, or ``r{i}_{j}`` the row-wire node at cell (i, j) when ``r_wire_row > 0``;
- ``d{i}`` the driver node of row i behind its first wire segment (``r_wire_row > 0`` only);
- ``c{i}_{j}`` the column-wire node at cell (i, j) when ``r_wire_col > 0``;
- ``n{j}`` the neuron input of column j (the column node itself without column wires).

Elements: ``vd{i}`` row drivers (``v_read`` or 0 V for a spike read, the row's own voltage for
an analog read; none for floating rows), ``x{i}_{j}``
cells (a resistor ``rx…`` for linear devices, a B-source ``bx…`` otherwise), ``rw…`` wire
segments, ``rn{j}`` neuron input resistors or ``vn{j}`` 0 V sources for an ideal virtual ground.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rram._io import atomic_write
from snn_rram.devices.iv import Linear
from snn_rram.errors import SnnRramError

__all__ = ["SpiceRead", "const", "read_raw", "run_ngspice", "simulate", "write_netlist"]


def const(x: float) -> str:
    """A float written for an ngspice B-source expression without losing precision.

    ngspice keeps about 11 significant digits of a number inside a B-source expression, so the
    value is written as the sum of its 11-digit rounding and the remainder.
    """
    x = float(x)
    hi = float(f"{x:.10e}")
    lo = x - hi
    if lo == 0.0:
        return f"{hi:.10e}"
    return f"({hi:.10e}{lo:+.10e})"


def _num(x: float) -> str:
    return f"{float(x):.17g}"


def _sources(crossbar, active, row_voltage) -> np.ndarray:
    """Each row's driver voltage (V) for one read, NaN for a floating row (no driver)."""
    if row_voltage is not None:
        return np.asarray(row_voltage, dtype=np.float64)
    c = crossbar.circuit
    active = np.asarray(active, dtype=bool)
    return np.where(active, c.v_read, 0.0 if c.inactive_rows == "ground" else np.nan)


def netlist(
    crossbar,
    active: np.ndarray | None = None,
    *,
    row_voltage: np.ndarray | None = None,
    title: str | None = None,
    save_devices: bool = True,
) -> str:
    """The netlist text of one read of ``crossbar``.

    Either with rows ``active`` driven at ``v_read`` (the others grounded or floating as the
    circuit says), or every row driven at its own ``row_voltage`` (V, shape (n_rows,)).
    """
    src = _sources(crossbar, active, row_voltage)
    n_rows, n_cols = crossbar.shape
    c = crossbar.circuit
    model = crossbar.device.read_model
    G = crossbar.G.toarray() if crossbar.is_sparse else np.asarray(crossbar.G)
    wr, wc = c.r_wire_row, c.r_wire_col
    r_n = c.r_neuron_for(n_cols)
    dead = ~(G > 0).any(axis=1)
    lines = [
        f"* {title or 'snn-rram crossbar read'}",
        f"* {n_rows} x {n_cols}, device {crossbar.device.name}, "
        f"inactive rows {c.inactive_rows}, r_wire_row {wr:g}, r_wire_col {wc:g}",
        # tighter than this, ngspice-39's Newton misses its own test on larger arrays and falls
        # back to gmin/source stepping, which ends ~1e-8 off; at these settings it agrees with
        # an exact solution to ~1e-12
        ".options reltol=1e-10 vntol=1e-13 abstol=1e-16 itl1=500",
    ]

    def row(i, j):
        return f"r{i}_{j}" if wr > 0 else f"r{i}"

    def col(i, j):
        return f"c{i}_{j}" if wc > 0 else f"n{j}"

    saves = []
    for i in range(n_rows):
        v = src[i]
        if np.isnan(v):
            continue
        if wr > 0:
            lines.append(f"vd{i} d{i} 0 dc {_num(v)}")
            if not dead[i]:
                lines.append(f"rwd{i} d{i} r{i}_0 {_num(wr)}")
        else:
            lines.append(f"vd{i} r{i} 0 dc {_num(v)}")
    for i, j in zip(*np.nonzero(G > 0), strict=True):
        a, b = row(i, j), col(i, j)
        if isinstance(model, Linear):
            lines.append(f"rx{i}_{j} {a} {b} {_num(1.0 / G[i, j])}")
            saves.append(f"@rx{i}_{j}[i]")
        else:
            expr = model.spice_current(float(G[i, j]), f"(v({a})-v({b}))", const)
            lines.append(f"bx{i}_{j} {a} {b} i={expr}")
            saves.append(f"@bx{i}_{j}[i]")
    if wr > 0:
        for i in np.flatnonzero(~dead):
            for j in range(n_cols - 1):
                lines.append(f"rwr{i}_{j} r{i}_{j} r{i}_{j + 1} {_num(wr)}")
    if wc > 0:
        for j in range(n_cols):
            for i in range(n_rows - 1):
                lines.append(f"rwc{i}_{j} c{i}_{j} c{i + 1}_{j} {_num(wc)}")
            lines.append(f"rwn{j} c{n_rows - 1}_{j} n{j} {_num(wc)}")
    for j in range(n_cols):
        if r_n[j] > 0:
            lines.append(f"rn{j} n{j} 0 {_num(r_n[j])}")
        else:
            lines.append(f"vn{j} n{j} 0 dc 0")
    if save_devices:
        lines.append(".save all")
        for k in range(0, len(saves), 8):
            lines.append(".save " + " ".join(saves[k : k + 8]))
    lines += [".op", ".end", ""]
    return "\n".join(lines)


def write_netlist(crossbar, active, path, *, row_voltage=None, title: str | None = None) -> Path:
    """Write :func:`netlist` to ``path`` (via a temporary file and a rename)."""
    path = Path(path)
    text = netlist(crossbar, active, row_voltage=row_voltage, title=title)
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return path


def read_raw(path) -> dict[str, float]:
    """Read an ngspice raw file of an operating point (binary or ASCII) into ``{name: value}``.

    Names are as ngspice writes them, lower case: ``v(n0)``, ``i(vd0)``, ``i(@rx0_1[i])``.
    """
    data = Path(path).read_bytes()
    head_end = data.find(b"Binary:\n")
    binary = head_end >= 0
    if not binary:
        head_end = data.find(b"Values:\n")
        if head_end < 0:
            raise SnnRramError(f"ngspice raw file {str(path)!r}: no Binary: or Values: section")
    header = data[:head_end].decode("ascii", "replace").splitlines()
    n_vars = n_points = None
    names: list[str] = []
    in_vars = False
    for line in header:
        if line.startswith("No. Variables:"):
            n_vars = int(line.split(":")[1])
        elif line.startswith("No. Points:"):
            n_points = int(line.split(":")[1])
        elif line.startswith("Flags:") and "complex" in line:
            raise SnnRramError(f"ngspice raw file {str(path)!r}: complex data not supported")
        elif line.startswith("Variables:"):
            in_vars = True
        elif in_vars and line.strip():
            names.append(line.split()[1].lower())
    if n_vars is None or n_points != 1 or len(names) != n_vars:
        raise SnnRramError(f"ngspice raw file {str(path)!r}: not a one-point operating point")
    body = data[head_end + len(b"Binary:\n") :] if binary else None
    if binary:
        values = np.frombuffer(body, dtype="<f8", count=n_vars)
    else:
        text = data[head_end + len(b"Values:\n") :].decode().split()
        values = np.array([float(t) for t in text[1 : 1 + n_vars]])
    return dict(zip(names, values.tolist(), strict=True))


def run_ngspice(netlist_path, *, timeout: float | None = None, workdir=None) -> dict[str, float]:
    """Run ngspice in batch mode on a netlist and return its operating point.

    Parameters
    ----------
    netlist_path : str or path-like
    timeout : float, optional
        Seconds before ngspice is stopped.
    workdir : path-like, optional
        Where the raw file is written (a temporary folder by default).

    Returns
    -------
    dict
        ``{vector name: value}`` as in :func:`read_raw`.
    """
    exe = shutil.which("ngspice")
    if exe is None:
        raise SnnRramError(
            "ngspice: not found on PATH; install it (Debian: apt-get install ngspice)"
        )
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        raw = Path(tmp) / "out.raw"
        proc = subprocess.run(
            [exe, "-b", "-r", str(raw), str(netlist_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0 or not raw.exists():
            raise SnnRramError(
                f"ngspice failed on {str(netlist_path)!r} (exit {proc.returncode}):\n"
                f"{proc.stderr[-2000:]}{proc.stdout[-2000:]}"
            )
        return read_raw(raw)


@dataclass
class SpiceRead:
    """One read as ngspice computed it (same conventions as :class:`ReadResult`, batch 1)."""

    neuron_current: np.ndarray  # (n_cols,) A
    column_voltage: np.ndarray  # (n_cols,) V
    device_voltage: np.ndarray  # (n_rows, n_cols) V, 0 where there is no device
    device_current: np.ndarray  # (n_rows, n_cols) A
    device_power: np.ndarray  # (n_rows, n_cols) W
    driver_current: np.ndarray  # (n_rows,) A, 0 for floating rows
    values: dict  # everything ngspice reported


def simulate(
    crossbar,
    active=None,
    *,
    row_voltage=None,
    workdir=None,
    timeout: float | None = None,
) -> SpiceRead:
    """Read ``crossbar`` with ngspice: write the netlist, run it, collect the arrays.

    ``active`` (rows driven at ``v_read``) or ``row_voltage`` (every row at its own voltage, V)
    as in :meth:`Crossbar.read`, for one read.
    """
    n_rows, n_cols = crossbar.shape
    c = crossbar.circuit
    G = crossbar.G.toarray() if crossbar.is_sparse else np.asarray(crossbar.G)
    wr, wc = c.r_wire_row, c.r_wire_col
    r_n = c.r_neuron_for(n_cols)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = crossbar.to_spice(active, Path(tmp) / "read.cir", row_voltage=row_voltage)
        vals = run_ngspice(path, timeout=timeout, workdir=tmp)

    def v(node):
        return vals.get(f"v({node})", 0.0)

    col_v = np.array([v(f"n{j}") for j in range(n_cols)])
    i_n = np.array([col_v[j] / r_n[j] if r_n[j] > 0 else vals[f"i(vn{j})"] for j in range(n_cols)])
    dv = np.zeros((n_rows, n_cols))
    di = np.zeros((n_rows, n_cols))
    prefix = "rx" if isinstance(crossbar.device.read_model, Linear) else "bx"
    for i, j in zip(*np.nonzero(G > 0), strict=True):
        a = v(f"r{i}_{j}" if wr > 0 else f"r{i}")
        b = v(f"c{i}_{j}" if wc > 0 else f"n{j}")
        dv[i, j] = a - b
        di[i, j] = vals[f"i(@{prefix}{i}_{j}[i])"]
    # SPICE's source current flows into the + node through the source: a driver delivering
    # current into its row shows a negative branch current
    drv = np.array([-vals.get(f"i(vd{i})", 0.0) for i in range(n_rows)])
    return SpiceRead(i_n, col_v, dv, di, dv * di, drv, vals)
