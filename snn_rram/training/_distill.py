"""Knowledge distillation from a float teacher (Hinton et al. 2015), shared by the recipes.

A recipe that fine-tunes a network for the hardware on a small training set can keep what the
float network it starts from learned (often on more data) by matching its softened outputs:
the loss is ``(1 − α)·CE(labels) + α·T²·KL(softmax(teacher/T) ‖ softmax(student/T))``.
:func:`snn_rram.training.train_distortion_aware` and
:func:`snn_rram.training.train_device_aware` both use it.
"""

from __future__ import annotations

import numpy as np

from snn_rram._validation import as_scalar
from snn_rram.errors import SnnRramError

__all__ = ["check_distill", "distillation_loss", "teacher_log_probs"]


def check_distill(distill, temperature) -> tuple[float, float]:
    """``(distill, temperature)`` validated: a weight in [0, 1] and a positive temperature."""
    distill = as_scalar(distill, "distill")
    if not 0.0 <= distill <= 1.0:
        raise SnnRramError(f"distill: expected a weight in [0, 1], got {distill}")
    return distill, as_scalar(temperature, "temperature", positive=True)


def teacher_log_probs(torch, network, x, temperature: float, dtype=None):
    """Log-softmax of the teacher's logits at ``temperature`` on inputs ``x`` (rows), torch.

    ``network`` is an :class:`snn_rram.ann.Network`; ``x`` has one flattened input per row.
    """
    x = np.asarray(x, dtype=np.float64)
    logits = network.forward(x.reshape(len(x), *network.input_shape)).reshape(len(x), -1)
    out = torch.log_softmax(torch.from_numpy(np.asarray(logits)) / temperature, 1)
    return out if dtype is None else out.to(dtype)


def distillation_loss(
    torch, logits, labels, teacher, *, distill: float, temperature: float, label_smoothing=0.0
):
    """The training loss with distillation weight ``distill`` (α) and temperature ``T``.

    Parameters
    ----------
    logits : torch.Tensor, shape (n, classes)
        The student's outputs.
    labels : torch.Tensor, shape (n,)
        Integer labels.
    teacher : torch.Tensor of shape (n, classes), or None
        The teacher's log-probabilities at ``T`` (:func:`teacher_log_probs`) for the same
        inputs; None (or ``distill = 0``): labels only.
    label_smoothing : float
        Of the cross-entropy on the labels.
    """
    loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    if distill <= 0 or teacher is None:
        return loss
    kl = torch.nn.functional.kl_div(
        torch.log_softmax(logits / temperature, 1),
        teacher.to(logits.dtype),
        reduction="batchmean",
        log_target=True,
    )
    return (1 - distill) * loss + distill * temperature**2 * kl
