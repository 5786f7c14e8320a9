"""Helpers the lab graders share (they import torch: only graders import this module).

Shipped with the rest of ``coursekit/grading/`` into the worker's private folder, so a grader
can ``from coursekit.grading.torchkit import SGD, over, setup_torch`` in the course env.
"""

from __future__ import annotations

import contextlib
import math
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch


def setup_torch() -> None:
    """Flush denormals (vanishing nets run ~10x slower on CPU with them, course notes B.10) and
    use one thread: the labs' nets are small, and two threads on a busy 2-core laptop spin-wait
    (measured 2-5x more CPU time than one thread on the same grader)."""
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)


def over(value: float, limit: float) -> bool:
    """value > limit, and True for NaN: a NaN from the student's code must never pass a check."""
    return not value <= limit


class SGD:
    """``torch.optim.SGD``'s update (momentum buffer = grad on the first step, then m*buf + grad).

    The graders bring their own because the first ``torch.optim`` optimizer built in a process
    imports ``torch._dynamo``: 1-2 s of CPU on the build machine, more than the checks
    themselves. Student code may call it the way it calls a torch optimizer:
    ``zero_grad(set_to_none=...)``, ``step(closure)``, and ``param_groups`` (one group).
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.param_groups: list[dict[str, Any]] = [
            {"params": self.params, "lr": lr, "momentum": momentum}
        ]
        self.bufs: dict[int, torch.Tensor] = {}
        # Called at the moment the parameters change (after a closure has run), so a grader
        # records the gradients the update really uses, however the student's step is written.
        self.before_update: Callable[[], None] | None = None

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``set_to_none=False`` zeroes them in place, as torch does)."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update; like torch, evaluates ``closure`` (with grad enabled) first and returns
        it."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.before_update is not None:
            self.before_update()
        group = self.param_groups[0]
        lr, momentum = group["lr"], group["momentum"]
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                d = p.grad
                if momentum:
                    buf = self.bufs.get(i)
                    d = self.bufs[i] = d.clone() if buf is None else buf.mul_(momentum).add_(d)
                p.add_(d, alpha=-lr)
        return loss


def as_number(value: Any, what: str) -> float:
    """The course's one rule for a function that returns a number (every lab README states it):
    a Python ``float`` or ``int``, or a tensor with exactly one element (a 0-dim tensor from
    ``.mean()`` is fine); the grader reads it with ``float()``. Anything else (None, a bool, a
    string, a tensor of several numbers) fails the check with a message naming what came back."""
    from coursekit.grading.api import CheckFailed

    if isinstance(value, torch.Tensor):
        if value.numel() == 1 and value.dtype != torch.bool:
            return float(value.detach().reshape(()).item())
        raise CheckFailed(
            f"{what} returned a tensor of shape {tuple(value.shape)} "
            f"({value.dtype}); return one number: a float, or a one-element tensor."
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise CheckFailed(
        f"{what} returned {type(value).__name__} {value!r:.40}; return one number: "
        "a float (use .item() on a one-element tensor), or the one-element tensor."
    )


def as_float(value: Any) -> float | None:
    """:func:`as_number`'s rule without the message: the number, or ``None`` for anything that
    is not one, for a caller that names the problem in its own words."""
    from coursekit.grading.api import CheckFailed

    try:
        return as_number(value, "")
    except CheckFailed:
        return None


# --- One clipped training step, judged where the parameters change (labs 6 and 8) -----------

_CLIPPERS = {"clip_grad_norm_": "clip-norm", "clip_grad_value_": "clip-value"}


@dataclass
class StepRecord:
    """What one call of a student's ``train_step`` did, in order.

    ``events``: "backward" (the backward pass reached the watched weight), "clip-norm" /
    "clip-value" (a clipping function was called), "update" (the optimizer changed the
    parameters); ``grads``: the gradients each update used.
    """

    events: list[str] = field(default_factory=list)
    grads: list[list[torch.Tensor]] = field(default_factory=list)
    pre_clip: list[float] = field(default_factory=list)  # global norm when norm clipping was called


@contextlib.contextmanager
def record_step(
    mod: types.ModuleType,
    model: torch.nn.Module,
    opt: SGD,
    watched: torch.Tensor,
    student_clippers: dict[str, str] | None = None,
) -> Iterator[StepRecord]:
    """Record a train_step: clipping calls (torch's, their aliases in ``mod``, and the student's
    own ``student_clippers`` {name: kind}), the backward pass reaching ``watched``, and each
    update with the gradients it uses (``opt.before_update``), so ``step(closure)`` counts where
    the update really happens."""
    rec = StepRecord()
    utils = torch.nn.utils
    depth = [0]

    def recorder(kind: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:  # the student's clipper calling torch's counts once
                rec.events.append(kind)
                if kind == "clip-norm":
                    rec.pre_clip.append(
                        math.sqrt(
                            sum(
                                p.grad.double().pow(2).sum().item()
                                for p in model.parameters()
                                if p.grad is not None
                            )
                        )
                    )
            depth[0] += 1
            try:
                return func(*args, **kwargs)
            finally:
                depth[0] -= 1

        return wrapped

    def on_update() -> None:
        rec.events.append("update")
        rec.grads.append(
            [
                torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
                for p in model.parameters()
            ]
        )

    originals = {n: getattr(utils, n) for n in _CLIPPERS}
    saved = dict(vars(mod))
    hook = watched.register_hook(lambda g: rec.events.append("backward"))  # type: ignore[no-untyped-call]
    try:
        for n, f in originals.items():
            setattr(utils, n, recorder(_CLIPPERS[n], f))
        for k, v in saved.items():
            for n, f in originals.items():
                if v is f:
                    setattr(mod, k, recorder(_CLIPPERS[n], f))
            if k in (student_clippers or {}) and callable(v):
                setattr(mod, k, recorder((student_clippers or {})[k], v))
        opt.before_update = on_update
        yield rec
    finally:
        hook.remove()
        opt.before_update = None
        for n, f in originals.items():
            setattr(utils, n, f)
        for k, v in saved.items():
            if vars(mod).get(k) is not v:
                setattr(mod, k, v)


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1).double() for t in tensors])


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool((a - b).norm() <= 1e-4 * b.norm() + 1e-9)


def clipped_update_error(
    rec: StepRecord, fresh: list[torch.Tensor], leftover: list[torch.Tensor], max_norm: float
) -> str | None:
    """Name what is wrong with the one update ``rec`` recorded, or None when it used this batch's
    gradient ``fresh`` clipped to a global norm of ``max_norm`` (clip_grad_norm_'s factor
    max_norm / (norm + 1e-6), never above 1). ``leftover``: the .grad before the call."""
    ran = ", ".join(rec.events) or "nothing"
    if not rec.grads:
        return f"train_step never updated the parameters: call optimizer.step() (recorded: {ran})."
    if len(rec.grads) > 1:
        return (
            f"train_step updated the parameters {len(rec.grads)} times; one step is one "
            "optimizer.step()."
        )
    used, g, old = _flat(rec.grads[0]), _flat(fresh), _flat(leftover)
    total = g.norm().item()
    want = g * min(1.0, max_norm / (total + 1e-6))
    if _close(used, want):
        return None
    stale = g + old
    if old.norm() > 0 and _close(used, stale * min(1.0, max_norm / (stale.norm().item() + 1e-6))):
        return (
            "the update used this step's gradient plus the previous step's: backward adds to "
            ".grad, so call optimizer.zero_grad() before loss.backward()."
        )
    norm_used = used.norm().item()
    cosine = (used @ g / (norm_used * total + 1e-30)).item()
    if cosine >= 0.9999:
        if abs(norm_used - total) <= 1e-3 * total:
            clip = next((i for i, e in enumerate(rec.events) if e.startswith("clip")), None)
            back = rec.events.index("backward") if "backward" in rec.events else None
            if clip is None:
                return (
                    f"no clipping: the update used the full gradient (global norm {total:.4g}); "
                    "call torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) after "
                    "backward."
                )
            if back is not None and clip < back:
                return (
                    "clipping before backward: there are no gradients yet (or last step's, "
                    "zeroed), so nothing is clipped and backward then writes the full, "
                    "exploding gradient. Clip after loss.backward()."
                )
            if clip > rec.events.index("update"):
                return (
                    "clipping after step: optimizer.step() has already used the unclipped "
                    "gradient. Clip between loss.backward() and optimizer.step()."
                )
            return (
                f"a clipping function ran, but the update used the unclipped gradient (global norm "
                f"{total:.4g}): clip the parameters the optimizer updates, model.parameters(), "
                "and pass them as a fresh iterator or a list."
            )
        if total > max_norm and abs(norm_used - 1.0) <= 1e-3 and abs(max_norm - 1.0) > 1e-3:
            return (
                f"the update's global gradient norm is 1.0 but max_norm is {max_norm:g}: clip to "
                "the max_norm argument, not a fixed 1."
            )
        return (
            f"the update used the right direction with a global norm of {norm_used:.4g}; with "
            f"max_norm={max_norm:g} and a gradient of norm {total:.4g} it must be "
            f"{min(total, max_norm):.4g} (clip_grad_norm_ only ever scales down, by max_norm / "
            "norm)."
        )
    per = [t.double().norm().item() for t in rec.grads[0]]
    if max(per) <= max_norm * (1 + 1e-5) < norm_used:
        return (
            "each parameter clipped separately (that is Keras' clipnorm): every gradient has "
            f"norm <= max_norm but together they have {norm_used:.4g}; clip_grad_norm_ clips the "
            "global norm of all gradients together."
        )
    c = used.abs().max().item()
    if _close(used, g.clamp(-c, c)):
        return (
            "value clipping where norm clipping is asked: clip_grad_value_ clamps entries one "
            "by one and turns the gradient; use clip_grad_norm_(model.parameters(), max_norm)."
        )
    return (
        "the update used a gradient whose direction differs from this batch's MSE gradient "
        f"(cosine {cosine:.4f}): loss = F.mse_loss(model(x), y), loss.backward(), "
        "clip_grad_norm_, step."
    )


def run_clipped_step(
    call: Callable[[], Any],
    mod: types.ModuleType,
    model: torch.nn.Module,
    opt: SGD,
    x: torch.Tensor,
    y: torch.Tensor,
    max_norm: float,
    watched: torch.Tensor,
    student_clippers: dict[str, str] | None = None,
) -> tuple[StepRecord, str | None]:
    """Run ``call()`` (the student's train_step on ``model``, ``opt``, ``x``, ``y``) under
    :func:`record_step` and judge its update against the grader's own MSE gradient. Also checks
    the returned loss (a number under :func:`as_float`'s rule) is this batch's MSE before the
    step."""
    params = list(model.parameters())
    loss = torch.nn.functional.mse_loss(model(x), y)  # .grad untouched: autograd.grad returns them
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    fresh = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
    leftover = [
        torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
        for p in model.parameters()
    ]
    with record_step(mod, model, opt, watched, student_clippers) as rec:
        got = call()
    why = clipped_update_error(rec, fresh, leftover, max_norm)
    if why is None:
        value, want = as_float(got), loss.item()
        if value is None:
            why = (
                "train_step must return the loss as a number (a float or a one-element tensor); "
                f"got {type(got).__name__}."
            )
        elif not abs(value - want) <= 1e-4 * abs(want) + 1e-6:
            hint = (
                " That is the sum of squared errors; F.mse_loss averages them."
                if abs(value - want * y.numel()) <= 1e-3 * abs(want * y.numel())
                else ""
            )
            why = (
                f"train_step returned {value:.6g}; this batch's MSE before the step is "
                f"{want:.6g}.{hint}"
            )
    return rec, why
