"""Published protocols: resolved for every registered method and coreset; DC's augmentations as
the authors'; the learned-lr source; a bounded loss for learned labels; the reproduce tables."""
from __future__ import annotations

import argparse
import json

import pytest
import torch
import torch.nn.functional as F

from dclab.augment.dc import DCAugParams, dc_augment, parse_dc_strategy
from dclab.cli.condense_cmd import add_arguments
from dclab.cli.main import main
from dclab.coresets import list_coresets
from dclab.eval.evaluate import evaluate_synthetic, transfer_targets
from dclab.eval.protocol import AUGMENTS, PUBLISHED, EvalProtocol
from dclab.eval.published import CPU_EPOCHS, CPU_MODELS, resolve_protocol
from dclab.methods import get_method, list_methods
from dclab.methods._base import CondensationMethod
from dclab.runs import RunDir
from dclab.seeding import make_generator
from dclab.synthetic import SyntheticSet

NAMES = list_methods() + list_coresets()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_published_protocol_resolves_for_every_method(name, dataset):
    paper = resolve_protocol(PUBLISHED, method=name, dataset=dataset, ipc=10, budget="paper")
    paper.validate()
    assert paper.augment in AUGMENTS and paper.epochs >= 300 and paper.models == 20  # IDC: up to 2000
    assert paper.source  # every protocol names where it comes from
    assert paper.source in paper.describe()
    cpu = resolve_protocol(PUBLISHED, method=name, dataset=dataset, ipc=10, budget="cpu")
    assert cpu.models == CPU_MODELS and cpu.epochs == min(paper.epochs, CPU_EPOCHS)
    assert "scaled for CPU" in cpu.describe() and cpu.augment == paper.augment and cpu.net == paper.net


@pytest.mark.parametrize("name, dataset, augment, epochs", [
    ("dc", "mnist", "crop_scale_rotate", 1000), ("dc", "cifar10", "none", 300),
    ("dsa", "mnist", "dsa", 1000), ("dm", "cifar10", "dsa", 1000),
    ("herding", "mnist", "crop_scale_rotate", 1000), ("random", "cifar10", "none", 300),
])
def test_published_protocol_is_the_papers(name, dataset, augment, epochs):
    p = resolve_protocol(PUBLISHED, method=name, dataset=dataset, ipc=10, budget="paper")
    assert (p.augment, p.epochs, p.net) == (augment, epochs, "convnet")


def test_dd_is_evaluated_on_its_papers_net():
    assert resolve_protocol(PUBLISHED, method="dd", dataset="mnist", ipc=10, budget="paper").net == "lenet"
    assert resolve_protocol(PUBLISHED, method="dd", dataset="cifar10", ipc=10, budget="paper").net == "alexnet"


def test_convnet_bn_gets_crop_noise_and_overrides_win():
    p = resolve_protocol(PUBLISHED, method="dc", dataset="cifar10", ipc=10, budget="paper",
                         overrides={"norm": "batchnorm"})
    assert (p.augment, p.epochs, p.norm) == ("crop_noise", 1000, "batchnorm")
    q = resolve_protocol(PUBLISHED, method="dsa", dataset="mnist", ipc=1, budget="cpu", overrides={"epochs": 7})
    assert q.epochs == 7 and "changed: epochs=7" in q.describe()
    assert resolve_protocol("quick", method="dm", dataset="mnist", ipc=1) == EvalProtocol.build("quick")


def test_base_protocol_is_the_plain_one():
    fields, source = CondensationMethod.published_protocol("mnist", 10)
    assert fields == {"net": "convnet", "epochs": 300, "augment": "none"} and "DC paper" in source


# ---- DC augmentation ------------------------------------------------------------------------
def _batch(seed: int = 0) -> torch.Tensor:
    return torch.rand(12, 1, 28, 28, generator=make_generator(seed))


def test_dc_aug_parameters_are_the_authors():
    p = DCAugParams()
    assert (p.crop, p.scale, p.rotate, p.noise) == (4, 0.2, 45, 0.001)
    assert parse_dc_strategy("crop_scale_rotate") == ("crop", "scale", "rotate")
    with pytest.raises(ValueError, match="flip"):
        parse_dc_strategy("crop_flip")


@pytest.mark.parametrize("strategy", ["crop_scale_rotate", "crop_noise"])
def test_dc_aug_is_reproducible_from_a_seed(strategy):
    x = _batch()
    a, b = dc_augment(x, strategy, make_generator(3)), dc_augment(x, strategy, make_generator(3))
    assert torch.equal(a, b) and a.shape == x.shape
    assert not torch.equal(a, dc_augment(x, strategy, make_generator(4)))
    assert not torch.equal(a, x)


def test_dc_crop_is_a_shift_within_4_px_padded_with_the_channel_mean():
    x = _batch()
    out = dc_augment(x, "crop", make_generator(0))
    padded = F.pad(x, (4, 4, 4, 4), value=0.0)
    padded[:, :, :4], padded[:, :, -4:], padded[:, :, :, :4], padded[:, :, :, -4:] = (x.mean(),) * 4
    for i in range(x.shape[0]):
        windows = [(r, c) for r in range(8) for c in range(8)
                   if torch.allclose(out[i], padded[i, :, r:r + 28, c:c + 28])]
        assert windows, f"image {i} is not a window of the mean-padded image"


def test_dc_noise_has_the_authors_std():
    x = torch.zeros(64, 3, 16, 16)
    diff = dc_augment(x, "noise", make_generator(0)) - x
    assert diff.std().item() == pytest.approx(0.001, rel=0.05)


def test_dc_rotate_and_scale_keep_the_centre_and_change_the_rest():
    x = torch.zeros(8, 1, 29, 29)
    x[:, :, 11:18, 11:18] = 1.0  # a centred square: rotation and scaling about the centre keep its middle
    for strategy in ("rotate", "scale"):
        out = dc_augment(x, strategy, make_generator(1))
        assert torch.allclose(out[:, :, 14, 14], torch.ones(8, 1)), strategy
        assert not torch.allclose(out, x), strategy


# ---- evaluation: DC augmentation, learned lr, learned labels --------------------------------
def _coreset(digits, ipc: int = 2) -> SyntheticSet:
    from dclab.coresets import select_coreset

    return select_coreset("random", digits, ipc, seed=0)


def test_evaluation_trains_with_dc_augmentation(digits):
    syn = _coreset(digits)
    plain = EvalProtocol.build(None, {"models": 1, "epochs": 4})
    a = evaluate_synthetic(syn, digits, plain, device="cpu")
    b = evaluate_synthetic(syn, digits, plain.replace(augment="crop_noise"), device="cpu")
    assert "DC aug crop_noise" in b.protocol.describe()
    assert a.accs != b.accs  # the augmentation changed training


def test_learned_lr_trains_with_the_sets_step_size(digits):
    from dataclasses import replace

    syn = replace(_coreset(digits), extras={"syn_lr": 0.03})
    fixed = EvalProtocol.build(None, {"models": 1, "epochs": 3, "lr": 0.03})
    learned = fixed.replace(lr=0.5, lr_source="learned")
    got = evaluate_synthetic(syn, digits, learned, device="cpu")
    assert got.accs == evaluate_synthetic(syn, digits, fixed, device="cpu").accs
    assert got.extra["learned_lr"] == 0.03 and "learned lr" in got.protocol.describe()
    with pytest.raises(ValueError, match="syn_lr"):
        evaluate_synthetic(_coreset(digits), digits, learned, device="cpu")


def test_transfer_loss_on_learned_labels_is_bounded_below():
    soft = torch.tensor([[1.2, -0.3, 0.1], [-0.2, -0.1, -0.4]])  # learned labels can go negative
    logits = torch.tensor([[0.0, -50.0, 0.0], [0.0, 0.0, 0.0]])
    raw = -(soft * F.log_softmax(logits * 100, 1)).sum(1).mean()
    assert raw < -100  # soft CE on the raw labels runs to -inf as a logit falls
    targets = transfer_targets(soft)
    assert torch.allclose(targets.sum(1), torch.ones(2)) and (targets >= 0).all()
    gen = make_generator(0)
    for scale in (1.0, 10.0, 1000.0):
        z = torch.randn(2, 3, generator=gen) * scale
        assert F.cross_entropy(z, targets) >= 0
    entropy = -(targets[0][targets[0] > 0] * targets[0][targets[0] > 0].log()).sum()
    assert F.cross_entropy(targets[:1].clamp_min(1e-12).log(), targets[:1]) == pytest.approx(float(entropy), abs=1e-5)


def test_kip_lr_and_bias_variance_are_the_papers(digits):
    cls = get_method("kip")
    cfg = cls.config_class.build("paper", {"iterations": 1, "batch_real": 5})
    assert cfg.b_var == 1e-4
    assert cls(digits, 1, cfg, device="cpu").optimizer.param_groups[0]["lr"] == 0.01
    assert cls.config_class.PRESET_SOURCES["paper"]


# ---- reproduce tables ------------------------------------------------------------------------
def test_published_tables_cover_the_methods_and_fail_clearly():
    from dclab.reproduce import PUBLISHED as ROWS
    from dclab.reproduce import find_published

    assert {"dc", "dsa", "dm", "mtt", "kip", "dd", "mdc", "random", "herding", "kcenter", "forgetting"} <= {
        r.method for r in ROWS}
    assert find_published("dm", "mnist", 10).accuracy == 97.5
    with pytest.raises(ValueError, match="tabulated for dm"):
        find_published("dm", "mnist", 7)


# ---- the published protocol is the default where a run is evaluated ---------------------------
def test_evaluate_and_condense_default_to_the_published_protocol(tmp_path, capsys):
    tiny = ["--dataset", "digits", "--method", "dm", "--ipc", "2", "--iterations", "2", "--device", "cpu",
            "--set", "batch_real=16", "--set", "width=8", "--out", str(tmp_path / "runs")]
    assert main(["condense", *tiny]) == 0
    run = RunDir.open(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["evaluate", str(run.path), "--json", "--models", "1", "--epochs", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    text = EvalProtocol(**result["protocol"]).describe()
    assert "DSA aug" in text and "DM paper" in text and "changed: models=1, epochs=2" in text
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).eval_preset == PUBLISHED
