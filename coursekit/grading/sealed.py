"""The sealed grading worker behind ``coursekit class grade`` (the grade of record).

Started like :mod:`coursekit.grading.worker` (``python -I -B -c BOOT RUNTIME``, config on
stdin), but for a submission the instructor did not write and must not trust. Before the
first line of student code runs it:

1. imports torch and the grader, collects the checks and snapshots every namespace a
   student could patch to fake a measurement (torch, builtins, math, the grader's globals
   by value, the grading API);
2. removes the few native doors torch and the OS offer to read raw memory or load native
   code without Python seeing it (``torch.from_file``, ``torch.ops.load_library``,
   ``torch._C._construct_storage_from_data_pointer``, ``os.memfd_create``);
3. installs a PEP 578 audit hook (which Python code can never remove) that refuses:
   reading files outside the interpreter's own folders and the submission (so the graders,
   hidden checks and reference solutions cannot be read or executed), writing any file,
   starting processes, sockets, ``ctypes``, ``gc`` object walks, ``sys._getframe`` /
   ``settrace`` / ``setprofile`` / traceback and generator frames (except for the standard
   library's module-name lookups and the grading API's own traceback reading), replacing a
   function's ``__code__``/defaults, and raising resource limits.

The signing key of the events file then lives only in a closure that no reachable object
refers to: student code can neither find the emitter (no frames, no ``gc``) nor read the
file the key came from. Everything the student's code does to itself (patching torch, the
grader's thresholds, ``builtins``) is caught by the snapshot; a check after such a patch is
failed. What the parent takes from this process is a list of (check name, passed, message)
for checks *it* parsed out of the grader and whose points *it* knows.

Residual risk, stated plainly: the audit hook is not a kernel sandbox (PEP 578 says so). A
bug in a native extension that hands out raw memory (NumPy's array interface pointed at a raw
address) would let code read the key. And the student's code runs in the process that measures
it: a monkeypatch that undoes itself before the check ends (a fake ``Tensor.norm`` that puts the
real one back on its last call), or an object the student returns that lies to the grader's
measurement (a tensor subclass with ``__torch_function__``), is not seen by the snapshot; the
graders must measure with objects they built themselves where it matters. For an
airtight grade run ``coursekit class grade`` inside a container or VM; the protocol is the
same. Stdlib-only until it imports torch.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from pathlib import Path
from typing import Any

# Standard-library functions allowed to call sys._getframe, as (file, function): each reads the
# caller's module name (namedtuple, TypeVar, Enum("Name", ...), logging's caller) and never hands
# the frame back. logging's ``currentframe`` is a lambda: allowed only when findCaller calls it.
_GETFRAME_CALLERS = (
    ("/collections/__init__.py", "namedtuple"),
    ("/typing.py", "_caller"),
    ("/enum.py", "_create_"),
    ("/warnings.py", "warn"),
)
# traceback functions that turn the current stack into text (torch's lazy CUDA calls do).
_STACK_TEXT = frozenset({"format_stack", "extract_stack", "print_stack"})
_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
_CODE_ATTRS = frozenset({"__code__", "__defaults__", "__kwdefaults__"})
_DENY_EVENTS = frozenset(
    {
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "sys._current_exceptions",
        "sys.settrace",
        "sys.setprofile",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "os.startfile",
        "resource.setrlimit",
        "resource.prlimit",
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.symlink",
        "os.link",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.utime",
        "shutil.rmtree",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "pty.spawn",
        "sys.addaudithook",
        "_posixsubprocess.fork_exec",
        "signal.pthread_kill",
        "winreg.OpenKey",
    }
)
_DENY_PREFIXES = (
    "ctypes.",
    "socket.",
    "_winapi.",
    "winreg.",
    "msvcrt.",
    "mmap.",
    "webbrowser.",
    "urllib.",
    "http.",
    "ftplib.",
    "smtplib.",
    "poplib.",
    "imaplib.",
    "nntplib.",
    "telnetlib.",
    "sqlite3.",
    "ensurepip.",
    "os.listxattr",
    "os.setxattr",
)
_LIST_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.glob/2"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_SECRET_PARTS = frozenset({"solution", "mistakes"})


class Refused(PermissionError):
    """What student code gets for an action the sealed worker does not allow."""


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def _norm(raw: Any) -> str | None:
    if isinstance(raw, int):
        return None  # an already-open descriptor: opened before the hook, or by allowed code
    try:
        text = os.fsdecode(raw)
    except TypeError:
        return ""
    return os.path.normcase(os.path.realpath(os.path.abspath(text)))


def _is_lab_secret(path: str) -> bool:
    """A lab's grader, solution or mistakes, wherever a coursekit might be installed."""
    parts = Path(path).parts
    return parts[-1:] == ("grader.py",) or (
        "labs" in parts and bool(_SECRET_PARTS.intersection(parts))
    )


def make_hook(
    read_roots: tuple[str, ...], deny_roots: tuple[str, ...], trusted_codes: frozenset[Any]
) -> Any:
    """The audit hook (a closure: its state is reachable from nowhere once installed)."""
    busy = [False]
    getframe = sys._getframe

    def caller_ok(trigger: Any, attr: str) -> bool:
        if attr == "sys._getframe":
            name = trigger.f_code.co_filename.replace("\\", "/")
            func = trigger.f_code.co_name
            if name.endswith("/traceback.py"):  # these return strings, never a frame
                return func in _STACK_TEXT
            if name.endswith("/logging/__init__.py") and func == "<lambda>":
                caller = trigger.f_back
                return (
                    caller is not None
                    and caller.f_code.co_name == "findCaller"
                    and caller.f_code.co_filename == trigger.f_code.co_filename
                )
            return any(name.endswith(f) and func == fn for f, fn in _GETFRAME_CALLERS)
        # traceback/tb_frame reads: only traceback.py and the grading API's helpers, called
        # (with nothing else in between) from a trusted API function whose result is a string
        frame = trigger
        for _ in range(12):
            if frame is None:
                return False
            if frame.f_code in trusted_codes:
                return True
            name = frame.f_code.co_filename.replace("\\", "/")
            if not (name.endswith(("/traceback.py", "/linecache.py"))):
                return False
            frame = frame.f_back
        return False

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            _check(event, args)
        finally:
            busy[0] = False

    def _check(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path = _norm(args[0])
            if path is None:
                return
            mode = args[1] if len(args) > 1 else "r"
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            if (isinstance(mode, str) and any(c in mode for c in "wax+")) or flags & _WRITE_FLAGS:
                raise Refused(f"class grade: writing files is not allowed ({path})")
            if (
                not path
                or _under(path, deny_roots)
                or not _under(path, read_roots)
                or _is_lab_secret(path)
            ):
                raise Refused(f"class grade: reading {path} is not allowed")
            return
        if event in _DENY_EVENTS or event.startswith(_DENY_PREFIXES):
            raise Refused(f"class grade: {event} is not allowed")
        if event in _LIST_EVENTS:
            path = _norm(args[0] if args and args[0] is not None else ".")
            if path is not None and (not _under(path, read_roots) or _under(path, deny_roots)):
                raise Refused(f"class grade: listing {path} is not allowed")
            return
        if (
            event == "sys._getframe"
            or event == "object.__getattr__"
            and len(args) > 1
            and args[1] in _FRAME_ATTRS
        ):
            what = "sys._getframe" if event == "sys._getframe" else str(args[1])
            trigger = getframe(2)  # 0: _check, 1: hook, 2: the code that raised the event
            if not caller_ok(trigger, what):
                raise Refused(f"class grade: {what} is not allowed")
            return
        if event == "object.__setattr__" and len(args) > 1 and args[1] in _CODE_ATTRS:
            raise Refused(f"class grade: replacing {args[1]} is not allowed")

    return hook


def _close_native_doors() -> list[str]:
    """Remove the ways to read raw memory or load native code that bypass the audit hook."""
    import torch

    closed = []

    def refused(*_a: Any, **_k: Any) -> Any:
        raise Refused("class grade: this torch/os function is not allowed")

    for owner, name in (
        (os, "memfd_create"),
        (sys.modules.get("posix"), "memfd_create"),
        (torch, "from_file"),
        (torch.UntypedStorage, "from_file"),
        (torch.TypedStorage, "from_file"),
        (torch.ops, "load_library"),
        (torch.classes, "load_library"),
        (torch._C, "_construct_storage_from_data_pointer"),
        (torch._C, "_load_library"),
    ):
        if owner is not None and hasattr(owner, name):
            try:
                setattr(owner, name, refused)
                closed.append(name)
            except (AttributeError, TypeError):
                pass
    return closed


def _run(cfg: dict[str, Any], emit: Any, install: Any) -> None:
    from coursekit.grading import api, worker

    try:
        info = worker._setup_torch(int(cfg.get("threads", 1)))
    except BaseException as exc:  # noqa: BLE001 - any failure here is the environment's
        emit(
            {
                "e": "fatal",
                "kind": "env",
                "message": f"torch could not be imported: {type(exc).__name__}: {exc}",
            }
        )
        return
    info["memory_limit"] = worker._cap_memory(int(cfg["memory_mb"]))
    emit({"e": "ready", **info})
    try:
        grader = api.load_grader(Path(cfg["grader"]))
        specs = api.collect_checks(grader)
    except api.GraderError as exc:
        emit({"e": "fatal", "kind": "grader", "message": str(exc)})
        return
    emit({"e": "loaded", "checks": [s.name for s in specs]})
    ctx = api.LabContext(
        student_dir=Path(cfg["student_dir"]),
        figures_dir=Path(cfg["figures_dir"]),
        seeds=tuple(cfg.get("seeds", api.DEFAULT_SEEDS)),
        report=lambda msg: None,
    )
    import builtins
    import math
    import pathlib
    import traceback

    import torch
    import torch.nn.functional

    namespaces = [
        ("torch", torch),
        ("torch.nn", torch.nn),
        ("torch.nn.functional", torch.nn.functional),
        ("torch.nn.init", torch.nn.init),
        ("torch.autograd", torch.autograd),
        ("torch.Tensor", torch.Tensor),
        ("torch.nn.Module", torch.nn.Module),
        ("torch.nn.Linear", torch.nn.Linear),
        ("builtins", builtins),
        ("math", math),
        ("coursekit.grading.api", api),
        ("the grader", grader),
        ("json", json),
        ("hmac", hmac),
        ("os", os),
        ("traceback", traceback),
        ("pathlib.Path", pathlib.Path),
        ("pathlib.PurePath", pathlib.PurePath),
        ("os.path", os.path),
        ("api.LabContext", api.LabContext),
        ("api.CheckFailed", api.CheckFailed),
        ("api.CheckResult", api.CheckResult),
        ("api.CheckSpec", api.CheckSpec),
    ]
    _close_native_doors()
    snap = worker._snapshot(namespaces)
    modules = dict(sys.modules)  # a module swapped in sys.modules reaches the grader's imports
    tampered = worker._tampered
    run_check = _student_proof(api)
    install(
        frozenset(
            {api.describe_exception.__code__, api._raised_in.__code__, api._is_under.__code__}
        )
    )
    bad: str | None = None
    for spec in specs:
        emit({"e": "begin", "name": spec.name})
        if bad is None:
            result = run_check(spec, ctx)
            changed = tampered(snap)
            changed += [
                f"sys.modules[{name!r}]"
                for name, mod in modules.items()
                if sys.modules.get(name) is not mod
            ]
            if changed:
                bad = ", ".join(changed[:5])
        if bad is not None:
            emit(
                {
                    "e": "result",
                    "name": spec.name,
                    "passed": False,
                    "error": False,
                    "message": f"your code replaced {bad} (monkeypatching); measurements made "
                    "after that cannot be trusted.",
                    "duration_s": 0.0,
                }
            )
            continue
        emit(
            {
                "e": "result",
                "name": result.name,
                "passed": result.passed,
                "error": result.error,
                "message": worker._annotate(result.message, int(cfg["memory_mb"]))[:4000],
                "duration_s": round(result.duration_s, 3),
            }
        )
    emit({"e": "done"})


def _student_proof(api: Any) -> Any:
    """``api.run_check`` where what the student's code can raise is always the student's:
    a ``GraderError`` raised through student code, or a ``KeyboardInterrupt`` (nobody sends this
    worker SIGINT: the parent kills it; ``_thread.interrupt_main`` or ``signal.raise_signal``
    would otherwise turn a failing submission into "could not grade")."""
    check_result, check_spec, run_check = api.CheckResult, api.CheckSpec, api.run_check
    grader_error, student_error, raised_in = api.GraderError, api.StudentCodeError, api._raised_in

    def guarded(spec: Any, ctx: Any) -> Any:
        func = spec.func

        def wrapped(lab: Any) -> Any:
            try:
                return func(lab)
            except grader_error as exc:
                if raised_in(exc, lab.student_dir):
                    raise student_error(f"your code raised GraderError: {exc}") from None
                raise

        try:
            return run_check(check_spec(spec.name, spec.points, spec.title, wrapped), ctx)
        except KeyboardInterrupt:
            return check_result(
                spec.name,
                spec.title,
                False,
                0,
                spec.points,
                "your code interrupted grading (KeyboardInterrupt)",
                0.0,
            )

    return guarded


def _emitter(path: str, key: bytes) -> Any:
    """A closure that signs and appends events; the key is in no attribute or global."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    write, dumps, new, sha = os.write, json.dumps, hmac.new, hashlib.sha256

    def emit(event: dict[str, Any]) -> None:
        payload = dumps(event, sort_keys=True)
        mac = new(key, payload.encode(), sha).hexdigest()
        write(fd, (dumps({"p": payload, "m": mac}) + "\n").encode())

    return emit


def main() -> None:
    """Entry point: config from stdin, seal, grade, leave with ``os._exit``."""
    line = sys.stdin.readline()
    sys.stdin.close()
    cfg = json.loads(line)
    emit = _emitter(cfg.pop("events"), bytes.fromhex(cfg.pop("key")))
    del line
    exit_now = os._exit
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    python_dirs = [p for p in sys.path if p and os.path.isdir(p)]
    read_roots = tuple(
        os.path.normcase(os.path.realpath(p))
        for p in [
            *cfg.pop("read_roots"),
            *prefixes,
            *python_dirs,
            os.devnull,
            "/dev/urandom",
            "/dev/random",
        ]
    )
    deny_roots = tuple(os.path.normcase(os.path.realpath(p)) for p in cfg.pop("deny_roots"))

    def install(trusted: frozenset[Any]) -> None:
        sys.addaudithook(make_hook(read_roots, deny_roots, trusted))

    try:
        _run(cfg, emit, install)
    except BaseException as exc:  # noqa: BLE001 - reported, never swallowed silently
        try:
            emit({"e": "fatal", "kind": "worker", "message": f"{type(exc).__name__}: {exc}"})
        except BaseException:  # noqa: BLE001, S110 - the events file is gone: nothing left to tell
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001, S110 - a student may have closed them; harmless
        pass
    exit_now(0)


if __name__ == "__main__":
    main()
