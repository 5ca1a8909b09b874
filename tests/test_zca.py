"""ZCA whitening: round trip, whitening property, the test set uses the training fit."""
from __future__ import annotations

import torch

from dclab.data.zca import ZCA, whiten_bundle


def test_round_trip_is_identity(digits):
    zca = ZCA.fit(digits.x_train)
    x = digits.x_test[:50]
    white = zca.whiten(x)
    assert white.shape == x.shape and not torch.allclose(white, x)
    torch.testing.assert_close(zca.unwhiten(white), x, atol=1e-4, rtol=1e-4)


def test_whitened_training_data_is_decorrelated(digits):
    zca = ZCA.fit(digits.x_train, eps=1e-3)
    flat = zca.whiten(digits.x_train).reshape(digits.x_train.shape[0], -1).double()
    eig = torch.linalg.eigvalsh(torch.cov(flat.T))  # s / (s + eps) per direction: ≤ 1, ≈ 1 where s >> eps
    assert eig.max() < 1.0 + 1e-3 and (eig > 0.9).sum() >= 40
    raw = torch.linalg.eigvalsh(torch.cov(digits.x_train.reshape(digits.x_train.shape[0], -1).double().T))
    assert raw.max() > 3.0  # before: dominant, correlated directions


def test_bundle_whitens_test_with_the_training_fit(digits):
    white, zca = whiten_bundle(digits)
    fit = ZCA.fit(digits.x_train)
    torch.testing.assert_close(white.x_test, fit.whiten(digits.x_test))
    torch.testing.assert_close(white.x_train, fit.whiten(digits.x_train))
    own_test_fit = ZCA.fit(digits.x_test).whiten(digits.x_test)
    assert not torch.allclose(white.x_test, own_test_fit, atol=1e-3)  # not refitted on test
    assert torch.equal(white.y_test, digits.y_test) and white.name == digits.name
    torch.testing.assert_close(zca.unwhiten(white.x_test), digits.x_test, atol=1e-4, rtol=1e-4)
