"""Re-running ``coursekit setup`` on a healthy env, against ``coursekit doctor`` on the same env.

Goal: re-run time / doctor time <= 1.5 (a re-run only verifies). Also printed: the re-run over
``<env python> -c "import torch"`` (the baseline until the doctor existed).

Real tools, offline, in a temporary folder: the embedded py-rattler engine builds the env
from a local conda channel whose ``python`` is this machine's Python 3.11.7 (the only Python
with a real torch here); torch is the **real** ``torch 2.13.0+cpu`` wheel (plus its
dependencies) collected into a wheel folder, which is passed as ``--index-url FOLDER`` (the
offline-room mode); torchvision/torchaudio/lightning are small stand-in wheels. The first
setup (not timed) installs everything; then the three commands run alternately (a busy
machine slows all alike) and the medians are compared. Exits 0 whatever the ratio.

    python bench/setup_rerun.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.condachannel import build_channel, python311, version_of  # noqa: E402
from tests.fakes.pyindex import make_wheel  # noqa: E402

TORCH = "2.13.0"


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "CONDA", "MAMBA", "PYTHON", "COURSEKIT_", "XDG_"))}
    (work / "home").mkdir(exist_ok=True)
    spec = (ROOT / "envs" / "course.toml").read_text().replace('python = "3.12"', 'python = "3.11"')
    (work / "course.toml").write_text(spec)
    env.update(HOME=str(work / "home"), COURSEKIT_HOME=str(work / "ck"), COURSEKIT_OFFLINE="1",
               COURSEKIT_ENV_SPEC=str(work / "course.toml"), PIP_CONFIG_FILE=os.devnull,
               PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]))
    return env


def _plan_versions(env: dict[str, str]) -> tuple[str, str, str]:
    out = subprocess.run([sys.executable, "-m", "coursekit", "setup", "--dry-run", "--json",
                          "--torch", TORCH, "--backend", "cpu"], env=env, capture_output=True,
                         text=True, check=True).stdout
    import json

    t = json.loads(out)["torch"]
    return t["version"], t["torchvision"], t["torchaudio"]


def _wheelhouse(work: Path, vision: str, audio: str) -> Path:
    """Real torch and its dependencies (the machine's own pip config knows where they are),
    plus stand-ins for the rest."""
    wh = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--dest", str(wh),
                    "--only-binary=:all:", "--python-version", "3.11", f"torch=={TORCH}"],
                   check=True, stderr=subprocess.DEVNULL)
    pkg = {"torchvision": vision, "torchaudio": audio, "lightning": "2.6.6"}
    for name, version in pkg.items():
        req = ("torch>=2.1.0",) if name == "lightning" else (f"torch=={TORCH}+cpu",)
        make_wheel(wh, name, version, {f"{name}/__init__.py": f"__version__ = {version!r}\n"}, req)
    return wh


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    py311 = python311()  # found by discovery (tests/prereqs.py), not a machine path
    if py311 is None:
        sys.exit("needs a base Python 3.11 (see tests/prereqs.py for how it is found)")
    work = Path(tempfile.mkdtemp(prefix="ck-bench-setup-"))
    try:
        env = _env(work)
        channel = build_channel(work / "channel", pythons={version_of(py311): py311})
        torch, vision, audio = _plan_versions(env)
        wh = _wheelhouse(work, vision, audio)
        setup = [sys.executable, "-m", "coursekit", "setup", "--yes", "--torch", TORCH,
                 "--backend", "cpu", "--engine", "embedded", "--channel", channel.as_uri(),
                 "--index-url", str(wh)]
        start = time.perf_counter()
        first = subprocess.run(setup, env=env, capture_output=True, text=True)
        print(f"first setup (real torch {torch} installed): {time.perf_counter() - start:.1f} s, "
              f"exit {first.returncode}")
        if first.returncode != 0:
            print(first.stdout[-3000:], first.stderr[-3000:])
            return
        python = work / "ck" / "envs" / "pt" / "bin" / "python"
        doctor = [sys.executable, "-m", "coursekit", "doctor"]
        has_doctor = subprocess.run(doctor, env=env, capture_output=True).returncode in (0, 1)
        import_torch = [str(python), "-c", "import torch"]
        times: dict[str, list[float]] = {"setup": [], "doctor": [], "import": []}
        for _ in range(args.runs):
            times["setup"].append(_time(setup, env))
            if has_doctor:
                times["doctor"].append(_time(doctor, env))
            times["import"].append(_time(import_torch, env))
        med = {k: statistics.median(v) for k, v in times.items() if v}
        print(f"setup re-run (healthy env): {med['setup']:.2f} s (median of {args.runs})")
        print(f"import torch in the env:    {med['import']:.2f} s")
        if has_doctor:
            print(f"coursekit doctor:           {med['doctor']:.2f} s")
            print(f"ratio re-run / doctor: {med['setup'] / med['doctor']:.2f} (goal <= 1.5)")
        else:
            print("coursekit doctor did not run on this env: no doctor ratio")
        print(f"ratio re-run / import torch: {med['setup'] / med['import']:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
