"""The periphery of a read: driver voltage, pulse width, neuron input, row mode and wires."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from snn_rram._validation import as_array, as_scalar, one_of
from snn_rram.errors import SnnRramError

__all__ = ["Circuit"]

INACTIVE_ROW_MODES = ("ground", "float")


@dataclass(frozen=True, eq=False)
class Circuit:
    """How a passive crossbar is read.

    A spike of an input drives its physical row(s) at ``v_read`` for ``pulse_width``. Column j
    ends in the neuron input, a resistance ``r_neuron`` to ground. Rows of inactive inputs are
    grounded or left floating.

    Parameters
    ----------
    v_read : float or brian2.Quantity
        Read voltage of an active row driver, in V (> 0).
    pulse_width : float or brian2.Quantity
        Duration of one read pulse, in s (> 0).
    r_neuron : float, array_like or brian2.Quantity
        Neuron input resistance, in Ω, one value or one per column (>= 0). 0 is an ideal virtual
        ground: the neuron current is then the current into the 0 V node.
    inactive_rows : {"ground", "float"}
        Whether rows that are not read are held at 0 V or left floating (sneak paths).
    r_wire_row, r_wire_col : float or brian2.Quantity
        Wire resistance of one segment of a row / column, in Ω (>= 0). Each row's driver sits at
        the column-0 end, with one row segment between the driver and cell (i, 0) and between
        neighbouring cells; each column runs from row 0 to the last row, with one segment
        between neighbouring cells and one between the last cell and the neuron. A floating
        row has no driver segment.

    Examples
    --------
    >>> import brian2 as b2
    >>> from snn_rram.crossbar import Circuit
    >>> c = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=1e3)  # V, s, Ω
    >>> c.inactive_rows, c.r_neuron_for(3)
    ('ground', array([1000., 1000., 1000.]))
    >>> Circuit(v_read=200 * b2.mV, pulse_width=0.1 * b2.ms, r_neuron=1 * b2.kohm).r_neuron
    1000.0
    """

    v_read: float
    pulse_width: float
    r_neuron: float | np.ndarray
    inactive_rows: str = "ground"
    r_wire_row: float = 0.0
    r_wire_col: float = 0.0

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "v_read", as_scalar(self.v_read, "Circuit.v_read", "volt", positive=True))
        set_(
            self,
            "pulse_width",
            as_scalar(self.pulse_width, "Circuit.pulse_width", "second", positive=True),
        )
        r = as_array(self.r_neuron, "Circuit.r_neuron", "ohm", ndim=(0, 1), nonnegative=True)
        if r.ndim == 0:
            set_(self, "r_neuron", float(r))
        else:
            r.setflags(write=False)
            set_(self, "r_neuron", r)
        one_of(self.inactive_rows, "Circuit.inactive_rows", INACTIVE_ROW_MODES)
        for name in ("r_wire_row", "r_wire_col"):
            set_(
                self,
                name,
                as_scalar(getattr(self, name), f"Circuit.{name}", "ohm", nonnegative=True),
            )

    @property
    def has_wires(self) -> bool:
        """True when any wire resistance is non-zero."""
        return self.r_wire_row > 0 or self.r_wire_col > 0

    def r_neuron_for(self, n_cols: int) -> np.ndarray:
        """Neuron input resistance of each of ``n_cols`` columns, in Ω."""
        r = np.asarray(self.r_neuron, dtype=np.float64)
        if r.ndim == 0:
            return np.full(n_cols, float(r))
        if r.size != n_cols:
            raise SnnRramError(
                f"Circuit.r_neuron: has {r.size} values, but the crossbar has {n_cols} columns"
            )
        return r.copy()

    def replace(self, **changes) -> Circuit:
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The circuit as a TOML-ready table (SI units)."""
        r = self.r_neuron
        return {
            "v_read": self.v_read,
            "pulse_width": self.pulse_width,
            "r_neuron": r if isinstance(r, float) else r.tolist(),
            "inactive_rows": self.inactive_rows,
            "r_wire_row": self.r_wire_row,
            "r_wire_col": self.r_wire_col,
        }
