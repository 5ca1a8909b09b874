"""The `classroom` preset of every method (parametrised over METHODS): it exists, says what it
gives up against `paper`, and a real run at its settings on digits moves the images. Plus DC's
whole-batch inner epoch equals the shuffled one."""
from __future__ import annotations

import math

import pytest
import torch

from dclab.methods import get_method, list_methods
from dclab.methods.dc import _shuffled_batches

IPC = 10  # the classroom setting is sized for digits at IPC 10


@pytest.mark.parametrize("name", list_methods())
def test_classroom_preset_states_what_it_gives_up(name):
    config_class = get_method(name).config_class
    assert "classroom" in config_class.PRESETS
    note = config_class.PRESET_SOURCES["classroom"]
    assert "paper" in note and "CPU" in note  # what it gives up against paper, and where it is sized for
    cfg = config_class.build("classroom")
    paper = config_class.build("paper")
    assert cfg.iterations < paper.iterations


@pytest.mark.parametrize("name", list_methods())
def test_classroom_iteration_changes_the_images(name, digits):
    cls = get_method(name)
    method = cls(digits, IPC, cls.config_class.build("classroom", {"iterations": 1}), seed=0, device="cpu")
    before = method.images.detach().clone()
    metrics = method.step()
    assert math.isfinite(metrics.loss) and method.done
    assert not torch.equal(before, method.images.detach())


def test_dc_whole_batch_epoch_equals_shuffled_epoch(digits):
    """The inner loop's one-batch epoch (no shuffle) trains the net as the shuffled batch would."""
    cls = get_method("dc")
    method = cls(digits, IPC, cls.config_class.build("classroom", {"inner_loop": 3}), seed=0, device="cpu")
    assert method.images.shape[0] <= method.config.batch_train  # the whole-batch branch is taken
    net_a, net_b = method.new_net(), method.new_net()
    net_b.load_state_dict(net_a.state_dict())
    start = {k: v.clone() for k, v in net_a.state_dict().items()}
    method._train_net(net_a, torch.optim.SGD(net_a.parameters(), lr=method.config.lr_net))
    opt_b = torch.optim.SGD(net_b.parameters(), lr=method.config.lr_net)
    x, y = method.images.detach(), method.labels
    for _ in range(3):
        for xb, yb in _shuffled_batches(x, y, x.shape[0], torch.Generator().manual_seed(1)):
            loss = torch.nn.functional.cross_entropy(net_b(xb), yb)
            opt_b.zero_grad()
            loss.backward()
            opt_b.step()
    for (name, a), b in zip(net_a.state_dict().items(), net_b.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    assert any(not torch.equal(v, start[k]) for k, v in net_a.state_dict().items())  # it trained


@pytest.mark.parametrize("name", ["dc", "dsa"])
def test_dc_path_choice_on_cpu_by_net_width(name, digits):
    """batched=None on a CPU: the vmapped path for small matching nets, the loop for wide ones;
    an explicit setting wins."""
    cls = get_method(name)

    def path(**settings):
        return cls(digits, 2, cls.config_class.build("classroom", settings), device="cpu").resolve_batched(
            settings.get("batched"))

    assert path() is True and path(width=16) is True
    assert path(width=128) is False and path(net="mlp") is False  # measured for ConvNets only
    assert path(width=16, batched=False) is False and path(width=128, batched=True) is True
