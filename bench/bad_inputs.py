"""Feed coursekit bad inputs and count the outcomes (issue 10's figure).

Each case runs the real CLI (``python -P -m coursekit ...``, this checkout first on the path)
in a fresh HOME and an empty working folder, with a wall clock (60 s) and an address-space
cap (2 GiB), and is classified:

- ``clean``: exit 2 or 3 (or 0/1 where the input is valid) with no traceback in the output;
- ``traceback``: a Python traceback was printed;
- ``exit4``: coursekit's "internal error" exit code;
- ``hung``: the wall clock ran out (unbounded time) or the memory cap was hit;
- ``changed``: a file outside the case's scratch folder was written (HOME is watched).

Run: ``python bench/bad_inputs.py`` (prints one line per case that is not clean, then a table
by command; ``--verbose`` prints every case). Exit status 1 when any case is not clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "tests" / "data" / "doctor" / "reports" / "schema1-rtx5090-cu126.json"
TIMEOUT_S = 60


@dataclass
class Case:
    command: str  # "doctor --from", "setup", "lab", "env spec", ...
    name: str
    argv: list[str]
    prepare: Callable[[Path], None] | None = None  # writes the case's files into the scratch dir
    env: dict[str, str] | None = None
    ok_codes: tuple[int, ...] = (2, 3)


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def prepare(where: Path) -> None:
        (where / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return prepare


def _report() -> dict[str, Any]:
    return json.loads(REPORT.read_text(encoding="utf-8"))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value[:2]) for p in _leaves(v, (*path, i))]
    return [path]


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    data = json.loads(json.dumps(data))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _doctor_cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, data: bytes | str, ok: tuple[int, ...] = (2,)) -> None:
        cases.append(Case("doctor --from", name, ["doctor", "--from", "r.json"], _write("r.json", data),
                          ok_codes=ok))

    def fifo(where: Path) -> None:
        os.mkfifo(where / "r.json")

    cases.append(Case("doctor --from", "fifo", ["doctor", "--from", "r.json"], fifo))
    cases.append(Case("doctor --from", "dev-zero", ["doctor", "--from", "/dev/zero"]))
    cases.append(Case("doctor --from", "dev-urandom", ["doctor", "--from", "/dev/urandom"]))
    cases.append(Case("doctor --from", "missing", ["doctor", "--from", "nope.json"]))
    cases.append(Case("doctor --from", "directory", ["doctor", "--from", "."]))
    cases.append(Case("doctor --from", "triage-with-fifo", ["doctor", "--from", "r.json", "--from", "r.json"], fifo))
    add("empty", b"")
    add("binary", bytes(range(256)) * 64)
    add("nul-bytes", b"\0" * 4096)
    add("bad-utf8", b'{"kind": "\xff\xfe\xfa"}')
    add("utf16-garbage", b"\xff\xfe" + b"\x00\xd8" * 100)
    add("too-big", b'{"kind": "coursekit-doctor-report", "pad": "' + b"x" * (20 * 1024 * 1024) + b'"}')
    add("deep-array", "[" * 200_000 + "]" * 200_000)
    add("deep-object", '{"a":' * 100_000 + "1" + "}" * 100_000)
    add("deep-in-facts", json.dumps(_set(_report(), ("facts", "platform", "os"), "X")).replace(
        '"X"', '{"a":' * 5000 + "1" + "}" * 5000))
    add("huge-int", '{"kind": "coursekit-doctor-report", "schema": ' + "9" * 100_000 + "}")
    add("nan-literal", '{"kind": "coursekit-doctor-report", "schema": NaN}')
    add("lone-surrogate", json.dumps({"kind": "coursekit-doctor-report", "schema": 1, "facts": "\ud800"}))
    for text in ("null", "[]", "42", '"text"', "true", "{}", '{"kind": 1}', '{"kind": "coursekit-doctor-report"}'):
        add(f"top-{text[:12]}", text)
    for schema in ("0", "-1", "999", '"1"', "1.5", "true", "null", "[]", "1e999"):
        add(f"schema-{schema}", '{"kind": "coursekit-doctor-report", "schema": ' + schema + ', "facts": {}}')
    report = _report()
    weird: list[tuple[str, Any]] = [("null", None), ("str", "x"), ("list", [1]), ("dict", {"a": 1}),
                                    ("bool", True), ("neg", -1), ("bigint", 10 ** 30), ("float", 1e308)]
    for i, path in enumerate(_leaves(report["facts"])):  # each leaf gets one wrong type, in turn
        for label, value in (weird[i % len(weird)],):
            add(f"facts/{'/'.join(map(str, path))}={label}",
                json.dumps(_set(report, ("facts", *path), value)), ok=(0, 1, 2))
    for label, value in weird:
        for key in ("probe", "env", "platform", "gpu", "checks", "disks"):
            add(f"facts/{key}={label}", json.dumps(_set(report, ("facts", key), value)), ok=(0, 1, 2))
    # printed values must be neutralised (checked separately: an escape in the output is "changed")
    for label, value in (("ansi", "\x1b[2J\x1b]0;pwned\x07"), ("bidi", "a\u202eexe.txt"),
                         ("long", "y" * 2_000_000), ("newlines", "a\nb\r\nc")):
        add(f"escape-{label}", json.dumps(_set(report, ("facts", "env", "name"), value)), ok=(0, 1, 2))
    return cases


def _spec_cases() -> list[Case]:
    cases: list[Case] = []
    good = (REPO / "envs" / "course.toml").read_text(encoding="utf-8")

    def add(name: str, data: bytes | str) -> None:
        cases.append(Case("env spec", name, ["setup", "--dry-run", "--os", "linux"],
                          _write("spec.toml", data), env={"COURSEKIT_ENV_SPEC": "spec.toml"}))

    add("empty", b"")
    add("binary", bytes(range(256)) * 16)
    add("latin1", good.encode("utf-8") + "\n# caf\xe9\n".encode("latin-1"))
    add("utf16", good.encode("utf-16"))
    add("not-toml", "this is = = not toml")
    add("python-too-old", good.replace('python = "', 'python = "2.7" #', 1))
    add("python-garbage", good.replace('python = "', 'python = "abc" #', 1))
    add("python-int", good.replace('python = "', "python = 3 #", 1))
    add("too-big", "# " + "x" * (20 * 1024 * 1024))
    add("deep", "a = " + "[" * 100_000 + "]" * 100_000)
    cases.append(Case("env spec", "fifo", ["setup", "--dry-run", "--os", "linux"],
                      lambda w: os.mkfifo(w / "spec.toml"), env={"COURSEKIT_ENV_SPEC": "spec.toml"}))
    cases.append(Case("env spec", "directory", ["setup", "--dry-run", "--os", "linux"],
                      env={"COURSEKIT_ENV_SPEC": "."}))
    cases.append(Case("env spec", "dev-zero", ["setup", "--dry-run", "--os", "linux"],
                      env={"COURSEKIT_ENV_SPEC": "/dev/zero"}))
    return cases


def _flag_cases() -> list[Case]:
    dry = ["setup", "--dry-run", "--os", "linux"]
    flags = [
        ["--channel", ""], ["--channel", "not a url"], ["--channel", "http://mirror.example/conda"],
        ["--channel", "file://host/share/channel"], ["--index-url", ""],
        ["--index-url", "file://host/wheels"], ["--index-url", "ftp://x/y"],
        ["--gpu-cc", "0.1"], ["--gpu-cc", "99.0"], ["--gpu-cc", "abc"], ["--gpu-driver", "abc"],
        ["--gpu-driver", "-1"], ["--torch", "abc"], ["--torch", "1.0"], ["--backend", "cu999"],
        ["--gpu-rocm", "gfx"], ["--arch", "sparc"],
    ]
    cases = [Case("setup flags", " ".join(f) or "''", dry + f) for f in flags]
    cases += [Case("doctor flags", "env-empty", ["doctor", "--env", ""]),
              Case("doctor flags", "python-missing", ["doctor", "--python", "/nonexistent/python"]),
              Case("doctor flags", "fix-with-from", ["doctor", "--fix", "--from", "x.json"])]
    cases += [Case("lab", f"lab {n}", ["lab", n]) for n in ("-1", "0", "abc", "99", "1.5", "", "1e3")]
    return cases


def run_case(case: Case, scratch: Path) -> tuple[str, str]:
    home = scratch / "home"
    work = scratch / "work"
    home.mkdir()
    work.mkdir()
    if case.prepare is not None:
        case.prepare(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "COURSEKIT_", "CONDA"))}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), COURSEKIT_OFFLINE="1", NO_COLOR="1",
               COLUMNS="100", **(case.env or {}))

    def limit() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024 ** 3, 2 * 1024 ** 3))

    proc = subprocess.Popen([sys.executable, "-P", "-m", "coursekit", *case.argv], cwd=work, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=limit, start_new_session=True)
    out: list[bytes] = []
    readers = [threading.Thread(target=lambda s=s: out.append(s.read()), daemon=True)
               for s in (proc.stdout, proc.stderr)]
    for r in readers:
        r.start()
    try:
        proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        return "hung", "timed out"
    for r in readers:
        r.join(5)
    text = b"\n".join(out).decode("utf-8", "replace")
    written = [p for p in home.rglob("*") if p.is_file()]
    if "Traceback (most recent call last)" in text:
        return "traceback", text[-600:]
    if proc.returncode == 4:
        return "exit4", text[-600:]
    if proc.returncode in (-9, 137) or "MemoryError" in text:
        return "hung", f"killed / out of memory (rc {proc.returncode})"
    if any(c in text for c in ("\x1b", "\u202e", "\x07")) or len(text) > 200_000:
        return "changed", "unneutralised escape sequence or unbounded output"
    if written and case.command != "lab":
        return "changed", f"wrote {written[:3]}"
    if proc.returncode not in case.ok_codes:
        return "wrong-code", f"exit {proc.returncode}: {text[-300:]}"
    return "clean", f"exit {proc.returncode}"


def all_cases() -> list[Case]:
    return _doctor_cases() + _spec_cases() + _flag_cases()


def main() -> int:
    verbose = "--verbose" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    table: dict[str, Counter[str]] = {}
    for case in all_cases():
        if only and not any(o in f"{case.command} {case.name}" for o in only):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            outcome, detail = run_case(case, Path(tmp))
        table.setdefault(case.command, Counter())[outcome] += 1
        if verbose or outcome != "clean":
            print(f"{outcome:10} {case.command}: {case.name[:70]} -- {detail[-300:]!r}", flush=True)
    kinds = ("clean", "wrong-code", "traceback", "exit4", "hung", "changed")
    print(f"\n{'command':16}" + "".join(f"{k:>11}" for k in kinds))
    for command, counts in table.items():
        print(f"{command:16}" + "".join(f"{counts[k]:>11}" for k in kinds))
    total = sum(table.values(), Counter())
    print(f"{'total':16}" + "".join(f"{total[k]:>11}" for k in kinds))
    return 0 if total["clean"] == sum(total.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
