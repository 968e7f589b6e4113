"""Integrate-and-fire neurons driven by the array's neuron currents."""

from __future__ import annotations

from dataclasses import dataclass

from snn_rram._validation import as_scalar, one_of

__all__ = ["RESETS", "IFNeuron"]


#: Reset modes of :class:`IFNeuron`: subtract the threshold, or set the membrane to 0.
RESETS = ("subtract", "zero")


@dataclass(frozen=True)
class IFNeuron:
    """An integrate-and-fire neuron, ``C dv/dt = I_in (− C·v/τ_leak)``.

    Parameters
    ----------
    threshold : float or brian2.Quantity
        Spike when ``v > threshold``, V (> 0).
    capacitance : float or brian2.Quantity
        Membrane capacitance, F (> 0): the neuron spikes after ``C · threshold`` of charge.
    reset : {"subtract", "zero"}
        ``v -= threshold`` (keeps the excess charge, as rate conversion wants) or ``v = 0``.
    refractory : float or brian2.Quantity, optional
        Refractory period, s. Every spike is a read pulse on the next layer's rows, so it must
        be at least the pulse width (checked when the network is built); ``None`` uses the
        pulse width.
    leak_tau : float or brian2.Quantity, optional
        Membrane time constant of an optional leak, s; ``None`` (default) for a perfect
        integrator.
    """

    threshold: float
    capacitance: float
    reset: str = "subtract"
    refractory: float | None = None
    leak_tau: float | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        set_(
            self,
            "threshold",
            as_scalar(self.threshold, "IFNeuron.threshold", "volt", positive=True),
        )
        set_(
            self,
            "capacitance",
            as_scalar(self.capacitance, "IFNeuron.capacitance", "farad", positive=True),
        )
        one_of(self.reset, "IFNeuron.reset", RESETS)
        if self.refractory is not None:
            set_(
                self,
                "refractory",
                as_scalar(self.refractory, "IFNeuron.refractory", "second", nonnegative=True),
            )
        if self.leak_tau is not None:
            set_(
                self,
                "leak_tau",
                as_scalar(self.leak_tau, "IFNeuron.leak_tau", "second", positive=True),
            )

    def to_dict(self) -> dict:
        """The neuron's parameters (SI units)."""
        return {
            "threshold": self.threshold,
            "capacitance": self.capacitance,
            "reset": self.reset,
            "refractory": self.refractory,
            "leak_tau": self.leak_tau,
        }
