"""The crossbar: a matrix of programmed conductances, its device, its circuit and its layout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_rng, check_shape
from snn_rram.crossbar import columns
from snn_rram.crossbar.circuit import Circuit
from snn_rram.crossbar.layout import Layout
from snn_rram.crossbar.nodal import NodalNetwork
from snn_rram.crossbar.result import ReadResult
from snn_rram.devices.device import Device
from snn_rram.devices.iv import Linear, Separable
from snn_rram.errors import SnnRramError

__all__ = ["Crossbar"]


def _check_conductances(G):
    try:
        kind = G.dtype if sp.issparse(G) else np.asarray(G).dtype
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"G: expected a matrix of conductances in S, got {G!r}") from exc
    if kind.kind not in "fiu":  # complex, object, string, bool: not real conductances
        raise SnnRramError(
            f"G: expected a matrix of conductances in S (real numbers), got dtype {kind}"
        )
    if sp.issparse(G):
        G = sp.csr_matrix(G, dtype=np.float64)
        data = G.data
    else:
        try:
            G = np.array(G, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SnnRramError(f"G: expected a matrix of conductances in S, got {G!r}") from exc
        data = G
    if G.ndim != 2:
        raise SnnRramError(f"G: expected a 2-D (n_rows, n_cols) matrix, got shape {G.shape}")
    if G.shape[0] == 0 or G.shape[1] == 0:
        raise SnnRramError(f"G: the crossbar is empty (shape {G.shape})")
    if np.isnan(data).any():
        raise SnnRramError("G: contains NaN conductances")
    if not np.isfinite(data).all():
        raise SnnRramError("G: contains infinite conductances")
    if (data < 0).any():
        i = np.argwhere(np.atleast_1d(data) < 0)[0]
        raise SnnRramError(f"G: conductances must be >= 0 S, got {data[tuple(i)]!r}")
    if not sp.issparse(G):
        G.setflags(write=False)
    return G


class Crossbar:
    """A passive (0T1R) RRAM array read under voltage division with the neuron inputs.

    Parameters
    ----------
    G : array_like or scipy.sparse matrix, shape (n_rows, n_cols)
        Programmed conductances, S (>= 0; 0 S means no device). A sparse matrix stores only
        the devices that exist (unrolled convolutions); it needs a circuit without wires.
    device : Device
        The cells' device (read model, levels, variation).
    circuit : Circuit
        How the array is read.
    layout : Layout, optional
        Which input drives each row and which neuron each column feeds; default: row i is input
        i and column j feeds neuron j.

    Examples
    --------
    >>> import numpy as np
    >>> from snn_rram import devices
    >>> from snn_rram.crossbar import Circuit, Crossbar
    >>> xbar = Crossbar(np.full((4, 2), 1e-5), devices.load("ideal"),
    ...                 Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=1e3))
    >>> xbar.read([True, False, False, False]).neuron_current  # 0.2 V·10 µS / (1 + 1 kΩ·40 µS)
    array([[1.92307692e-06, 1.92307692e-06]])
    """

    def __init__(self, G, device: Device, circuit: Circuit, layout: Layout | None = None):
        if not isinstance(device, Device):
            raise SnnRramError(f"device: expected a snn_rram.devices.Device, got {device!r}")
        if not isinstance(circuit, Circuit):
            raise SnnRramError(f"circuit: expected a snn_rram.crossbar.Circuit, got {circuit!r}")
        self._G = _check_conductances(G)
        n_rows, n_cols = self._G.shape
        layout = Layout.identity(n_rows, n_cols) if layout is None else layout
        if not isinstance(layout, Layout):
            raise SnnRramError(f"layout: expected a snn_rram.crossbar.Layout, got {layout!r}")
        if (layout.n_rows, layout.n_cols) != (n_rows, n_cols):
            raise SnnRramError(
                f"layout: describes {layout.n_rows} rows × {layout.n_cols} columns, but G has "
                f"shape {self._G.shape}"
            )
        self._r_neuron = circuit.r_neuron_for(n_cols)
        if circuit.has_wires and sp.issparse(self._G):
            raise SnnRramError(
                "circuit: wire resistance needs a dense crossbar (a sparse layout has no "
                "defined wire geometry)"
            )
        data = self._G.data if sp.issparse(self._G) else self._G
        device.read_model.check_monotone(data, circuit.v_read, name=f"device {device.name!r}")
        self.device = device
        self.circuit = circuit
        self.layout = layout
        self._nodal: NodalNetwork | None = None
        self._folded = None

    # -- properties -----------------------------------------------------------------------------

    @property
    def G(self):
        """Programmed conductances, S (read-only array, or a sparse matrix)."""
        return self._G

    @property
    def shape(self) -> tuple[int, int]:
        """(n_rows, n_cols)."""
        return self._G.shape

    @property
    def n_rows(self) -> int:
        """Number of physical rows."""
        return self._G.shape[0]

    @property
    def n_cols(self) -> int:
        """Number of physical columns."""
        return self._G.shape[1]

    @property
    def is_sparse(self) -> bool:
        """True when only existing devices are stored."""
        return sp.issparse(self._G)

    @property
    def solver(self) -> str:
        """The solver :meth:`read` uses.

        One of ``closed_form``, ``column_newton``, ``column_newton_cells`` or ``nodal``.
        Analog reads (``row_voltage``) drive every row, so without wires they use the column
        solvers whatever ``inactive_rows`` says
        (:func:`snn_rram.crossbar.columns.solve_driven`).
        """
        model = self.device.read_model
        if self.circuit.has_wires or self.circuit.inactive_rows == "float":
            return "nodal"
        if isinstance(model, Linear):
            return "closed_form"
        if isinstance(model, Separable) and model.odd:
            return "column_newton"
        return "column_newton_cells"

    def column_conductance(self) -> np.ndarray:
        """Total conductance of each column, S (n_cols,)."""
        return np.asarray(self._G.sum(axis=0)).ravel()

    def readout_conductance(self):
        """Conductances folded through the layout's readout, ``G · readout``, S.

        (n_rows, n_neurons), dense or sparse like G: the signed conductance each row presents
        to each logical neuron (``G+ − G−`` of a differential pair). Computed once.
        """
        if self._folded is None:
            folded = self._G @ self.layout.readout
            self._folded = sp.csr_matrix(folded) if self.is_sparse else np.asarray(folded)
        return self._folded

    def with_conductances(self, G) -> Crossbar:
        """The same device, circuit and layout with other conductances."""
        return Crossbar(G, self.device, self.circuit, self.layout)

    def with_circuit(self, circuit: Circuit) -> Crossbar:
        """The same conductances and layout read by another circuit."""
        return Crossbar(self._G, self.device, circuit, self.layout)

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        return (
            f"Crossbar({self.n_rows}×{self.n_cols} {kind}, device={self.device.name!r}, "
            f"solver={self.solver!r})"
        )

    # -- reading --------------------------------------------------------------------------------

    def _active(self, active) -> np.ndarray:
        a = np.asarray(active)
        if a.dtype != bool:
            raise SnnRramError(f"active: expected an array of booleans, got dtype {a.dtype}")
        if a.ndim not in (1, 2):
            raise SnnRramError(
                f"active: expected shape ({self.n_rows},) or (batch, {self.n_rows}), got {a.shape}"
            )
        a = np.atleast_2d(a)
        check_shape(a, "active", shape=(None, self.n_rows))
        return a

    def _row_voltage(self, row_voltage) -> np.ndarray:
        try:
            v = np.asarray(row_voltage, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SnnRramError(
                f"row_voltage: expected an array of row voltages in V, got {row_voltage!r}"
            ) from exc
        if v.ndim not in (1, 2):
            raise SnnRramError(
                f"row_voltage: expected shape ({self.n_rows},) or (batch, {self.n_rows}), "
                f"got {v.shape}"
            )
        v = np.atleast_2d(v)
        check_shape(v, "row_voltage", shape=(None, self.n_rows))
        if not np.isfinite(v).all():
            raise SnnRramError("row_voltage: contains NaN or infinite voltages")
        # the cells see at most the span of the drivers (and ground); the device law must stay
        # increasing over it, as it is checked over ±v_read for spike reads
        span = float(np.max(v, initial=0.0) - np.min(v, initial=0.0))
        if span > self.circuit.v_read:
            data = self._G.data if self.is_sparse else self._G
            self.device.read_model.check_monotone(data, span, name=f"device {self.device.name!r}")
        return v

    def _drive(self, active, row_voltage):
        """``(active, src, analog)`` of a read: the driven rows and each row's source voltage."""
        if (active is None) == (row_voltage is None):
            got = "both" if active is not None else "neither"
            raise SnnRramError(
                "read: give exactly one of active (rows driven at v_read) and row_voltage "
                f"(every row at its own voltage), got {got}"
            )
        c = self.circuit
        if row_voltage is not None:
            src = self._row_voltage(row_voltage)
            return src != 0.0, src, True
        a = self._active(active)
        src = np.where(a, c.v_read, 0.0 if c.inactive_rows == "ground" else np.nan)
        return a, src, False

    def read(self, active=None, *, row_voltage=None, rng=None) -> ReadResult:
        """Read the array with the given rows driven at ``v_read``, or every row at its voltage.

        Parameters
        ----------
        active : array_like of bool, shape (n_rows,) or (batch, n_rows)
            Physical rows driven in each read (a spike read); the others are grounded or
            floating as the circuit says.
        row_voltage : array_like of float, shape (n_rows,) or (batch, n_rows)
            Instead of ``active``, an analog read: every row is driven at its own voltage, in V
            (any sign; 0 V is a row driven at ground). No row floats, whatever the circuit's
            ``inactive_rows``. The cells then see at most the span of the voltages; the device
            law must be increasing over it.
        rng : int or numpy.random.Generator, optional
            Draws the device's read noise (``Variation.read_sigma``) independently per device
            and read. Without it reads are noiseless.

        Returns
        -------
        ReadResult
            Batch-first neuron currents and column voltages; device-level arrays on demand.

        Raises
        ------
        SnnRramError
            If both or neither of ``active`` and ``row_voltage`` are given, or either is
            malformed.

        Examples
        --------
        Two reads, with one and two rows driven, into ideal neuron inputs (``r_neuron = 0``):
        0.2 V · 10 µS per active row, in A.

        >>> import numpy as np
        >>> from snn_rram import crossbar, devices
        >>> ideal_input = crossbar.Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=0.0)
        >>> xbar = crossbar.Crossbar(np.full((4, 2), 1e-5), devices.load("ideal"), ideal_input)
        >>> xbar.read(np.array([[1, 0, 0, 0], [1, 1, 0, 0]], dtype=bool)).neuron_current
        array([[2.e-06, 2.e-06],
               [4.e-06, 4.e-06]])

        An analog read: rows at 0.2, −0.1, 0 and 0.05 V give 10 µS · 0.15 V per column.

        >>> xbar.read(row_voltage=[0.2, -0.1, 0.0, 0.05]).neuron_current
        array([[1.5e-06, 1.5e-06]])
        """
        a, src, analog = self._drive(active, row_voltage)
        c = self.circuit
        G = self._G
        if rng is not None and self.device.variation.read_sigma > 0:
            if self.is_sparse:
                raise SnnRramError("rng: read noise is not supported for sparse crossbars")
            G = self.device.variation.read(G, as_rng(rng), size=(a.shape[0],))
        solver = self.solver
        if solver == "nodal" and (c.has_wires or not analog):
            return self._read_nodal(a, src, G, analog)
        model = self.device.read_model
        iterations = 0
        if analog and isinstance(model, Separable) and G is self._G and not self._r_neuron.any():
            # ideal virtual grounds: each cell sees its row's voltage; currents on demand
            zero = np.zeros((src.shape[0], self.n_cols))
            return ReadResult(
                self, a, src, G, src, zero, zero, None, 0, analog=True, row_f=model.f(src)
            )
        if analog:
            x, i_n = columns.solve_driven(model, src, G, self._r_neuron)
        elif solver in ("closed_form", "column_newton"):
            if G.ndim == 3:
                g_act = np.einsum("br,brc->bc", a.astype(float), G)
                g_tot = G.sum(axis=1)
            else:
                g_act = np.asarray((G.T @ a.T.astype(float)).T)
                g_tot = np.asarray(G.sum(axis=0)).ravel()
            if solver == "closed_form":
                x, i_n = columns.solve_linear(c.v_read, g_act, g_tot, self._r_neuron)
            else:
                x, i_n = columns.solve_separable(
                    model, c.v_read, g_act, g_tot - g_act, self._r_neuron
                )
        else:
            x, i_n = columns.solve_cells(model, src, G, self._r_neuron)
        return ReadResult(self, a, src, G, src, x, x, i_n, iterations, analog=analog)

    def _read_nodal(self, a, src, G, analog=False) -> ReadResult:
        if self._nodal is None:
            self._nodal = NodalNetwork(self._G, self.device.read_model, self.circuit)
        net = self._nodal
        g = None
        if G is not self._G:  # per-read noisy conductances, at the network's device cells
            g = G[:, net.cell_index[0], net.cell_index[1]]
        sol = net.solve(src, g)
        return ReadResult(
            self,
            a,
            src,
            G,
            sol.row_v,
            sol.col_v,
            sol.neuron_v,
            sol.neuron_i,
            sol.iterations,
            analog=analog,
        )

    def static_gain(self, *, chunk: int | None = None) -> np.ndarray:
        """Static read distortion: the effective conductance of every synapse.

        ``G_eff[i, j] = I_neuron_j / v_read`` when row i alone is read, with the other rows
        grounded or floating as the circuit says (every column's load included).

        Parameters
        ----------
        chunk : int, optional
            Rows read per batch (memory bound); chosen automatically by default.

        Returns
        -------
        numpy.ndarray or scipy.sparse.csr_matrix, shape (n_rows, n_cols)
            Effective conductances, S (sparse, at the devices, for a sparse crossbar read by
            the column solvers). For an ideal virtual ground and grounded rows it equals the
            programmed G (linear devices).
        """
        n_rows, n_cols = self.shape
        c = self.circuit
        if self.solver in ("closed_form", "column_newton"):
            g_tot = self.column_conductance()
            if self.is_sparse:  # only the cells that hold a device
                coo = self._G.tocoo()
                g, col = coo.data, coo.col
                r, tot = self._r_neuron[col], g_tot[col]
            else:
                g, r, tot = self._G, self._r_neuron, g_tot[None, :]
            if self.solver == "closed_form":
                _, i_n = columns.solve_linear(c.v_read, g, tot, r)
            else:
                _, i_n = columns.solve_separable(self.device.read_model, c.v_read, g, tot - g, r)
            if self.is_sparse:
                return sp.csr_matrix((i_n / c.v_read, (coo.row, coo.col)), shape=self.shape)
            return i_n / c.v_read
        if chunk is None:
            chunk = max(1, min(n_rows, 2_000_000 // max(n_rows * n_cols, 1) or 1, 256))
        out = np.empty((n_rows, n_cols))
        for start in range(0, n_rows, chunk):
            rows = np.arange(start, min(start + chunk, n_rows))
            active = np.zeros((rows.size, n_rows), dtype=bool)
            active[np.arange(rows.size), rows] = True
            out[rows] = self.read(active).neuron_current / c.v_read
        return out

    def row_read_power(
        self, *, devices_only: bool = False, chunk: int | None = None
    ) -> np.ndarray:
        """Power drawn from the drivers when each row is read alone, W (n_rows,).

        Equal to the power dissipated in the whole array, the wires and the neuron inputs
        during that read (grounded or floating rows as the circuit says); with
        ``devices_only`` the devices' share alone. With grounded rows and a separable device it
        follows from the static gains: ``v_read · Σ_j G_ij f(v_read − x_ij)``, minus the
        neuron inputs' ``Σ_j x_ij · I_ij``.
        """
        c = self.circuit
        model = self.device.read_model
        if self.solver in ("closed_form", "column_newton"):
            gain = self.static_gain()
            if self.is_sparse:
                coo = sp.coo_matrix(gain)
                i_n = c.v_read * coo.data
                x = self._r_neuron[coo.col] * i_n
                g = np.asarray(self._G[coo.row, coo.col]).ravel()
                p = c.v_read * g * model.f(c.v_read - x) - (x * i_n if devices_only else 0.0)
                return np.bincount(coo.row, weights=p, minlength=self.n_rows)
            i_n = c.v_read * gain
            x = self._r_neuron[None, :] * i_n
            p = c.v_read * np.asarray(self._G) * model.f(c.v_read - x)
            if devices_only:
                p = p - x * i_n
            return np.sum(p, axis=1)
        n_rows = self.n_rows
        if chunk is None:
            chunk = max(1, min(n_rows, 2_000_000 // max(n_rows * self.n_cols, 1) or 1, 256))
        out = np.empty(n_rows)
        for start in range(0, n_rows, chunk):
            rows = np.arange(start, min(start + chunk, n_rows))
            active = np.zeros((rows.size, n_rows), dtype=bool)
            active[np.arange(rows.size), rows] = True
            res = self.read(active)
            out[rows] = (
                res.device_power.sum(axis=(1, 2)) if devices_only else res.driver_power.sum(axis=1)
            )
        return out

    # -- SPICE ----------------------------------------------------------------------------------

    def to_spice(
        self,
        active=None,
        path: str | os.PathLike | None = None,
        *,
        row_voltage=None,
        title: str | None = None,
    ) -> Path:
        """Write an ngspice netlist of exactly this circuit for one read.

        Parameters
        ----------
        active : array_like of bool, shape (n_rows,)
            The rows driven at ``v_read`` (a spike read).
        path : str or path-like
            Netlist file to write (``.cir``).
        row_voltage : array_like of float, shape (n_rows,)
            Instead of ``active``, an analog read: every row's driver voltage, V.
        title : str, optional
            First line of the netlist.

        Returns
        -------
        pathlib.Path
            The file written. Node and element names are documented in
            :func:`snn_rram.crossbar.spice.netlist`.
        """
        from snn_rram.crossbar import spice

        if path is None:
            raise SnnRramError("path: expected the netlist file to write, got None")
        a, src, analog = self._drive(active, row_voltage)
        if a.shape[0] != 1:
            what = "row_voltage" if analog else "active"
            raise SnnRramError(f"{what}: to_spice writes one read, got a batch of {a.shape[0]}")
        if analog:
            return spice.write_netlist(self, None, path, row_voltage=src[0], title=title)
        return spice.write_netlist(self, a[0], path, title=title)
