"""Run directories (config, metrics, snapshots, checkpoint, final set) and exports."""
from dclab.runs.serialize import synthetic_from_dict, synthetic_to_dict
from dclab.runs.store import DEFAULT_RUNS_ROOT, RunDir, RunNotFoundError

__all__ = ["DEFAULT_RUNS_ROOT", "RunDir", "RunNotFoundError", "synthetic_from_dict", "synthetic_to_dict"]
