"""Setup's final verdict on the env, given by the doctor: exactly one torch, the planned one,
and it works.

Pure: takes the planned :class:`~coursekit.setup.plan.model.TorchChoice` and the facts the
probe (:mod:`coursekit.probe`, run by the env's Python through :mod:`coursekit.probing`)
reported. The verdict is the doctor's own :func:`~coursekit.doctor.engine.diagnose_all` on
those facts (its errors: two owners of torch, envs/SOURCES.md P5.1; copies in the user site;
a broken import; a mismatched torchvision/torchaudio; a CUDA operation that fails although
``is_available()`` is True), plus one rule the doctor cannot know, :func:`planned_build`: the
planned build is the installed one (a later pip install must not have swapped the CUDA build,
envs/SOURCES.md P5.2) and a GPU plan sees the GPU.
"""

from __future__ import annotations

from typing import Any

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.setup.plan.model import TorchChoice
from coursekit.setup.run.context import Problem, Verification


def _items(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    dists = data.get("distributions") or {}
    return [d for d in dists.get("items", []) if d.get("name") == name]


def planned_build(
    torch: TorchChoice, data: dict[str, Any], os_name: str, pins: tuple[str, ...]
) -> list[Problem]:
    """The one rule the doctor cannot know: the planned build is the installed one (torch's
    exact version with its local tag, the trio's pins as installed) and, on a GPU plan, it
    sees the GPU the plan was made for."""
    info = data.get("torch") or {}
    problems: list[Problem] = []
    version = str(info.get("version"))
    if version != torch.version:
        problems.append(
            Problem(
                f"torch is {version}, the plan installs {torch.version} (a later pip install "
                "may have replaced it)",
                "Run `coursekit setup` again: it reinstalls the build.",
            )
        )
    wanted = dict(pin.split("==", 1) for pin in pins)
    for name in ("torchvision", "torchaudio"):
        if name not in wanted:
            continue
        versions = [c.get("version") for c in _items(data, name)]
        if versions != [wanted[name]]:
            got = ", ".join(str(v) for v in versions) or "missing"
            problems.append(
                Problem(
                    f"{name} is {got}; torch {torch.version} needs {wanted[name]}",
                    "Run `coursekit setup` again.",
                )
            )
    if torch.gpu and os_name != "macos" and not info.get("cuda_available"):
        why = info.get("cuda_error") or "torch.cuda.is_available() is False"
        problems.append(
            Problem(
                f"torch {torch.version} cannot use the GPU: {why}",
                "Run `coursekit doctor` to see why (driver, WSL, another torch).",
            )
        )
    return problems


def _device(info: dict[str, Any], torch: TorchChoice, os_name: str) -> tuple[str | None, list[str]]:
    """What torch computes on, and a note when a Mac's GPU is not used (not a problem)."""
    if os_name == "macos":
        if info.get("mps_available"):
            return "Apple GPU (MPS)", []
        note = (
            "MPS is not available (Intel Mac, Rosetta, or macOS older than 14, "
            "which torch 2.10+ needs for MPS): torch uses the CPU."
        )
        return "CPU", [note]
    if not torch.gpu:
        return "CPU", []
    if not info.get("cuda_available"):
        return None, []
    devices = info.get("devices") or []
    return (str(devices[0].get("name")) if devices else "GPU"), []


def doctor_problems(
    status: str, data: dict[str, Any], *, engine: str, env_name: str, python: str = ""
) -> list[Problem]:
    """The doctor's errors on the probe's facts (:func:`coursekit.doctor.engine.diagnose_all`,
    the same rules ``coursekit doctor`` runs), as problems with their fix lines.

    The rules get the course's data (:func:`coursekit.doctor.course.course_data`: spec, matrix,
    gates) without the selector's backend advice: these facts hold no platform, so there is no
    machine to plan for (``coursekit doctor`` would give none either)."""
    from coursekit.doctor.course import course_data
    from coursekit.doctor.engine import diagnose_all
    from coursekit.doctor.facts import EnvFacts, Facts
    from coursekit.host import ProbeFacts

    prefix = (data.get("python") or {}).get("prefix") if status == "ok" else None
    facts = Facts(
        env=EnvFacts(
            name=env_name,
            engine=engine,
            exists=True,
            confirmed=True,
            prefix=prefix,
            python=python or None,
        ),
        probe=ProbeFacts(python=python, status=status, data=data if status == "ok" else {}),
    )
    return [
        Problem(
            f"{f.title}: {f.detail}" if f.detail else f.title,
            f.fix or "Run `coursekit doctor` for details.",
        )
        for f in diagnose_all(facts, course_data())[0]
        if f.severity == "error"
    ]


def judge(
    torch: TorchChoice,
    status: str,
    data: dict[str, Any],
    os_name: str,
    pins: tuple[str, ...] | None = None,
    *,
    engine: str = "conda",
    env_name: str = DEFAULT_ENV_NAME,
    python: str = "",
) -> Verification:
    """Judge the probe's facts (``status``/``data`` of :class:`ProbeFacts`) against the plan:
    the doctor's errors plus :func:`planned_build`. ``pins``: the trio's exact pins as
    installed (default: all three of ``torch``); ``engine``/``env_name``: the tool and env
    named in fix lines."""
    problems = doctor_problems(status, data, engine=engine, env_name=env_name, python=python)
    info = data.get("torch") or {} if status == "ok" else {}
    if status != "ok" or info.get("status") != "ok":
        if not problems:  # the doctor names every probe and import failure; never pass one
            problems.append(
                Problem(
                    f"the env's Python could not run coursekit's probe ({status})",
                    "Run `coursekit doctor` for details.",
                )
            )
        return Verification(False, None, None, tuple(problems))
    problems = planned_build(torch, data, os_name, pins or torch.pins()) + problems
    device, notes = _device(info, torch, os_name)
    return Verification(
        not problems, str(info.get("version")), device, tuple(problems), tuple(notes)
    )
