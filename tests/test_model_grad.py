"""Closed-form loss gradients (htdyn.train.model.loss_and_grad) against torch autograd and finite differences.

The loss is torch's MSELoss (mean, no 1/2) of f(x) = a . phi(W x / sqrt(d)) / sqrt(h), batched on a
leading run axis, with the data shared by the runs (B_x = 1) or per run (B_x = B).
"""

from __future__ import annotations

import math

import array_api_compat.numpy as xp
import numpy as np
import pytest

from htdyn.activations import Activation, get_activation
from htdyn.train.model import loss_and_grad, predict

B, N, D, H = 2, 64, 16, 24
BUILTIN = ["tanh", "relu", "softplus", "gelu", "linear"]


def _problem(shared: bool, seed: int = 0):
    """W (B,h,d), a (B,h), Xs = X / sqrt(d) (B_x,n,d), y (B_x,n) in float64."""
    r = np.random.default_rng(seed)
    bx = 1 if shared else B
    W = r.standard_normal((B, H, D))
    a = r.standard_normal((B, H))
    X = r.standard_normal((bx, N, D))
    y = np.logaddexp(0.0, X @ (np.ones(D) / math.sqrt(D))) + 0.3 * r.standard_normal((bx, N))
    return W, a, X / math.sqrt(D), y


def _torch_phi(torch, name):
    F = torch.nn.functional
    return {
        "tanh": torch.tanh,
        "relu": torch.relu,
        # log(1 + e^x) without torch softplus' threshold=20 linearisation (exact for every x)
        "softplus": lambda x: torch.logaddexp(x, torch.zeros_like(x)),
        "gelu": lambda x: F.gelu(x, approximate="tanh"),
        "linear": lambda x: x,
    }[name]


def _autograd(torch, phi, W, a, Xs, y):
    """Loss and gradients from torch autograd, one run at a time (an independent oracle)."""
    losses, gWs, gas = [], [], []
    for b in range(W.shape[0]):
        bx = b if Xs.shape[0] > 1 else 0
        Wt = torch.tensor(W[b], dtype=torch.float64, requires_grad=True)
        at = torch.tensor(a[b], dtype=torch.float64, requires_grad=True)
        X = torch.tensor(Xs[bx], dtype=torch.float64)
        f = phi(X @ Wt.T) @ at / math.sqrt(W.shape[1])
        loss = torch.nn.functional.mse_loss(f, torch.tensor(y[bx], dtype=torch.float64))
        loss.backward()
        losses.append(loss.item())
        gWs.append(Wt.grad.numpy())
        gas.append(at.grad.numpy())
    return np.array(losses), np.stack(gWs), np.stack(gas)


@pytest.mark.parametrize("shared", [True, False], ids=["shared-data", "per-run-data"])
@pytest.mark.parametrize("name", BUILTIN)
def test_gradient_matches_autograd(torch, name: str, shared: bool) -> None:
    W, a, Xs, y = _problem(shared)
    act = get_activation(name)
    loss, gW, ga = loss_and_grad(xp, W, a, Xs, y, act, grad_a=True)
    l_ref, gW_ref, ga_ref = _autograd(torch, _torch_phi(torch, name), W, a, Xs, y)
    assert loss.shape == (B,) and gW.shape == (B, H, D) and ga.shape == (B, H)
    # same float64 sums (n = 64 terms) in a different order: error ~ n eps |terms| < 1e-13 relative;
    # tolerances are relative to the largest entry so tiny entries (cancellation) do not matter
    np.testing.assert_allclose(loss, l_ref, rtol=1e-13)
    for b in range(B):
        np.testing.assert_allclose(gW[b], gW_ref[b], rtol=1e-12, atol=1e-12 * np.abs(gW_ref[b]).max())
        np.testing.assert_allclose(ga[b], ga_ref[b], rtol=1e-12, atol=1e-12 * np.abs(ga_ref[b]).max())
    # without grad_a the W gradient is the same and no a-gradient is returned
    loss2, gW2, ga2 = loss_and_grad(xp, W, a, Xs, y, act)
    assert ga2 is None
    np.testing.assert_array_equal(gW2, gW)
    np.testing.assert_array_equal(loss2, loss)


def test_loss_is_mse_without_half() -> None:
    """loss = mean((f - y)^2) with f = predict(); no 1/2 factor (torch MSELoss)."""
    W, a, Xs, y = _problem(shared=False)
    act = get_activation("tanh")
    loss, _, _ = loss_and_grad(xp, W, a, Xs, y, act)
    f_ref = np.einsum("bnh,bh->bn", np.tanh(np.einsum("bnd,bhd->bnh", Xs, W)), a) / math.sqrt(H)
    np.testing.assert_allclose(predict(xp, W, a, Xs, act), f_ref, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(loss, np.mean((f_ref - y) ** 2, axis=1), rtol=1e-13)


def test_runs_are_independent_in_the_batch() -> None:
    """Run b's loss and gradient depend only on W[b], a[b] and its own data."""
    W, a, Xs, y = _problem(shared=False)
    act = get_activation("tanh")
    loss, gW, ga = loss_and_grad(xp, W, a, Xs, y, act, grad_a=True)
    for b in range(B):
        lb, gWb, gab = loss_and_grad(xp, W[b:b + 1], a[b:b + 1], Xs[b:b + 1], y[b:b + 1], act, grad_a=True)
        # identical operations on the same slice: equal to a few ulps (BLAS may block differently)
        np.testing.assert_allclose(lb[0], loss[b], rtol=1e-14)
        np.testing.assert_allclose(gWb[0], gW[b], rtol=0, atol=1e-14 * np.abs(gW[b]).max())
        np.testing.assert_allclose(gab[0], ga[b], rtol=0, atol=1e-14 * np.abs(ga[b]).max())


def _fd_entries(rng: np.random.Generator, shape: tuple, k: int) -> list[tuple]:
    return [tuple(int(rng.integers(s)) for s in shape) for _ in range(k)]


# Central differences in float64 with step delta = 1e-4 (W entries and pre-activations are O(1)):
#   truncation  delta^2 |d^3 L| / 6  -- measured < 1e-11 here (6e-10 at delta = 1e-3, scaling as delta^2);
#   rounding    ~ n eps |L| / delta  = 64 * 1.1e-16 * 1.5 / 1e-4 ~ 1e-10 (worst case, all n terms aligned).
# Gradient entries are ~1e-2, so atol = 1e-9 still checks ~7 significant digits.
FD_STEP = 1e-4
FD_ATOL = 1e-9


@pytest.mark.parametrize("shared", [True, False], ids=["shared-data", "per-run-data"])
@pytest.mark.parametrize("name", BUILTIN)
def test_gradient_matches_finite_differences(name: str, shared: bool) -> None:
    W, a, Xs, y = _problem(shared, seed=1)
    act = get_activation(name)
    _, gW, ga = loss_and_grad(xp, W, a, Xs, y, act, grad_a=True)
    r = np.random.default_rng(2)
    # pre-activations P[b, k, i]; moving W[b, i, j] by delta moves P[b, :, i] by delta * Xs[., :, j]
    P = np.einsum("bnd,bhd->bnh", np.broadcast_to(Xs, (B, N, D)), W)
    kink_free_rows = np.abs(P).min(axis=1) > 10 * FD_STEP * np.abs(Xs).max()  # (B, h)

    def L(Wx, ax):
        return loss_and_grad(xp, Wx, ax, Xs, y, act)[0]

    entries = _fd_entries(r, W.shape, 40)
    if name == "relu":  # keep away from the kink: no pre-activation may change sign under the move
        entries = [e for e in entries if kink_free_rows[e[0], e[1]]]
    assert len(entries) >= 12
    for idx in entries[:12]:
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += FD_STEP
        Wm[idx] -= FD_STEP
        fd = (L(Wp, a)[idx[0]] - L(Wm, a)[idx[0]]) / (2 * FD_STEP)
        assert abs(fd - gW[idx]) < FD_ATOL, (idx, fd, gW[idx])
    # moving a does not move any pre-activation: no kink issue
    for idx in _fd_entries(r, a.shape, 8):
        ap, am = a.copy(), a.copy()
        ap[idx] += FD_STEP
        am[idx] -= FD_STEP
        fd = (L(W, ap)[idx[0]] - L(W, am)[idx[0]]) / (2 * FD_STEP)
        assert abs(fd - ga[idx]) < FD_ATOL, (idx, fd, ga[idx])


def _user_phi(x):
    """A smooth user activation (not a built-in): tanh(x) + x^3 / 10 + sin(x) / 2."""
    return np.tanh(x) + 0.1 * x**3 + 0.5 * np.sin(x)


def _torch_user_phi(torch):
    return lambda x: torch.tanh(x) + 0.1 * x**3 + 0.5 * torch.sin(x)


@pytest.mark.parametrize("shared", [True, False], ids=["shared-data", "per-run-data"])
def test_user_callable_activation(torch, shared: bool) -> None:
    """A plain callable gets a central-difference phi' inside htdyn.

    Its step is s = eps^(1/3) max(1, |x|) ~ 6e-6: truncation s^2 |phi'''| / 6 ~ 1e-11 |phi'''| and
    rounding eps |phi| / s ~ 2e-11 per entry, i.e. ~1e-10 relative on phi' and on the gradient (a
    weighted sum of phi' values).  1e-8 leaves a 100x margin and is still far below any real error.
    """
    W, a, Xs, y = _problem(shared, seed=3)
    act = get_activation(_user_phi)
    assert isinstance(act, Activation) and act.df is None
    loss, gW, ga = loss_and_grad(xp, W, a, Xs, y, act, grad_a=True)
    l_ref, gW_ref, ga_ref = _autograd(torch, _torch_user_phi(torch), W, a, Xs, y)
    np.testing.assert_allclose(loss, l_ref, rtol=1e-13)  # phi itself is exact: only summation order differs
    for b in range(B):
        np.testing.assert_allclose(gW[b], gW_ref[b], rtol=0, atol=1e-8 * np.abs(gW_ref[b]).max())
        np.testing.assert_allclose(ga[b], ga_ref[b], rtol=1e-12, atol=1e-12 * np.abs(ga_ref[b]).max())
    # and the error is really there (derivative by differences, not exact), but tiny
    assert np.abs(gW - gW_ref).max() < 1e-8 * np.abs(gW_ref).max()


def test_activation_derivatives_pointwise() -> None:
    """phi' of every built-in against a float64 central difference at points away from 0 (relu kink)."""
    x = np.linspace(-6, 6, 241)
    x = x[np.abs(x) > 1e-3]
    s = 1e-5  # truncation s^2 |phi'''| / 6 < 1e-10, rounding eps |phi| / s < 1e-10 for |x| <= 6
    for name in BUILTIN:
        act = get_activation(name)
        fx = act(xp, x)
        fd = (act(xp, x + s) - act(xp, x - s)) / (2 * s)
        np.testing.assert_allclose(act.derivative(xp, x, fx), fd, rtol=0, atol=1e-8, err_msg=name)
    # softplus is log(1 + e^x), stable at large |x|
    sp = get_activation("softplus")
    big = np.array([-800.0, -50.0, 0.0, 50.0, 800.0])
    np.testing.assert_allclose(sp(xp, big), np.logaddexp(0.0, big), rtol=1e-15)
    sigmoid = np.exp(-np.logaddexp(0.0, -big))
    # (1 + tanh(x/2)) / 2 is accurate to eps absolutely (it flushes e^-50 ~ 2e-22 to 0), not relatively
    np.testing.assert_allclose(sp.derivative(xp, big, sp(xp, big)), sigmoid, rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("backend_name", ["numpy", "torch"])
@pytest.mark.parametrize("shared", [True, False], ids=["shared-data", "per-run-data"])
@pytest.mark.parametrize("name", ["tanh", "relu"])
def test_workspace_gradient_matches_autograd(torch, backend_name: str, name: str, shared: bool) -> None:
    """The training loop's buffered path (out= products, in-place derivative) against autograd.

    Called twice with one workspace: the second call must not see the first one's buffers.
    """
    from htdyn.train.backend import Workspace, get_backend, to_numpy

    be = get_backend("cpu", "float64", backend_name)
    ws = Workspace(be)
    act = get_activation(name)
    for seed in (0, 1):
        W, a, Xs, y = _problem(shared, seed)
        loss, gW, ga = loss_and_grad(be.xp, *(be.asarray(v) for v in (W, a, Xs, y)), act, grad_a=True, ws=ws)
        l_ref, gW_ref, ga_ref = _autograd(torch, _torch_phi(torch, name), W, a, Xs, y)
        np.testing.assert_allclose(to_numpy(loss), l_ref, rtol=1e-13)
        for b in range(B):
            np.testing.assert_allclose(to_numpy(gW)[b], gW_ref[b], rtol=1e-12, atol=1e-12 * np.abs(gW_ref[b]).max())
            np.testing.assert_allclose(to_numpy(ga)[b], ga_ref[b], rtol=1e-12, atol=1e-12 * np.abs(ga_ref[b]).max())
