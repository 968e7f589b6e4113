"""How one crossbar becomes Brian2 variables: column slots, synapses and their conductances.

Every physical column that feeds exactly one neuron is a *slot* of that neuron (a differential
pair is two slots); its voltage, current and energy integrals live in the neuron's own update.
Columns that feed several neurons (a shared reference column) or none are *shared columns*, a
small group of their own whose currents reach the neurons through summed synapses.

A Brian2 synapse joins a logical input to a neuron (or a shared column). For each slot it holds
the summed conductance of that input's rows in the slot's column: all rows of an input are
driven together, so the column sees their sum, and the energy of every device is its own
conductance times the synapse's accumulator (the integrals it multiplies are per column).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from snn_rram.crossbar.array import Crossbar
from snn_rram.crossbar.layout import ALWAYS_ON

__all__ = ["LayerPlan"]


def _structure(G) -> sp.csr_matrix:
    """Where devices may exist: every cell of a dense array, the stored cells of a sparse one."""
    if sp.issparse(G):
        s = sp.csr_matrix(G, copy=True)
        s.data[:] = 1.0
        return s
    return sp.csr_matrix(np.ones(G.shape))


@dataclass
class LayerPlan:
    """Slots, shared columns and synapse index arrays of one crossbar (structure only).

    Attributes
    ----------
    n_inputs, n_neurons, n_slots : int
    slot_col : numpy.ndarray of int, shape (n_neurons, n_slots)
        Physical column of each slot, -1 where a neuron has fewer slots.
    slot_gain : numpy.ndarray, shape (n_neurons, n_slots)
        Readout gain of each slot (0 for empty slots).
    shared_cols : numpy.ndarray of int, shape (n_shared,)
    shared_i, shared_j, shared_gain : numpy.ndarray
        Readout from shared column ``shared_i`` to neuron ``shared_j`` with its gain.
    syn_i, syn_j : numpy.ndarray of int
        Input and neuron of each synapse (in creation order).
    ssyn_i, ssyn_j : numpy.ndarray of int
        Input and shared column of each synapse to a shared column.
    """

    n_inputs: int
    n_neurons: int
    n_slots: int
    slot_col: np.ndarray
    slot_gain: np.ndarray
    shared_cols: np.ndarray
    shared_i: np.ndarray
    shared_j: np.ndarray
    shared_gain: np.ndarray
    syn_i: np.ndarray
    syn_j: np.ndarray
    ssyn_i: np.ndarray
    ssyn_j: np.ndarray
    _input_rows: sp.csr_matrix  # (n_inputs, n_rows) indicator of each input's rows
    _bias_rows: np.ndarray  # indices of always-on rows
    shape: tuple[int, int]
    #: The cells of the last sparse structure given to :meth:`device_energy` and where their
    #: accumulators are: ``(indptr, indices, accumulator index, input index, always-on cells)``.
    _cells: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_crossbar(cls, xbar: Crossbar) -> LayerPlan:
        """Plan the Brian2 variables of ``xbar`` (its layout and device structure)."""
        layout = xbar.layout
        n_rows, n_cols = xbar.shape
        readout = layout.readout.tocsr()
        per_col = np.diff(readout.indptr)
        private = np.flatnonzero(per_col == 1)
        neuron = readout.indices[readout.indptr[private]]
        gain = readout.data[readout.indptr[private]]
        order = np.lexsort((private, neuron))
        private, neuron, gain = private[order], neuron[order], gain[order]
        first = np.searchsorted(neuron, neuron)  # neuron is sorted
        slot = np.arange(neuron.size) - first
        n_slots = int(slot.max()) + 1 if slot.size else 0
        n_neurons = layout.n_neurons
        slot_col = np.full((n_neurons, n_slots), -1, dtype=np.int64)
        slot_gain = np.zeros((n_neurons, n_slots))
        slot_col[neuron, slot] = private
        slot_gain[neuron, slot] = gain

        shared_cols = np.flatnonzero(per_col != 1)
        ro = readout[shared_cols].tocoo()
        rows = layout.row_input
        driven = np.flatnonzero(rows != ALWAYS_ON)
        input_rows = sp.csr_matrix(
            (np.ones(driven.size), (rows[driven], driven)), shape=(layout.n_inputs, n_rows)
        )
        S = (input_rows @ _structure(xbar.G)).tocsc()  # (n_inputs, n_cols): input reaches col
        S = sp.hstack([S, sp.csc_matrix((layout.n_inputs, 1))]).tocsc()  # column -1: empty
        reach = sp.csr_matrix((layout.n_inputs, n_neurons))
        for k in range(n_slots):
            reach = reach + S[:, slot_col[:, k]]
        syn_i, syn_j = (reach > 0).nonzero()
        sreach = S[:, shared_cols]
        ssyn_i, ssyn_j = (sreach > 0).nonzero()
        return cls(
            n_inputs=layout.n_inputs,
            n_neurons=n_neurons,
            n_slots=n_slots,
            slot_col=slot_col,
            slot_gain=slot_gain,
            shared_cols=shared_cols,
            shared_i=ro.row.astype(np.int64),
            shared_j=ro.col.astype(np.int64),
            shared_gain=ro.data,
            syn_i=syn_i.astype(np.int64),
            syn_j=syn_j.astype(np.int64),
            ssyn_i=ssyn_i.astype(np.int64),
            ssyn_j=ssyn_j.astype(np.int64),
            _input_rows=input_rows,
            _bias_rows=np.flatnonzero(rows == ALWAYS_ON),
            shape=(n_rows, n_cols),
        )

    def structure_difference(self, other: LayerPlan) -> str | None:
        """What differs in the structure of ``other``, in words, or None if nothing does.

        The structure is what a Brian2 network is built from; the values (gains, and the
        conductances the plan is later given) are not part of it.
        """
        for name in ("shape", "n_inputs", "n_neurons"):
            if getattr(self, name) != getattr(other, name):
                return f"{name} ({getattr(other, name)} instead of {getattr(self, name)})"
        arrays = {
            "the columns each neuron reads": ("n_slots", "slot_col"),
            "the shared columns": ("shared_cols", "shared_i", "shared_j"),
            "the inputs reaching each neuron": ("syn_i", "syn_j", "ssyn_i", "ssyn_j"),
            "the always-on rows": ("_bias_rows",),
        }
        for words, names in arrays.items():
            if not all(np.array_equal(getattr(self, n), getattr(other, n)) for n in names):
                return words
        a, b = self._input_rows, other._input_rows
        if a.shape != b.shape or (a != b).nnz:
            return "the rows each input drives"
        return None

    @property
    def n_shared(self) -> int:
        """Number of shared columns."""
        return int(self.shared_cols.size)

    @property
    def dense_synapses(self) -> bool:
        """True when synapse ``r · n_neurons + n`` joins input r to neuron n, for every pair."""
        n_in, n = self.n_inputs, self.n_neurons
        return (
            n_in * n > 0
            and self.syn_i.size == n_in * n
            and np.array_equal(self.syn_i, np.repeat(np.arange(n_in), n))
            and np.array_equal(self.syn_j, np.tile(np.arange(n), n_in))
        )

    @property
    def inputs_grouped(self) -> bool:
        """True when the synapses of each input are contiguous, in the order of the inputs."""
        return bool(np.all(np.diff(self.syn_i) >= 0))

    @property
    def n_bias_rows(self) -> int:
        """Number of always-on rows."""
        return int(self._bias_rows.size)

    def _input_col(self, G):
        """Summed conductance of each input's rows in each column, with an empty column -1."""
        gin = sp.csc_matrix(self._input_rows @ (G if sp.issparse(G) else sp.csr_matrix(G)))
        return sp.hstack([gin, sp.csc_matrix((gin.shape[0], 1))]).tocsr()

    def _bias(self, G):
        g = np.zeros(self.shape[1] + 1)
        if self._bias_rows.size:
            g[:-1] = np.asarray(G[self._bias_rows].sum(axis=0)).ravel()
        return g

    def conductances(self, G) -> dict[str, np.ndarray]:
        """Every conductance-dependent Brian2 value for conductances ``G``.

        Returns
        -------
        dict
            ``syn_G`` (n_slots, n_syn), ``gt`` and ``g_bias`` (n_neurons, n_slots) in S;
            ``ssyn_G`` (n_ssyn,), ``shared_gt`` and ``shared_bias`` (n_shared,) in S.
        """
        gin = self._input_col(G)
        col_total = np.r_[np.asarray(G.sum(axis=0)).ravel(), 0.0]
        bias = self._bias(G)
        syn_G = (
            np.stack(
                [
                    np.asarray(gin[self.syn_i, self.slot_col[self.syn_j, k]]).ravel()
                    for k in range(self.n_slots)
                ]
            )
            if self.n_slots
            else np.zeros((0, self.syn_i.size))
        )
        sc = self.shared_cols
        return {
            "syn_G": syn_G,
            "gt": col_total[self.slot_col],
            "g_bias": bias[self.slot_col],
            "ssyn_G": np.asarray(gin[self.ssyn_i, sc[self.ssyn_j]]).ravel(),
            "shared_gt": col_total[sc],
            "shared_bias": bias[sc],
        }

    def device_energy(self, G, acc, s_acc, phi_a, phi_g, s_phi_a, s_phi_g, open_inputs):
        """Energy of every device from the synapses' accumulators and the columns' integrals.

        ``E = G · (acc + n_open · (Φa − Φg)(T) + Φg(T))`` for rows of inputs, ``G · Φa(T)`` for
        always-on rows.

        Parameters
        ----------
        G : array or sparse matrix (n_rows, n_cols)
        acc : numpy.ndarray (n_slots, n_syn)
            Accumulators of the synapses to neurons, V²·s.
        s_acc : numpy.ndarray (n_ssyn,)
            Accumulators of the synapses to shared columns.
        phi_a, phi_g : numpy.ndarray (n_neurons, n_slots)
            Column integrals of the slots at the end of the run, V²·s.
        s_phi_a, s_phi_g : numpy.ndarray (n_shared,)
        open_inputs : numpy.ndarray of bool (n_inputs,)
            Inputs whose last pulse was still on at the end of the run.

        Returns
        -------
        numpy.ndarray or scipy.sparse.csr_matrix, shape (n_rows, n_cols)
            Energy per device, J, in the layout of ``G`` (dense, or stored where it has
            devices).
        """
        n_rows, n_cols = self.shape
        if not sp.issparse(G):
            return self._dense_device_energy(
                np.asarray(G), acc, s_acc, phi_a, phi_g, s_phi_a, s_phi_g, open_inputs
            )
        G = sp.csr_matrix(G)
        if not G.has_canonical_format:
            G = G.copy()
            G.sum_duplicates()
        where, inp, bias = self._cell_accumulators(G)
        col_a, col_g = self._column_integrals(phi_a, phi_g, s_phi_a, s_phi_g)
        c, g = G.indices, G.data
        # every accumulator, then a zero for the cells without one
        flat = np.concatenate(
            [np.asarray(acc, dtype=np.float64).ravel(), np.asarray(s_acc, np.float64), [0.0]]
        )
        n_open = np.append(np.asarray(open_inputs, dtype=np.float64), 0.0)[inp]
        ca, cg = col_a[c], col_g[c]
        # G (acc + n_open (Φa − Φg) + Φg), in that order
        e = flat[where]
        ca -= cg
        ca *= n_open
        e += ca
        e += cg
        e *= g
        e[bias] = g[bias] * col_a[c[bias]]
        return sp.csr_matrix((e, G.indices.copy(), G.indptr.copy()), shape=(n_rows, n_cols))

    def _cell_accumulators(self, G: sp.csr_matrix):
        """Where the accumulator of each stored cell of ``G`` (canonical CSR) is.

        Returns ``(where, inp, bias)``: per cell the index of its accumulator in the flattened
        ``(n_slots, n_syn)`` accumulators of the synapses to neurons followed by those of the
        synapses to shared columns (one past them where it has none), the index of its row's
        input (``n_inputs`` for an always-on row); and the cells of always-on rows. Kept for
        the next call with the same structure (the cells of a network's runs).
        """
        cached = self._cells
        if (
            cached is not None
            and np.array_equal(cached[0], G.indptr)
            and np.array_equal(cached[1], G.indices)
        ):
            return cached[2:]
        n_rows, n_cols = self.shape
        r = np.repeat(np.arange(n_rows), np.diff(G.indptr))
        c = G.indices
        inp_of_row = np.full(n_rows, -1, dtype=np.int64)
        ri = self._input_rows.tocoo()
        inp_of_row[ri.col] = ri.row
        inp = inp_of_row[r]
        # per column: its neuron and slot, or its place among the shared columns
        col_neuron = np.full(n_cols, -1, dtype=np.int64)
        col_slot = np.full(n_cols, -1, dtype=np.int64)
        n, k = np.nonzero(self.slot_col >= 0)
        col_neuron[self.slot_col[n, k]], col_slot[self.slot_col[n, k]] = n, k
        col_shared = np.full(n_cols, -1, dtype=np.int64)
        col_shared[self.shared_cols] = np.arange(self.n_shared)
        n_syn = self.syn_i.size

        def find(keys_of_syn, keys, ok):
            """Index of the synapse of each key (ok cells; -1 elsewhere or where none is)."""
            out = np.full(keys.size, -1, dtype=np.int64)
            if keys_of_syn.size == 0:
                return out
            order = np.argsort(keys_of_syn, kind="stable")
            at = np.minimum(np.searchsorted(keys_of_syn, keys, sorter=order), keys_of_syn.size - 1)
            found = ok & (keys_of_syn[order[at]] == keys)
            out[found] = order[at[found]]
            return out

        private = (inp >= 0) & (col_neuron[c] >= 0)
        syn = find(
            self.syn_i * self.n_neurons + self.syn_j,
            inp * self.n_neurons + col_neuron[c],
            private,
        )
        syn = np.where(syn >= 0, col_slot[c] * n_syn + syn, -1)
        shared = (inp >= 0) & (col_shared[c] >= 0)
        ssyn = find(
            self.ssyn_i * max(self.n_shared, 1) + self.ssyn_j,
            inp * max(self.n_shared, 1) + col_shared[c],
            shared,
        )
        n_acc = self.n_slots * n_syn
        where = np.where(
            syn >= 0, syn, np.where(ssyn >= 0, n_acc + ssyn, n_acc + self.ssyn_i.size)
        )
        bias = np.flatnonzero(inp < 0)
        inp = np.where(inp < 0, self.n_inputs, inp)
        self._cells = (G.indptr.copy(), G.indices.copy(), where, inp, bias)
        return where, inp, bias

    def _column_integrals(self, phi_a, phi_g, s_phi_a, s_phi_g):
        col_a = np.zeros(self.shape[1])
        col_g = np.zeros(self.shape[1])
        have = self.slot_col >= 0
        col_a[self.slot_col[have]] = phi_a[have]
        col_g[self.slot_col[have]] = phi_g[have]
        col_a[self.shared_cols] = s_phi_a
        col_g[self.shared_cols] = s_phi_g
        return col_a, col_g

    def _dense_device_energy(self, G, acc, s_acc, phi_a, phi_g, s_phi_a, s_phi_g, open_inputs):
        """:meth:`device_energy` of a dense array, with dense (input, column) accumulators."""
        n_rows, n_cols = self.shape
        A = np.zeros((self.n_inputs, n_cols))
        for k in range(self.n_slots):
            cols = self.slot_col[self.syn_j, k]
            ok = cols >= 0
            A[self.syn_i[ok], cols[ok]] = acc[k][ok]
        A[self.ssyn_i, self.shared_cols[self.ssyn_j]] = s_acc
        col_a, col_g = self._column_integrals(phi_a, phi_g, s_phi_a, s_phi_g)
        ri = self._input_rows.tocoo()
        E = np.empty((n_rows, n_cols))
        E[ri.col] = A[ri.row]
        E[ri.col] += np.asarray(open_inputs, dtype=np.float64)[ri.row, None] * (col_a - col_g)
        E[ri.col] += col_g
        E[self._bias_rows] = col_a
        E *= G
        return E
