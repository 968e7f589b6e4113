"""How a physical array serves a network layer.

Which input drives each row, which neuron each column feeds and with what sign or gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import check_shape
from snn_rram.errors import SnnRramError

__all__ = ["ALWAYS_ON", "Layout"]

#: ``row_input`` value of a row that is driven at every read (bias rows).
ALWAYS_ON = -1


@dataclass(frozen=True, eq=False)
class Layout:
    """The logical view of a crossbar.

    Every mapping method produces one; the simulator consumes only it.

    Parameters
    ----------
    row_input : array_like of int, shape (n_rows,)
        For each physical row, the logical input that drives it, or :data:`ALWAYS_ON` (-1) for a
        row driven at every read (bias rows). Several rows may share an input.
    readout : scipy.sparse matrix or array_like, shape (n_cols, n_neurons)
        Gain from each physical column's neuron current to each logical neuron's input current:
        ``I_neuron = I_column @ readout``. A differential pair is ``+1`` / ``-1`` on two columns,
        a shared reference column is ``-1`` towards every neuron, a big/small pair has gains
        ``γ`` and 1.
    n_inputs : int, optional
        Number of logical inputs (default: ``max(row_input) + 1``).
    """

    row_input: np.ndarray
    readout: sp.csr_matrix
    n_inputs: int | None = None

    def __post_init__(self):
        rows = np.asarray(self.row_input)
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise SnnRramError(
                f"Layout.row_input: expected a 1-D integer array, got {rows.dtype} {rows.shape}"
            )
        rows = rows.astype(np.int64)
        if (rows < ALWAYS_ON).any():
            raise SnnRramError("Layout.row_input: entries must be input indices or -1 (always on)")
        n_inputs = int(rows.max(initial=-1)) + 1 if self.n_inputs is None else self.n_inputs
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, int | np.integer):
            raise SnnRramError(f"Layout.n_inputs: expected an integer, got {n_inputs!r}")
        if rows.max(initial=-1) >= n_inputs:
            raise SnnRramError(
                f"Layout.row_input: input index {rows.max()} out of range for n_inputs={n_inputs}"
            )
        readout = sp.csr_matrix(self.readout, dtype=np.float64)
        if readout.ndim != 2:
            raise SnnRramError("Layout.readout: expected a 2-D (n_cols, n_neurons) matrix")
        if not np.isfinite(readout.data).all():
            raise SnnRramError("Layout.readout: contains NaN or infinite gains")
        rows.setflags(write=False)
        object.__setattr__(self, "row_input", rows)
        object.__setattr__(self, "readout", readout)
        object.__setattr__(self, "n_inputs", int(n_inputs))

    @classmethod
    def identity(cls, n_rows: int, n_cols: int) -> Layout:
        """Row i is input i, column j feeds neuron j with gain 1."""
        return cls(np.arange(n_rows), sp.identity(n_cols, format="csr"), n_rows)

    @classmethod
    def differential(cls, n_inputs: int, n_neurons: int, *, bias: bool = False) -> Layout:
        """Columns ``2k`` (+) and ``2k + 1`` (−) feed neuron k; optionally one always-on row last.

        This is the layout of a weight matrix mapped onto ``G+`` / ``G−`` column pairs.
        """
        gains = np.tile([1.0, -1.0], n_neurons)
        readout = sp.csr_matrix(
            (gains, (np.arange(2 * n_neurons), np.repeat(np.arange(n_neurons), 2))),
            shape=(2 * n_neurons, n_neurons),
        )
        rows = np.arange(n_inputs)
        if bias:
            rows = np.append(rows, ALWAYS_ON)
        return cls(rows, readout, n_inputs)

    @property
    def n_rows(self) -> int:
        """Number of physical rows."""
        return int(self.row_input.size)

    @property
    def n_cols(self) -> int:
        """Number of physical columns."""
        return int(self.readout.shape[0])

    @property
    def n_neurons(self) -> int:
        """Number of logical neurons fed."""
        return int(self.readout.shape[1])

    def active_rows(self, inputs_active) -> np.ndarray:
        """Physical rows driven when the given logical inputs spike.

        Parameters
        ----------
        inputs_active : array_like of bool, shape (n_inputs,) or (batch, n_inputs)

        Returns
        -------
        numpy.ndarray of bool, shape (batch, n_rows)
            Always-on rows are active in every read.
        """
        a = np.atleast_2d(np.asarray(inputs_active))
        if a.dtype != bool:
            raise SnnRramError(f"inputs_active: expected booleans, got {a.dtype}")
        check_shape(a, "inputs_active", shape=(None, self.n_inputs))
        rows = self.row_input
        out = np.ones((a.shape[0], rows.size), dtype=bool)
        driven = rows != ALWAYS_ON
        out[:, driven] = a[:, rows[driven]]
        return out

    def neuron_current(self, column_current) -> np.ndarray:
        """Signed input current of each logical neuron, ``column_current @ readout``, in A."""
        c = np.asarray(column_current, dtype=np.float64)
        return np.asarray((self.readout.T @ c.T).T)

    def to_dict(self) -> dict:
        """The layout as plain lists (for result files)."""
        coo = self.readout.tocoo()
        return {
            "row_input": self.row_input.tolist(),
            "n_inputs": self.n_inputs,
            "readout_shape": list(coo.shape),
            "readout_col": coo.row.tolist(),
            "readout_neuron": coo.col.tolist(),
            "readout_gain": coo.data.tolist(),
        }
