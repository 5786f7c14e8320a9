"""A realistic class of ``coursekit doctor --save`` reports, made deterministically (issue 14).

Used by ``bench/class_triage.py`` (500 reports) and by the triage tests. A real class is not
500 copies of a few machines: every student has their own user name (in every path), clock,
RAM and free disk, check durations, and many have their own GPU, driver, Python and torch
build. So each report here is one of:

- a *typical machine* (about half): one of the real-report corpus's healthy bases (Linux with
  or without an NVIDIA GPU, WSL2, Windows with or without a GPU, macOS arm64, Intel Mac)
  with a drawn Python, torch build, GPU model and driver; the probe says what that torch
  would say (a driver older than the build's CUDA makes ``cuda_available`` false, as torch
  does), so some of these students have real problems of their own;
- a *catalogue fixture* (a quarter): the doctor's fixture for one finding
  (``tests/data/doctor/findings``), or a healthy fixture;
- a *real public failure report* (a quarter): ``tests/data/real-reports``.

Then the student's own facts are drawn wherever the base does not state them (a fixture's
or real report's patched sections are kept as they are, so its problem stays). A few
students send two reports (the newest counts) and Windows students' files are sometimes
UTF-16, as PowerShell 5.1's ``>`` writes them.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

from packaging.version import Version

from tests.doctor import realcorpus
from tests.doctor.fixtures import DATA as FIXTURES
from tests.doctor.fixtures import finding_data, healthy_data

FIRST = ("ada", "alan", "grace", "linus", "margaret", "dennis", "barbara", "ken", "frances",
         "edsger", "katherine", "tim", "radia", "john", "shafi", "donald", "leslie", "yann",
         "fei-fei", "geoffrey", "joão", "zoë", "mei", "arjun", "olusegun", "sven", "ayşe")
LAST = ("lovelace", "turing", "hopper", "torvalds", "hamilton", "ritchie", "liskov", "thompson",
        "allen", "dijkstra", "johnson", "berners-lee", "perlman", "backus", "goldwasser",
        "knuth", "lamport", "lecun", "li", "hinton", "silva", "müller", "wang", "patel",
        "adeyemi", "nilsson", "yılmaz")

# (name, compute capability, memory MiB)
GPUS = (
    ("NVIDIA GeForce RTX 3060", "8.6", 12288),
    ("NVIDIA GeForce RTX 3050 Laptop GPU", "8.6", 4096),
    ("NVIDIA GeForce RTX 4060 Laptop GPU", "8.9", 8188),
    ("NVIDIA GeForce RTX 4070", "8.9", 12282),
    ("NVIDIA GeForce RTX 2070 SUPER", "7.5", 8192),
    ("NVIDIA GeForce GTX 1650", "7.5", 4096),
    ("NVIDIA GeForce RTX 5070", "12.0", 12227),
    ("NVIDIA RTX A2000 12GB", "8.6", 12282),
)
# (driver version, CUDA the driver supports); Linux and Windows driver numbering
DRIVERS_LINUX = (("535.247.01", "12.2"), ("550.163.01", "12.4"), ("560.35.03", "12.6"),
                 ("570.195.03", "12.8"), ("575.64.05", "12.9"), ("580.95.05", "13.0"),
                 ("580.105.08", "13.0"))
DRIVERS_WINDOWS = (("551.86", "12.4"), ("566.36", "12.7"), ("572.83", "12.8"),
                   ("576.88", "12.9"), ("581.57", "13.0"))
TORCH_NVIDIA = ("2.13.0+cu130", "2.13.0+cu128", "2.13.0+cu126", "2.12.0+cu128", "2.11.0+cu130",
                "2.9.1+cu128", "2.13.0")
TORCH_CPU = ("2.13.0+cpu", "2.12.0+cpu", "2.11.0+cpu")
TORCH_MAC = ("2.13.0", "2.12.0", "2.10.0")
PYTHONS = ("3.10.12", "3.11.9", "3.12.11", "3.12.3", "3.13.7")
BASES = ("linux-nvidia", "linux-nvidia", "linux-cpu", "wsl-nvidia", "windows-nvidia",
         "windows-nvidia", "windows-cpu", "macos-arm64", "macos-arm64", "macos-intel")


def _student(rng: random.Random, i: int, taken: set[str]) -> tuple[str, str]:
    """(display name, user name in paths); every student's name is their own."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first.title()} {last.title()}"
    if name.casefold() in taken:
        name += f" {i}"
    taken.add(name.casefold())
    user = (first if rng.random() < 0.5 else f"{first[0]}{last}") + (
        str(i) if rng.random() < 0.3 else "")
    return name, user


def _typical(rng: random.Random) -> tuple[dict[str, Any], set[str]]:
    """A typical student machine: a healthy base with its own Python, torch, GPU and driver."""
    base = rng.choice(BASES)
    data = realcorpus.base_data(base)
    os_name = data["platform"]["os"]
    nvidia = bool(data.get("gpu") and data["gpu"].get("gpus"))
    python = rng.choice(PYTHONS if base != "macos-intel" else ("3.10.12", "3.11.9", "3.12.11"))
    if nvidia:
        torch = rng.choice(TORCH_NVIDIA if os_name == "linux" else TORCH_NVIDIA[:-1])
    elif os_name == "macos":
        torch = rng.choice(TORCH_MAC) if base != "macos-intel" else "2.2.2"
    else:
        torch = rng.choice(TORCH_CPU)
    data = realcorpus._with_python(data, python)
    data = realcorpus._with_torch(data, torch)
    realcorpus._typical_neighbours(data, Version(torch))
    if nvidia:
        name, cc, mem = rng.choice(GPUS)
        driver, api = rng.choice(DRIVERS_LINUX if os_name == "linux" and not
                                 data["platform"].get("wsl") else DRIVERS_WINDOWS)
        gpu = data["gpu"]["gpus"][0]
        gpu.update(name=name, compute_capability=cc, memory_mib=mem, driver_version=driver)
        data["gpu"]["cuda_driver_api"] = api
        t = data["probe"]["data"]["torch"]
        cuda = t.get("cuda")
        if cuda and Version(cuda).major > Version(api).major:
            # what torch says on a driver older than its CUDA's major version (CUDA's
            # minor-version compatibility covers the rest)
            t.update(cuda_available=False, device_count=0, devices=[], cuda_op=None,
                     cuda_error="The NVIDIA driver on your system is too old (found version "
                                f"{api.replace('.', '0')}0).")
        elif t.get("devices"):
            t["devices"] = [{"index": 0, "name": name, "capability": cc}]
    return data, set()


def _fixture(rng: random.Random, fixtures: list[str]) -> tuple[dict[str, Any], set[str]]:
    name = rng.choice(fixtures)
    if name.startswith("healthy/"):
        return healthy_data(name.split("/", 1)[1]), set()
    spec = json.loads((FIXTURES / "findings" / f"{name}.json").read_text(encoding="utf-8"))
    return finding_data(name), set(spec.get("patch") or {})


def _real(rng: random.Random, reals: list[Path]) -> tuple[dict[str, Any], set[str]]:
    report = json.loads(rng.choice(reals).read_text(encoding="utf-8"))
    corpus = report["corpus"]
    stated = set(corpus.get("patch") or {}) | set(corpus.get("patch_v2") or {})
    return report["facts"], stated


def _personalise(data: dict[str, Any], stated: set[str], rng: random.Random, user: str,
                 name: str, when: str) -> dict[str, Any]:
    """The student's own facts, wherever the base does not state them."""
    text = json.dumps(data, ensure_ascii=False)
    for home in ("/home/student", "/Users/student", "C:\\\\Users\\\\student",
                 "c:\\\\Users\\\\student"):
        text = text.replace(home, home.rsplit("student", 1)[0] + user)
    data = json.loads(text)
    data["student"] = name
    data["collected_at"] = when
    if "memory" not in stated and data.get("memory"):
        total = rng.choice((8192, 16384, 16384, 32768, 65536))
        data["memory"] = {"total_mib": total, "available_mib": int(total * rng.uniform(0.3, 0.8))}
    if "disks" not in stated and data.get("disks"):
        total = rng.choice((256000, 512000, 1024000, 2048000))
        free = int(total * rng.uniform(0.1, 0.7))
        for d in data["disks"]:
            d.update(free_mib=free, total_mib=total)
    for c in data.get("checks") or []:
        c["duration_ms"] = int(c.get("duration_ms", 0) * rng.uniform(0.5, 3)) + rng.randint(0, 9)
    probe = data.get("probe")
    if isinstance(probe, dict) and "probe" not in stated and probe.get("duration_s"):
        probe["duration_s"] = round(probe["duration_s"] * rng.uniform(0.6, 4), 2)
        torch = (probe.get("data") or {}).get("torch")
        if isinstance(torch, dict) and torch.get("import_s"):
            torch["import_s"] = round(torch["import_s"] * rng.uniform(0.6, 4), 2)
    return data


def make_class(n: int, seed: int = 14) -> list[tuple[str, bytes]]:
    """``n`` report files of a class: ``[(file name, file bytes)]``, the same for a seed."""
    from coursekit.doctor.facts import Facts, from_data
    from coursekit.doctor.report import make_report, report_data

    rng = random.Random(seed)
    fixtures = sorted(p.stem for p in (FIXTURES / "findings").glob("*.json"))
    fixtures += [f"healthy/{p.stem}" for p in sorted((FIXTURES / "healthy").glob("*.json"))]
    reals = realcorpus.report_paths()
    files: list[tuple[str, bytes]] = []
    students: list[tuple[str, str]] = []
    taken: set[str] = set()
    for i in range(n):
        if students and rng.random() < 0.03:  # a second report from the same student
            name, user = rng.choice(students)
        else:
            name, user = _student(rng, i, taken)
            students.append((name, user))
        kind = rng.random()
        data, stated = (_typical(rng) if kind < 0.5 else
                        _fixture(rng, fixtures) if kind < 0.75 else _real(rng, reals))
        day, minute = rng.randint(1, 7), rng.randint(0, 24 * 60 - 1)
        when = f"2026-12-{day:02d}T{minute // 60:02d}:{minute % 60:02d}:{rng.randint(0, 59):02d}+00:00"
        data = _personalise(copy.deepcopy(data), stated, rng, user, name, when)
        report = report_data(make_report(from_data(Facts, data)))
        text = json.dumps(report, indent=1, ensure_ascii=False)
        windows = (data.get("platform") or {}).get("os") == "windows"
        raw = (b"\xff\xfe" + text.encode("utf-16-le") if windows and rng.random() < 0.3
               else text.encode("utf-8"))
        slug = "-".join(name.lower().split())
        files.append((f"doctor-{slug}-2026-12-{day:02d}-{i:03d}.json", raw))
    return files


def write_class(folder: Path, n: int, seed: int = 14) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, raw in make_class(n, seed):
        (folder / name).write_bytes(raw)
        out.append(folder / name)
    return out
