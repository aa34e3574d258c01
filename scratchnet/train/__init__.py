"""One training loop for both libraries: ``Trainer.fit`` with callbacks, one job per module.

- ``config``       :class:`TrainConfig`, resolved against the model zoo
- ``backend``      the :class:`Backend` protocol (named metrics), state flattening for ``.npz``
- ``scratch``      :class:`ScratchBackend` (NumPy + Numba); torch's is ``torchnet.train.TorchBackend``
- ``checkpoints``  :func:`save_checkpoint` / :func:`load_checkpoint` (temporary file + rename)
- ``callbacks``    progress bar, epoch table, metrics files, checkpoints, early stopping, report
- ``loop``         :class:`Trainer` (task-agnostic: whatever metrics the backend reports)
- ``crossval``     :func:`cross_validate` (k-fold, resumable)
- ``interrupt``    :func:`stop_signals`: SIGINT / SIGTERM stop a run between mini-batches
- ``runinfo``      ``config.json`` of a run folder and the configuration table

scratchnet never imports torch: a torch run passes its backend in (the ``scratchnet`` command
does so for ``--backend torch``).
"""

from .backend import EVAL_BATCH_SIZE, Backend, flatten_state, unflatten_state
from .callbacks import (
    Callback,
    Checkpointer,
    ClassificationReport,
    EarlyStopping,
    EpochTable,
    MetricsLogger,
    ProgressBar,
    default_callbacks,
    monitored,
)
from .checkpoints import load_checkpoint, save_checkpoint
from .config import BACKEND_NAMES, TrainConfig
from .crossval import cross_validate
from .interrupt import Interrupted, StopRequest, stop_signals
from .loop import Trainer, TrainingDiverged, TrainingInterrupted
from .runinfo import config_table, run_config, write_run_config
from .scratch import ScratchBackend, ScratchVAEBackend, make_backend, one_hot

__all__ = [
    "BACKEND_NAMES", "EVAL_BATCH_SIZE", "Backend", "Callback", "Checkpointer", "ClassificationReport",
    "EarlyStopping", "EpochTable", "Interrupted", "MetricsLogger", "ProgressBar", "ScratchBackend", "ScratchVAEBackend",
    "StopRequest", "TrainConfig", "Trainer",
    "TrainingDiverged", "TrainingInterrupted", "config_table", "cross_validate", "default_callbacks",
    "flatten_state", "load_checkpoint", "make_backend", "monitored", "one_hot", "run_config", "save_checkpoint",
    "stop_signals", "unflatten_state", "write_run_config",
]
