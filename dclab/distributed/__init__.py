"""More than one process: torch.distributed under torchrun (see README "More than one GPU").

Nothing here does anything unless the process was launched by torchrun (RANK, WORLD_SIZE and
LOCAL_RANK in the environment): the single-process path creates no process group.

- `world.py`: the process group (gloo on CPU, NCCL on CUDA), set up from torchrun's variables.
- `collectives.py`: the collectives dclab uses, with a timeout, a clear error when a rank is lost,
  and a byte counter (the communication volume per iteration).
- `shard.py`: which classes or batch rows (condensation) and which networks (evaluation) this rank computes.
- `writer.py`: rank 0 owns the run folder; the other ranks get a `MuteRunDir` that writes nothing.
"""
from dclab.distributed.collectives import (
    RankLostError,
    agree_any,
    all_reduce_sum,
    all_reduce_sum_differentiable,
    broadcast_tensor,
    comm_totals,
    gather_objects,
    share_from_rank0,
)
from dclab.distributed.shard import (
    SPLITS,
    BatchShard,
    ClassShard,
    batch_shard,
    class_shard,
    gather_by_index,
    my_share,
    rank_shards,
)
from dclab.distributed.world import (
    World,
    active_world,
    is_rank0,
    launched_by_torchrun,
    local_device,
    status_fields,
    world_session,
)
from dclab.distributed.writer import MuteRunDir

__all__ = [
    "BatchShard", "ClassShard", "MuteRunDir", "RankLostError", "SPLITS", "World", "active_world", "agree_any",
    "all_reduce_sum", "all_reduce_sum_differentiable", "batch_shard", "broadcast_tensor", "class_shard",
    "comm_totals", "gather_by_index", "gather_objects", "is_rank0", "launched_by_torchrun", "local_device",
    "my_share", "rank_shards", "share_from_rank0", "status_fields", "world_session",
]
