"""MDC: the authors' selection signal and sticky freezing, the base hook, state round trip."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dclab.methods import get_method
from dclab.methods.mdc import SubsetDistances, frozen_size, select_mls, squared_prefix_distances

IPC = 4


def build(data, **overrides):
    cls = get_method("mdc")
    cfg = cls.config_class.build("cpu", {"width": 16, "batch_real": 16, "inner_loop": 1, "n_data": 32,
                                         **overrides})
    return cls(data, IPC, cfg, seed=0, device="cpu")


def old_rule(prev_mls: int, new_mls: int) -> int:
    """dclab's former rule: freeze the previous MLS for one window if the MLS grew."""
    return prev_mls if new_mls > prev_mls else 0


def run_rule(sequence: list[int]) -> list[int]:
    """Frozen size during each window of an MLS sequence under the authors' sticky rule."""
    earlier: list[int] = []
    out = []
    prev = 0
    for mls in sequence:
        if prev and prev not in earlier:
            earlier.append(prev)
        out.append(frozen_size(earlier, mls))
        prev = mls
    return out


def test_select_mls_initial_and_argmax_change():
    assert select_mls(None, torch.tensor([3.0, 2.0, 1.0])) == 1  # no history: n* = 1
    prev = torch.tensor([5.0, 4.0, 3.0])
    assert select_mls(prev, torch.tensor([4.9, 2.0, 2.5])) == 2  # |ΔF| = 0.1, 2.0, 0.5
    assert select_mls(prev, torch.tensor([5.0, 4.0, 6.0])) == 3  # increases count too
    assert select_mls(prev, prev.clone()) == 1  # ties -> smallest n
    assert select_mls(torch.tensor([]), torch.tensor([])) == 1  # IPC 1: nothing to choose


def test_sticky_freezing_where_it_differs_from_the_old_rule():
    # 1 -> 3 -> 2: the old rule frees everything (MLS shrank); the authors keep 1 frozen
    assert run_rule([1, 3, 2]) == [0, 1, 1]
    assert old_rule(3, 2) == 0
    # 1 -> 3 -> 3: the old rule freezes only in the window right after growth
    assert run_rule([1, 3, 3]) == [0, 1, 1]
    assert old_rule(3, 3) == 0
    # 1 -> 2 -> 4 -> 3: freeze the LARGEST earlier MLS below the current one
    assert run_rule([1, 2, 4, 3]) == [0, 1, 2, 2]
    assert old_rule(4, 3) == 0
    # where both agree: growth from the previous MLS
    assert run_rule([1, 2])[-1] == old_rule(1, 2) == 1
    assert frozen_size([2, 3], 1) == 0  # nothing earlier is smaller


def test_squared_prefix_distances_match_loop_and_units():
    emb_real = torch.randn(3, 11, 7)
    for unit in (1, 4):  # plain images / multi-formation (4 decoded per stored image)
        emb_syn = torch.randn(3, IPC * unit, 7)
        got = squared_prefix_distances(emb_real, emb_syn, IPC)
        want = torch.stack([torch.stack([(emb_syn[c, : n * unit].mean(0) - emb_real[c].mean(0)).pow(2).sum()
                                         for n in range(1, IPC)]) for c in range(3)])
        torch.testing.assert_close(got, want)


def test_probe_averages_over_batches_and_classes_and_embeds_separately():
    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.batches = []

        def embed(self, x):
            self.batches.append(x.shape[0])
            return x.flatten(1)

    net = Recorder()
    probe = SubsetDistances(IPC)
    real, syn = torch.randn(2, 5, 1, 2, 2), torch.randn(2, IPC, 1, 2, 2)
    probe(net, real, syn)
    probe(net, real * 2, syn)
    assert net.batches == [10, 8, 10, 8]  # real and synthetic never share a forward
    e_syn = syn.flatten(2)
    want = (squared_prefix_distances(real.flatten(2), e_syn, IPC).sum(0)
            + squared_prefix_distances((real * 2).flatten(2), e_syn, IPC).sum(0)) / 4
    torch.testing.assert_close(probe.mean(), want)


@pytest.mark.parametrize("base", ["idc", "dm", "dc", "dsa"])
def test_timeline_recorded_and_frozen_images_get_no_gradient(base, digits):
    extra = {} if base == "idc" else {"lr_img": 1.0 if base == "dm" else 0.1, "outer_loop": 1}
    method = build(digits, base=base, delta_t=2, iterations=8, momentum_img=0.0, **extra)
    seen = []
    for i in range(6):
        if i == 5:  # force a frozen prefix: 2 was the MLS before, 3 is now
            method.earlier_mls, method.mls = [2], 3
        before = method.images.detach().clone().view(digits.num_classes, IPC, -1)
        metrics = method.step()
        after = method.images.detach().view(digits.num_classes, IPC, -1)
        n, k = int(metrics.extra["mls"]), int(metrics.extra["frozen"])
        assert 0 <= n < IPC and 0 <= k < max(n, 1)
        assert torch.equal(before[:, :k], after[:, :k]), "frozen images must not move (no momentum)"
        assert not torch.equal(before[:, k:], after[:, k:])
        seen.append((n, k, "selected" in metrics.extra))
    assert seen[0] == (0, 0, True)  # iteration 0 measures; its selection is n* = 1
    assert seen[1][0] == 1 and seen[1][2]  # (1 + 1) % Δt == 0: measured again
    assert not seen[2][2]
    assert seen[5][:2] == (3, 2)


def test_frozen_images_keep_their_momentum(digits):
    """As the authors' code: a frozen image gets no gradient but the optimiser momentum still moves it."""
    method = build(digits, base="dm", delta_t=100, iterations=4, lr_img=1.0, momentum_img=0.5)
    method.step(), method.step()  # momentum buffers now non-zero
    method.earlier_mls, method.mls = [2], 3
    grads = {}
    before = method.images.detach().clone()
    buf = method.optimizer.state[method.images]["momentum_buffer"].clone()
    method.images.register_hook(lambda g: grads.setdefault("g", g.clone()))
    metrics = method.step()
    assert metrics.extra["frozen"] == 2
    moved = (method.images.detach() - before).view(digits.num_classes, IPC, -1)
    # frozen part moved by exactly -lr * momentum * old buffer
    expected = (-1.0 * 0.5 * buf).view(digits.num_classes, IPC, -1)[:, :2]
    torch.testing.assert_close(moved[:, :2], expected)
    assert moved[:, :2].abs().sum() > 0


def test_state_dict_holds_selection_state(digits):
    method = build(digits, delta_t=1, iterations=3)
    method.step(), method.step()
    state = method.state_dict()["extra"]
    assert state["mls"] == method.mls and state["earlier_mls"] == method.earlier_mls
    assert state["prev_distances"].shape == (IPC - 1,)
    fresh = build(digits, delta_t=1, iterations=3)
    fresh.load_state_dict(method.state_dict())
    assert fresh.mls == method.mls and torch.equal(fresh.prev_distances, method.prev_distances)
    torch.testing.assert_close(fresh.images, method.images)


def test_mdc_on_idc_keeps_the_formation_factor(digits):
    syn = build(digits, iterations=1).synthetic_set()
    assert syn.method == "mdc" and syn.formation_factor == 2 and syn.ipc == IPC
    assert syn.prefix(1).decoded().images.shape[0] == digits.num_classes * 4


def test_baseline_b_concatenates_independent_ipc1_runs_and_curves_share_one_protocol(digits):
    from dclab.eval.multisize import (
        BASELINE_A,
        BASELINE_B,
        BASELINE_C,
        MULTISIZE,
        average_gain,
        concatenate_ipc1,
        multisize_curves,
    )
    from dclab.eval.protocol import EvalProtocol

    dm = get_method("dm")
    cfg = dm.config_class.build("cpu", {"iterations": 2, "width": 16, "batch_real": 16})
    ipc1 = []
    for seed in (1, 2, 3):
        m = dm(digits, 1, cfg, seed=seed, device="cpu")
        m.step(), m.step()
        ipc1.append(m.synthetic_set())
    b = concatenate_ipc1(ipc1)
    assert b.ipc == 3 and torch.equal(b.labels, torch.arange(10).repeat_interleave(3))
    for i, s in enumerate(ipc1):  # image i of every class is run i's image of that class
        assert torch.equal(b.images.view(10, 3, *digits.shape)[:, i], s.images)
    assert not torch.equal(ipc1[0].images, ipc1[1].images)  # independent runs
    with pytest.raises(ValueError):
        concatenate_ipc1([b])
    plain = dm(digits, 3, cfg, seed=0, device="cpu").synthetic_set()
    protocol = EvalProtocol.build("quick", {"models": 1, "epochs": 2})
    calls = []
    curves = multisize_curves(digits, protocol, build(digits, iterations=1).synthetic_set(), baseline_c=plain,
                              ipc1_sets=ipc1[:2], separate={1: ipc1[0]}, sizes=[1, 2], device="cpu",
                              progress=lambda d, t: calls.append((d, t)), net_options={"width": 16})
    assert {k: [p.n for p in v] for k, v in curves.items()} == {
        MULTISIZE: [1, 2], BASELINE_B: [1, 2], BASELINE_C: [1, 2], BASELINE_A: [1]}
    assert all(p.result.protocol == protocol for pts in curves.values() for p in pts)
    assert calls[-1][0] == calls[-1][1]
    gain = average_gain(curves)
    assert gain == pytest.approx(sum(curves[MULTISIZE][i].result.mean - curves[BASELINE_C][i].result.mean
                                     for i in range(2)) / 2)


def test_selection_timeline_from_metrics_and_page(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from dclab.jobs import JobManager, RunSpec
    from dclab.viz.multisize import selection_history, selection_timeline_figure

    runs = tmp_path / "runs"
    monkeypatch.setenv("DCLAB_RUNS", str(runs))
    monkeypatch.setenv("DCLAB_CACHE", str(tmp_path / "cache"))
    job = JobManager(runs).submit(RunSpec(dataset="digits", method="mdc", ipc=3, seed=0, iterations=3, overrides={
        "batch_real": 16, "inner_loop": 1, "n_data": 32, "width": 16, "delta_t": 1}))
    assert job.wait(120) and job.status == "finished", job.message
    history = selection_history(job.run_dir.read_metrics())
    assert [s.iteration for s in history] == [1, 2, 3]
    assert history[0].mls == 0 and history[0].selected == 1 and history[1].mls == 1
    assert all(s.selected is not None for s in history)  # Δt = 1: a selection every iteration
    assert len(selection_timeline_figure(history).data) == 3
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120).run()
        at.switch_page("pages/multisize.py").run()
        assert not at.exception, at.exception
        assert any(h.value == "Selection timeline" for h in at.subheader)
        assert any("baseline B" in m.label for m in at.multiselect)
    finally:
        import streamlit as st

        from ui.state import OPEN_REGISTRIES

        for registry in list(OPEN_REGISTRIES):
            registry.shutdown(timeout=30)
        st.cache_resource.clear()
