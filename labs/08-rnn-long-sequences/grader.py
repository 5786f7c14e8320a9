"""Grader for lab 8: gradient reach through time in RNN, LSTM and GRU; gate biases; clipping.

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
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import SGD, setup_torch

STUDENT_FILE = "long_rnn.py"
IN, HIDDEN, T, BATCH = 8, 64, 50, 32
# gradient_reach at T = 50 (log10 ||dL/dx_1|| / ||dL/dx_50||), hidden 64, seeds 0-5:
# tanh RNN default -10.5..-13.4, orthogonal W_hh -2.8..-3.2, IRNN -0.5..-0.2;
# LSTM default -9.7..-10.1, forget bias 1 -3.3..-4.2, 2 -0.4..-1.4, 3 -0.3..+0.5,
# bias 3 on the input gate instead -6.5..-7.2; GRU default -8.9..-10.3, update bias 2
# -2.1..-2.7, 3 -0.85..-1.07. Threshold: every model must reach >= -2.
REACH_MIN = -2.0
_utils = torch.nn.utils
_KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _reach(rnn: nn.Module, x: torch.Tensor) -> float:
    """The grader's own gradient reach: loss on the last output, log10 first/last input gradient."""
    x = x.detach().clone().requires_grad_(True)
    out, _ = rnn(x)
    out[:, -1].sum().backward()
    first, last = x.grad[:, 0].norm().item(), x.grad[:, -1].norm().item()
    return math.log10(max(first, 1e-38) / max(last, 1e-38))


def _irnn(input_size: int, hidden: int) -> nn.RNN:
    rnn = nn.RNN(input_size, hidden, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.eye(hidden))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.zero_()
    return rnn


@check(points=2)
def measures_gradient_reach(lab: LabContext) -> str:
    """gradient_reach measures what the grader measures on an RNN, an LSTM and an IRNN"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        models = {"tanh RNN": nn.RNN(IN, HIDDEN, batch_first=True), "LSTM": nn.LSTM(IN, HIDDEN, batch_first=True),
                  "IRNN": _irnn(IN, HIDDEN)}
        x = torch.randn(BATCH, T, IN)
        for name, model in models.items():
            want = _reach(model, x)
            model.zero_grad()
            got = lab.call(mod.gradient_reach, model, x.clone(), what=f"gradient_reach({name}, x)")
            if not isinstance(got, (int, float)) or not abs(float(got) - want) <= 1e-3:
                why = ""
                if isinstance(got, (int, float)) and abs(float(got) + want) <= 1e-3:
                    why = (" That is the same number with the sign flipped: you computed last/first. The "
                           "reach is ||dL/dx_1|| / ||dL/dx_T||: how much of the last step's gradient is left "
                           "at the first step.")
                elif isinstance(got, (int, float)) and abs(float(got) - want * math.log(10)) <= 1e-3:
                    why = " That is the natural log; use log10."
                raise CheckFailed(f"seed {seed}: gradient_reach({name}, x) returned {got!r}; the grader measures "
                                  f"{want:+.3f}.{why}")
    return "matches the grader's reach on tanh RNN, LSTM and IRNN (within 1e-3)"


def _gate_check(lab: LabContext, mod: ModuleType, fname: str, cls: type, gates: list[str], target: str) -> None:
    for seed in lab.seeded():
        model = cls(4, 16, num_layers=2, batch_first=True)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        result = lab.call(getattr(mod, fname), model, 2.5, what=f"{fname}(model, 2.5)")
        if result is not None and result is not model:
            raise CheckFailed(f"{fname} must change the model it is given in place (and may return it).")
        h = 16
        for layer in range(2):
            b_ih, b_hh = (getattr(model, f"bias_{k}_l{layer}").detach() for k in ("ih", "hh"))
            total = b_ih + b_hh  # the gate sees the sum of both biases
            order = sorted(range(len(gates)), key=lambda j: gates[j] != target)  # the target gate first
            for i in order:
                gate = gates[i]
                rows = slice(i * h, (i + 1) * h)
                old = (before[f"bias_ih_l{layer}"] + before[f"bias_hh_l{layer}"])[rows]
                if gate == target:
                    if torch.allclose(total[rows], old):
                        where = next((g for j, g in enumerate(gates)
                                      if not torch.allclose(total[j * h:(j + 1) * h],
                                                            (before[f"bias_ih_l{layer}"] + before[f"bias_hh_l{layer}"])[j * h:(j + 1) * h])), None)
                        if where:
                            raise CheckFailed(f"{fname} changed the {where} gate of layer {layer}, not the {target} "
                                              f"gate: PyTorch stacks the gates as ({', '.join(gates)}), so the "
                                              f"{target} gate is rows {h}:{2 * h} (hidden_size:2*hidden_size).")
                        raise CheckFailed(f"{fname} left the {target} gate of layer {layer} unchanged"
                                          + (": set it in every layer (bias_ih_l0, bias_ih_l1, ...)." if layer else "."))
                    if torch.allclose(total[rows], torch.full((h,), 5.0)):
                        raise CheckFailed(f"{fname}(model, 2.5) gives the {target} gate a bias of 5.0 in layer "
                                          f"{layer}: you set both bias_ih and bias_hh to 2.5, and the gate adds "
                                          "them. Set one to the value and the other to 0.")
                    if not torch.allclose(total[rows], torch.full((h,), 2.5), atol=1e-6):
                        raise CheckFailed(f"{fname}(model, 2.5): the {target} gate's bias (bias_ih + bias_hh) in "
                                          f"layer {layer} ranges {total[rows].min().item():.3g}..{total[rows].max().item():.3g}; "
                                          "it must be 2.5 for every unit.")
                elif not torch.allclose(total[rows], old):
                    raise CheckFailed(f"{fname} also changed the {gate} gate of layer {layer}; only the {target} "
                                      f"gate's bias may change (rows {h}:{2 * h}).")


@check(points=2)
def lstm_forget_bias(lab: LabContext) -> str:
    """set_forget_bias_ sets the LSTM's forget-gate bias in every layer, and nothing else"""
    setup_torch()
    _gate_check(lab, lab.load(STUDENT_FILE), "set_forget_bias_", nn.LSTM, ["input", "forget", "cell", "output"], "forget")
    return "forget gate bias_ih + bias_hh = 2.5 in both layers; input, cell, output gates untouched"


@check(points=1)
def gru_update_bias(lab: LabContext) -> str:
    """set_update_bias_ sets the GRU's update-gate bias in every layer, and nothing else"""
    setup_torch()
    _gate_check(lab, lab.load(STUDENT_FILE), "set_update_bias_", nn.GRU, ["reset", "update", "new"], "update")
    return "update gate bias_ih + bias_hh = 2.5 in both layers; reset and new gates untouched"


@check(points=3)
def long_memory_reaches_back(lab: LabContext) -> str:
    """long_memory: the gradient reaches 50 steps back in an RNN, an LSTM and a GRU"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    reaches: dict[str, float] = {}
    for seed in lab.seeded():
        x = torch.randn(BATCH, T, IN)
        for kind, cls in _KINDS.items():
            model = lab.call(mod.long_memory, kind, IN, HIDDEN, what=f"long_memory({kind!r}, {IN}, {HIDDEN})")
            if not isinstance(model, cls) or not getattr(model, "batch_first", False):
                raise CheckFailed(f"long_memory({kind!r}, ...) must return an nn.{cls.__name__} with batch_first=True; "
                                  f"got {type(model).__name__}.")
            reach = lab.call(_reach, model, x, what=f"long_memory({kind!r}, ...)(x)")
            reaches[kind] = min(reach, reaches.get(kind, math.inf))
            if not reach >= REACH_MIN:
                raise CheckFailed(f"seed {seed}: long_memory({kind!r}): the gradient reaching step 1 is 10^{reach:.2f} "
                                  f"of the one at step {T} (needed: 10^{REACH_MIN:g} or more). " + _why(kind, model))
    lab.figure("gradient-reach.png", lambda fig: _draw(fig, mod))
    return ", ".join(f"{k} 10^{v:+.2f}" for k, v in reaches.items()) + f" at T = {T} (worst seed)"


def _why(kind: str, model: nn.Module) -> str:
    h = HIDDEN
    if kind == "lstm":
        bias = (model.bias_ih_l0 + model.bias_hh_l0)[h:2 * h].mean().item()
        keep = 1 / (1 + math.exp(-bias))
        return (f"The forget-gate bias is {bias:.2g}: the cell keeps sigmoid({bias:.2g}) = {keep:.2f} of itself per "
                f"step ({keep:.2f}^{T} = 10^{T * math.log10(keep):.1f} along the cell path). A bias of 3 keeps 0.95 per step.")
    if kind == "gru":
        bias = (model.bias_ih_l0 + model.bias_hh_l0)[h:2 * h].mean().item()
        return f"The update-gate bias is {bias:.2g}; a larger one (3) keeps more of the old state each step."
    if getattr(model, "nonlinearity", "tanh") == "tanh":
        return ("A tanh RNN multiplies the gradient by W_hh^T diag(1 - h^2) at every step; with the default "
                "init that shrinks it ~10^-11 over 50 steps. Use ReLU units with W_hh = I (the IRNN).")
    return "Use W_hh = I with zero biases (the IRNN)."


def _draw(fig: Any, mod: ModuleType) -> None:
    torch.manual_seed(0)
    lengths = [5, 10, 20, 30, 40, 50]
    ax = fig.add_subplot(1, 1, 1)
    for kind, cls in _KINDS.items():
        for label, build in ((f"{kind} default", lambda: cls(IN, HIDDEN, batch_first=True)),
                             (f"{kind} long_memory", lambda: mod.long_memory(kind, IN, HIDDEN))):
            model = build()
            ys = [_reach(model, torch.randn(BATCH, n, IN)) for n in lengths]
            ax.plot(lengths, ys, marker="o", ls="--" if "default" in label else "-", label=label)
    ax.axhline(REACH_MIN, color="k", ls=":", label=f"threshold 10^{REACH_MIN:g}")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("log10 ||dL/dx_1|| / ||dL/dx_T|| (orders of magnitude)")
    ax.set_title("How far back the gradient reaches, at initialisation")
    ax.legend(fontsize=7)


class _EveryStep(nn.Module):
    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn, self.out = rnn, nn.Linear(rnn.hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0])


@contextlib.contextmanager
def _record(mod: ModuleType, model: _EveryStep, opt: SGD, events: list[str]) -> Iterator[None]:
    """Record the order of: the backward pass reaching W_hh, norm/value clipping, optimizer.step."""
    originals = {"clip_grad_norm_": (_utils.clip_grad_norm_, "clip-norm"),
                 "clip_grad_value_": (_utils.clip_grad_value_, "clip-value")}

    def recorder(kind: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            events.append(kind)
            return func(*args, **kwargs)
        return wrapped

    saved = dict(vars(mod))
    hook = model.rnn.weight_hh_l0.register_hook(lambda g: events.append("backward"))
    step = opt.step
    try:
        for name, (func, kind) in originals.items():
            setattr(_utils, name, recorder(kind, func))
            for k, v in saved.items():
                if v is func:
                    setattr(mod, k, recorder(kind, func))
        opt.step = recorder("step", step)  # type: ignore[method-assign]
        yield
    finally:
        hook.remove()
        opt.step = step  # type: ignore[method-assign]
        for name, (func, _) in originals.items():
            setattr(_utils, name, func)
        for k, v in saved.items():
            if any(v is f for f, _ in originals.values()):
                setattr(mod, k, v)


@check(points=2)
def train_step_clips_recurrent_gradients(lab: LabContext) -> str:
    """train_step clips the global norm after backward and before step; an IRNN stays finite"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        model = _EveryStep(_irnn(1, 32))  # unclipped, SGD 0.01 makes it NaN at step 1-2 (lab 6)
        opt = SGD(model.parameters(), lr=0.01)
        for step in range(20):
            x = torch.randn(64, T, 1)
            events: list[str] = []
            with _record(mod, model, opt, events):
                lab.call(mod.train_step, model, opt, x, x.cumsum(dim=1), 1.0,
                         what="train_step(model, optimizer, x, y, max_norm=1.0)")
            if step == 0:
                if "clip-norm" not in events:
                    raise CheckFailed("train_step does not clip by norm: call torch.nn.utils.clip_grad_norm_("
                                      "model.parameters(), max_norm)" + (" (it clips by value instead)."
                                                                        if "clip-value" in events else "."))
                if "backward" not in events or "step" not in events:
                    raise CheckFailed(f"train_step must run backward and optimizer.step(); it ran {events}.")
                if events.index("clip-norm") < events.index("backward"):
                    raise CheckFailed("train_step clips before backward: there is no gradient to clip yet. Clip "
                                      "after loss.backward().")
                if events.index("clip-norm") > events.index("step"):
                    raise CheckFailed("train_step clips after step: the update already used the unclipped "
                                      "gradient. Clip between loss.backward() and optimizer.step().")
            if not all(torch.isfinite(p).all() for p in model.parameters()):
                raise CheckFailed(f"seed {seed}: the IRNN's weights became non-finite at step {step}.")
    return "backward -> clip_grad_norm_ -> step; 20 steps of an exploding IRNN stay finite"
