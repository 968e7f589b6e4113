"""The outcome of a batch of array reads, with device-level quantities computed on demand."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp

from snn_rram.crossbar import columns
from snn_rram.devices.iv import Separable
from snn_rram.errors import SnnRramError

__all__ = ["ReadResult"]


class ReadResult:
    """Voltages, currents and powers of a batch of reads of one crossbar.

    Always-computed arrays are batch first and cheap: ``neuron_current``, ``column_voltage``
    and ``neuron_power`` are (batch, n_cols). Device-level arrays (batch, n_rows, n_cols) —
    ``device_voltage``, ``device_current``, ``device_power`` — are computed when first asked
    for, so a batched read that needs only neuron currents stays cheap.

    Attributes
    ----------
    neuron_current : numpy.ndarray, shape (batch, n_cols)
        Current into each column's neuron input, A.
    column_voltage : numpy.ndarray, shape (batch, n_cols)
        Voltage at the neuron end of each column, V.
    active : numpy.ndarray of bool, shape (batch, n_rows)
        The rows that were driven at ``v_read`` (spike reads), or at a non-zero voltage
        (analog reads).
    analog : bool
        True for an analog read (every row driven at its own voltage, ``row_voltage``).
    iterations : int
        Newton iterations used (0 for closed forms; summed over the batch for nodal solves).
    """

    def __init__(
        self,
        crossbar,
        active,
        src,
        G,
        row_v,
        col_v,
        neuron_v,
        neuron_i,
        iterations,
        *,
        analog,
        row_f=None,
    ):
        self.crossbar = crossbar
        self.analog = bool(analog)
        # analog reads of separable cells into ideal virtual grounds, no wires: every cell sees
        # its row's voltage, so the neuron currents are Σ_i G_ij f(V_i) (row_f = f(V), batch
        # first), computed when first asked for; the readout can fold G first (output())
        self._row_f = row_f
        self.active = active
        self._src = src  # (batch, n_rows) driver voltages, NaN = floating
        self._G = G  # (n_rows, n_cols) dense or sparse, or (batch, n_rows, n_cols)
        self._row_v = row_v
        self._col_v = col_v
        self.column_voltage = neuron_v
        if neuron_i is not None:
            self.neuron_current = neuron_i  # else computed on demand (cached_property)
        self.iterations = iterations

    @property
    def batch(self) -> int:
        """Number of reads."""
        return int(self.active.shape[0])

    @property
    def row_voltage(self) -> np.ndarray:
        """Source voltage of each row's driver, V (batch, n_rows); NaN for floating rows."""
        return self._src

    @cached_property
    def neuron_current(self) -> np.ndarray:
        """Current into each column's neuron input, A (batch, n_cols)."""
        return columns.conductance_sum(self._G, self._row_f)

    @property
    def neuron_power(self) -> np.ndarray:
        """Power dissipated in each neuron input, ``V_j² / R_N = V_j · I_j``, W (batch, n_cols)."""
        if self._row_f is not None:  # ideal virtual grounds
            return np.zeros_like(self.column_voltage)
        return self.column_voltage * self.neuron_current

    def output(self) -> np.ndarray:
        """Signed input current of each logical neuron (layout readout), A (batch, n_neurons).

        For analog reads into ideal virtual grounds the readout is folded into the
        conductances first, ``f(V) · (G · readout)`` (one product with n_neurons columns).
        """
        if self._row_f is not None and "neuron_current" not in self.__dict__:
            folded = self.crossbar.readout_conductance()
            return np.asarray((folded.T @ self._row_f.T).T)
        return self.crossbar.layout.neuron_current(self.neuron_current)

    # -- device level ---------------------------------------------------------------------------

    def _dense_G(self):
        G = self._G
        return G.toarray() if sp.issparse(G) else G

    @property
    def row_node_voltage(self) -> np.ndarray:
        """Voltage of the row line at each cell, V (batch, n_rows, n_cols).

        Without row wires every cell of a row sits at the row's voltage (a broadcast view).
        """
        row = self._row_v
        if row.ndim == 3:
            return row
        return np.broadcast_to(row[:, :, None], (*row.shape, self.neuron_current.shape[1]))

    @property
    def column_node_voltage(self) -> np.ndarray:
        """Voltage of the column line at each cell, V (batch, n_rows, n_cols).

        Without column wires every cell of a column sits at the column's voltage.
        """
        col = self._col_v
        if col.ndim == 3:
            return col
        n_rows = self.active.shape[1]
        return np.broadcast_to(col[:, None, :], (col.shape[0], n_rows, col.shape[1]))

    @cached_property
    def device_voltage(self) -> np.ndarray:
        """Voltage across each cell, row side minus column side, V (batch, n_rows, n_cols)."""
        return self.row_node_voltage - self.column_node_voltage

    @cached_property
    def device_current(self) -> np.ndarray:
        """Current through each cell, row to column, A (batch, n_rows, n_cols)."""
        return self.crossbar.device.read_model.current(self._dense_G(), self.device_voltage)

    @cached_property
    def device_power(self) -> np.ndarray:
        """Power dissipated in each cell, W (batch, n_rows, n_cols)."""
        return self.device_current * self.device_voltage

    def device_power_sum(self):
        """Device power summed over the reads of the batch, W (n_rows, n_cols).

        Equal to ``device_power.sum(axis=0)``; for analog and spike reads of linear and sinh
        cells without wires it is computed by matrix products over the batch (no
        (batch, n_rows, n_cols) array), which keeps the per-synapse energy of a large batch
        cheap. Sparse (at the devices) for a sparse crossbar read that way.
        """
        G = self._G
        if self._col_v.ndim == 2 and self._row_v.ndim == 2 and not np.isnan(self._src).any():
            out = columns.power_sums(self.crossbar.device.read_model, self._src, G, self._col_v)
            if out is not None:
                return out
        return self.device_power.sum(axis=0)

    # -- periphery ------------------------------------------------------------------------------

    @cached_property
    def driver_current(self) -> np.ndarray:
        """Current delivered by each row's driver, A (batch, n_rows); 0 for floating rows."""
        circuit = self.crossbar.circuit
        src = self._src
        driven = ~np.isnan(src)
        if circuit.r_wire_row > 0:
            first = self._row_v[:, :, 0]
            return np.where(driven, (np.nan_to_num(src) - first) / circuit.r_wire_row, 0.0)
        model = self.crossbar.device.read_model
        G = self._G
        if self.analog and self._col_v.ndim == 2:
            # every row at its own voltage: matrix products where the model allows them
            out = columns.row_sums(model, src, G, self._col_v)
            if out is not None:
                return out
        if (
            not self.analog
            and isinstance(model, Separable)
            and self._col_v.ndim == 2
            and (sp.issparse(G) or G.ndim == 2)
        ):
            # Σ_j G_ij f(V_src,i − v_j) as a matrix product, once per distinct source voltage
            rows = np.where(driven, np.nan_to_num(src), 0.0)
            out = np.empty_like(rows)
            for value in np.unique(rows):
                f = model.f(value - self._col_v)  # (batch, n_cols)
                row_sum = np.asarray((G @ f.T).T)  # (batch, n_rows)
                out = np.where(rows == value, row_sum, out)
            return np.where(driven, out, 0.0)
        return np.where(driven, self.device_current.sum(axis=2), 0.0)

    @cached_property
    def driver_power(self) -> np.ndarray:
        """Power delivered by each row's driver, ``V_src · I``, W (batch, n_rows)."""
        return np.nan_to_num(self._src) * self.driver_current

    @cached_property
    def wire_power(self) -> np.ndarray:
        """Power dissipated in the row and column wires, W (batch,)."""
        circuit = self.crossbar.circuit
        total = np.zeros(self.batch)
        wr, wc = circuit.r_wire_row, circuit.r_wire_col
        if wr > 0:
            row = self._row_v
            total += np.sum(np.diff(row, axis=2) ** 2, axis=(1, 2)) / wr
            total += np.sum(self.driver_current**2, axis=1) * wr
        if wc > 0:
            col = self._col_v
            total += np.sum(np.diff(col, axis=1) ** 2, axis=(1, 2)) / wc
            total += np.sum((col[:, -1, :] - self.column_voltage) ** 2, axis=1) / wc
        return total

    @cached_property
    def total_power(self) -> np.ndarray:
        """Power drawn from the drivers, W (batch,): device + neuron + wire power.

        For analog reads of linear and sinh cells without wires it is summed over the columns
        (:func:`snn_rram.crossbar.columns.driver_power_total`), without the per-row currents.
        """
        if self._row_f is not None and "driver_current" not in self.__dict__:
            # every cell at its row's voltage: Σ_i V_i f(V_i) Σ_j G_ij
            g_row = np.asarray(self._G.sum(axis=1)).ravel()
            return (self._src * self._row_f) @ g_row
        if (
            self.analog
            and "driver_current" not in self.__dict__
            and self._col_v.ndim == 2
            and self._row_v.ndim == 2
        ):
            model = self.crossbar.device.read_model
            out = columns.driver_power_total(model, self._src, self._G, self._col_v)
            if out is not None:
                return out
        return self.driver_power.sum(axis=1)

    def energy(self, what: str = "device") -> np.ndarray:
        """Energy of one read pulse (power × pulse width), J.

        Parameters
        ----------
        what : {"device", "neuron", "driver", "wire"}
            ``device`` is per cell (batch, n_rows, n_cols), ``neuron`` per column, ``driver``
            per row, ``wire`` per read.
        """
        power = {
            "device": lambda: self.device_power,
            "neuron": lambda: self.neuron_power,
            "driver": lambda: self.driver_power,
            "wire": lambda: self.wire_power,
        }
        if what not in power:
            raise SnnRramError(f"what: expected one of {', '.join(power)}, got {what!r}")
        return power[what]() * self.crossbar.circuit.pulse_width
