"""Mutation testing of the decision modules, each against its own tests (mutmut 3).

    python bench/mutation.py                      # every module in MODULES
    python bench/mutation.py shellquote matrix    # some of them
    python bench/mutation.py --list               # the modules and their test files

For each module, a scratch copy of the repository gets a ``[tool.mutmut]`` section that mutates
only that file and runs only its test files, so a mutant counts as killed only by the tests
written for that module. Caches are cleared between runs (a fresh copy each time). The score
excludes message-only mutants: a survivor whose change lies entirely inside string literals
(message wording) is counted apart, since tests pin behaviour and the README pins wording.

Prints, per module: mutants, killed, survived (behaviour), survived (message only), timeouts,
and the score = killed / (killed + behaviour survivors). Goal: >= 90 % per module. The
survivors' names are written to ``bench/mutation-survivors-<module>.txt`` for review
(``mutmut show NAME`` in the scratch copy, which is kept with ``--keep``).

Slow (minutes per module on two cores): it belongs in bench/, not in the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module name -> (file to mutate, its own test files)
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "shellquote": ("coursekit/shellquote.py", ("tests/test_shellquote.py",)),
    "select": ("coursekit/setup/plan/select.py", ("tests/test_select.py",)),
    "gates": ("coursekit/setup/plan/gates.py", ("tests/test_select.py",)),
    "matrix": ("coursekit/setup/plan/matrix.py", ("tests/test_matrix.py",)),
    "envspec": ("coursekit/setup/plan/envspec.py", ("tests/test_envspec.py",)),
    "pipsafe": ("coursekit/setup/run/pipsafe.py", ("tests/test_pipsafe.py",)),
    "rules_torch": ("coursekit/doctor/rules_torch.py", ("tests/doctor/test_findings.py",)),
    "rules_env": ("coursekit/doctor/rules_env.py", ("tests/doctor/test_findings.py",)),
    "rules_packages": ("coursekit/doctor/rules_packages.py", ("tests/doctor/test_findings.py",)),
    "grading_api": ("coursekit/grading/api.py", ("tests/test_grading_api.py",)),
}


def _locate(path: str) -> str:
    """The module's path; before the setup wing existed, its old flat path."""
    if (ROOT / path).exists():
        return path
    flat = f"coursekit/{Path(path).name}"
    return flat if (ROOT / flat).exists() else path


def _tokens(line: str) -> list[tuple[int, str]] | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    skip = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    return [(t.type, t.string) for t in tokens if t.type not in skip]


def _prose(literal: str) -> bool:
    """A string literal that reads as a message (words), not a key such as "linux" or "cu130"."""
    return bool(re.search(r"[A-Za-z]\s+[A-Za-z{(]|[.:;!?]\s", literal))


def message_only(diff: str) -> bool:
    """True when the mutant changes nothing but the wording inside message strings.

    Every changed token must be a string literal that reads as prose; a changed key
    (``"linux"`` -> ``"XXlinuxXX"``), operator, number or name is behaviour.
    """
    old = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    new = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if not old or len(old) != len(new):
        return False
    for a, b in zip(old, new):
        ta, tb = _tokens(a), _tokens(b)
        if ta is None or tb is None or len(ta) != len(tb):
            return False
        for (kind_a, text_a), (kind_b, text_b) in zip(ta, tb):
            if text_a == text_b:
                continue
            if not (kind_a == kind_b == tokenize.STRING and _prose(text_a)):
                return False
    return True


def _scratch(module: str, tests: tuple[str, ...]) -> Path:
    work = Path(tempfile.mkdtemp(prefix="coursekit-mutmut-"))
    for name in ("coursekit", "tests", "envs", "labs", "pyproject.toml", "README.md"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, work / name)
    text = (work / "pyproject.toml").read_text(encoding="utf-8")
    text += ("\n[tool.mutmut]\n"
             f'source_paths = ["coursekit"]\nonly_mutate = ["{module}"]\n'
             f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n"
             'pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]\n'
             'also_copy = ["tests", "envs", "labs", "README.md"]\n')
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    return work


def run_module(name: str, keep: bool) -> dict[str, object]:
    module, tests = MODULES[name]
    module = _locate(module)
    work = _scratch(module, tests)
    mutmut = [sys.executable, "-m", "mutmut"]
    subprocess.run([*mutmut, "run"], cwd=work, check=False, capture_output=True, text=True)
    listing = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, check=False,
                             capture_output=True, text=True).stdout
    states: dict[str, str] = {}
    for line in listing.splitlines():
        if ":" in line:
            mutant, _, state = line.strip().rpartition(":")
            states[mutant.strip()] = state.strip()
    survivors = [m for m, s in states.items() if s == "survived"]
    messages = []
    for mutant in survivors:
        diff = subprocess.run([*mutmut, "show", mutant], cwd=work, check=False,
                              capture_output=True, text=True).stdout
        if message_only(diff):
            messages.append(mutant)
    behaviour = [m for m in survivors if m not in messages]
    killed = sum(1 for s in states.values() if s == "killed")
    timeouts = sum(1 for s in states.values() if s in ("timeout", "suspicious"))
    scored = killed + len(behaviour)
    out = ROOT / "bench" / f"mutation-survivors-{name}.txt"
    out.write_text("".join(f"{m}\n" for m in behaviour), encoding="utf-8")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"module": module, "mutants": len(states), "killed": killed, "survived": len(behaviour),
            "message_only": len(messages), "timeouts": timeouts,
            "score": round(100 * killed / scored, 1) if scored else None,
            "scratch": str(work) if keep else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"some of: {', '.join(MODULES)}")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (mutmut show NAME there)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.list:
        for name, (module, tests) in MODULES.items():
            print(f"{name:15} {_locate(module):40} {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; see --list")
    rows = [run_module(name, args.keep) for name in (args.modules or list(MODULES))]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'module':40} {'mutants':>7} {'killed':>6} {'surv.':>5} {'msg':>4} {'t/o':>4} {'score':>6}")
    for r in rows:
        score = f"{r['score']}%" if r["score"] is not None else "-"
        print(f"{r['module']!s:40} {r['mutants']:>7} {r['killed']:>6} {r['survived']:>5} "
              f"{r['message_only']:>4} {r['timeouts']:>4} {score:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
