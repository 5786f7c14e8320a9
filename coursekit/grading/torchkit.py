"""Helpers the lab graders share (they import torch: only graders import this module).

Shipped with the rest of ``coursekit/grading/`` into the worker's private folder, so a grader
can ``from coursekit.grading.torchkit import SGD, over, setup_torch`` in the course env.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``set_to_none=False`` zeroes them in place, as torch does)."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update; like torch, evaluates ``closure`` (with grad enabled) first and returns it."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
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
