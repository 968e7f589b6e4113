"""The energy bookkeeping of one crossbar layer, one meaning for every total.

Shared by :class:`snn_rram.snn.LayerResult` (what a simulation returns) and
:class:`snn_rram.results.LayerRecord` (what a result file holds), so both answer
``total_device_energy`` the same way.
"""

from __future__ import annotations

from snn_rram.errors import SnnRramError

__all__ = ["LayerEnergy"]


class LayerEnergy:
    """Totals of a layer with attributes ``name``, ``device_energy`` and ``neuron_energy``.

    ``device_energy`` is the energy of every device over the run, J (a dense array or a sparse
    matrix), or ``None`` when the run had energy accounting off; ``neuron_energy`` the energy of
    each column's neuron input, J, or ``None``.
    """

    __slots__ = ()

    @property
    def has_energy(self) -> bool:
        """Whether the run accounted device energy."""
        return self.device_energy is not None

    @property
    def total_device_energy(self) -> float:
        """Energy of all devices of the layer, J.

        Raises
        ------
        SnnRramError
            The run had energy accounting off (there is no number to give).
        """
        if self.device_energy is None:
            raise SnnRramError(
                f"total_device_energy: layer {self.name!r} was run with energy accounting off"
            )
        return float(self.device_energy.sum())

    @property
    def total_neuron_energy(self) -> float:
        """Energy dissipated in all neuron inputs of the layer, J (see ``total_device_energy``)."""
        if self.neuron_energy is None:
            raise SnnRramError(
                f"total_neuron_energy: layer {self.name!r} was run with energy accounting off"
            )
        return float(self.neuron_energy.sum())
