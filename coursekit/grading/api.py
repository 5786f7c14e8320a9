"""The API every lab grader is written against.

A grader is ``labs/<lab>/grader.py``, shipped inside the package and never copied
to the student. It defines check functions in order::

    from coursekit.grading.api import CheckFailed, LabContext, check

    @check(points=2)
    def sigmoid_net_vanishes(lab: LabContext) -> str:
        \"\"\"A deep sigmoid MLP with N(0,1) weights loses the gradient.\"\"\"
        mod = lab.load("vanishing.py")          # the student's file, imported fresh
        for seed in lab.seeds:                  # every seed must pass
            ...                                 # measure it yourself, never trust returned numbers
            if ratio > 1e-3:
                raise CheckFailed(f"seed {seed}: first/last gradient ratio {ratio:.1e}; "
                                  "did you forget to draw the weights from N(0, 1)?")
        return f"first/last ratio {ratio:.1e}"  # shown to the student on success

A check passes when it returns, fails with :class:`CheckFailed` (the student's
code is not right yet; the message names the mistake), and any other exception
raised *inside the student's code* is reported as a failure too. An exception in
the grader itself is a :class:`GraderError`: grading could not be done (exit 3).

This module imports only the standard library at import time (torch and
matplotlib lazily), because it runs in the course environment's interpreter.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2)
_MARK = "_coursekit_check"


class CheckFailed(Exception):
    """The student's code does not meet this check yet. The message names the mistake."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StudentCodeError(CheckFailed):
    """The student's code raised, would not import, or returned garbage."""


class GraderError(Exception):
    """The grader itself is broken or the environment cannot run it (never the student's fault)."""


@dataclass(frozen=True)
class CheckSpec:
    """One registered check."""

    name: str
    points: int
    title: str
    func: Callable[[LabContext], str | None]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check, as the runner reports it."""

    name: str
    title: str
    passed: bool
    points: int
    max_points: int
    message: str
    duration_s: float
    error: bool = False  # True: the grader broke on this check (GraderError or a grader bug)


def check(
    points: int = 1, name: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a check function; its docstring's first line is the title shown to students."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        doc = inspect.getdoc(func) or func.__name__.replace("_", " ")
        spec = CheckSpec(name or func.__name__, points, doc.splitlines()[0], func)
        setattr(func, _MARK, spec)
        return func

    return mark


def collect_checks(module: types.ModuleType) -> list[CheckSpec]:
    """The checks a grader module defines, in source order."""
    specs = [getattr(obj, _MARK) for obj in vars(module).values() if hasattr(obj, _MARK)]
    return sorted(specs, key=lambda s: s.func.__code__.co_firstlineno)


@dataclass
class LabContext:
    """What a check gets: the student's folder, seeds, and helpers."""

    student_dir: Path
    figures_dir: Path
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    report: Callable[[str], None] = field(default=lambda msg: None)
    _modules: dict[str, types.ModuleType] = field(default_factory=dict)

    def load(self, filename: str) -> types.ModuleType:
        """Import the student's ``filename`` (once per grading run) and return the module.

        Import problems (syntax error, an exception at import, ``sys.exit``) become a
        :class:`StudentCodeError` that names the file and line.
        """
        if filename in self._modules:
            return self._modules[filename]
        path = self.student_dir / filename
        if not path.is_file():
            raise StudentCodeError(f"{filename} is missing from {self.student_dir}.")
        mod_name = "student_" + path.stem
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise StudentCodeError(f"{filename} cannot be imported.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        entry = str(self.student_dir)
        sys.path.insert(0, entry)
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise StudentCodeError(
                f"{filename} line {exc.lineno}: syntax error: {exc.msg}"
            ) from None
        except SystemExit as exc:
            raise StudentCodeError(
                f"{filename} called sys.exit({exc.code!r}) while being imported; "
                'put script code under `if __name__ == "__main__":`.'
            ) from None
        except BaseException as exc:  # noqa: BLE001 - any student failure is a verdict
            raise StudentCodeError(
                f"importing {filename} raised {describe_exception(exc, path)}"
            ) from None
        finally:
            # Take out the one entry put in above (wherever the student's import moved it),
            # and nothing the student's code added.
            if entry in sys.path:
                sys.path.remove(entry)
        self._modules[filename] = module
        return module

    def call(
        self, func: Callable[..., Any], *args: Any, what: str | None = None, **kwargs: Any
    ) -> Any:
        """Call a student function; an exception it raises becomes a :class:`StudentCodeError`."""
        label = what or f"{getattr(func, '__name__', 'your function')}()"
        try:
            return func(*args, **kwargs)
        except CheckFailed:
            raise
        except NotImplementedError:
            raise StudentCodeError(
                f"{label} is not implemented yet (it raised NotImplementedError)."
            ) from None
        except SystemExit as exc:
            raise StudentCodeError(f"{label} called sys.exit({exc.code!r}).") from None
        except Exception as exc:  # noqa: BLE001 - any student failure is a verdict
            raise StudentCodeError(
                f"{label} raised {describe_exception(exc, student_dir=self.student_dir)}"
            ) from None

    def seeded(self) -> Iterator[int]:
        """Iterate over the seeds, seeding torch (and random) before each; flushes denormals."""
        import random

        import torch

        # Denormals make vanishing-gradient nets ~10x slower on CPU (envs/SOURCES.md C-10).
        torch.set_flush_denormal(True)
        for seed in self.seeds:
            random.seed(seed)
            torch.manual_seed(seed)
            yield seed

    def figure(self, filename: str, draw: Callable[[Any], None]) -> Path | None:
        """Draw a PNG with matplotlib into the student's figures folder; never breaks grading.

        ``draw`` receives a matplotlib ``Figure``. Returns the path, or None if it could not be
        drawn.
        """
        try:
            import matplotlib

            matplotlib.use("Agg", force=True)
            import matplotlib.pyplot as plt

            self.figures_dir.mkdir(parents=True, exist_ok=True)
            fig = plt.figure(figsize=(7, 4.5))
            try:
                draw(fig)
                integer_ticks(fig)
                path = self.figures_dir / filename
                fig.savefig(path, dpi=110, bbox_inches="tight")
                return path
            finally:
                plt.close(fig)
        except Exception as exc:  # noqa: BLE001 - a figure never decides a grade
            self.report(f"figure {filename} could not be drawn: {type(exc).__name__}: {exc}")
            return None


def integer_ticks(fig: Any) -> None:
    """Put x ticks on whole numbers wherever every series is drawn at whole numbers (layers,
    blocks, steps): a tick at layer 2.5 means nothing."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.get_axes():
        xs = [
            x
            for line in ax.get_lines()
            if line.get_transform() == ax.transData
            for x in line.get_xdata()
        ]
        if xs and all(float(x).is_integer() for x in xs):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def describe_exception(
    exc: BaseException, student_file: Path | None = None, student_dir: Path | None = None
) -> str:
    """``TypeError: ... (at file.py line 12)``, naming the innermost frame in the student's code.

    With ``student_file`` or ``student_dir`` the frame must be in that file or folder; without
    either, the innermost frame outside the coursekit package.
    """
    where = ""
    root = student_dir.resolve() if student_dir is not None else None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if student_file is not None:
            mine = path == student_file
        elif root is not None:
            mine = _is_under(path, root)
        else:
            mine = not _is_under(path, _PACKAGE_ROOT)
        if mine:
            where = f" (at {path.name} line {frame.lineno})"
            break
    return f"{type(exc).__name__}: {exc}{where}"


_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # coursekit/ (or the worker's copy)


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError):
        return False


def _raised_in(exc: BaseException, folder: Path) -> bool:
    """True when any frame of ``exc``'s traceback runs a file inside ``folder``."""
    root = folder.resolve()
    return any(
        _is_under(Path(frame.filename), root) for frame in traceback.extract_tb(exc.__traceback__)
    )


def load_grader(path: Path) -> types.ModuleType:
    """Import a grader module from its file."""
    spec = importlib.util.spec_from_file_location(
        f"coursekit_grader_{path.parent.name.replace('-', '_')}", path
    )
    if spec is None or spec.loader is None:
        raise GraderError(f"cannot load grader {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise GraderError(f"grader {path} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def run_check(spec: CheckSpec, ctx: LabContext) -> CheckResult:
    """Run one check and classify its outcome; never raises for anything the check does.

    Passed: it returned. Failed: :class:`CheckFailed`, or any exception (``SystemExit``
    included) raised inside the student's code. Error (``error=True``, exit 3): a
    :class:`GraderError` or an exception raised only in the grader's own code.
    """
    ctx.report(f"checking: {spec.title}")
    start = time.monotonic()
    try:
        message = spec.func(ctx) or "ok"
        passed, error = True, False
    except CheckFailed as exc:
        message, passed, error = exc.message, False, False
    except GraderError as exc:
        message, passed, error = f"the grader could not run this check: {exc}", False, True
    except BaseException as exc:
        if _raised_in(exc, ctx.student_dir):  # the student's code raised: a verdict
            if isinstance(exc, SystemExit):
                message = (
                    "your code called sys.exit: "
                    f"{describe_exception(exc, student_dir=ctx.student_dir)}"
                )
            else:
                message = f"your code raised {describe_exception(exc, student_dir=ctx.student_dir)}"
            passed, error = False, False
        elif isinstance(exc, KeyboardInterrupt):
            raise
        else:  # a grader bug, reported as such
            message = f"the grader itself failed: {describe_exception(exc)}"
            passed, error = False, True
    return CheckResult(
        spec.name,
        spec.title,
        passed,
        spec.points if passed else 0,
        spec.points,
        message,
        time.monotonic() - start,
        error,
    )


def run_checks(grader_path: Path, ctx: LabContext) -> list[CheckResult]:
    """Run every check of the grader in this process, in order, and return the results.

    Isolation (time and memory limits, a separate interpreter) is the caller's job:
    ``coursekit lab N --check`` runs the checks inside a worker process
    (:mod:`coursekit.grading.worker`); tests of lab content call this directly.
    """
    return [run_check(spec, ctx) for spec in collect_checks(load_grader(grader_path))]
