"""Evaluation: batched == loop, real training learns, progress/stop, BN fallback, results."""
from __future__ import annotations

import copy
import threading
from dataclasses import replace

import pytest
import torch

from dclab.augment import dsa_augment
from dclab.eval.batched import can_batch, train_classifiers_batched
from dclab.eval.batched import test_accuracies_batched as accuracies_of
from dclab.eval.evaluate import evaluate_cross_arch, evaluate_synthetic, model_generator
from dclab.eval.protocol import EvalProtocol
from dclab.eval.train import test_accuracy as accuracy_of
from dclab.eval.train import train_classifier
from dclab.nets import NETS, get_net
from dclab.nets.layers import has_batchnorm
from dclab.seeding import make_generator
from dclab.synthetic import SyntheticSet, class_major_labels

SMALL = {"width": 16}
TINY = EvalProtocol(models=2, epochs=3, batch_size=25)
SHORT = EvalProtocol(models=2, epochs=8, batch_size=10)  # 80 steps: learns, drift still tiny


@pytest.fixture(scope="module")
def real_set(digits) -> SyntheticSet:
    """10 random real training images per class of digits, as a class-major set."""
    images = digits.sample_per_class(10, make_generator(0)).flatten(0, 1)  # (100, 1, 8, 8)
    return SyntheticSet(images, class_major_labels(10, 10), "digits", digits.class_names,
                        digits.mean, digits.std, "random")


def _nets(k: int, **options):
    return [get_net("convnet", channels=1, num_classes=10, image_size=(8, 8), seed=s, **{**SMALL, **options})
            for s in range(k)]


def _max_param_diff(a, b) -> float:
    return max((p - q).abs().max().item() for m, n in zip(a, b) for p, q in zip(m.parameters(), n.parameters()))


@pytest.mark.parametrize("targets", ["hard", "soft"])
@pytest.mark.parametrize("augment", [None, "color_crop_cutout_flip_scale_rotate"])
def test_batched_training_matches_loop(real_set, targets, augment):
    """Same inits, batch orders, DSA draws -> the same final parameters (3 epochs, lr drop inside)."""
    x = real_set.images
    y = real_set.labels
    if targets == "soft":
        y = torch.softmax(torch.randn(100, 10, generator=make_generator(9)) * 3, dim=1)
    vec = _nets(3)
    seq = copy.deepcopy(vec)
    aug = (lambda g: (lambda xb: dsa_augment(xb, augment, g))) if augment else (lambda g: None)
    for k, net in enumerate(seq):
        g = make_generator(k)
        train_classifier(net, x, y, epochs=3, batch_size=25, generator=g, augment=aug(g))
    gens = [make_generator(k) for k in range(3)]
    train_classifiers_batched(vec, x, y, epochs=3, batch_size=25, generators=gens,
                                 augments=[aug(g) for g in gens] if augment else None)
    assert _max_param_diff(seq, vec) < 1e-4
    assert _max_param_diff(seq, _nets(3)) > 1e-3  # and training did move the weights
    x_test = real_set.images
    assert accuracies_of(vec, x_test, real_set.labels) == [
        accuracy_of(n, x_test, real_set.labels) for n in seq]


def test_evaluate_batched_equals_loop(digits, real_set):
    vec = evaluate_synthetic(real_set, digits, SHORT, device="cpu", batched=True, net_options=SMALL)
    seq = evaluate_synthetic(real_set, digits, SHORT, device="cpu", batched=False, net_options=SMALL)
    assert vec.extra["batched"] and not seq.extra["batched"]
    assert len(vec.accs) == len(seq.accs) == 2
    assert vec.mean > 0.15  # it learned something (chance 0.10), so the comparison means something
    for a, b in zip(vec.accs, seq.accs):
        assert abs(a - b) <= 3 / digits.x_test.shape[0]  # float drift of vmapped convs only
    again = evaluate_synthetic(real_set, digits, SHORT, device="cpu", batched=True, net_options=SMALL)
    assert again.accs == vec.accs  # reproducible from protocol.seed


def test_real_images_learn_well_above_chance(digits, real_set):
    protocol = EvalProtocol(models=2, epochs=30, batch_size=25)
    result = evaluate_synthetic(real_set, digits, protocol, device="cpu", net_options={"width": 32})
    assert result.mean > 0.45, result.accs  # chance is 0.10; observed ~0.7 on CPU


def test_dsa_protocol_trains_and_records_strategy(digits, real_set):
    protocol = replace(SHORT, augment="dsa")
    result = evaluate_synthetic(real_set, digits, protocol, device="cpu", net_options=SMALL)
    assert result.extra["dsa_strategy"] == "color_crop_cutout_scale_rotate"  # digits: no flip
    plain = evaluate_synthetic(real_set, digits, SHORT, device="cpu", net_options=SMALL)
    assert result.accs != plain.accs  # augmentation changed the training


def test_progress_reported_and_ends_at_total(digits, real_set):
    for batched in (True, False):
        calls: list[tuple[int, int]] = []
        evaluate_synthetic(real_set, digits, TINY, device="cpu", batched=batched,
                           progress=lambda d, t: calls.append((d, t)), net_options=SMALL)
        total = TINY.models * TINY.epochs
        assert calls[0] == (0, total) and calls[-1] == (total, total)
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
        assert len(calls) >= TINY.epochs


@pytest.mark.parametrize("batched", [True, False])
def test_stop_event_ends_early(digits, real_set, batched):
    stop = threading.Event()
    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if done >= 1:
            stop.set()

    protocol = EvalProtocol(models=3, epochs=50, batch_size=25)
    result = evaluate_synthetic(real_set, digits, protocol, device="cpu", batched=batched,
                                progress=progress, stop=stop, net_options=SMALL)
    assert result.extra.get("stopped") is True
    assert max(calls) < protocol.models * protocol.epochs
    assert 1 <= len(result.accs) <= protocol.models


def test_batchnorm_falls_back_to_the_loop_and_learns(digits, real_set):
    protocol = EvalProtocol(models=2, epochs=15, batch_size=10, norm="batchnorm")
    assert not can_batch(_nets(1, norm="batchnorm")[0], real_set.images[:2])
    assert can_batch(_nets(1)[0], real_set.images[:2])
    result = evaluate_synthetic(real_set, digits, protocol, device="cpu", batched=True, net_options=SMALL)
    assert result.extra["batched"] is False
    assert result.mean > 0.3, result.accs


@pytest.mark.parametrize("net", NETS.names())
def test_every_registered_net_evaluates(digits, real_set, net):
    """Every net trains under the protocol; nets without BatchNorm take the batched path."""
    probe = get_net(net, channels=1, num_classes=10, image_size=(8, 8))  # every net runs on 8x8 digits
    small = replace(digits, x_test=digits.x_test[:50], y_test=digits.y_test[:50])  # keep big nets fast
    protocol = EvalProtocol(net=net, models=2, epochs=1, batch_size=50)
    result = evaluate_synthetic(real_set.prefix(2), small, protocol, device="cpu", batched=True)
    assert len(result.accs) == 2 and all(0.0 <= a <= 1.0 for a in result.accs)
    has_bn = has_batchnorm(probe)
    assert result.extra["batched"] is (not has_bn)


def test_cross_arch_keeps_each_nets_norm(digits, real_set):
    protocol = EvalProtocol(models=1, epochs=1, batch_size=50)
    results = evaluate_cross_arch(real_set, digits, protocol, ["convnet", "convnet_bn"], device="cpu",
                                  net_options={"convnet": SMALL, "convnet_bn": SMALL})
    assert set(results) == {"convnet", "convnet_bn"}
    assert results["convnet"].protocol.norm == "instancenorm"
    assert results["convnet_bn"].protocol.norm == "batchnorm"
    assert results["convnet_bn"].extra["batched"] is False


def test_default_path_is_the_loop_on_cpu(digits, real_set):
    """batched=None follows the device rule: the loop on CPU."""
    result = evaluate_synthetic(real_set, digits, TINY, device="cpu", net_options=SMALL)
    assert result.extra["batched"] is False


def test_result_to_dict(digits, real_set):
    result = evaluate_synthetic(real_set, digits, TINY, device="cpu", net_options=SMALL)
    d = result.to_dict()
    assert {"mean", "std", "accs", "protocol"} <= set(d)
    assert d["accs"] == list(result.accs) and d["protocol"]["models"] == 2
    assert d["mean"] == pytest.approx(sum(result.accs) / 2)
    assert d["ipc"] == 10 and d["dataset"] == "digits" and d["method"] == "random"


def test_on_batch_sees_every_index_each_epoch(real_set):
    seen: list[torch.Tensor] = []
    net = _nets(1)[0]
    train_classifier(net, real_set.images, real_set.labels, epochs=2, batch_size=30,
                     generator=make_generator(0), on_batch=lambda idx, logits: seen.append(idx))
    assert sorted(torch.cat(seen[:4]).tolist()) == list(range(100))  # 4 batches = 1 epoch
    assert len(seen) == 8


def test_model_generators_differ_per_model_and_seed():
    draws = {torch.randint(0, 2**30, (1,), generator=model_generator(s, i)).item()
             for s in range(3) for i in range(3)}
    assert len(draws) == 9


def test_mismatched_set_is_a_one_line_error(digits, real_set):
    wrong = replace(real_set, images=torch.zeros(100, 3, 8, 8))
    with pytest.raises(ValueError, match="do not fit"):
        evaluate_synthetic(wrong, digits, TINY, device="cpu")
