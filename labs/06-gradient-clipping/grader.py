"""Grader for lab 6: exploding gradients, clipping by norm and by value, where clipping goes.

Everything is measured here by running the student's functions on fixed seeds; the thresholds
carry the margins measured with the reference solution and each typical mistake (PyTorch
2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import SGD, over, setup_torch

STUDENT_FILE = "clipping.py"
HIDDEN, T, BATCH, LR, STEPS = 32, 30, 64, 0.01, 100
# Relative MSE (MSE / mean y^2) on 512 held-out sequences after 100 steps, seeds 0-7:
# norm clipping at 1 0.24-0.32; value clipping at 0.1 0.35-0.43; predicting 0 gives 1.0;
# no clipping, or clipping before backward / after step: non-finite at step 2-8.
# Margin 1.9x above the solution, 1.7x below predicting 0. (T = 50 and 150 steps, as in the
# course notes B.9, gave the same picture at twice the cost.)
REL_MSE_MAX = 0.6
_utils = torch.nn.utils


def _params_with_grads(grads: list[list[float]]) -> list[nn.Parameter]:
    params = []
    for g in grads:
        p = nn.Parameter(torch.zeros(len(g)))
        p.grad = torch.tensor(g)
        params.append(p)
    return params


def _flat(params: list[nn.Parameter]) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in params])


@contextlib.contextmanager
def _refuse_torch_clipping(mod: ModuleType) -> Iterator[None]:
    """torch.nn.utils' clipping functions refuse to run while the hand-written ones are tested."""
    names = ("clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "get_total_norm", "clip_grads_with_norm_")
    saved = {n: getattr(_utils, n) for n in names if hasattr(_utils, n)}

    def refuse(name: str) -> Callable[..., Any]:
        def _refused(*args: Any, **kwargs: Any) -> Any:
            raise CheckFailed(f"write the clipping by hand: your code called torch.nn.utils.{name}; use it in "
                              "train_step, and compare with it in `python clipping.py`.")
        return _refused

    aliased = {k: v for k, v in vars(mod).items() if any(v is f for f in saved.values())}
    try:
        for n in saved:
            setattr(_utils, n, refuse(n))
        for k, v in aliased.items():
            setattr(mod, k, refuse(getattr(v, "__name__", k)))
        yield
    finally:
        for n, f in saved.items():
            setattr(_utils, n, f)
        for k, v in aliased.items():
            setattr(mod, k, v)


@check(points=2)
def clip_by_global_norm_by_hand(lab: LabContext) -> str:
    """clip_by_global_norm_ scales all gradients together, keeps the direction, returns the old norm"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    cases = [([[3.0, 0.0], [4.0]], 1.0), ([[3.0, 0.0], [4.0]], 10.0)]
    for seed in lab.seeded():
        cases.append(([torch.randn(20).mul(5).tolist(), torch.randn(7).tolist(), torch.randn(3).mul(50).tolist()], 2.0))
    for grads, max_norm in cases:
        params, ref = _params_with_grads(grads), _params_with_grads(grads)
        before = _flat(params).clone()
        with _refuse_torch_clipping(mod):
            got = lab.call(mod.clip_by_global_norm_, params, max_norm, what=f"clip_by_global_norm_(params, {max_norm})")
        want = _utils.clip_grad_norm_(ref, max_norm).item()
        after = _flat(params)
        norm_after = after.norm().item()
        cosine = F.cosine_similarity(after, before, dim=0).item()
        label = f"on gradients of global norm {want:.4g} with max_norm {max_norm}"
        if max(p.grad.norm().item() for p in params) <= max_norm * (1 + 1e-5) < norm_after:
            raise CheckFailed(f"{label}: each parameter's gradient is within max_norm but together they are not "
                              f"(global norm {norm_after:.4g}): you clipped each parameter separately, which is "
                              "Keras' clipnorm. clip_grad_norm_ uses the global norm over all gradients.")
        if over(norm_after, max_norm * (1 + 1e-5)):  # the solution: 0.9999998 for max_norm 1
            raise CheckFailed(f"{label}: the clipped global norm is {norm_after:.6g}, above max_norm.")
        if want < max_norm and over((after - before).abs().max().item(), 1e-6):
            raise CheckFailed(f"{label}: the gradients were already within max_norm and must be left alone; "
                              f"yours now have norm {norm_after:.4g} (clipping only ever scales down).")
        if not cosine >= 0.9999:
            raise CheckFailed(f"{label}: the direction changed (cosine {cosine:.4f}); norm clipping multiplies "
                              "every gradient by the same factor.")
        if not isinstance(got, (int, float, torch.Tensor)) or over(abs(float(got) - want), 1e-4 * max(1.0, want)):
            why = (" That is the norm after clipping; return the norm before clipping, like clip_grad_norm_."
                   if isinstance(got, (int, float, torch.Tensor)) and abs(float(got) - norm_after) < 1e-4 else "")
            raise CheckFailed(f"{label}: clip_by_global_norm_ returned {got!r}; clip_grad_norm_ returns {want:.6g}.{why}")
        if over((after - _flat(ref)).abs().max().item(), 1e-5):
            raise CheckFailed(f"{label}: the clipped gradients differ from clip_grad_norm_'s.")
    return "global norm (3, 4, 0) -> 5.0 returned, clipped to 1 with the direction kept (cosine 1.0000)"


@check(points=1)
def clip_by_value_by_hand(lab: LabContext) -> str:
    """clip_by_value_ clamps every entry, like clip_grad_value_ (and turns the gradient)"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    cosines = []
    for seed in lab.seeded():
        grads = [[3.0, 4.0, 0.0], torch.randn(30).mul(2).tolist()]
        params, ref = _params_with_grads(grads), _params_with_grads(grads)
        before = _flat(params).clone()
        with _refuse_torch_clipping(mod):
            lab.call(mod.clip_by_value_, params, 1.0, what="clip_by_value_(params, 1.0)")
        _utils.clip_grad_value_(ref, 1.0)
        if over((_flat(params) - _flat(ref)).abs().max().item(), 1e-6):
            raise CheckFailed(f"seed {seed}: clip_by_value_(params, 1.0) differs from clip_grad_value_: every entry "
                              "must be clamped to [-1, 1], in place.")
        cosines.append(F.cosine_similarity(_flat(params), before, dim=0).item())
    return f"matches clip_grad_value_; the direction turns (cosine with the original {min(cosines):.3f})"


@check(points=2)
def keras_semantics(lab: LabContext) -> str:
    """keras_clip_ does what Keras' clipnorm, clipvalue and global_clipnorm do"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    grads = [[3.0, 4.0], [0.0, 12.0]]  # per-variable norms 5 and 12; global norm 13
    cases = {
        "clipnorm": ([[0.6, 0.8], [0.0, 1.0]], "clips each variable's gradient separately to norm 1 "
                     "(per-variable norms 5 and 12 -> 1 and 1), not all of them together"),
        "global_clipnorm": ([[3 / 13, 4 / 13], [0.0, 12 / 13]], "clips all gradients together to a global norm "
                            "of 1 (13 -> 1), exactly like torch.nn.utils.clip_grad_norm_"),
        "clipvalue": ([[1.0, 1.0], [0.0, 1.0]], "clamps every entry to [-1, 1], like clip_grad_value_"),
    }
    for name, (want, meaning) in cases.items():
        params = _params_with_grads(grads)
        lab.call(mod.keras_clip_, params, **{name: 1.0}, what=f"keras_clip_(params, {name}=1.0)")
        got = [[round(v, 4) for v in p.grad.tolist()] for p in params]
        if over((_flat(params) - torch.tensor([v for g in want for v in g])).abs().max().item(), 1e-4):
            raise CheckFailed(f"keras_clip_(params, {name}=1.0) on gradients (3, 4) and (0, 12) gave {got}; Keras' "
                              f"{name} {meaning}.")
    try:
        mod.keras_clip_(_params_with_grads(grads), clipnorm=1.0, clipvalue=1.0)
    except ValueError:
        pass
    except Exception as exc:  # noqa: BLE001 - any other exception is the student's verdict
        raise CheckFailed(f"keras_clip_ with two options raised {type(exc).__name__}; Keras raises ValueError.") from None
    else:
        raise CheckFailed("keras_clip_(params, clipnorm=1.0, clipvalue=1.0) must raise ValueError, as Keras does: "
                          "only one of clipnorm, clipvalue and global_clipnorm may be set.")
    return "clipnorm = per variable, global_clipnorm = clip_grad_norm_, clipvalue = clip_grad_value_"


class _IRNN(nn.Module):
    """The same model as the starter's IRNN (identity recurrent weights, ReLU)."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(1, HIDDEN, nonlinearity="relu", batch_first=True)
        self.out = nn.Linear(HIDDEN, 1)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(torch.eye(HIDDEN))
            self.rnn.bias_hh_l0.zero_()
            self.rnn.bias_ih_l0.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0])


@contextlib.contextmanager
def _record(mod: ModuleType, model: nn.Module, opt: SGD, events: list[str],
            pre_clip: list[float]) -> Iterator[None]:
    """Record, in order, when the backward pass reaches the weights, clipping happens, and step runs."""
    depth = [0]

    def recorder(kind: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                events.append(kind)
                if kind == "clip-norm":  # the global norm the clipping is about to cut
                    pre_clip.append(_global_norm(model))
            depth[0] += 1
            try:
                return func(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapped

    originals = {"clip_grad_norm_": _utils.clip_grad_norm_, "clip_grad_value_": _utils.clip_grad_value_}
    kinds = {"clip_grad_norm_": "clip-norm", "clip_grad_value_": "clip-value"}
    student = {"clip_by_global_norm_": "clip-norm", "clip_by_value_": "clip-value"}
    saved_mod = dict(vars(mod))
    hook = model.rnn.weight_hh_l0.register_hook(lambda g: events.append("backward"))
    step = opt.step
    try:
        for n, f in originals.items():
            setattr(_utils, n, recorder(kinds[n], f))
        for k, v in saved_mod.items():
            for n, f in originals.items():
                if v is f:
                    setattr(mod, k, recorder(kinds[n], f))
            if k in student and callable(v):
                setattr(mod, k, recorder(student[k], v))
        opt.step = recorder("step", step)  # type: ignore[method-assign]
        yield
    finally:
        hook.remove()
        opt.step = step  # type: ignore[method-assign]
        for n, f in originals.items():
            setattr(_utils, n, f)
        for k in list(student) + [k for k, v in saved_mod.items() if any(v is f for f in originals.values())]:
            if k in saved_mod:
                setattr(mod, k, saved_mod[k])


def _global_norm(model: nn.Module) -> float:
    return math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters() if p.grad is not None))


def _diagnose(events: list[str]) -> str | None:
    """Name the mistake in one step's event order, or None when it is backward, clip-norm, step."""
    if "clip-norm" not in events and "clip-value" in events:
        return ("value clipping where norm clipping is asked: clip_grad_value_ clamps entries one by one and "
                "turns the gradient; use clip_grad_norm_(model.parameters(), max_norm).")
    if "clip-norm" not in events:
        return "no clipping: call torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)."
    if "backward" not in events or "step" not in events:
        return f"one training step must run backward and optimizer.step(); it ran: {', '.join(events)}."
    clip, back, step = events.index("clip-norm"), events.index("backward"), events.index("step")
    if clip < back:
        return ("clipping before backward: there are no gradients yet (or last step's, zeroed), so nothing "
                "is clipped and backward then writes the full, exploding gradient. Clip after loss.backward().")
    if clip > step:
        return ("clipping after step: optimizer.step() has already used the unclipped gradient. Clip between "
                "loss.backward() and optimizer.step().")
    return None


@check(points=3)
def train_step_clips_and_trains(lab: LabContext) -> str:
    """train_step clips after backward and before step, and the exploding IRNN trains"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    curves = []
    for seed in lab.seeded():
        model = _IRNN()
        opt = SGD(model.parameters(), lr=LR)
        norms: list[float] = []
        pre_clip: list[float] = []
        for step in range(STEPS):
            x = torch.randn(BATCH, T, 1)
            events: list[str] = []
            with _record(mod, model, opt, events, pre_clip):
                lab.call(mod.train_step, model, opt, x, x.cumsum(dim=1), 1.0,
                         what="train_step(model, optimizer, x, y, max_norm=1.0)")
            if step == 0 and (why := _diagnose(events)):
                raise CheckFailed(f"seed {seed}: {why}")
            norms.append(_global_norm(model))
            if not all(torch.isfinite(p).all() for p in model.parameters()):
                raise CheckFailed(f"seed {seed}: the weights became non-finite at step {step}: the gradient "
                                  "exploded and was not clipped before the update.")
        g = torch.Generator().manual_seed(1234 + seed)
        xt = torch.randn(512, T, 1, generator=g)
        with torch.no_grad():
            rel = (F.mse_loss(model(xt), xt.cumsum(dim=1)) / xt.cumsum(dim=1).pow(2).mean()).item()
        curves.append((pre_clip, norms))
        if not rel <= REL_MSE_MAX:
            raise CheckFailed(f"seed {seed}: after {STEPS} clipped steps the relative MSE is {rel:.3f}; it must "
                              f"reach {REL_MSE_MAX} (predicting 0 gives 1.0).")
    lab.figure("gradient-norm-after-clipping.png", lambda fig: _draw(fig, curves))
    return f"backward -> clip -> step; finite for {STEPS} steps; relative MSE {rel:.3f} (seed {seed})"


def _draw(fig: Any, curves: list[tuple[list[float], list[float]]]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    marks = [("o", 7), ("s", 5), ("^", 3)]  # clipped norms sit on max_norm: markers keep them visible
    for i, (pre, post) in enumerate(curves):
        line, = ax.semilogy(pre, lw=1, label=f"seed {i}: before clipping")
        marker, size = marks[i % len(marks)]
        ax.semilogy(post, lw=1, ls="--", color=line.get_color(), marker=marker, ms=size, mfc="none",
                    markevery=max(1, len(post) // 15), zorder=3, label=f"seed {i}: after")
    ax.axhline(1.0, color="0.6", ls=":", lw=1, zorder=1, label="max_norm = 1")
    ax.set_xlabel("step")
    ax.set_ylabel("global gradient norm (log scale)")
    ax.set_title(f"IRNN, T = {T}: what clip_grad_norm_ cut at each step")
    ax.legend(fontsize=7, ncol=2)
