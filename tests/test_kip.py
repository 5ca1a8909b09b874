"""KIP: the closed-form kernels are valid and correct, KRR is plain kernel regression, KIP learns."""
from __future__ import annotations

import pytest
import torch
from sklearn.kernel_ridge import KernelRidge

from dclab.methods import get_method
from dclab.methods._kernels import KERNELS, fc_relu_kernel, krr_predict
from dclab.methods.kip import KIPConfig, krr_accuracy


def make(digits, ipc=2, seed=0, **overrides):
    return get_method("kip")(digits, ipc, KIPConfig.build("cpu", overrides), seed=seed, device="cpu")


@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("depth", [1, 3])
def test_kernel_is_symmetric_psd_and_consistent(digits, kind, depth):
    x = digits.x_train[:80].double()
    k = fc_relu_kernel(x, depth=depth, kind=kind)
    assert torch.equal(k, k.T)
    eig = torch.linalg.eigvalsh(k)
    assert eig.min() >= -1e-6 * eig.max()
    # the cross-kernel path gives the same numbers as the Gram path
    cross = fc_relu_kernel(x[:30], x, depth=depth, kind=kind)
    torch.testing.assert_close(cross, k[:30], rtol=1e-6, atol=1e-8)


def test_nngp_matches_monte_carlo_relu_expectation():
    """One ReLU layer: K¹ = σ_w² E[relu(u) relu(v)] + σ_b² with (u, v) ~ N(0, K⁰)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 12, generator=gen, dtype=torch.float64)
    w_var, b_var = 2.0, 0.1
    k0 = w_var * x @ x.T / 12 + b_var  # (2, 2)
    z = torch.randn(400_000, 2, generator=gen, dtype=torch.float64) @ torch.linalg.cholesky(k0).T
    relu = z.clamp_min(0)
    mc = w_var * (relu[:, 0] * relu[:, 1]).mean() + b_var
    exact = fc_relu_kernel(x[:1], x[1:], depth=1, kind="nngp", w_var=w_var, b_var=b_var)[0, 0]
    assert exact.item() == pytest.approx(mc.item(), rel=1e-2)
    # NTK of a 1-hidden-layer net = K¹ + K̇¹ K⁰ with K̇¹ = σ_w² P(u > 0, v > 0)
    kdot = w_var * ((z[:, 0] > 0) & (z[:, 1] > 0)).double().mean()
    ntk = fc_relu_kernel(x[:1], x[1:], depth=1, kind="ntk", w_var=w_var, b_var=b_var)[0, 0]
    assert ntk.item() == pytest.approx((mc + kdot * k0[0, 1]).item(), rel=1e-2)


@pytest.mark.parametrize("kind", KERNELS)
def test_krr_with_training_set_support_is_plain_kernel_regression(digits, kind):
    x_s, y_s = digits.x_train[:300].double(), torch.nn.functional.one_hot(digits.y_train[:300], 10).double()
    x_t = digits.x_test[:50].double()
    reg = 1e-8
    k_ss = fc_relu_kernel(x_s, depth=2, kind=kind)
    k_ts = fc_relu_kernel(x_t, x_s, depth=2, kind=kind)
    pred = krr_predict(k_ts, k_ss, y_s, reg)
    lam = reg * torch.trace(k_ss).item() / 300
    sk = KernelRidge(alpha=lam, kernel="precomputed").fit(k_ss.numpy(), y_s.numpy()).predict(k_ts.numpy())
    torch.testing.assert_close(pred, torch.from_numpy(sk), rtol=1e-5, atol=1e-6)
    explicit = k_ts @ torch.linalg.inv(k_ss + lam * torch.eye(300, dtype=torch.float64)) @ y_s
    torch.testing.assert_close(pred, explicit, rtol=1e-4, atol=1e-5)
    # on its own support points, near-interpolation: predictions reproduce the labels
    fit = krr_predict(k_ss, k_ss, y_s, reg)
    assert (fit.argmax(1) == digits.y_train[:300]).all()


@pytest.mark.parametrize("kind", KERNELS)
def test_kip_loss_falls_and_krr_accuracy_rises(digits, kind):
    m = make(digits, kernel=kind, batch_real=30)
    before = krr_accuracy(m.synthetic_set(), digits, device="cpu")
    losses = [m.step().loss for _ in range(30)]
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5, losses
    syn = m.synthetic_set()
    after = krr_accuracy(syn, digits, device="cpu")
    assert after > before + 0.05, (before, after)
    # learned labels moved away from one-hot and are reported with rows summing to ~1
    assert syn.soft_labels is not None and syn.soft_labels.shape == (20, 10)
    onehot = torch.nn.functional.one_hot(syn.labels, 10).float()
    assert not torch.allclose(syn.soft_labels, onehot, atol=1e-3)
    # batching the test set changes nothing
    assert krr_accuracy(syn, digits, batch_size=37, device="cpu") == after


def test_fixed_labels_stay_one_hot(digits):
    m = make(digits, learn_labels=False)
    for _ in range(3):
        m.step()
    soft = m.synthetic_set().soft_labels
    torch.testing.assert_close(soft, torch.nn.functional.one_hot(m.labels, 10).float(), rtol=0, atol=1e-6)


def test_state_dict_resume_equals_uninterrupted(digits):
    full = make(digits, seed=5)
    for _ in range(4):
        full.step()
    part = make(digits, seed=5)
    for _ in range(2):
        part.step()
    resumed = make(digits, seed=5)
    resumed.load_state_dict(part.state_dict())
    for _ in range(2):
        resumed.step()
    assert torch.equal(full.images.detach(), resumed.images.detach())
    assert torch.equal(full.support_labels.detach(), resumed.support_labels.detach())
