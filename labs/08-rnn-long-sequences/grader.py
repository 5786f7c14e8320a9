"""Grader for lab 8: gradient reach through time in RNN, LSTM and GRU; gate biases; clipping.

Everything is measured here by running the student's functions on fixed seeds; the thresholds
carry the margins measured with the reference solution and each typical mistake (PyTorch
2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import torch
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import SGD, as_float, run_clipped_step, setup_torch

STUDENT_FILE = "long_rnn.py"
IN, HIDDEN, T, BATCH = 8, 64, 50, 32
# gradient_reach at T = 50 (log10 ||dL/dx_1|| / ||dL/dx_50||), 8 inputs, hidden 64, batch 32,
# seeds 0-5 (the README's table): tanh RNN default -11.0..-13.3, orthogonal W_hh -2.75..-3.0,
# IRNN -0.3..-0.1; LSTM default -9.6..-10.3, forget bias 1 -3.5..-4.2, 2 -0.1..-1.0, 3 +0.0..+0.4,
# bias 3 on the input gate instead -6.75..-7.5; GRU default -10.0..-10.8, update bias 2
# -2.1..-2.4, 3 -0.86..-1.06. Threshold: every model must reach >= -2.
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


def _irnn(input_size: int, hidden: int, gain: float = 1.0) -> nn.RNN:
    rnn = nn.RNN(input_size, hidden, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(gain * torch.eye(hidden))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.zero_()
    return rnn


def _measured_models() -> dict[str, tuple[nn.Module, torch.Tensor]]:
    """Models gradient_reach is tried on, each with its input: one and two layers, other sizes, and
    one whose gradient grows backwards (W_hh = 1.05 I: reach about +1) so the sign is tested too."""
    x = torch.randn(BATCH, T, IN)
    return {
        "tanh RNN": (nn.RNN(IN, HIDDEN, batch_first=True), x),
        "LSTM": (nn.LSTM(IN, HIDDEN, batch_first=True), x),
        "IRNN": (_irnn(IN, HIDDEN), x),
        "IRNN with W_hh = 1.05 I": (_irnn(IN, HIDDEN, gain=1.05), x[:8]),
        "2-layer GRU (5 inputs, 24 units)": (nn.GRU(5, 24, num_layers=2, batch_first=True), torch.randn(8, 20, 5)),
        "2-layer tanh RNN (5 inputs, 24 units)": (nn.RNN(5, 24, num_layers=2, batch_first=True),
                                                  torch.randn(8, 20, 5)),
    }


@check(points=2)
def measures_gradient_reach(lab: LabContext) -> str:
    """gradient_reach measures what the grader measures on RNNs, LSTMs and GRUs of one and two layers"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        rows = []
        for name, (model, x) in _measured_models().items():
            want = _reach(model, x)
            model.zero_grad()
            got = lab.call(mod.gradient_reach, model, x.clone(), what=f"gradient_reach({name}, x)")
            rows.append((name, want, got, as_float(got)))
        wrong = [(n, w, g, v) for n, w, g, v in rows if v is None or not abs(v - w) <= 1e-3]
        if not wrong:
            continue
        name, want, got, value = wrong[0]
        numbers = [(w, v) for _, w, _, v in rows if v is not None]
        why = ""
        if value is None:
            why = " It must be a number: a float (or a one-element tensor)."
        elif len(numbers) == len(rows) and all(abs(v - abs(w)) <= 1e-3 for w, v in numbers):
            why = (" That is its absolute value: the reach is negative when the gradient fades on its way back "
                   "and positive when it grows (W_hh = 1.05 I); keep the sign of log10(first / last).")
        elif len(numbers) == len(rows) and all(abs(v + w) <= 1e-3 for w, v in numbers):
            why = (" That is the same number with the sign flipped: you computed last/first. The reach is "
                   "||dL/dx_1|| / ||dL/dx_T||: how much of the last step's gradient is left at the first step.")
        elif abs(value - want * math.log(10)) <= 1e-3:
            why = " That is the natural log; use log10."
        elif "2-layer" in name and all(abs(v - w) <= 1e-3 for n, w, _, v in rows if "2-layer" not in n and v is not None):
            why = (" Right on one-layer models, wrong on two layers: the loss is on the last layer's output, "
                   "rnn(x)[0][:, -1] (the hidden state h_n also holds the first layer's).")
        raise CheckFailed(f"seed {seed}: gradient_reach({name}, x) returned {got!r}; the grader measures "
                          f"{want:+.3f}.{why}")
    return "matches the grader's reach on RNN, LSTM, IRNN, 2-layer GRU and RNN (within 1e-3), sign included"


# (input_size, hidden_size, layers, value): two layers as the README says, and three layers of
# another width with a negative value, so neither the sizes nor the value can be hard-coded.
_GATE_CASES = ((4, 16, 2, 2.5), (5, 24, 3, -1.5))


def _gate_check(lab: LabContext, mod: ModuleType, fname: str, cls: type, gates: list[str], target: str) -> None:
    for seed in lab.seeded():
        for n_in, h, layers, value in _GATE_CASES:
            _one_gate_case(lab, mod, fname, cls(n_in, h, num_layers=layers, batch_first=True), gates, target,
                           value, seed)


def _one_gate_case(lab: LabContext, mod: ModuleType, fname: str, model: nn.Module, gates: list[str],
                   target: str, value: float, seed: int) -> None:
    h, layers = model.hidden_size, model.num_layers
    shown = f"{fname}({type(model).__name__}({model.input_size}, {h}, num_layers={layers}), {value:g})"
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    result = lab.call(getattr(mod, fname), model, value, what=shown)
    if result is not None and result is not model:
        raise CheckFailed(f"{fname} must change the model it is given in place (and may return it).")
    for n, p in model.named_parameters():
        if n.startswith("weight") and not torch.equal(p.detach(), before[n]):
            raise CheckFailed(f"{shown} changed {n}; only the {target} gate's biases may change.")
    for layer in range(layers):
        b_ih, b_hh = (getattr(model, f"bias_{k}_l{layer}").detach() for k in ("ih", "hh"))
        total = b_ih + b_hh  # the gate sees the sum of both biases
        old_total = before[f"bias_ih_l{layer}"] + before[f"bias_hh_l{layer}"]
        order = sorted(range(len(gates)), key=lambda j: gates[j] != target)  # the target gate first
        for i in order:
            gate = gates[i]
            rows = slice(i * h, (i + 1) * h)
            if gate == target:
                if torch.allclose(total[rows], old_total[rows]):
                    where = next((g for j, g in enumerate(gates) if not torch.allclose(
                        total[j * h:(j + 1) * h], old_total[j * h:(j + 1) * h])), None)
                    if where:
                        raise CheckFailed(f"{shown} changed the {where} gate of layer {layer}, not the {target} "
                                          f"gate: PyTorch stacks the gates as ({', '.join(gates)}), so the "
                                          f"{target} gate is rows {h}:{2 * h} (hidden_size:2*hidden_size).")
                    raise CheckFailed(f"{shown} left the {target} gate of layer {layer} unchanged"
                                      + (": set it in every layer (bias_ih_l0, bias_ih_l1, ...)." if layer else "."))
                if torch.allclose(total[rows], torch.full((h,), 2 * value)):
                    raise CheckFailed(f"{shown} gives the {target} gate a bias of {2 * value:g} in layer {layer}: you "
                                      f"set both bias_ih and bias_hh to {value:g}, and the gate adds them. Set one to "
                                      "the value and the other to 0.")
                if not torch.allclose(total[rows], torch.full((h,), value), atol=1e-6):
                    raise CheckFailed(f"seed {seed}: {shown}: the {target} gate's bias (bias_ih + bias_hh) in layer "
                                      f"{layer} ranges {total[rows].min().item():.3g}..{total[rows].max().item():.3g}; "
                                      f"it must be {value:g} for every unit.")
            elif not torch.allclose(total[rows], old_total[rows]):
                raise CheckFailed(f"{shown} also changed the {gate} gate of layer {layer}; only the {target} "
                                  f"gate's bias may change (rows {h}:{2 * h}).")


@check(points=2)
def lstm_forget_bias(lab: LabContext) -> str:
    """set_forget_bias_ sets the LSTM's forget-gate bias in every layer, and nothing else"""
    setup_torch()
    _gate_check(lab, lab.load(STUDENT_FILE), "set_forget_bias_", nn.LSTM, ["input", "forget", "cell", "output"], "forget")
    return "forget gate bias_ih + bias_hh = the value in every layer (2 and 3 layers); other gates untouched"


@check(points=1)
def gru_update_bias(lab: LabContext) -> str:
    """set_update_bias_ sets the GRU's update-gate bias in every layer, and nothing else"""
    setup_torch()
    _gate_check(lab, lab.load(STUDENT_FILE), "set_update_bias_", nn.GRU, ["reset", "update", "new"], "update")
    return "update gate bias_ih + bias_hh = the value in every layer (2 and 3 layers); reset, new untouched"


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
            if (model.input_size, model.hidden_size) != (IN, HIDDEN):
                raise CheckFailed(f"long_memory({kind!r}, {IN}, {HIDDEN}) returned a model of input_size "
                                  f"{model.input_size} and hidden_size {model.hidden_size}.")
            reach = lab.call(_reach, model, x, what=f"long_memory({kind!r}, ...)(x)")
            reaches[kind] = min(reach, reaches.get(kind, math.inf))
            if not reach >= REACH_MIN:
                raise CheckFailed(f"seed {seed}: long_memory({kind!r}): the gradient reaching step 1 is 10^{reach:.2f} "
                                  f"of the one at step {T} (needed: 10^{REACH_MIN:g} or more). " + _why(kind, model))
        # another size, so nothing can be hard-coded (torch.eye(64), rows 64:128)
        for kind, cls in _KINDS.items():
            what = f"long_memory({kind!r}, 5, 48)"
            model = lab.call(mod.long_memory, kind, 5, 48, what=what)
            if not isinstance(model, cls) or not getattr(model, "batch_first", False) or (
                    getattr(model, "input_size", None), getattr(model, "hidden_size", None)) != (5, 48):
                raise CheckFailed(f"{what} must return an nn.{cls.__name__}(5, 48, batch_first=True); got "
                                  f"{type(model).__name__}{_sizes(model)}.")
            reach = lab.call(_reach, model, torch.randn(8, T, 5), what=f"{what}(x)")
            if not reach >= REACH_MIN:
                raise CheckFailed(f"seed {seed}: {what}: the gradient reaching step 1 is 10^{reach:.2f} of the one "
                                  f"at step {T} (needed: 10^{REACH_MIN:g} or more; it is enough with 64 units). "
                                  + _why(kind, model))
    for kind in ("transformer", "RNN"):  # the starter's docstring: unknown kinds raise ValueError
        try:
            got = mod.long_memory(kind, IN, HIDDEN)
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other exception is the student's verdict
            raise CheckFailed(f"long_memory({kind!r}, {IN}, {HIDDEN}) raised {type(exc).__name__}; an unknown kind "
                              "must raise ValueError (kinds are 'rnn', 'lstm', 'gru').") from None
        raise CheckFailed(f"long_memory({kind!r}, {IN}, {HIDDEN}) returned {type(got).__name__}; an unknown kind must "
                          "raise ValueError (kinds are 'rnn', 'lstm', 'gru').")
    lab.figure("gradient-reach.png", lambda fig: _draw(fig, mod))
    return ", ".join(f"{k} 10^{v:+.2f}" for k, v in reaches.items()) + f" at T = {T} (worst seed)"


def _sizes(model: Any) -> str:
    sizes = (getattr(model, "input_size", None), getattr(model, "hidden_size", None))
    return f"({sizes[0]}, {sizes[1]})" if None not in sizes else ""


def _why(kind: str, model: nn.Module) -> str:
    h = model.hidden_size
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


@check(points=2)
def train_step_clips_recurrent_gradients(lab: LabContext) -> str:
    """train_step clips the global norm after backward and before step; an IRNN stays finite"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        # The first two updates at max_norm 1, then 0.25, 3 and 1e4 (the IRNN's first norm is far
        # above 1 and far below 1e4): each must use this batch's gradient clipped to max_norm.
        for max_norm, steps, batch in ((1.0, 20, 64), (0.25, 2, 16), (3.0, 1, 16), (1e4, 1, 16)):
            model = _EveryStep(_irnn(1, 32))  # unclipped, SGD 0.01 makes it NaN at step 1-2 (lab 6)
            opt = SGD(model.parameters(), lr=0.01)
            for step in range(steps):
                x = torch.randn(batch, T, 1)
                y = x.cumsum(dim=1)
                what = f"train_step(model, optimizer, x, y, max_norm={max_norm:g})"

                def call(x: torch.Tensor = x, y: torch.Tensor = y, what: str = what, max_norm: float = max_norm) -> Any:
                    return lab.call(mod.train_step, model, opt, x, y, max_norm, what=what)

                if step < 2:
                    _, why = run_clipped_step(call, mod, model, opt, x, y, max_norm, model.rnn.weight_hh_l0)
                    if why:
                        raise CheckFailed(f"seed {seed}, {what}: {why}")
                else:
                    call()
                if not all(torch.isfinite(p).all() for p in model.parameters()):
                    raise CheckFailed(f"seed {seed}: the IRNN's weights became non-finite at step {step}.")
    return ("backward -> clip_grad_norm_ -> update (max_norm 1, 0.25, 3; none at 1e4); 20 steps of an exploding "
            "IRNN stay finite")
