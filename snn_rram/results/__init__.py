"""One HDF5 file per simulation run: conductances, energies, spikes, metrics and provenance.

:func:`save` writes a run, :func:`load` reads it back as a :class:`RunResult`, :func:`summary`
describes it in a few lines (``snn-rram info FILE.h5``) and :func:`is_complete` tells whether a
file is a finished result (sweeps use it to resume).

The package: :mod:`~snn_rram.results.records` (the records and the checks every value passes,
on save and on load), :mod:`~snn_rram.results.writer` (:func:`save`),
:mod:`~snn_rram.results.reader` (:func:`load`, :func:`is_complete`: every dataset's declared
size is checked against the file size before it is read, then its shape and values against
the schema) and :mod:`~snn_rram.results.text` (:func:`summary`).

A file is written as an unnamed temporary file in the target's folder (or, where the system
has none, ``.<name>.<random>.tmp``; :func:`snn_rram._io.atomic_write`) and renamed into place
only when
complete, after a final ``complete = True`` attribute and an ``fsync``: a reader never sees a
half-written result, and a failed :func:`save` leaves whatever was at the target untouched.

Schema (version 3)
------------------
All numbers are SI: siemens (S), joules (J), seconds (s), watts (W). Every dataset with at
least one dimension is chunked and compressed (gzip level 4 with the shuffle filter). Datasets
carry a ``units`` attribute where they have a unit.

``/`` (root attributes)
    ``schema_version`` (int, :data:`SCHEMA_VERSION`), ``complete`` (bool, written last),
    ``snn_rram_version``, ``brian2_version`` (``"not installed"`` without Brian2),
    ``numpy_version``, ``h5py_version``, ``hdf5_version`` (str), ``created`` (ISO 8601 time in
    UTC, str), ``config`` (the run's full configuration as TOML text), ``weights_sha256`` (64
    lower-case hex digits: SHA-256 of the input weights file's bytes, see :func:`file_sha256`),
    ``device_card`` (the TOML text of the device card the run used, as read from its file) and
    ``device_card_sha256`` (SHA-256 of those bytes) when the writer gave the card (version 2;
    absent from version 1 files), ``mode`` (``"spiking"`` or ``"analog"``, :data:`MODES`;
    version 3; files before it are spiking), and every extra provenance string the caller gave
    (``extra_attrs``).

``/layers/<name>/`` (one group per crossbar layer, in the order given)
    ``conductances``
        Programmed conductance of every physical device, S, shape ``(n_rows, n_cols)``: a dense
        float64 dataset, or for a sparse crossbar a CSR group (attribute ``format = "csr"``)
        holding ``data`` (float64), ``indices`` and ``indptr`` (int64) and ``shape`` (int64,
        ``(2,)``).
    ``device_energy`` (optional)
        Energy dissipated in every device over the run, J, in the same layout as
        ``conductances`` (a sparse layer stores it only where devices are). Absent when the run
        had energy accounting off.
    ``read_counts``
        int64 ``(n_rows,)``: read pulses applied to each physical row.
    ``neuron_energy`` (optional)
        float64 ``(n_cols,)``: energy dissipated in each column's neuron input, J.
    ``row_input``
        int64 ``(n_rows,)``: logical input driving each physical row, -1 for an always-on (bias)
        row.
    ``readout_col``, ``readout_neuron`` (int64), ``readout_gain`` (float64)
        The readout matrix ``(n_cols, n_neurons)`` as COO triplets in row-major order:
        ``I_neuron = I_column @ readout``; its shape is the group attribute ``readout_shape``
        (int64 ``(2,)``).
    group attributes
        ``mapping`` (mapping method name), ``device`` (device card name), ``mapping_report``
        (JSON text of a dict of numbers, strings, booleans, ``null`` and lists/dicts of them),
        ``readout_shape``.

``/spikes/<population>/`` (SONATA-like, attribute ``sorting = "by_time"``)
    ``times`` (float64, s) and ``indices`` (int32, neuron index), sorted by time and, at equal
    times, by index; ``image_ranges`` (int64 ``(n_images, 2)``): image ``k``'s spikes are
    ``times[start:stop]`` with ``start, stop = image_ranges[k]`` (``start == stop`` for an image
    without spikes). Images are presented back to back, image ``k`` over
    ``[k·T, (k+1)·T)`` with ``T`` the attribute ``image_duration`` (s); a spike less than
    ``1e-9·T`` before a boundary counts for the next image (rounding of simulator times).
    Attributes ``n_neurons`` (int), ``image_duration`` (s), ``sorting``.

``/metrics/`` (one dataset per metric; scalars are 0-d datasets)
    Spiking runs: ``n_images`` (int), ``snn_accuracy`` (fraction in [0, 1]),
    ``simulated_time`` (s), ``counts`` (int64 ``(n_images, n_outputs)``: output spikes per
    image), ``predictions`` and ``labels`` (int64 ``(n_images,)``) are required. Analog runs:
    ``n_images``, ``analog_accuracy``, ``outputs`` (float64 ``(n_images, n_outputs)``: the
    sensed outputs), ``predictions`` and ``labels``. ``ann_accuracy`` (fraction),
    ``total_device_energy`` (J), ``average_power_per_synapse`` (W) and ``energy_per_inference``
    (J) are standard but optional (a run without energy accounting or without an ANN reference
    has none); any other finite int or float, or numeric array, the caller gives is stored as
    well (int64 or float64).

An analog run (``mode = "analog"``) has the same ``/layers`` (its ``device_energy`` and
``neuron_energy`` summed over the images, ``read_counts`` the reads in which a row was driven
at a non-zero voltage) and an empty ``/spikes`` group.

Versions: a file whose ``schema_version`` is newer than this code's is refused with a message
asking to upgrade snn-rram. Version 1 files (no device card) are read with
``device_card = None``, files before version 3 with ``mode = "spiking"``.

Checks on reading: before a dataset is read, its declared size (elements × item size) must not
exceed :data:`MAX_DATASET_BYTES` (16 GiB) nor :data:`snn_rram._io.MAX_DEFLATE_RATIO` times the
file's size (gzip cannot compress more than about 1032:1; a larger declaration is a damaged or
hostile file, not data); then every array's
dtype, dimensions and shape are checked against the schema and each other (``n_images``, the
layers' shapes, the readout, the populations), every value as on :func:`save` (finite metrics,
accuracies in [0, 1], counts, energies and times >= 0, ``snn_accuracy`` (``analog_accuracy``)
equal to the fraction of ``predictions == labels``). Any failure is a
:class:`~snn_rram.errors.SnnRramError` naming the file and the HDF5 path of the offending
dataset or attribute.
"""

from snn_rram._io import file_sha256
from snn_rram.results.reader import MAX_DATASET_BYTES, is_complete, load
from snn_rram.results.records import MODES, SCHEMA_VERSION, LayerRecord, RunResult, SpikeRecord
from snn_rram.results.text import summary
from snn_rram.results.writer import save

__all__ = [
    "MAX_DATASET_BYTES",
    "MODES",
    "SCHEMA_VERSION",
    "LayerRecord",
    "RunResult",
    "SpikeRecord",
    "file_sha256",
    "is_complete",
    "load",
    "save",
    "summary",
]
