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
(``mutmut show NAME`` in the scratch copy, which is kept with ``--keep``; ``--rescore DIR``
scores a kept copy again, e.g. after editing the equivalents file).

A survivor shown equivalent (no test could tell it from the original) is listed, with why, in
``bench/mutation-equivalent.toml`` (``module = [{mutant = "NAME", why = "..."}]``); listed
survivors are counted as ``equiv`` and left out of the score. A listed name that no longer
survives is reported as stale, so the list cannot hide a mutant it no longer describes.

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

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

# The doctor's rule tests: diagnose() over fixture facts, no subprocess and no probe (the probe,
# collect and --fix tests run real interpreters: slow, and they test the collectors, not the
# rules). Each rule module adds its own test file. Every mutant of a rule module is run against
# all of them (they all call diagnose()), so the set is kept to the rule-focused files; the
# broader corpus tests (test_real_reports, test_cross_os) stay in the suite, not in this run.
DOCTOR_RULE_TESTS: tuple[str, ...] = (
    "tests/doctor/test_findings.py",
    "tests/doctor/test_issue12.py",
)

# module name -> (file to mutate, its own test files)
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "shellquote": ("coursekit/shellquote.py", ("tests/test_shellquote.py",)),
    "select": ("coursekit/setup/plan/select.py", ("tests/test_select.py",)),
    "gates": ("coursekit/setup/plan/gates.py", ("tests/test_gates.py", "tests/test_select.py")),
    "matrix": ("coursekit/setup/plan/matrix.py", ("tests/test_matrix.py",)),
    "releases": ("coursekit/setup/plan/releases.py", ("tests/test_matrix.py",)),
    "envspec": ("coursekit/setup/plan/envspec.py", ("tests/test_envspec.py",)),
    "pipsafe": ("coursekit/setup/run/pipsafe.py", ("tests/test_pipsafe.py",)),
    "rules_torch": ("coursekit/doctor/rules_torch.py",
                    (*DOCTOR_RULE_TESTS, "tests/doctor/test_rules_torch.py",
                     "tests/doctor/test_rules_torch_import.py",
                     "tests/doctor/test_rules_torch_drivers.py")),
    "rules_env": ("coursekit/doctor/rules_env.py",
                  (*DOCTOR_RULE_TESTS, "tests/doctor/test_rules_env.py")),
    "rules_packages": ("coursekit/doctor/rules_packages.py",
                       (*DOCTOR_RULE_TESTS, "tests/doctor/test_rules_packages.py")),
    "grading_api": ("coursekit/grading/api.py", ("tests/test_grading_api.py",)),
}


# Tests of a module's test files that cannot run against a mutated copy, with why.
DESELECT: dict[str, tuple[str, ...]] = {
    # Imports the grading runtime with -I -S (no site-packages): a mutated module imports mutmut.
    "grading_api": (
        "tests/test_grading_api.py::test_grading_runtime_imports_with_the_stdlib_alone",
    ),
}


def _locate(path: str) -> str:
    """The module's path; before the setup wing existed, its old flat path."""
    if (ROOT / path).exists():
        return path
    flat = f"coursekit/{Path(path).name}"
    return flat if (ROOT / flat).exists() else path


def _tokens(line: str) -> list[tuple[int, str]] | None:
    """The tokens of one line of a diff; a line inside a multi-line call (an unclosed or
    unopened bracket) is tokenized as far as it goes."""
    skip = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    out: list[tuple[int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline):
            if token.type == tokenize.ERRORTOKEN and token.string.strip():
                return None
            if token.type not in skip:
                out.append((token.type, token.string))
    except tokenize.TokenError:
        pass  # EOF inside an open bracket: the tokens read so far are the whole line
    except (IndentationError, SyntaxError):
        return None
    return out


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


EQUIVALENT = ROOT / "bench" / "mutation-equivalent.toml"


def load_equivalents(path: Path = EQUIVALENT) -> dict[str, dict[str, str]]:
    """module -> {mutant name: why it is equivalent}; every entry needs a non-empty ``why``."""
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for module, entries in data.items():
        if module not in MODULES:
            raise ValueError(f"{path.name}: unknown module {module!r}")
        out[module] = {}
        for entry in entries:
            mutant, why = entry.get("mutant"), str(entry.get("why", "")).strip()
            if not mutant or not why:
                raise ValueError(f"{path.name}: {module}: every entry needs mutant and why: {entry!r}")
            out[module][mutant] = why
    return out


def score(states: dict[str, str], messages: set[str],
          equivalent: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    """Counts and score from mutmut's states (and the behaviour survivors): message-only and
    listed equivalent survivors are left out of the score."""
    survivors = [m for m, s in states.items() if s == "survived"]
    equiv = [m for m in survivors if m in equivalent and m not in messages]
    behaviour = [m for m in survivors if m not in messages and m not in equivalent]
    killed = sum(1 for s in states.values() if s == "killed")
    timeouts = sum(1 for s in states.values() if s in ("timeout", "suspicious"))
    scored = killed + len(behaviour)
    return {"mutants": len(states), "killed": killed, "survived": len(behaviour),
            "equivalent": len(equiv), "message_only": len([m for m in survivors if m in messages]),
            "timeouts": timeouts, "stale": sorted(m for m in equivalent if states.get(m) != "survived"),
            "score": round(100 * killed / scored, 1) if scored else None}, behaviour


def _scratch(module: str, tests: tuple[str, ...], deselect: tuple[str, ...] = ()) -> Path:
    work = Path(tempfile.mkdtemp(prefix="coursekit-mutmut-"))
    for name in ("coursekit", "tests", "envs", "labs", "pyproject.toml", "README.md", "docs"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, work / name)
    text = (work / "pyproject.toml").read_text(encoding="utf-8")
    text += ("\n[tool.mutmut]\n"
             f'source_paths = ["coursekit"]\nonly_mutate = ["{module}"]\n'
             f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n"
             f"pytest_add_cli_args = {json.dumps([*PYTEST_ARGS, *_deselect(deselect)])}\n"
             'also_copy = ["tests", "envs", "labs", "README.md", "docs"]\n')
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    return work


PYTEST_ARGS = ("-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly")


def retest(name: str, work: Path) -> None:
    """Run the behaviour survivors of a kept copy again against the tests as they are now
    (after adding tests for them): mutmut keeps every other result. The module itself must
    be unchanged since the run (else run the module afresh)."""
    module = _locate(MODULES[name][0])
    if (work / module).read_bytes() != (ROOT / module).read_bytes():
        raise SystemExit(f"{module} changed since {work} was made: run the module afresh")
    survivors = (ROOT / "bench" / f"mutation-survivors-{name}.txt").read_text(encoding="utf-8").split()
    for test in MODULES[name][1]:
        for where in (work, work / "mutants"):
            shutil.copy2(ROOT / test, where / test)
    if survivors:
        subprocess.run([sys.executable, "-m", "mutmut", "run", *survivors], cwd=work, check=False,
                       capture_output=True, text=True)


def _deselect(tests: tuple[str, ...]) -> list[str]:
    return [arg for test in tests for arg in ("--deselect", test)]


# One process for every survivor's diff (``mutmut show`` per mutant costs a Python start each).
_DIFF_SCRIPT = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
print(json.dumps({name: get_diff_for_mutant(name, path=sys.argv[1]) for name in sys.argv[2:]}))
"""


def _diffs(work: Path, module: str, mutants: list[str]) -> dict[str, str]:
    """mutant name -> its diff, as ``mutmut show`` prints it."""
    if not mutants:
        return {}
    done = subprocess.run([sys.executable, "-c", _DIFF_SCRIPT, module, *mutants], cwd=work,
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"reading the mutants' diffs failed: {done.stderr[-2000:]}")
    result: dict[str, str] = json.loads(done.stdout)
    return result


def run_module(name: str, keep: bool) -> dict[str, object]:
    module, tests = MODULES[name]
    module = _locate(module)
    work = _scratch(module, tests, DESELECT.get(name, ()))
    subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=work, check=False, capture_output=True, text=True)
    row = collect(name, module, work)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return {**row, "scratch": str(work) if keep else None}


def collect(name: str, module: str, work: Path) -> dict[str, object]:
    """Score a finished mutmut run in ``work`` (also a copy kept with --keep: ``--rescore DIR``)."""
    mutmut = [sys.executable, "-m", "mutmut"]
    listing = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, check=False,
                             capture_output=True, text=True).stdout
    states: dict[str, str] = {}
    for line in listing.splitlines():
        if ":" in line:
            mutant, _, state = line.strip().rpartition(":")
            states[mutant.strip()] = state.strip()
    survivors = [m for m, s in states.items() if s == "survived"]
    diffs = _diffs(work, module, survivors)
    messages = {m for m in survivors if message_only(diffs.get(m, ""))}
    row, behaviour = score(states, messages, load_equivalents().get(name, {}))
    out = ROOT / "bench" / f"mutation-survivors-{name}.txt"
    out.write_text("".join(f"{m}\n" for m in behaviour), encoding="utf-8")
    return {"module": module, **row}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"some of: {', '.join(MODULES)}")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (mutmut show NAME there)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--retest", metavar="DIR", type=Path,
                        help="in a kept copy, run the behaviour survivors again with the current "
                        "tests, then score it (one module named)")
    parser.add_argument("--rescore", metavar="DIR", type=Path,
                        help="score a kept scratch copy again (one module named) without re-running mutmut")
    args = parser.parse_args(argv)
    if args.list:
        for name, (module, tests) in MODULES.items():
            print(f"{name:15} {_locate(module):40} {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; see --list")
    if args.retest or args.rescore:
        if len(args.modules) != 1:
            parser.error("--retest and --rescore need exactly one module name")
        if args.retest:
            retest(args.modules[0], args.retest)
        kept = args.retest or args.rescore
        rows = [collect(args.modules[0], _locate(MODULES[args.modules[0]][0]), kept)]
    else:
        rows = [run_module(name, args.keep) for name in (args.modules or list(MODULES))]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'module':40} {'mutants':>7} {'killed':>6} {'equiv':>5} {'surv.':>5} {'msg':>4} {'t/o':>4} {'score':>6}")
    for r in rows:
        shown = f"{r['score']}%" if r["score"] is not None else "-"
        print(f"{r['module']!s:40} {r['mutants']:>7} {r['killed']:>6} {r['equivalent']:>5} {r['survived']:>5} "
              f"{r['message_only']:>4} {r['timeouts']:>4} {shown:>6}")
        if r["stale"]:
            print(f"  stale in {EQUIVALENT.name} (no longer survive): {', '.join(r['stale'])}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
