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
from coursekit.grading.torchkit import SGD, StepRecord, as_float, over, record_step, run_clipped_step, setup_torch

STUDENT_FILE = "clipping.py"
HIDDEN, T, BATCH, LR, STEPS = 32, 30, 64, 0.01, 100
# Relative MSE (MSE / mean y^2) on 512 held-out sequences after 100 steps, seeds 0-7:
# norm clipping at 1 0.24-0.32; value clipping at 0.1 0.35-0.43; predicting 0 gives 1.0;
# no clipping, or clipping before backward / after step: non-finite at step 2-8.
# Margin 1.9x above the solution, 1.7x below predicting 0. (T = 50 and 150 steps, as in the
# course notes B.9, gave the same picture at twice the cost.)
REL_MSE_MAX = 0.6
_utils = torch.nn.utils


def _params_with_grads(grads: list[list[float] | None]) -> list[nn.Parameter]:
    """One parameter per entry, its .grad set to it; None: a parameter without a gradient."""
    params = []
    for g in grads:
        p = nn.Parameter(torch.zeros(3 if g is None else len(g)))
        p.grad = None if g is None else torch.tensor(g)
        params.append(p)
    return params


def _flat(params: list[nn.Parameter]) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in params if p.grad is not None])


def _given(params: list[nn.Parameter], as_generator: bool) -> Any:
    """What the student's function receives: the list, or a generator that can be read once
    (what model.parameters() is)."""
    return (p for p in params) if as_generator else params


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
    cases: list[tuple[list[list[float] | None], float, bool]] = [
        ([[3.0, 0.0], [4.0]], 1.0, False), ([[3.0, 0.0], [4.0]], 10.0, False)]
    for seed in lab.seeded():
        grads = [torch.randn(20).mul(5).tolist(), torch.randn(7).tolist(), torch.randn(3).mul(50).tolist()]
        cases += [(grads, 2.0, False), ([None, *grads], 0.5, True), (grads, 1e4, True)]
    for grads, max_norm, as_generator in cases:
        params, ref = _params_with_grads(grads), _params_with_grads(grads)
        before = _flat(params).clone()
        shown = "a generator of parameters" if as_generator else "params"
        with _refuse_torch_clipping(mod):
            got = lab.call(mod.clip_by_global_norm_, _given(params, as_generator), max_norm,
                           what=f"clip_by_global_norm_({shown}, {max_norm:g})")
        want = _utils.clip_grad_norm_(ref, max_norm).item()
        after = _flat(params)
        norm_after = after.norm().item()
        cosine = F.cosine_similarity(after, before, dim=0).item()
        label = f"on gradients of global norm {want:.4g} with max_norm {max_norm:g}" + (
            ", given as a generator (read it once, e.g. list(parameters))" if as_generator else "")
        if max(p.grad.norm().item() for p in params if p.grad is not None) <= max_norm * (1 + 1e-5) < norm_after:
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
        value = as_float(got)
        if value is None or over(abs(value - want), 1e-4 * max(1.0, want)):
            why = (" That is the norm after clipping; return the norm before clipping, like clip_grad_norm_."
                   if value is not None and abs(value - norm_after) < 1e-4 else "")
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
        for clip_value, as_generator in ((1.0, False), (0.5, True), (2.5, False)):
            grads = [[3.0, 4.0, 0.0], None, torch.randn(30).mul(2).tolist()]
            params, ref = _params_with_grads(grads), _params_with_grads(grads)
            before = _flat(params).clone()
            shown = "a generator of parameters" if as_generator else "params"
            with _refuse_torch_clipping(mod):
                lab.call(mod.clip_by_value_, _given(params, as_generator), clip_value,
                         what=f"clip_by_value_({shown}, {clip_value:g})")
            _utils.clip_grad_value_(ref, clip_value)
            if over((_flat(params) - _flat(ref)).abs().max().item(), 1e-6):
                raise CheckFailed(f"seed {seed}: clip_by_value_({shown}, {clip_value:g}) differs from clip_grad_value_: "
                                  f"every entry must be clamped to [-{clip_value:g}, {clip_value:g}], in place.")
            cosines.append(F.cosine_similarity(_flat(params), before, dim=0).item())
    return f"matches clip_grad_value_ (clip values 1, 0.5, 2.5); the direction turns (cosine {min(cosines):.3f})"


_KERAS = ("clipnorm", "clipvalue", "global_clipnorm")


@check(points=2)
def keras_semantics(lab: LabContext) -> str:
    """keras_clip_ does what Keras' clipnorm, clipvalue and global_clipnorm do"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    grads: list[list[float] | None] = [[3.0, 4.0], None, [0.0, 12.0]]  # per-variable norms 5, 12; global 13
    cases = [
        ("clipnorm", 1.0, [[0.6, 0.8], [0.0, 1.0]], ("clips each variable's gradient separately to norm 1 "
         "(per-variable norms 5 and 12 -> 1 and 1), not all of them together")),
        ("clipnorm", 6.0, [[3.0, 4.0], [0.0, 6.0]], ("clips each variable's gradient separately to norm 6: "
         "(3, 4) has norm 5 and stays, (0, 12) becomes (0, 6)")),
        ("global_clipnorm", 1.0, [[3 / 13, 4 / 13], [0.0, 12 / 13]], ("clips all gradients together to a global "
         "norm of 1 (13 -> 1), exactly like torch.nn.utils.clip_grad_norm_")),
        ("global_clipnorm", 2.6, [[0.6, 0.8], [0.0, 2.4]], ("clips all gradients together to a global norm of "
         "2.6 (13 -> 2.6), like clip_grad_norm_")),
        ("clipvalue", 1.0, [[1.0, 1.0], [0.0, 1.0]], "clamps every entry to [-1, 1], like clip_grad_value_"),
        ("clipvalue", 3.5, [[3.0, 3.5], [0.0, 3.5]], "clamps every entry to [-3.5, 3.5], like clip_grad_value_"),
    ]
    for i, (name, value, want, meaning) in enumerate(cases):
        params = _params_with_grads(grads)
        as_generator = i % 2 == 1
        shown = "a generator of parameters" if as_generator else "params"
        lab.call(mod.keras_clip_, _given(params, as_generator), **{name: value},
                 what=f"keras_clip_({shown}, {name}={value:g})")
        got = [[round(v, 4) for v in p.grad.tolist()] for p in params if p.grad is not None]
        if over((_flat(params) - torch.tensor([v for g in want for v in g])).abs().max().item(), 1e-4):
            raise CheckFailed(f"keras_clip_({shown}, {name}={value:g}) on gradients (3, 4) and (0, 12) gave {got}; "
                              f"Keras' {name} {meaning}.")
    params = _params_with_grads(grads)
    lab.call(mod.keras_clip_, params, what="keras_clip_(params)")
    if not torch.equal(_flat(params), _flat(_params_with_grads(grads))):
        raise CheckFailed("keras_clip_(params) with no option must leave the gradients alone (a Keras optimizer "
                          "without clipping arguments does not clip).")
    pairs = [{a: 1.0, b: 1.0} for j, a in enumerate(_KERAS) for b in _KERAS[j + 1:]]
    for options in [*pairs, dict.fromkeys(_KERAS, 1.0)]:
        shown = ", ".join(f"{k}=1.0" for k in options)
        try:
            mod.keras_clip_(_params_with_grads(grads), **options)
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other exception is the student's verdict
            raise CheckFailed(f"keras_clip_(params, {shown}) raised {type(exc).__name__}; Keras raises ValueError "
                              "when more than one clipping option is set.") from None
        raise CheckFailed(f"keras_clip_(params, {shown}) must raise ValueError, as Keras does: only one of "
                          "clipnorm, clipvalue and global_clipnorm may be set.")
    return ("clipnorm = per variable, global_clipnorm = clip_grad_norm_, clipvalue = clip_grad_value_; "
            "ValueError for every combination of two or three")


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


_STUDENT_CLIPPERS = {"clip_by_global_norm_": "clip-norm", "clip_by_value_": "clip-value"}
# max_norm values besides 1 on which the first two updates are judged: the IRNN's first global
# norm is 20-240, so 0.25 and 3 clip (a clipper with a hard-coded 1 fails) and 1e4 must not.
OTHER_MAX_NORMS = (0.25, 3.0, 1e4)


def _global_norm(model: nn.Module) -> float:
    return math.sqrt(sum(p.grad.pow(2).sum().item() for p in model.parameters() if p.grad is not None))


def _judged_step(lab: LabContext, mod: ModuleType, model: _IRNN, opt: SGD, max_norm: float, seed: int,
                 judge: bool) -> StepRecord:
    """One call of the student's train_step; with ``judge``, the update must use this batch's MSE
    gradient clipped to a global norm of max_norm, wherever the student clips (closure included)."""
    x = torch.randn(BATCH, T, 1)
    y = x.cumsum(dim=1)
    what = f"train_step(model, optimizer, x, y, max_norm={max_norm:g})"

    def call() -> Any:
        return lab.call(mod.train_step, model, opt, x, y, max_norm, what=what)

    if not judge:
        with record_step(mod, model, opt, model.rnn.weight_hh_l0, _STUDENT_CLIPPERS) as rec:
            call()
        return rec
    rec, why = run_clipped_step(call, mod, model, opt, x, y, max_norm, model.rnn.weight_hh_l0, _STUDENT_CLIPPERS)
    if why:
        raise CheckFailed(f"seed {seed}, {what}: {why}")
    return rec


@check(points=3)
def train_step_clips_and_trains(lab: LabContext) -> str:
    """train_step clips after backward and before step, and the exploding IRNN trains"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    curves = []
    for seed in lab.seeded():
        for max_norm in OTHER_MAX_NORMS:  # two judged updates on a fresh model each
            model = _IRNN()
            opt = SGD(model.parameters(), lr=LR)
            for _ in range(2):
                _judged_step(lab, mod, model, opt, max_norm, seed, judge=True)
        model = _IRNN()
        opt = SGD(model.parameters(), lr=LR)
        norms: list[float] = []
        pre_clip: list[float] = []
        for step in range(STEPS):
            rec = _judged_step(lab, mod, model, opt, 1.0, seed, judge=step < 2)
            pre_clip += rec.pre_clip[:1]
            norms.append(math.sqrt(sum(g.pow(2).sum().item() for g in rec.grads[0])) if rec.grads else math.nan)
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
    return (f"each update used the batch's gradient clipped to max_norm (1, 0.25, 3; none at 1e4); finite for "
            f"{STEPS} steps; relative MSE {rel:.3f} (seed {seed})")


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
