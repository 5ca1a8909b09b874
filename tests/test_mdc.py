"""MDC: selection/freezing rules, prefix distances, frozen images stay put, state round trip."""
from __future__ import annotations

import pytest
import torch

from dclab.methods import get_method
from dclab.methods.matching import prefix_mean_distances
from dclab.methods.mdc import frozen_prefix, select_mls

IPC = 4


def build(data, **overrides):
    cls = get_method("mdc")
    cfg = cls.config_class.build("cpu", {"net_width": 16, "batch_real": 16, "outer_loop": 1, "inner_loop": 1,
                                         **overrides})
    return cls(data, IPC, cfg, seed=0, device="cpu")


def test_select_mls_initial_and_argmax_rate():
    assert select_mls(None, torch.tensor([3.0, 2.0, 1.0]), 10) == 1  # no history: n* = 1
    prev = torch.tensor([5.0, 4.0, 3.0])
    now = torch.tensor([4.9, 2.0, 2.5])  # |ΔF| = 0.1, 2.0, 0.5 -> n = 2 drops fastest
    assert select_mls(prev, now, 100) == 2
    assert select_mls(prev, torch.tensor([5.0, 4.0, 6.0]), 100) == 3  # |ΔF| counts increases too
    assert select_mls(prev, prev.clone(), 100) == 1  # ties -> smallest n
    assert select_mls(torch.tensor([]), torch.tensor([]), 5) == 1  # IPC 1: nothing to choose


def test_frozen_prefix_rule():
    assert frozen_prefix(prev_mls=1, new_mls=3) == 1  # grew: freeze the previous MLS
    assert frozen_prefix(prev_mls=3, new_mls=3) == 0
    assert frozen_prefix(prev_mls=3, new_mls=2) == 0  # shrank: update everything


def test_prefix_distances_match_loop():
    emb_syn, emb_real = torch.randn(3, 5, 7), torch.randn(3, 11, 7)
    got = prefix_mean_distances(emb_syn, emb_real, 4)
    want = torch.stack([
        sum((emb_syn[c, :n].mean(0) - emb_real[c].mean(0)).norm() for c in range(3)) for n in range(1, 5)
    ])
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("base", ["dm", "dc", "dsa"])
def test_selection_recorded_and_frozen_images_unchanged(base, digits):
    method = build(digits, base=base, delta_t=2, iterations=6)
    seen = []
    for _ in range(6):
        before = method.images.detach().clone().view(digits.num_classes, IPC, -1)
        metrics = method.step()
        after = method.images.detach().view(digits.num_classes, IPC, -1)
        k, n = int(metrics.extra["frozen"]), int(metrics.extra["mls"])
        assert 1 <= n < IPC and 0 <= k < IPC
        assert torch.equal(before[:, :k], after[:, :k]), "frozen prefix images must not move"
        assert not torch.equal(before[:, k:], after[:, k:])
        seen.append((n, k))
    assert seen[0] == (1, 0)  # initially n* = 1, nothing frozen


def test_forced_freeze_keeps_prefix_and_momentum(digits):
    """With a frozen prefix, even accumulated momentum does not move those images."""
    method = build(digits, base="dm", delta_t=100, iterations=3)
    method.step(), method.step()  # momentum buffers now non-zero
    method.frozen = 2
    before = method.images.detach().clone().view(digits.num_classes, IPC, -1)
    method.base.frozen_count = 2
    method.step()  # _step re-applies self.frozen to the base
    after = method.images.detach().view(digits.num_classes, IPC, -1)
    assert torch.equal(before[:, :2], after[:, :2])
    assert not torch.equal(before[:, 2:], after[:, 2:])


def test_state_dict_holds_selection_state(digits):
    method = build(digits, delta_t=1, iterations=3)
    method.step(), method.step()
    state = method.state_dict()["extra"]
    assert state["mls"] == method.mls and state["frozen"] == method.frozen
    assert state["prev_distances"].shape == (IPC - 1,)
    fresh = build(digits, delta_t=1, iterations=3)
    fresh.load_state_dict(method.state_dict())
    assert fresh.mls == method.mls and torch.equal(fresh.prev_distances, method.prev_distances)


def test_subset_accuracy_curve_evaluates_each_prefix(digits):
    from dclab.eval.multisize import subset_accuracy_curve
    from dclab.eval.protocol import EvalProtocol

    syn = build(digits, iterations=1).synthetic_set()
    protocol = EvalProtocol.build("quick", {"models": 1, "epochs": 2})
    calls = []
    results = subset_accuracy_curve(syn, digits, protocol, device="cpu", progress=lambda d, t: calls.append((d, t)),
                                    sizes=[1, 3], net_options={"width": 16})
    assert [r.ipc for r in results] == [1, 3]
    assert all(0.0 <= r.mean <= 1.0 for r in results)
    assert calls and calls[-1][0] == calls[-1][1]  # progress spans the whole curve and ends full
    with pytest.raises(ValueError):
        subset_accuracy_curve(syn, digits, protocol, sizes=[IPC + 1])
