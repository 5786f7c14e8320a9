"""Grader of lab 1 (measuring gradient flow). Never copied to students.

The student's functions are the measuring tools, so each is compared with this
grader's own measurement of the same tensors and networks, on the fixed seeds
(all must pass). Typical wrong answers are recognised and named.
"""

from __future__ import annotations

import math
from typing import Any

from coursekit.grading.api import CheckFailed, LabContext, check

FILE = "diagnostics.py"
REL_TOL = 1e-3  # biased vs unbiased std differ by < 1e-4 at these sizes: both accepted


def _close(a: float, b: float, rel: float = REL_TOL, abs_tol: float = 1e-9) -> bool:
    return math.isfinite(a) and abs(a - b) <= max(rel * abs(b), abs_tol)


def _as_float(lab: LabContext, value: Any, what: str) -> float:
    """One rule in every lab: a float, or a one-element tensor (read with float())."""
    from coursekit.grading.torchkit import as_number

    return as_number(value, what)


def _sat_range(h: Any, kind: str) -> tuple[float, float]:
    """The saturated share by every form the course teaches, as (lowest, highest).

    tanh: |h| > 0.97. sigmoid: |2h - 1| > 0.97, or h < 0.015 or h > 0.985 (the same rule on
    paper; in float32 the two can disagree on entries right at the boundary, so both count).
    """
    if kind == "tanh":
        forms = [(h.abs() > 0.97), (h.abs() >= 0.97)]
    else:
        forms = [((2 * h - 1).abs() > 0.97), ((h < 0.015) | (h > 0.985)),
                 ((2 * h - 1).abs() >= 0.97), ((h <= 0.015) | (h >= 0.985))]
    shares = [f.float().mean().item() for f in forms]
    return min(shares), max(shares)


def _in_range(got: float, lo_hi: tuple[float, float], tol: float = 1e-6) -> bool:
    return math.isfinite(got) and lo_hi[0] - tol <= got <= lo_hi[1] + tol


# ---- the grader's own measurements (the reference, never shown to students) -------------

def _ref_saturation(h: Any, kind: str) -> float:
    return ((h.abs() if kind == "tanh" else (2 * h - 1).abs()) > 0.97).float().mean().item()


def _nested_net() -> Any:
    """Not a flat Sequential: activations one and two levels down (stem.1, blocks.0.act, ...),
    every activation class of ACTIVATIONS but Sigmoid, non-square widths, and a module that is
    registered before the blocks but runs after them (forward order is not creation order)."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, n_in: int, n_out: int, act: Any) -> None:
            super().__init__()
            self.fc = nn.Linear(n_in, n_out)
            self.act = act

        def forward(self, x: Any) -> Any:
            return self.act(self.fc(x))

    class Nested(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = Block(56, 64, nn.Tanh())      # created first, runs last
            self.stem = nn.Sequential(nn.Linear(32, 48), nn.LeakyReLU(0.1))
            self.blocks = nn.ModuleList([Block(48, 40, nn.ELU()), Block(40, 72, nn.ReLU()),
                                         Block(72, 56, nn.GELU())])

        def forward(self, x: Any) -> Any:
            x = self.stem(x)
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    return Nested()


def _shared_act_net() -> Any:
    """One ReLU instance used after each of three Linear layers (ReLU holds no state): its
    hook fires once per use, so there are three hidden activations to measure."""
    from torch import nn

    act = nn.ReLU()
    return nn.Sequential(nn.Linear(32, 80), act, nn.Linear(80, 48), act, nn.Linear(48, 64), act)


def _mlp(depth: int, width: int, n_in: int, act: Any, init: str = "default") -> Any:
    from torch import nn

    layers: list[Any] = []
    for i in range(depth):
        lin = nn.Linear(n_in if i == 0 else width, width)
        if init == "he":
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            nn.init.zeros_(lin.bias)
        layers += [lin, act()]
    return nn.Sequential(*layers)


def _readout(width: int, seed: int) -> Any:
    import torch

    gen = torch.Generator().manual_seed(10_000 + seed)
    return torch.randn(width, 1, generator=gen) / math.sqrt(width)


def _reference(model: Any, x: Any, readout: Any) -> list[dict[str, Any]]:
    """act/grad statistics of every activation output, plus the weight grads and pre-activations."""
    from torch import nn

    acts: list[tuple[Any, Any]] = []
    pres: list[Any] = []
    handles = []

    def keep(mod: Any, inputs: Any, out: Any) -> None:
        out.retain_grad()
        acts.append((mod, out))

    for m in model.modules():
        if isinstance(m, (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.GELU)):
            handles.append(m.register_forward_hook(keep))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(lambda mod, i, o: pres.append(o.detach())))
    model.zero_grad()
    (model(x) @ readout).sum().backward()
    for h in handles:
        h.remove()
    names: dict[int, set[str]] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        names.setdefault(id(m), set()).add(f"{name}:{type(m).__name__}")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    rows: list[dict[str, Any]] = []
    for k, (mod, h) in enumerate(acts):
        g, hd = h.grad, h.detach()
        kind = "tanh" if isinstance(mod, nn.Tanh) else "sigmoid" if isinstance(mod, nn.Sigmoid) else ""
        wgrad = linears[k].weight.grad if k < len(linears) else None
        rows.append({
            "act_mean": hd.mean().item(), "act_std": hd.std().item(), "grad_std": g.std().item(),
            "grad_norm": g.norm().item(),
            "saturated": _ref_saturation(hd, kind) if kind else 0.0,
            "sat_range": _sat_range(hd, kind) if kind else (0.0, 0.0),
            "dead": (hd <= 0).all(dim=0).float().mean().item() if isinstance(mod, nn.ReLU) else 0.0,
            "names": names[id(mod)],
            "pre_std": pres[k].std().item() if k < len(pres) else math.nan,
            "wgrad_std": wgrad.std().item() if wgrad is not None else math.nan,
            "wgrad_norm": wgrad.norm().item() if wgrad is not None else math.nan})
    model.zero_grad()
    return rows


def _student_stats(lab: LabContext, mod: Any, model: Any, x: Any, readout: Any) -> list[Any]:
    stats = lab.call(mod.layer_stats, model, x, lambda out: (out @ readout).sum(),
                     what="layer_stats()")
    if not isinstance(stats, (list, tuple)):
        raise CheckFailed(f"layer_stats() returned {type(stats).__name__}; return a list with one "
                          "LayerStats per activation module.")
    if not stats:
        raise CheckFailed("layer_stats() returned an empty list for a model whose activation "
                          "modules sit inside blocks: hook every module that is an instance of "
                          "ACTIVATIONS at any depth (model.named_modules(), not only the direct "
                          "children).")
    return list(stats)


def _nets() -> list[tuple[str, Any]]:
    from torch import nn

    return [("6-layer ReLU MLP", lambda: _mlp(6, 64, 32, nn.ReLU)),
            ("6-layer tanh MLP", lambda: _mlp(6, 64, 32, nn.Tanh)),
            ("4-layer sigmoid MLP (N(0,1) weights)", lambda: _sig_normal()),
            ("nested model (blocks in a ModuleList; LeakyReLU, ELU, ReLU, GELU, Tanh)", _nested_net),
            ("MLP reusing one ReLU module after each of 3 Linear layers", _shared_act_net)]


def _sig_normal() -> Any:
    from torch import nn

    net = _mlp(4, 64, 32, nn.Sigmoid)
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight)
    return net


# ---- checks -----------------------------------------------------------------------------

@check(points=2)
def saturation_share(lab: LabContext) -> str:
    """saturation() counts saturated tanh and sigmoid outputs"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    import torch

    mod = lab.load(FILE)
    for seed in lab.seeded():
        # 2-D, 1-D and 3-D outputs (any shape: the share of entries), non-square
        for shape in ((512, 64), (3000,), (8, 40, 24)):
            z = torch.randn(*shape) * (0.2 + 5.8 * torch.rand(*shape))
            for kind, h in (("tanh", torch.tanh(z)), ("sigmoid", torch.sigmoid(z))):
                got = _as_float(lab, lab.call(mod.saturation, h.clone(), kind,
                                              what=f'saturation(h, "{kind}")'), "saturation()")
                want = _sat_range(h, kind)
                if _in_range(got, want):
                    continue
                if _close(got, (h > 0.97).float().mean().item(), 1e-6):
                    if kind == "tanh":
                        raise CheckFailed("saturation(h, 'tanh') counts only h > 0.97: tanh saturates "
                                          "at both ends, so compare abs(h) with 0.97.")
                    raise CheckFailed("saturation(h, 'sigmoid') compares h itself with 0.97: sigmoid "
                                      "outputs lie in (0, 1) and saturate near 0 and near 1; use "
                                      "abs(2*h - 1) > 0.97.")
                if kind == "sigmoid" and _close(got, (h.abs() > 0.97).float().mean().item(), 1e-6):
                    raise CheckFailed("saturation(h, 'sigmoid') uses the tanh rule |h| > 0.97: that "
                                      "counts only the top end of sigmoid's (0, 1) range; use "
                                      "abs(2*h - 1) > 0.97 (near 0 and near 1).")
                raise CheckFailed(f"seed {seed}: saturation(h, {kind!r}) on a tensor of shape {shape} "
                                  f"= {got:.4f}; the share of saturated entries is {want[0]:.4f}.")
    return "tanh and sigmoid saturation shares match (2-D, 1-D and 3-D outputs)"


@check(points=1)
def dead_units(lab: LabContext) -> str:
    """dead_share() finds units that never fire"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    import torch

    mod = lab.load(FILE)
    for seed in lab.seeded():
        # more rows than units, and more units than rows; ReLU outputs and outputs that go
        # below zero (a LeakyReLU's): a unit is dead when its column is <= 0 everywhere.
        for batch, units, leaky in ((256, 128, False), (48, 300, False), (200, 90, True)):
            bias = torch.where(torch.rand(units) < 0.3, -8.0, 0.0)  # ~30% pushed far below 0
            z = torch.randn(batch, units) + bias
            h = torch.where(z > 0, z, 0.01 * z) if leaky else torch.relu(z)
            got = _as_float(lab, lab.call(mod.dead_share, h.clone(), what="dead_share(h)"),
                            "dead_share()")
            want = (h <= 0).all(dim=0).float().mean().item()
            if _close(got, want, 1e-6):
                continue
            what = f"({batch} examples x {units} units{', some outputs below 0' if leaky else ''})"
            if _close(got, (h <= 0).float().mean().item(), 1e-6) or _close(
                    got, (h == 0).float().mean().item(), 1e-6):
                raise CheckFailed(f"dead_share(h) {what} counts dead entries one at a time; a unit "
                                  "is dead when its whole column is <= 0, for every example: "
                                  "(h <= 0).all(dim=0).")
            if _close(got, (h <= 0).all(dim=1).float().mean().item(), 1e-6):
                raise CheckFailed(f"dead_share(h) {what} looks along the wrong dimension: h has "
                                  "shape (batch, units), so a unit is a column: .all(dim=0).")
            if leaky and _close(got, (h == 0).all(dim=0).float().mean().item(), 1e-6):
                raise CheckFailed(f"dead_share(h) {what} tests h == 0; a unit is dead when its "
                                  "outputs are <= 0 (a LeakyReLU's go below 0): use h <= 0.")
            raise CheckFailed(f"seed {seed}: dead_share(h) {what} = {got:.4f}, the share of dead "
                              f"units is {want:.4f}.")
    return "dead-unit shares match"


def _compare_layers(stats: list[Any], ref: list[dict[str, Any]], net_name: str) -> None:
    if len(stats) != len(ref):
        raise CheckFailed(f"{net_name}: layer_stats() returned {len(stats)} layers; the net has "
                          f"{len(ref)} activation outputs. Hook every module that is an instance "
                          "of ACTIVATIONS, at any depth (model.named_modules()), once each, not "
                          "the Linear layers.")
    if len(ref) > 1 and _matches(stats[::-1], ref) and not _matches(stats, ref):
        raise CheckFailed(f"{net_name}: your layers come in backward order (last layer first, "
                          "as backward hooks fire); return them in forward order, input first.")
    for k, (s, r) in enumerate(zip(stats, ref)):
        try:
            got = {f: float(getattr(s, f)) for f in ("act_mean", "act_std", "grad_std",
                                                     "grad_norm", "saturated", "dead")}
        except (AttributeError, TypeError, ValueError, RuntimeError) as exc:
            raise CheckFailed(f"{net_name}, layer {k}: not a LayerStats with number fields ({exc}).") from None
        if _close(got["act_std"], r["pre_std"]) and not _close(got["act_std"], r["act_std"]):
            raise CheckFailed(f"{net_name}: act_std matches the Linear layers' outputs "
                              "(pre-activations); record the activation modules' outputs h.")
        if _close(got["grad_std"], r["wgrad_std"]) or _close(got["grad_norm"], r["wgrad_norm"]):
            raise CheckFailed(f"{net_name}: the gradient statistics match the weight gradients, "
                              "not dL/dh. Weight gradients hide vanishing (Glorot & Bengio 2010, "
                              "eq. 14): call output.retain_grad() in the hook and use output.grad.")
        for field in ("act_mean", "act_std", "grad_std", "grad_norm", "dead"):
            if not _close(got[field], r[field], abs_tol=1e-6 if field in ("dead", "act_mean") else 1e-12):
                raise CheckFailed(f"{net_name}, layer {k} ({min(r['names'])}): {field} = "
                                  f"{got[field]:.6g}, measured {r[field]:.6g}.")
        if not _in_range(got["saturated"], r["sat_range"]):
            raise CheckFailed(f"{net_name}, layer {k} ({min(r['names'])}): saturated = "
                              f"{got['saturated']:.6g}, measured {r['saturated']:.6g} (tanh and "
                              "sigmoid only, 0.0 for the other activations).")
        name = getattr(s, "name", None)
        if name not in r["names"]:
            raise CheckFailed(f"{net_name}, layer {k}: name {name!r}; LayerStats.name is the "
                              "module's name in the model, a colon and its class, here "
                              f"{min(r['names'])!r} (from model.named_modules()).")


def _matches(stats: list[Any], ref: list[dict[str, Any]]) -> bool:
    try:
        return all(_close(float(s.grad_norm), r["grad_norm"]) and _close(float(s.act_std), r["act_std"])
                   for s, r in zip(stats, ref))
    except (AttributeError, TypeError, ValueError, RuntimeError):
        return False


@check(points=3)
def layer_statistics(lab: LabContext) -> str:
    """layer_stats() measures activations and dL/dh at every activation module"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    import torch

    mod = lab.load(FILE)
    for seed in lab.seeded():
        for net_name, make in _nets():
            torch.manual_seed(seed)
            model, x, readout = make(), torch.randn(256, 32), _readout(64, seed)
            ref = _reference(model, x, readout)
            stats = _student_stats(lab, mod, model, x, readout)
            left = [n for n, m in model.named_modules() if m._forward_hooks]
            if left:
                raise CheckFailed(f"layer_stats() left hooks on the model ({len(left)} modules); "
                                  "keep the handles register_forward_hook returns and call "
                                  ".remove() on each (in a finally block).")
            _compare_layers(stats, ref, net_name)
    return ("every statistic matches on ReLU, tanh, sigmoid, nested and shared-module nets "
            "(LeakyReLU, ELU, GELU too)")


def _stats_row(mod: Any, name: str, norm: float) -> Any:
    """A LayerStats built by field name (a student's class may order its fields differently)."""
    return mod.LayerStats(name=name, act_mean=0.0, act_std=1.0, grad_std=norm / 10,
                          grad_norm=norm, saturated=0.0, dead=0.0)


@check(points=1)
def flow_ratio(lab: LabContext) -> str:
    """gradient_flow() is log10(first/last) of the dL/dh norms"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    import torch

    mod = lab.load(FILE)
    pairs: list[tuple[float, float, float, int]] = []  # (got, want, natural-log want, layers)
    for _seed in lab.seeded():
        for n_layers in (5, 2, 9):
            norms = (10 ** (torch.rand(n_layers) * 8 - 6)).tolist()
            stats = [lab.call(_stats_row, mod, f"{i}:ReLU", n, what="LayerStats(...)")
                     for i, n in enumerate(norms)]
            got = _as_float(lab, lab.call(mod.gradient_flow, stats, what="gradient_flow()"),
                            "gradient_flow()")
            pairs.append((got, math.log10(norms[0] / norms[-1]), math.log(norms[0] / norms[-1]),
                          n_layers))
    if all(_close(g, w, 1e-6) for g, w, _, _ in pairs):
        return "log10 ratios match (2, 5 and 9 layers)"
    # name the mistake from every case together: |x| and -x agree on half of them
    if all(_close(g, -w, 1e-6) for g, w, _, _ in pairs):
        raise CheckFailed("gradient_flow() has the sign flipped: first layer over last, so "
                          "that a vanishing gradient gives a negative number.")
    if all(_close(g, abs(w), 1e-6) for g, w, _, _ in pairs):
        raise CheckFailed("gradient_flow() returns the size of the ratio without its sign "
                          "(an absolute value): a vanishing gradient must give a negative "
                          "number, an exploding one a positive number.")
    if all(_close(g, ln, 1e-6) for g, _, ln, _ in pairs):
        raise CheckFailed("gradient_flow() uses the natural log; use math.log10 so the value "
                          "counts orders of magnitude.")
    got, want, _, n_layers = next(p for p in pairs if not _close(p[0], p[1], 1e-6))
    raise CheckFailed(f"gradient_flow() over {n_layers} layers = {got:.4f}, expected "
                      f"{want:.4f} (log10 of the first layer's grad_norm over the last's).")


@check(points=1)
def update_ratio(lab: LabContext) -> str:
    """update_to_data() is log10(std(update) / std(data))"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    import torch

    mod = lab.load(FILE)
    for seed in lab.seeded():
        for shape, lr in (((256, 256), 0.1), ((64, 300), 0.01), ((300,), 0.001)):
            before = torch.randn(*shape) * 0.05 + 0.01
            after = before - lr * torch.randn(*shape) * 0.02
            got = _as_float(lab, lab.call(mod.update_to_data, before.clone(), after.clone(),
                                          what="update_to_data()"), "update_to_data()")
            ratio = ((after - before).std() / before.std()).item()
            if _close(got, math.log10(ratio), 1e-4):
                continue
            if _close(got, ratio, 1e-4):
                raise CheckFailed("update_to_data() returns the plain ratio; return its log10 "
                                  "(about -3 is healthy).")
            if _close(got, -math.log10(ratio), 1e-4):
                raise CheckFailed("update_to_data() is inverted: std of the update over std of "
                                  "the data, not the other way round.")
            if _close(got, math.log(ratio), 1e-4):
                raise CheckFailed("update_to_data() uses the natural log; use math.log10.")
            raise CheckFailed(f"seed {seed}, a {shape} weight, lr {lr}: update_to_data() = "
                              f"{got:.4f}, expected {math.log10(ratio):.4f}.")
    return "update:data ratios match"


@check(points=2)
def deep_relu_flow(lab: LabContext) -> str:
    """your tools see the gradient vanish in a 20-layer ReLU MLP with PyTorch's default init"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    import torch
    from torch import nn

    mod = lab.load(FILE)
    flows: dict[str, list[float]] = {"default": [], "he": []}
    ref_curves: dict[str, list[float]] = {}
    your_curves: dict[str, list[float]] = {}
    try:
        for seed in lab.seeded():
            for init in ("default", "he"):
                torch.manual_seed(seed)
                model, x = _mlp(20, 256, 256, nn.ReLU, init), torch.randn(256, 256)
                readout = _readout(256, seed)
                ref = _reference(model, x, readout)
                ref_curves.setdefault(init, [r["grad_norm"] for r in ref])
                stats = _student_stats(lab, mod, model, x, readout)
                your_curves.setdefault(init, [float(s.grad_norm) for s in stats])
                flow = _as_float(lab, lab.call(mod.gradient_flow, stats, what="gradient_flow()"),
                                 "gradient_flow()")
                want = math.log10(ref[0]["grad_norm"] / ref[-1]["grad_norm"])
                if not abs(flow - want) <= 0.01:
                    raise CheckFailed(f"seed {seed}, {init} init: your tools measure a flow of "
                                      f"{flow:+.2f}; the grader measures {want:+.2f} (see "
                                      "figures/gradient_flow.png).")
                flows[init].append(flow)
    finally:  # drawn even when the check fails: the picture is part of the feedback
        if ref_curves:
            lab.figure("gradient_flow.png", lambda fig: _draw(fig, ref_curves, your_curves))
    theory = 19 * math.log10(math.sqrt(1 / 6))  # each ReLU layer scales by sqrt(1/2 * n Var[w])
    d, h = flows["default"], flows["he"]
    return (f"default init: flow {min(d):+.2f}..{max(d):+.2f} (theory {theory:+.2f}: the "
            f"gradient reaching layer 1 is 10^{-max(d):.0f} times weaker); He init: "
            f"{min(h):+.2f}..{max(h):+.2f}. Figure: figures/gradient_flow.png")


def _draw(fig: Any, ref: dict[str, list[float]], yours: dict[str, list[float]]) -> None:
    ax = fig.add_subplot()
    for init, label in (("default", "PyTorch default init"), ("he", "He (kaiming_normal_)")):
        if init not in ref:
            continue
        (line,) = ax.semilogy(range(1, len(ref[init]) + 1), ref[init], label=f"{label} (grader)")
        if init in yours:
            ax.semilogy(range(1, len(yours[init]) + 1), yours[init], linestyle="none", marker="o",
                        color=line.get_color(), label=f"{label} (your tools)")
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("||dL/dh|| (log scale)")
    ax.set_title("Lab 1: gradient norm per layer, 20-layer ReLU MLP (seed 0)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
