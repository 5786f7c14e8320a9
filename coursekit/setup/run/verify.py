"""Setup's final verdict on the env: exactly one torch, the planned one, and it works.

Pure: takes the planned :class:`~coursekit.setup.plan.model.TorchChoice` and the facts the doctor's
probe (:mod:`coursekit.probe`, run by the env's Python) reported, and returns problems with
fixes. The rules come from envs/SOURCES.md: one owner of ``torch`` (pip, never also
conda-forge's ``pytorch``, envs/SOURCES.md P5.1), the planned local tag (a later pip install must not have
swapped the CUDA build, envs/SOURCES.md P5.2), torchvision/torchaudio paired with it, and a real CUDA
operation on a GPU build (``is_available()`` can be True while no kernel fits the GPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.setup.engines.state import CONDA_TORCH_PACKAGES
from coursekit.setup.plan.model import TorchChoice


@dataclass(frozen=True)
class Problem:
    """Something wrong with the env, and what to do about it."""

    message: str
    fix: str


@dataclass(frozen=True)
class Verification:
    """The verdict: ``ok`` when there is no problem; ``device`` names what torch computes on."""

    ok: bool
    torch_version: str | None
    device: str | None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()


def _items(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    dists = data.get("distributions") or {}
    return [d for d in dists.get("items", []) if d.get("name") == name]


def conda_torch_fix(names: str, engine: str, env_name: str) -> str:
    """How to get rid of conda-forge's torch ``names`` in the env, with the user's own tool
    (the built-in engine has no command a student could type: only ``--force``)."""
    remove = (
        f"`{engine} remove -n {env_name} --force {names}`, then `coursekit setup` again; or "
        if engine != "embedded"
        else ""
    )
    return (
        f"Remove it: {remove}`coursekit setup --force` (recreates the env; what you "
        "installed in it yourself is lost)."
    )


def _dist_problems(
    data: dict[str, Any], torch: TorchChoice, pins: tuple[str, ...], engine: str, env_name: str
) -> list[Problem]:
    problems: list[Problem] = []
    copies = _items(data, "torch")
    if len(copies) > 1:
        where = ", ".join(f"{c.get('version')} in {c.get('location')}" for c in copies)
        problems.append(
            Problem(
                f"{len(copies)} copies of torch are installed: {where}",
                "Remove the extra copy (often in ~/.local: `python -m pip "
                "uninstall torch` outside the env), then run `coursekit setup`.",
            )
        )
    for copy in copies:
        if copy.get("installer") not in ("pip", None):
            problems.append(
                Problem(
                    f"torch {copy.get('version')} was installed by "
                    f"{copy.get('installer')}, not pip",
                    "Run `coursekit setup` again: it reinstalls the build.",
                )
            )
    conda_pkgs = [
        p
        for p in (data.get("conda_meta") or {}).get("packages", [])
        if p.get("name") in CONDA_TORCH_PACKAGES
    ]
    if conda_pkgs:
        names = " ".join(sorted({str(p["name"]) for p in conda_pkgs}))
        problems.append(
            Problem(
                f"conda-forge's torch ({names}) is in the env besides pip's: two owners of torch",
                conda_torch_fix(names, engine, env_name),
            )
        )
    wanted = dict(pin.split("==", 1) for pin in pins)
    for name in ("torchvision", "torchaudio"):
        if name not in wanted:
            continue
        want = wanted[name]
        versions = [c.get("version") for c in _items(data, name)]
        if versions != [want]:
            got = ", ".join(str(v) for v in versions) or "missing"
            problems.append(
                Problem(
                    f"{name} is {got}; torch {torch.version} needs {want}",
                    "Run `coursekit setup` again.",
                )
            )
    return problems


def _gpu(
    info: dict[str, Any], torch: TorchChoice, os_name: str
) -> tuple[str | None, list[Problem], list[str]]:
    if os_name == "macos":
        if info.get("mps_available"):
            return "Apple GPU (MPS)", [], []
        return (
            "CPU",
            [],
            [
                (
                    "MPS is not available (Intel Mac, Rosetta, or macOS older than 14, "
                    "which torch 2.10+ needs for MPS): torch uses the CPU."
                )
            ],
        )
    if not torch.gpu:
        return "CPU", [], []
    if not info.get("cuda_available"):
        why = info.get("cuda_error") or "torch.cuda.is_available() is False"
        return (
            None,
            [
                Problem(
                    f"torch {torch.version} cannot use the GPU: {why}",
                    "Run `coursekit doctor` to see why (driver, WSL, another torch).",
                )
            ],
            [],
        )
    devices = info.get("devices") or []
    name = str(devices[0].get("name")) if devices else "GPU"
    op = info.get("cuda_op") or {}
    if not op.get("ok"):
        return (
            name,
            [
                Problem(
                    f"a CUDA operation on {name} failed: {op.get('error')}",
                    "Run `coursekit doctor`; this build may not support this GPU.",
                )
            ],
            [],
        )
    return name, [], []


def judge(
    torch: TorchChoice,
    status: str,
    data: dict[str, Any],
    os_name: str,
    pins: tuple[str, ...] | None = None,
    *,
    engine: str = "conda",
    env_name: str = DEFAULT_ENV_NAME,
) -> Verification:
    """Judge the probe's facts (``status``/``data`` of :class:`ProbeFacts`) against the plan;
    ``pins``: the trio's exact pins as installed (default: all three of ``torch``);
    ``engine``/``env_name``: the tool and env named in fix lines."""
    if status != "ok":
        return Verification(
            False,
            None,
            None,
            (
                Problem(
                    f"the env's Python could not run coursekit's probe ({status})",
                    "Run `coursekit doctor` for details.",
                ),
            ),
        )
    info = data.get("torch") or {}
    if info.get("status") != "ok":
        error = (info.get("error") or {}).get("message") or info.get("status")
        return Verification(
            False,
            None,
            None,
            (Problem(f"import torch failed in the env: {error}", "Run `coursekit setup` again."),),
        )
    version = str(info.get("version"))
    problems = _dist_problems(data, torch, pins or torch.pins(), engine, env_name)
    if version != torch.version:
        problems.insert(
            0,
            Problem(
                f"torch is {version}, the plan installs {torch.version} (a later pip install "
                "may have replaced it)",
                "Run `coursekit setup` again: it reinstalls the build.",
            ),
        )
    device, gpu_problems, notes = _gpu(info, torch, os_name)
    problems += gpu_problems
    return Verification(not problems, version, device, tuple(problems), tuple(notes))
