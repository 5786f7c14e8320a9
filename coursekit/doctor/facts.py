"""The doctor's facts: what was observed, as frozen dataclasses that round-trip through JSON.

Facts are collected by the checks in :mod:`coursekit.doctor.collect` (or loaded from a
saved report with ``--from``) and are the only input of the pure
:func:`coursekit.doctor.diagnose.diagnose`. Every section is optional: ``None`` means
the check that fills it did not run or failed (then :attr:`Facts.checks` says why).

:func:`to_data` / :func:`from_data` convert to and from plain JSON values; loading is
tolerant (unknown keys ignored, missing keys take their defaults) so that reports from
other coursekit versions with the same schema number still load.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.host import GpuInfo, ProbeFacts

T = TypeVar("T")


@dataclass(frozen=True)
class WslLibFacts:
    """WSL2: the Windows driver's libraries projected into ``/usr/lib/wsl/lib``
    (microsoft/WSL#8587)."""

    exists: bool = False  # the folder exists
    libcuda: tuple[str, ...] = ()  # libcuda* entries: "libcuda.so.1", "libcuda.so -> libcuda.so.1"
    on_loader_path: bool | None = (
        None  # in LD_LIBRARY_PATH or an /etc/ld.so.conf.d file (ld.wsl.conf)
    )
    nvidia_smi: bool = False  # /usr/lib/wsl/lib/nvidia-smi exists


@dataclass(frozen=True)
class PlatformFacts:
    """The machine and the Python running coursekit."""

    os: str  # "linux" | "windows" | "macos"
    arch: str  # "x86_64" | "arm64"
    machine: str = ""  # platform.machine() as reported
    bits: int = 64  # the OS: 64 on x86_64/arm64 (a 32-bit Python can still run there)
    macos_version: str | None = None
    wsl: bool = False
    apple_silicon: bool | None = None  # macOS: hw.optional.arm64 (true under Rosetta too)
    coursekit_python: str = ""  # "3.11.7 (64-bit) /usr/bin/python3"
    cuda_visible_devices: str | None = None
    jetson: bool = False  # NVIDIA Jetson (L4T): PyTorch's aarch64 CUDA wheels do not run there
    wsl_lib: WslLibFacts | None = None  # schema 2: WSL only
    glibc: str | None = (
        None  # Linux: the C library ("2.39", or "musl"); None: not Linux, or unknown
    )


@dataclass(frozen=True)
class GpuFacts:
    """What the drivers' tools said (through :func:`coursekit.setup.plan.detect.detect_host`)."""

    gpus: tuple[GpuInfo, ...] = ()
    cuda_driver_api: str | None = None  # the CUDA version the driver supports ("12.8")
    rocm_version: str | None = None
    notes: tuple[str, ...] = ()  # e.g. "nvidia-smi failed: ... couldn't communicate ..."
    smi_path: str | None = None
    pci_nvidia: int | None = (
        None  # schema 2: NVIDIA display controllers on the PCI bus (Linux sysfs; None: not read)
    )


@dataclass(frozen=True)
class MemoryFacts:
    """RAM (psutil)."""

    total_mib: int
    available_mib: int


@dataclass(frozen=True)
class DiskFacts:
    """Free space where something big will be written."""

    label: str  # "course env" | "pip cache" | "temp folder" (schema 2: where pip unpacks wheels)
    path: str  # the folder measured (the nearest existing parent of the target)
    free_mib: int
    total_mib: int


@dataclass(frozen=True)
class EnvFacts:
    """The course env: which engine knows it, where it is, whether its Python runs."""

    name: str = DEFAULT_ENV_NAME
    engines: tuple[str, ...] = ()  # "conda (/opt/miniforge3/bin/conda)", best first
    engine: str | None = None  # the engine kind that found the env
    exists: bool = False
    prefix: str | None = None
    python: str | None = None
    python_version: str | None = None
    confirmed: bool = False  # the Python ran and reported this prefix
    problem: str | None = None  # why it is not confirmed
    engine_problems: tuple[str, ...] = ()  # tools that failed while looking
    explicit: bool = False  # --python PATH: an interpreter chosen by the user, not the env


@dataclass(frozen=True)
class ShellFacts:
    """Schema 2: the shell coursekit ran from: which ``python``/``pip`` a student typing them
    gets."""

    path_python: str | None = None  # first python (python.exe, python3) on PATH
    path_python_is_env: bool | None = None  # it is the course env's Python (None: no env known)
    path_pip: str | None = None  # first pip on PATH
    path_pip_is_env: bool | None = None
    conda_prefix: str | None = None  # CONDA_PREFIX (the activated env)
    cwd: str = ""


@dataclass(frozen=True)
class ProjectFacts:
    """Schema 2: a uv project around the current folder (``uv run`` re-syncs torch to it)."""

    root: str  # the folder with pyproject.toml (and/or uv.lock)
    uv_lock: bool = False
    torch_requirement: str | None = None  # from [project] dependencies ("torch>=2.5")
    torch_sources: tuple[str, ...] = ()  # [tool.uv.sources] torch entries ("index=pytorch-cu130")
    indexes: tuple[str, ...] = ()  # [[tool.uv.index]]: "name=url" (+ " explicit")
    torch_backend: str | None = None  # [tool.uv.pip] torch-backend
    locked_torch: str | None = None  # torch in uv.lock: "2.9.1" or "2.9.1+cu128 (https://...)"


@dataclass(frozen=True)
class PipLogFacts:
    """Schema 2: the newest pip log (coursekit setup's ``logs/*.log``, or pip's ``--log`` file)."""

    path: str
    mtime: float | None = None
    tail: str = ""  # its last lines (errors are near the end), credentials redacted


@dataclass(frozen=True)
class KernelFacts:
    """One registered Jupyter kernelspec."""

    name: str
    display_name: str = ""
    directory: str = ""
    scope: str = ""  # "user" | "env" | "system" | "JUPYTER_PATH"
    argv0: str = ""
    argv0_exists: bool = False
    same_env: bool | None = None  # argv0 is the course env's Python (None: no env known)
    language: str = ""


@dataclass(frozen=True)
class SetupRecordFacts:
    """Schema 2 (optional): what ``coursekit setup`` recorded in the env it made
    (``<prefix>/etc/coursekit/setup.json``): the sources it used, credentials in URLs redacted.
    Fix lines and ``doctor --fix`` reuse them (:mod:`coursekit.doctor.recorded`)."""

    path: str = ""
    engine: str | None = None
    channels: tuple[str, ...] = ()
    channels_given: bool = False  # --channel replaced the env spec's channels
    index_url: str | None = None  # the torch trio's source: an index URL or a wheel folder
    index_is_folder: bool = False
    index_given: bool = False  # --index-url replaced the planned PyTorch index
    pypi_index_url: str | None = None  # pip config's index-url (a PyPI mirror), if any
    backend: str | None = None  # the build setup installed ("cu126")
    torch: str | None = None


@dataclass(frozen=True)
class ReleaseCheckFacts:
    """Online: the newest stable torch on the PyTorch index, beside the newest release this
    coursekit's data (``envs/torch-matrix.toml``) knows (:mod:`coursekit.doctor.releasecheck`).

    ``status``: ``checked`` (read now), ``cached`` (read earlier, within a day: ``checked_at``
    says when), ``failed`` (the index could not be read: ``detail`` says why), ``offline``
    (``COURSEKIT_OFFLINE``) or ``off`` (``COURSEKIT_NO_RELEASE_CHECK``). Absent in reports from
    coursekit versions without the check: unknown, never a problem."""

    status: str
    matrix_newest: str = ""  # the newest torch the collecting coursekit's data knows
    index: str = ""  # the index root read (default https://download.pytorch.org/whl)
    index_newest: str | None = None  # the newest final torch release it lists (None: none)
    checked_at: str = ""  # ISO 8601, UTC: when the index was read
    detail: str = ""  # failed: why (for ``-v``)


@dataclass(frozen=True)
class CheckRun:
    """How one check ran: ``ok``, ``crashed``, ``timeout`` or ``skipped`` (a parent failed)."""

    name: str
    status: str
    duration_ms: int = 0
    error: str | None = None
    timeout_s: float = 0.0


@dataclass(frozen=True)
class Facts:
    """Everything the doctor observed; ``None`` sections were not observed."""

    platform: PlatformFacts | None = None
    gpu: GpuFacts | None = None
    memory: MemoryFacts | None = None
    disks: tuple[DiskFacts, ...] | None = None
    env: EnvFacts | None = None
    probe: ProbeFacts | None = None
    kernels: tuple[KernelFacts, ...] | None = None
    shell: ShellFacts | None = None  # schema 2
    project: ProjectFacts | None = None  # schema 2: None also when there is no uv project
    pip_log: PipLogFacts | None = None  # schema 2
    setup: SetupRecordFacts | None = None  # schema 2, optional: the env's setup record
    release_check: ReleaseCheckFacts | None = None  # None: not collected (old report, --from)
    checks: tuple[CheckRun, ...] = ()
    coursekit_version: str = ""
    collected_at: str = ""  # ISO 8601, UTC
    student: str = ""  # `doctor --name` / COURSEKIT_STUDENT: who sent this report (class triage)

    def check(self, name: str) -> CheckRun | None:
        """How the check ``name`` ran (None when it is not part of this run)."""
        return next((c for c in self.checks if c.name == name), None)


def to_data(obj: Any) -> Any:
    """Facts (or any part of them) as plain JSON values."""
    from coursekit.jsondata import to_jsonable

    return to_jsonable(obj)


@functools.cache
def _is_optional(hint: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return True, args[0]
    return False, hint


@functools.cache
def _shape(hint: Any) -> tuple[bool, Any, str, Any]:
    """(optional, inner type, kind, item type) of a field's hint, worked out once per hint."""
    optional, inner = _is_optional(hint)
    origin = typing.get_origin(inner)
    if inner is Any:
        return optional, inner, "any", None
    if dataclasses.is_dataclass(inner) and isinstance(inner, type):
        return optional, inner, "dataclass", None
    if origin is tuple:
        return optional, inner, "tuple", typing.get_args(inner)[0]
    if origin is dict or inner is dict:
        return optional, inner, "dict", None
    if inner in (str, int, float, bool):
        return optional, inner, inner.__name__, None
    return optional, inner, "other", None


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as the type ``hint`` says; ValueError naming ``where`` when it is not."""
    return _converter(hint)(value, where, None)


class _Place:
    """Where a nested value is (``facts.disks[1]``), written out only when an error names it
    (class triage converts hundreds of reports: formatting every place costs more than
    converting the values)."""

    __slots__ = ("key", "parent")

    def __init__(self, parent: str | _Place, key: str | int) -> None:
        self.parent, self.key = parent, key

    def __str__(self) -> str:
        key = self.key
        return f"{self.parent}.{key}" if isinstance(key, str) else f"{self.parent}[{key}]"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _loc(where: str | _Place, key: str | int | None) -> str | _Place:
    """The place of a value (a :class:`_Place`: its text is made only when an error needs it)."""
    if key is None:
        return where
    return _Place(where, key)


Converter = typing.Callable[[Any, "str | _Place", "str | int | None"], Any]


@functools.cache
def _converter(hint: Any) -> Converter:
    """A function ``(value, where, key)`` converting JSON values for ``hint`` (one per hint)."""
    optional, inner, kind, item = _shape(hint)
    nullable = optional or kind == "any"

    def missing(where: str | _Place, key: str | int | None) -> Any:
        if nullable:
            return None
        raise ValueError(f"{_loc(where, key)}: missing value")

    if kind in ("any", "other"):

        def plain(value: Any, where: str | _Place, key: str | int | None) -> Any:
            return missing(where, key) if value is None else value

        return plain
    if kind == "dataclass":

        def nested(value: Any, where: str | _Place, key: str | int | None) -> Any:
            if value is None:
                return missing(where, key)
            return from_data(inner, value, _loc(where, key))

        return nested
    if kind == "tuple":
        item_kind = _shape(item)[2]
        convert_item = _converter(item)

        def sequence(value: Any, where: str | _Place, key: str | int | None) -> Any:
            if value is None:
                return missing(where, key)
            if not isinstance(value, list):
                raise ValueError(f"{_loc(where, key)}: expected a list")  # noqa: TRY004
            if item_kind == "str" and all(type(v) is str for v in value):
                return tuple(value)  # what converting each item gives, without the calls
            loc = _loc(where, key)
            return tuple(convert_item(v, loc, i) for i, v in enumerate(value))

        return sequence
    if kind == "dict":

        def mapping(value: Any, where: str | _Place, key: str | int | None) -> Any:
            if value is None:
                return missing(where, key)
            if not isinstance(value, dict):
                raise ValueError(f"{_loc(where, key)}: expected an object")  # noqa: TRY004
            return dict(value)

        return mapping

    def scalar(value: Any, where: str | _Place, key: str | int | None) -> Any:
        if value is None:
            return missing(where, key)
        if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, inner):
            raise ValueError(  # noqa: TRY004 - the contract is ValueError
                f"{_loc(where, key)}: expected {inner.__name__}, got {type(value).__name__}"
            )
        if kind == "int" and isinstance(value, bool):
            raise ValueError(f"{_loc(where, key)}: expected int, got bool")
        return value

    return scalar


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """(name, hint, required) of each field, once per class."""
    hints = _type_hints(cls)
    return tuple(
        (
            f.name,
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    )


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` once per class (class triage reads hundreds of reports)."""
    return typing.get_type_hints(cls)


_MISSING: Any = object()


def from_data(cls: type[T], data: Any, where: str | _Place = "facts") -> T:
    """Build dataclass ``cls`` from JSON values; ValueError names the first bad field."""
    if not isinstance(data, dict):
        raise TypeError(f"{where}: expected an object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    get = data.get
    for name, convert, required, kept in _field_converters(cls):  # type: ignore[arg-type]
        value = get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise ValueError(f"{where}.{name}: missing")
            continue
        # what converting gives, without the call: a str/int/bool/float of exactly the field's
        # type as it is, and a null where the field may be None
        kwargs[name] = value if type(value) in kept else convert(value, where, name)
    return _maker(cls)(kwargs)  # type: ignore[arg-type,no-any-return]


_DEFAULT_FACTORY: Any = object()


@functools.cache
def _maker(cls: type) -> Callable[[dict[str, Any]], Any]:
    """``cls(**kwargs)`` for keyword arguments that name fields only and give every field
    without a default: the instance's ``__dict__`` made in one go, in field order, with the
    defaults (a fresh one from each default factory), as the dataclass's own ``__init__``
    makes it (which sets each field through ``object.__setattr__``: most of the cost of
    reading a report). A class with ``__post_init__``, ``__slots__``, a field outside
    ``__init__`` or its own ``__init__`` is made by calling it."""
    fields = dataclasses.fields(cls)
    init = vars(cls).get("__init__")
    code = getattr(init, "__code__", None)
    plain = (
        dataclasses.is_dataclass(cls)
        and not hasattr(cls, "__post_init__")
        and "__slots__" not in vars(cls)
        and all(f.init for f in fields)
        and code is not None
        and code.co_filename == "<string>"  # written by dataclasses (3.10-3.13), not by hand
        and getattr(init, "__qualname__", "") == f"{cls.__qualname__}.__init__"
    )
    if not plain:
        return lambda kwargs: cls(**kwargs)
    template: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            template[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            template[f.name] = _DEFAULT_FACTORY
            factories.append((f.name, f.default_factory))
        else:
            template[f.name] = _MISSING
    new, set_dict = object.__new__, object.__setattr__

    def make(kwargs: dict[str, Any]) -> Any:
        values = template.copy()
        values.update(kwargs)  # a key already there keeps its place: field order
        for name, factory in factories:
            if values[name] is _DEFAULT_FACTORY:
                values[name] = factory()
        obj: Any = new(cls)
        set_dict(obj, "__dict__", values)
        return obj

    return make


@functools.cache
def _field_converters(cls: type) -> tuple[tuple[str, Converter, bool, frozenset[type]], ...]:
    """(name, converter, required, the types of value kept as they are) of each field, once
    per class."""
    out = []
    for name, hint, required in _fields(cls):
        optional, inner, kind, _ = _shape(hint)
        kept: set[type] = {inner} if kind in ("str", "int", "bool", "float") else set()
        if optional and kind != "other":
            kept.add(type(None))
        out.append((name, _converter(hint), required, frozenset(kept)))
    return tuple(out)


__all__ = [
    "CheckRun",
    "DiskFacts",
    "EnvFacts",
    "Facts",
    "GpuFacts",
    "KernelFacts",
    "MemoryFacts",
    "PipLogFacts",
    "PlatformFacts",
    "ProbeFacts",
    "ProjectFacts",
    "ReleaseCheckFacts",
    "ShellFacts",
    "WslLibFacts",
    "from_data",
    "to_data",
]
