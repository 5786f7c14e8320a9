"""Executor logic with plain inputs: failure explanations, retries, the one-torch verdict,
engine commands. (The real runs are in tests/integration.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from coursekit.proc import ToolResult
from coursekit.setup.engines import drivers
from coursekit.setup.engines.base import Engine
from coursekit.setup.plan.model import Step, TorchChoice
from coursekit.setup.run.context import Context, RunOptions, SilentReporter, StepFailed
from coursekit.setup.run.failures import classify
from coursekit.setup.run.tools import run_checked as _run
from coursekit.setup.run.tools import spec_name
from coursekit.setup.run.verify import judge
from tests.fakes.plans import make_test_plan

PIP_NO_DIST = ("ERROR: Could not find a version that satisfies the requirement torch==2.7.0+cu126 "
               "(from versions: 2.7.0+cpu)\nERROR: No matching distribution found for "
               "torch==2.7.0+cu126\n")
PIP_OFFLINE = ("WARNING: Retrying (Retry(total=0, ...)) after connection broken by "
               "'NewConnectionError(...: Failed to establish a new connection: [Errno 111] "
               "Connection refused')': /whl/cu126/torch/\nERROR: Could not find a version that "
               "satisfies the requirement torch==2.7.0+cu126 (from versions: none)\n"
               "ERROR: No matching distribution found for torch==2.7.0+cu126\n")
DISK = ("ERROR: Could not install packages due to an OSError: [Errno 28] No space left on "
        "device: '/home/s/envs/pt/lib/python3.12/site-packages/torch/lib/libtorch_cuda.so'\n")
SOLVER = ("error    libmamba Could not solve for environment specs\n    The following packages "
          "are incompatible\n    └─ python 3.13** does not exist\n")


def _result(stderr: str, code: int | None = 1, **kw: Any) -> ToolResult:
    return ToolResult(("pip",), code, "", stderr, **kw)


@pytest.mark.parametrize(("stderr", "kind", "line"), [
    (PIP_NO_DIST, "no-wheel", "ERROR: No matching distribution found for torch==2.7.0+cu126"),
    (PIP_OFFLINE, "network", "ERROR: No matching distribution found for torch==2.7.0+cu126"),
    (DISK, "disk", DISK.strip()),
    (SOLVER, "solver", "error    libmamba Could not solve for environment specs"),
    ("Segmentation fault\n", "tool", "Segmentation fault"),
])
def test_failures_are_explained(stderr: str, kind: str, line: str) -> None:
    failure = classify("Install torch", _result(stderr), source="https://x/whl/cu126")
    assert failure.kind == kind
    assert failure.tool_line == line
    assert failure.message.startswith("Install torch")
    assert failure.fix
    assert failure.transient is (kind == "network")


def test_pip_conflict_says_torch_was_held() -> None:
    stderr = ("ERROR: Cannot install lightning==2.6.7 because these package versions have "
              "conflicting dependencies.\nERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n")
    failure = classify("Install lightning", ToolResult(("/e/bin/python", "-m", "pip"), 1, "", stderr))
    assert failure.kind == "conflict" and "another torch" in failure.message
    assert failure.tool_line is not None and "ResolutionImpossible" in failure.tool_line


def test_timeouts_and_missing_tools() -> None:
    assert classify("Create", _result("", None, timed_out=True)).kind == "timeout"
    assert classify("Create", _result("", None, found=False)).kind == "tool"


class FakeRunner:
    """Answers each call with the next scripted result; records argv."""

    def __init__(self, *results: ToolResult):
        self.results = list(results)
        self.calls: list[list[str]] = []

    def __call__(self, argv, *, timeout, env=None, cwd=None, input=None, capture=True
                 ) -> ToolResult:  # type: ignore[no-untyped-def]
        self.calls.append([str(a) for a in argv])
        return self.results.pop(0)


def _ctx(runner: FakeRunner, attempts: int = 3) -> tuple[Context, list[float]]:
    slept: list[float] = []
    plan = make_test_plan("https://x/whl/cu126", channel="conda-forge")
    ctx = Context(plan, Engine("embedded", None, "test"), RunOptions(attempts=attempts, backoff_s=2),
                  runner, {}, SilentReporter(), lambda q: False, "linux", Path("/tmp/ck"),
                  sleep=slept.append)
    return ctx, slept


STEP = Step("install_torch", "Install torch", ())


def test_network_failures_are_retried_with_backoff() -> None:
    ok = ToolResult(("pip",), 0)
    runner = FakeRunner(_result(PIP_OFFLINE), _result(PIP_OFFLINE), ok)
    ctx, slept = _ctx(runner)
    assert _run(ctx, STEP, ["pip"], timeout=10, network=True) is ok
    assert len(runner.calls) == 3 and slept == [2, 4]


def test_a_real_no_is_not_retried() -> None:
    runner = FakeRunner(_result(PIP_NO_DIST))
    ctx, slept = _ctx(runner)
    with pytest.raises(StepFailed) as info:
        _run(ctx, STEP, ["pip"], timeout=10, network=True)
    assert info.value.failure.kind == "no-wheel" and slept == []


def test_network_gives_up_after_the_attempts() -> None:
    runner = FakeRunner(*[_result(PIP_OFFLINE)] * 3)
    ctx, _ = _ctx(runner)
    with pytest.raises(StepFailed) as info:
        _run(ctx, STEP, ["pip"], timeout=10, network=True)
    assert info.value.failure.kind == "network" and len(runner.calls) == 3


@pytest.mark.parametrize(("spec", "name"), [
    ("python=3.12", "python"), ("jupyterlab>=4", "jupyterlab"), ("lightning>=2.6.6", "lightning"),
    ("scikit_learn", "scikit-learn"), ("numpy 2.1.*", "numpy")])
def test_spec_name(spec: str, name: str) -> None:
    assert spec_name(spec) == name


def test_engine_commands_never_recreate_an_existing_env(tmp_path: Path) -> None:
    conda = Engine("conda", Path("/c/bin/conda"), "PATH")
    assert drivers.create_argv(conda, "pt", ["conda-forge"], ["python=3.12", "pip"]) == [
        "/c/bin/conda", "create", "-y", "-n", "pt", "--override-channels", "-c", "conda-forge",
        "python=3.12", "pip"]
    assert drivers.complete_argv(conda, tmp_path, ["https://mirror/cf"], ["seaborn"],
                                 reinstall=["python"]) == [
        "/c/bin/conda", "install", "-y", "-p", str(tmp_path), "--force-reinstall",
        "--override-channels", "-c", "https://mirror/cf", "seaborn"]
    embedded = Engine("embedded", None, "py-rattler")
    argv = drivers.complete_argv(embedded, tmp_path, ["conda-forge"], ["python=3.12"],
                                 reinstall=["python"])
    # setup's own form runs isolated (-I); the folders holding coursekit (and py-rattler) are
    # put on its path explicitly
    assert argv[1:3] == ["-I", "-c"] and "coursekit.setup.engines.embedded" in argv[3]
    assert str(Path(drivers.__file__).resolve().parents[3]) in argv[4].split(os.pathsep)
    assert argv[5] == "create"
    assert drivers.create_argv(embedded, "pt", ["conda-forge"], ["python=3.12"],
                               prefix=tmp_path)[1:3] == ["-I", "-c"]
    assert argv[-3:] == ["--reinstall=python", "--", "python=3.12"]
    assert drivers.remove_argv(embedded, tmp_path) is None
    assert drivers.remove_argv(conda, tmp_path) == ["/c/bin/conda", "env", "remove", "-y", "-p",
                                                    str(tmp_path)]


TORCH = TorchChoice("2.7.0+cu126", "cu126", "https://x/whl/cu126", "0.22.0+cu126", "2.7.0+cu126",
                    gpu=True)


def _facts(**torch: Any) -> dict[str, Any]:
    items = [{"name": "torch", "version": "2.7.0+cu126", "installer": "pip", "location": "/sp"},
             {"name": "torchvision", "version": "0.22.0+cu126", "installer": "pip"},
             {"name": "torchaudio", "version": "2.7.0+cu126", "installer": "pip"}]
    info = {"status": "ok", "version": "2.7.0+cu126", "cuda": "12.6", "cuda_available": True,
            "device_count": 1,
            "devices": [{"index": 0, "name": "NVIDIA GeForce RTX 3060", "capability": "8.6"}],
            "cuda_op": {"ok": True, "error": None}, **torch}
    return {"distributions": {"items": items}, "conda_meta": {"packages": []}, "torch": info}


def test_verdict_healthy_gpu() -> None:
    v = judge(TORCH, "ok", _facts(), "linux")
    assert v.ok and v.device == "NVIDIA GeForce RTX 3060" and v.torch_version == "2.7.0+cu126"


def test_verdict_problems() -> None:
    data = _facts(version="2.7.1", cuda_available=False, cuda_error="no driver")
    data["distributions"]["items"].append({"name": "torch", "version": "2.5.0",
                                           "installer": "conda", "location": "/u/.local"})
    data["conda_meta"]["packages"].append({"name": "pytorch", "version": "2.5.0", "build": "cpu_1",
                                           "channel": "conda-forge"})
    v = judge(TORCH, "ok", data, "linux")
    text = " | ".join(p.message for p in v.problems)
    assert not v.ok
    assert "torch is 2.7.1" in text and "no driver" in text  # the plan's own rule
    # the doctor's findings, by the doctor's rules (issue 16 item 2)
    assert "More than one torch is installed" in text and "Two owners of torch" in text


def test_verdict_cuda_op_failure_and_unpaired_vision() -> None:
    data = _facts(cuda_op={"ok": False, "error": "no kernel image is available"})
    data["distributions"]["items"][1]["version"] = "0.21.0+cu126"
    messages = [p.message for p in judge(TORCH, "ok", data, "linux").problems]
    assert any("torchvision is 0.21.0+cu126" in m for m in messages)
    assert any("no kernel image" in m for m in messages)


def test_verdict_macos_mps_and_import_errors() -> None:
    cpu = TorchChoice("2.7.0", "pypi", None, "0.22.0", "2.7.0")
    data = _facts(version="2.7.0", mps_available=True)
    for item, v in zip(data["distributions"]["items"], ("2.7.0", "0.22.0", "2.7.0")):
        item["version"] = v
    assert judge(cpu, "ok", data, "macos").device == "Apple GPU (MPS)"
    broken = judge(cpu, "ok", {"torch": {"status": "import-error",
                                         "error": {"message": "libcudnn.so.9 missing"}}}, "linux")
    assert not broken.ok and "libcudnn" in broken.problems[0].message
    assert not judge(cpu, "timeout", {}, "linux").ok


def test_setup_lock_refuses_a_second_setup_and_dies_with_its_holder(tmp_path: Path) -> None:
    """Issue 10 item 11: an OS file lock (filelock), so a setup killed with SIGKILL frees it."""
    import os
    import subprocess
    import sys
    import time

    from coursekit.errors import EnvironmentProblem
    from coursekit.setup.run.execute import setup_lock

    lock = tmp_path / "state" / "setup.lock"
    with setup_lock(lock):
        assert (tmp_path / "state" / "setup.lock.pid").read_text() == str(os.getpid())
    lock.write_text("999999999")  # a stale file from an older coursekit: not a lock
    with setup_lock(lock):
        pass
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, filelock; "
                               "lk = filelock.FileLock(sys.argv[1]); lk.acquire(); print('held', flush=True); "
                               "time.sleep(60)", str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(EnvironmentProblem, match="another `coursekit setup` is running"):
            with setup_lock(lock):
                pass
        holder.kill()  # SIGKILL: no clean-up ran
        holder.wait()
        time.sleep(0.1)
        with setup_lock(lock):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_interactive_pip_shows_its_progress_and_keeps_a_log(tmp_path: Path) -> None:
    from coursekit.setup.engines.base import EnvLocation
    from coursekit.setup.engines.state import EnvState
    from coursekit.setup.run import pip as execpip
    from coursekit.setup.run import pipsafe

    seen: list[tuple[list[str], bool, dict[str, str]]] = []

    def runner(argv, *, timeout, env=None, cwd=None, input=None, capture=True):  # type: ignore[no-untyped-def]
        seen.append(([str(a) for a in argv], capture, dict(env or {})))
        return ToolResult(tuple(argv), 0)

    ctx, _ = _ctx(FakeRunner())
    ctx.runner = runner
    ctx.home = tmp_path
    ctx.environ = {"HOME": str(tmp_path), "PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": "x"}
    ctx.options = RunOptions(interactive=True)
    ctx.location = EnvLocation("pt", tmp_path, tmp_path / "bin" / "python", "embedded", True)
    state = EnvState(ctx.location)
    execpip._pip(ctx, STEP, ["torch==2.7.0+cu126"], pipsafe.IndexSource(url="https://x/cu126"),
                   state)
    argv, capture, env = seen[0]
    assert capture is False and "--progress-bar" not in argv
    assert argv[argv.index("--log") + 1] == str(tmp_path / "logs" / "install_torch.log")
    assert "PIP_INDEX_URL" not in env and env["PIP_CONFIG_FILE"] == os.devnull


@pytest.mark.parametrize(("exe", "kind"), [("C:/mf/condabin/conda.bat", "conda"),
                                           ("C:/mf/Scripts/conda.exe", "conda"),
                                           ("C:/mm/micromamba.exe", "micromamba"),
                                           ("/opt/mf/bin/mamba", "mamba")])
def test_engine_kind_from_windows_shims(exe: str, kind: str) -> None:
    from coursekit.setup.engines.discovery import _kind_of

    assert _kind_of(exe) == kind


def _env_with_python(tmp_path: Path, version: str) -> tuple[dict[str, str], Path]:
    from coursekit.setup.engines.discovery import embedded_env_prefix
    from tests.helpers import make_fake_exe

    env = {"HOME": str(tmp_path / "home"), "COURSEKIT_HOME": str(tmp_path / "ck"),
           "PATH": "/usr/bin:/bin"}
    prefix = embedded_env_prefix("pt", env)
    (prefix / "conda-meta").mkdir(parents=True)
    facts = f'{{"prefix": "{prefix}", "executable": "x", "version": "{version}"}}'
    make_fake_exe(prefix / "bin", "python", f"echo '{facts}'\n")
    return env, prefix


@pytest.mark.parametrize("answer", [True, False])
def test_other_python_asks_and_only_a_yes_or_force_deletes(tmp_path: Path, answer: bool) -> None:
    from coursekit.errors import CoursekitError
    from coursekit.setup.run.steps import prepare

    env, prefix = _env_with_python(tmp_path, "3.11.7")
    questions: list[str] = []

    def confirm(question: str) -> bool:
        questions.append(question)
        return answer

    ctx, _ = _ctx(FakeRunner())
    from coursekit.proc import run_tool

    ctx.runner, ctx.environ, ctx.confirm = run_tool, env, confirm
    if answer:
        prepare(ctx)
        assert not prefix.exists() and ctx.location is None
    else:
        with pytest.raises(CoursekitError, match="needs Python 3.12") as info:
            prepare(ctx)
        assert "--force" in (info.value.fix or "") and prefix.exists()
        assert info.value.exit_code == 1
    assert "Python 3.11.7" in questions[0] and "Delete it" in questions[0]


def test_same_python_is_never_questioned(tmp_path: Path) -> None:
    from coursekit.proc import run_tool
    from coursekit.setup.run.steps import prepare

    env, prefix = _env_with_python(tmp_path, "3.12.1")
    ctx, _ = _ctx(FakeRunner())
    ctx.runner, ctx.environ = run_tool, env
    ctx.confirm = lambda q: pytest.fail("asked")  # type: ignore[assignment]
    prepare(ctx)
    assert ctx.location is not None and ctx.location.confirmed and prefix.exists()


def test_disk_note_only_when_the_disk_is_nearly_full(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil as _shutil

    from coursekit.setup.run import preflight

    ctx, _ = _ctx(FakeRunner())
    ctx.environ = {"HOME": str(tmp_path), "COURSEKIT_HOME": str(tmp_path / "ck")}
    usage = _shutil.disk_usage(tmp_path)
    monkeypatch.setattr(preflight.shutil, "disk_usage",
                        lambda p: usage._replace(free=int(2.5e9)))
    note = preflight.disk_note(ctx)
    assert note is not None and "only 2.5 GB free" in note and "about 10 GB" in note
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda p: usage._replace(free=int(50e9)))
    assert preflight.disk_note(ctx) is None


def test_verdict_only_checks_the_pins_the_spec_installs() -> None:
    data = _facts()
    data["distributions"]["items"] = data["distributions"]["items"][:1]  # torch only
    assert not judge(TORCH, "ok", data, "linux").ok
    assert judge(TORCH, "ok", data, "linux", pins=("torch==2.7.0+cu126",)).ok


def test_a_students_own_pip_is_not_a_leftover(tmp_path: Path) -> None:
    import subprocess
    import sys

    from coursekit.setup.run.preflight import leftover_installers

    prefix = tmp_path / "env"
    fake = [sys.executable, "-c", "import time; time.sleep(30)", str(prefix / "bin" / "python"),
            "-m", "pip", "install", "torch"]
    mine = subprocess.Popen(fake)  # same session as the test: a student's shell
    orphan = subprocess.Popen(fake, start_new_session=True)  # as run_tool starts tools
    try:
        found = leftover_installers(prefix)
        assert mine.pid not in found and orphan.pid in found
    finally:
        for p in (mine, orphan):
            p.kill()
            p.wait()


def test_a_step_this_executor_does_not_know_fails_clearly() -> None:
    from coursekit.setup.run.steps import run_step

    ctx, _ = _ctx(FakeRunner())
    with pytest.raises(StepFailed, match="cannot carry out step 'warm_cache'"):
        run_step(ctx, Step("warm_cache", "Warm the cache", ()))


def test_kernel_is_named_after_the_env_not_always_pt(tmp_path: Path) -> None:
    """An instructor's spec with env.name = "dl": the kernel is 'dl' / 'Python (dl)', as the
    plan's `ipykernel install --name dl` says and the doctor checks, and a student's own 'pt'
    kernel is left alone."""
    import dataclasses
    import json

    from coursekit.setup.engines.base import EnvLocation
    from coursekit.setup.engines.state import EnvState
    from coursekit.setup.run.steps import run_step

    data = tmp_path / "jupyter"
    python = tmp_path / "dl" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    theirs = data / "kernels" / "pt" / "kernel.json"
    theirs.parent.mkdir(parents=True)
    theirs.write_text('{"argv": ["/elsewhere/python"], "display_name": "Python (pt)"}')
    ctx, _ = _ctx(FakeRunner(ToolResult(("python",), 0, f"{data}\n"),
                             ToolResult(("python",), 0, f"{data}\n")))
    ctx.plan = dataclasses.replace(ctx.plan, env_name="dl")
    ctx.location = EnvLocation("dl", tmp_path / "dl", python, "embedded", True, "3.12.1")
    ctx.state = EnvState(ctx.location, {"ipykernel": "6.29.5"})
    step = ctx.plan.step("register_kernel")
    did, _ = run_step(ctx, step)
    spec = json.loads((data / "kernels" / "dl" / "kernel.json").read_text())
    assert did and spec["display_name"] == "Python (dl)" and spec["argv"][0] == str(python)
    assert json.loads(theirs.read_text())["argv"] == ["/elsewhere/python"]
    assert run_step(ctx, step) == (False, f"'Python (dl)' in {data / 'kernels' / 'dl'}")


def test_windows_activation_lines_paste_into_powershell(tmp_path: Path) -> None:
    """PowerShell runs a quoted path only after `&` (`"C:\\...\\jupyter.exe" lab` is a parse
    error), and text after a command must be a `#` comment."""
    from coursekit.setup.engines.base import EnvLocation
    from coursekit.setup.run.steps import activation

    ctx, _ = _ctx(FakeRunner())
    prefix = Path("C:/Users/Ada Lovelace/AppData/Local/coursekit/envs/pt")
    ctx.location = EnvLocation("pt", prefix, prefix / "python.exe", "embedded", True, "3.12.1")
    ctx.os_name = "windows"
    path_line, jupyter_line = activation(ctx)
    assert path_line.startswith('$env:PATH = "') and path_line.endswith('$env:PATH"   # PowerShell')
    assert str(prefix / "Scripts") in path_line
    assert jupyter_line == f'& "{prefix / "Scripts" / "jupyter.exe"}" lab'
    ctx.os_name = "linux"
    assert activation(ctx)[1] == f'"{prefix / "bin" / "jupyter"}" lab'


def test_an_env_that_cannot_be_deleted_is_a_failed_step_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--force on Windows while a kernel still runs the env's python.exe: rmtree raises
    PermissionError; setup reports it with a fix (exit 1) instead of crashing (exit 4)."""
    from coursekit.proc import run_tool
    from coursekit.setup.run import steps as execsteps
    from coursekit.setup.run.execute import _carry_out

    env, prefix = _env_with_python(tmp_path, "3.11.7")

    def locked(path: object, *args: object, **kw: object) -> None:
        raise PermissionError(13, "Access is denied", str(prefix / "python.exe"))

    monkeypatch.setattr(execsteps.shutil, "rmtree", locked)
    ctx, _ = _ctx(FakeRunner())
    ctx.runner, ctx.environ, ctx.options = run_tool, env, RunOptions(force=True)
    result = _carry_out(ctx)
    assert result.failure is not None and not result.ok
    assert "Removing the old env" in result.failure.message and "Access is denied" in \
        result.failure.message
    assert "Close Jupyter" in result.failure.fix and "--force" in result.failure.fix
    assert {o.state for o in result.outcomes} == {"not-run"} and prefix.exists()


@pytest.mark.parametrize(("engine", "env_name", "command"), [
    ("micromamba", "dl", "`micromamba env remove -n dl -y`"),
    ("conda", "pt", "`conda env remove -n pt -y`"),
    ("embedded", "pt", None),
])
def test_conda_torch_fix_names_the_users_tool_and_env(engine: str, env_name: str,
                                                      command: str | None) -> None:
    """A `conda install lightning` after setup put conda-forge's pytorch beside pip's torch:
    the verdict's fix line names the student's own tool and env (the built-in engine has no
    command to type), never a hard-coded `conda remove -n pt`."""
    data = _facts()
    data["conda_meta"]["packages"] = [{"name": "pytorch", "version": "2.7.0", "build": "cpu_1"}]
    verdict = judge(TORCH, "ok", data, "linux", engine=engine, env_name=env_name)
    fix = next(p.fix for p in verdict.problems if "Two owners of torch" in p.message)
    assert "coursekit setup" in fix
    if command is None:
        assert "remove -n" not in fix
    else:
        assert command in fix


def _pip_log_line(text: str) -> str:
    return f"2026-11-23T19:26:22,670 {text}\n"


def test_at_a_terminal_a_failure_is_judged_from_pips_log(tmp_path: Path) -> None:
    """At a terminal pip's output goes to the screen (capture=False), so the result holds no
    text: the failure used to be a generic 'tool' failure, never retried. Now pip's --log
    decides: a network failure is retried, each attempt judged on a fresh log."""
    log = tmp_path / "install_torch.log"
    attempts: list[bool] = []

    def runner(argv, *, timeout, env=None, cwd=None, input=None, capture=True):  # type: ignore[no-untyped-def]
        attempts.append(log.exists())
        if len(attempts) == 1:
            log.write_text(_pip_log_line("Starting new HTTPS connection (1): x:443")
                           + _pip_log_line("WARNING: Retrying (Retry(total=0)) after connection "
                                           "broken by 'NewConnectionError(...)': /whl/torch/")
                           + _pip_log_line("ERROR: No matching distribution found for torch"))
            return ToolResult(tuple(argv), 1)
        return ToolResult(tuple(argv), 0)

    ctx, slept = _ctx(FakeRunner())
    ctx.runner = runner
    assert _run(ctx, STEP, ["pip"], timeout=10, network=True, capture=False, log=log).ok
    assert attempts == [False, False] and slept == [2]


@pytest.mark.parametrize(("source", "kind"), [("dead-port", "network"), ("empty-folder", "no-wheel")])
def test_real_pip_at_a_terminal_is_explained_from_its_log(tmp_path: Path, source: str,
                                                          kind: str) -> None:
    """Real pip, output not captured: a refused connection is 'network' (retried) and a wheel
    the source lacks is 'no-wheel', not 'conflict' (the debug log's traceback names
    ResolutionImpossible; only pip's WARNING/ERROR lines are read)."""
    import socket
    import sys

    from coursekit.proc import run_tool
    from coursekit.setup.run.tools import logged_messages

    # A bound, never-listening socket refuses connections; it stays bound until the test ends,
    # so no other process can take the port in between.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    if source == "dead-port":
        where = ["--index-url", f"http://127.0.0.1:{sock.getsockname()[1]}/simple"]
    else:
        (tmp_path / "wheels").mkdir()
        where = ["--no-index", "--find-links", str(tmp_path / "wheels")]
    log = tmp_path / "install_torch.log"
    argv = [sys.executable, "-m", "pip", "install", *where, "--retries", "1", "--timeout", "2",
            "--log", str(log), "nosuchpkg-coursekit==1.0"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull,
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    ctx, slept = _ctx(FakeRunner(), attempts=2)
    ctx.runner = run_tool
    with pytest.raises(StepFailed) as info:
        _run(ctx, STEP, argv, timeout=120, network=True, capture=False, env=env, log=log)
    failure = info.value.failure
    assert failure.kind == kind, logged_messages(log)
    assert failure.tool_line == "ERROR: No matching distribution found for nosuchpkg-coursekit==1.0"
    assert slept == ([2] if kind == "network" else [])
    assert "ResolutionImpossible" in log.read_text() or kind == "network"
    sock.close()


def test_every_failure_kind_is_documented() -> None:
    """`--json` readers key on failure.kind: each kind the executor can report is in docs/json.md or docs/setup.md."""
    import ast
    import re

    root = Path(__file__).resolve().parents[1]
    kinds = set()
    for name in ("failures", "steps", "pip", "tools"):
        tree = ast.parse((root / "coursekit" / "setup" / "run" / f"{name}.py").read_text())
        kinds |= {node.args[0].value for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Failure"
                  and node.args and isinstance(node.args[0], ast.Constant)}
    readme = " ".join(" ".join(p.read_text() for p in (root / "docs").glob("*.md")).split())
    documented = re.search(r"`failure` \(`kind`: (.*?); `message`", readme)
    assert documented is not None
    assert kinds >= {"network", "disk", "solver", "conflict", "no-wheel", "timeout", "tool", "verify"}
    assert {k for k in kinds if not re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])",
                                              documented.group(1))} == set()


def test_an_installer_working_on_a_neighbour_env_is_not_a_leftover(tmp_path: Path) -> None:
    """A pip for `pt-old` (its path starts with pt's) is no business of pt's setup."""
    import subprocess
    import sys

    from coursekit.setup.run.preflight import leftover_installers

    prefix = tmp_path / "pt"
    sleep = [sys.executable, "-c", "import time; time.sleep(30)"]
    neighbour = subprocess.Popen([*sleep, str(tmp_path / "pt-old" / "bin" / "python"), "-m", "pip",
                                  "install", "torch"], start_new_session=True)
    embedded = subprocess.Popen([*sleep, "-m", "coursekit.setup.engines.embedded", "create", "--prefix",
                                 str(prefix)], start_new_session=True)
    from coursekit.setup.engines.embedded import command

    isolated = command(sys.executable, prefix, ["conda-forge"], ["python=3.12"], isolated=True)
    helper = subprocess.Popen([*sleep, *isolated[1:]], start_new_session=True)  # setup's own form
    try:
        found = leftover_installers(prefix)
        assert neighbour.pid not in found and embedded.pid in found and helper.pid in found
    finally:
        for p in (neighbour, embedded, helper):
            p.kill()
            p.wait()


def test_a_dependent_with_a_dot_in_its_name_is_found_once_installed() -> None:
    """The state probe keys distributions by their PEP 503 name (`ruamel-yaml`); looking one
    up as the spec writes it (`ruamel.yaml>=0.18`) found nothing, so setup reinstalled it on
    every run and then failed with 'the command succeeded but still missing ruamel.yaml'."""
    import dataclasses

    from coursekit.setup.engines.state import Dist, EnvState
    from coursekit.setup.run.pip import _dependents_missing

    ctx, _ = _ctx(FakeRunner())
    ctx.plan = dataclasses.replace(ctx.plan, pip_dependents=("ruamel.yaml>=0.18", "Torch_Geometric"))
    state = EnvState(None, dists={
        "ruamel-yaml": (Dist("ruamel-yaml", "0.18.6", "pip", "/sp"),),
        "torch-geometric": (Dist("torch-geometric", "2.6.1", "pip", "/sp"),)})
    assert state.one("ruamel.yaml") is not None and state.one("RUAMEL_yaml") is not None
    assert _dependents_missing(ctx, state) == []


def test_a_conda_package_with_an_underscore_counts_as_installed(tmp_path: Path) -> None:
    """conda-forge names keep '_' (jupyter_server, nb_conda_kernels); spec_name folds it to
    '-', so such a package in the spec was 'missing' on every run and failed create_env."""
    import dataclasses

    from coursekit.setup.engines.base import EnvLocation
    from coursekit.setup.engines.state import Dist, EnvState
    from coursekit.setup.run.steps import _env_missing

    ctx, _ = _ctx(FakeRunner())
    ctx.plan = dataclasses.replace(ctx.plan, conda_packages=("jupyter_server", "nb_conda_kernels"))
    location = EnvLocation("pt", tmp_path, tmp_path / "bin" / "python", "embedded", True, "3.12.1")
    state = EnvState(location, {"python": "3.12.1", "pip": "25.1", "jupyter_server": "2.14",
                                "nb_conda_kernels": "2.5"},
                     {"pip": (Dist("pip", "25.1", "conda", "/sp"),)})
    assert _env_missing(ctx, state) == ([], "")


@pytest.mark.parametrize(("stderr", "kind"), [
    ("Downloading torch-2.7.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl (503.2 MB)\n"
     "Segmentation fault\n", "tool"),  # a size, not an HTTP status: not retried as network
    ("Fatal Python error: Aborted\nThread 0x00007f502 (most recent call first)\n", "tool"),
    ("CondaHTTPError: HTTP 503 SERVICE UNAVAILABLE for url <https://conda.anaconda.org/x>\n",
     "network"),
    ("error: Download failed: HTTP status server error (502 Bad Gateway)\n", "network"),
])
def test_gateway_statuses_are_network_but_sizes_are_not(stderr: str, kind: str) -> None:
    assert classify("Install torch", _result(stderr)).kind == kind


def test_an_unwritable_kernels_folder_is_a_failed_step_not_a_traceback(tmp_path: Path) -> None:
    """A ~/.local/share/jupyter that the student cannot write (root-owned after `sudo
    jupyter ...`; here a file in the way, since the tests may run as root) fails the kernel
    step with the folder and a fix, instead of an OSError traceback (exit 4)."""
    from coursekit.setup.engines.base import EnvLocation
    from coursekit.setup.engines.state import EnvState
    from coursekit.setup.run.steps import run_step

    data = tmp_path / "jupyter"
    data.mkdir()
    (data / "kernels").write_text("not a folder")
    ctx, _ = _ctx(FakeRunner(ToolResult(("python",), 0, f"{data}\n")))
    python = tmp_path / "pt" / "bin" / "python"
    ctx.location = EnvLocation("pt", tmp_path / "pt", python, "embedded", True, "3.12.1")
    ctx.state = EnvState(ctx.location, {"ipykernel": "6.29.5"})
    with pytest.raises(StepFailed) as info:
        run_step(ctx, ctx.plan.step("register_kernel"))
    failure = info.value.failure
    assert "cannot write" in failure.message and str(data / "kernels") in failure.fix
