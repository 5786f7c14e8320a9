"""Mutation testing of the lab graders (issue 11): does each grader notice a student's mistake?

Each mutant is the reference solution with ONE small change of the kind students make
(constants scaled, arguments swapped, fan_in <-> fan_out, sum <-> mean, a statement or return
dropped, an activation/initialiser/norm/reduction replaced by its sibling, a comparison flipped,
an index or slice off by one, modules reordered, ``.detach()`` added, ``train()``/``eval()``
dropped, a keyword argument dropped). Only code the student writes is mutated: the functions
whose starter body raises ``NotImplementedError`` (finished helpers and ``__main__`` demos
are left alone).

The lab's grader runs on every mutant (in-process, one worker process per job, checks in order,
stopping at the first failure). A mutant is **killed** when a check fails, **survived** when every
check passes, **equivalent** when ``labs/<lab>/mutants-equivalent.toml`` lists its id with the
reason it behaves the same for every input the README allows, and **grader-error** when the
grader itself broke (a hole too: a student's unexpected code must fail a named check).
Listed mutants are graded too; one that a check kills is **stale-equivalent** (fix the list).

Mutant ids are stable: ``<file stem>.<function>:<operator>:<n>`` where n counts that operator's
sites inside the function in source order.

Usage: python bench/mutate_grader.py [--lab N] [--sample K] [--jobs J] [-v]
Prints per lab: mutants, killed, equivalent, survived, grader errors, and the mutation score
killed / (mutants - equivalent); exits 1 when any non-equivalent mutant survives.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import math
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MUTANT_TIMEOUT_S = 120  # a mutant that loops is killed by the real worker's timeout too

# Siblings a student confuses: names, attributes and strings are swapped both ways.
SIBLINGS: list[tuple[str, str]] = [
    ("fan_in", "fan_out"), ("sum", "mean"), ("std", "var"), ("log10", "log"), ("log2", "log10"),
    ("relu", "leaky_relu"), ("ReLU", "LeakyReLU"), ("ELU", "ReLU"), ("Sigmoid", "Tanh"),
    ("sigmoid", "tanh"), ("elu", "relu"), ("GELU", "ReLU"),
    ("kaiming_normal_", "kaiming_uniform_"), ("xavier_normal_", "xavier_uniform_"),
    ("kaiming_normal_", "xavier_normal_"), ("normal_", "uniform_"), ("zeros_", "ones_"),
    ("zero_", "normal_"), ("BatchNorm1d", "LayerNorm"), ("all", "any"), ("max", "min"),
    ("amax", "amin"), ("train", "eval"), ("exp", "expm1"), ("norm", "sum"),
    ("register_forward_hook", "register_forward_pre_hook"), ("named_modules", "named_children"),
    ("modules", "children"), ("he_normal_", "he_uniform_"), ("xavier_normal_", "he_normal_"),
]
_SWAP: dict[str, list[str]] = {}
for _a, _b in SIBLINGS:
    _SWAP.setdefault(_a, []).append(_b)
    _SWAP.setdefault(_b, []).append(_a)

# Calls whose removal is a typical slip: x.abs() -> x, math.sqrt(v) -> v, ...
DROPPABLE_CALLS = {"abs", "sqrt", "clamp", "exp", "float", "detach", "item", "log10"}
_CMP_FLIPS: dict[type, list[type]] = {
    ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt, ast.LtE], ast.Lt: [ast.LtE, ast.Gt],
    ast.LtE: [ast.Lt, ast.GtE], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq],
    ast.Is: [ast.IsNot], ast.IsNot: [ast.Is], ast.In: [ast.NotIn], ast.NotIn: [ast.In],
}
_NONCOMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Pow, ast.MatMult, ast.Mod)


@dataclass(frozen=True)
class Mutant:
    """One changed copy of a student file."""

    id: str          # stable: <stem>.<function>:<operator>:<n>
    filename: str    # the student file it replaces
    line: int
    description: str
    source: str      # the whole mutated file


@dataclass
class Outcome:
    """What the grader said about one mutant."""

    id: str
    status: str                      # killed | survived | equivalent | grader-error | stale-equivalent
    check: str = ""                  # the first failing check (killed / grader-error)
    message: str = ""
    why: str = ""                    # equivalent: the reason from mutants-equivalent.toml


@dataclass
class LabReport:
    lab: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def score(self) -> float:
        """killed / (mutants - equivalent)."""
        live = len(self.outcomes) - self.count("equivalent")
        return self.count("killed") / live if live else 1.0


# ---- which code is the student's -------------------------------------------------------------

def _todo_functions(starter: str) -> set[str]:
    """Qualified names (``f``, ``Class.f``) of the functions the starter leaves as TODO."""
    names: set[str] = set()

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                raises = any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n)
                             for n in ast.walk(node))
                if raises:
                    names.add(prefix + node.name)

    visit(ast.parse(starter).body, "")
    return names


def _student_functions(tree: ast.Module, todo: set[str]) -> Iterator[tuple[str, ast.AST]]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and f"{node.name}.{sub.name}" in todo:
                    yield f"{node.name}.{sub.name}", sub
        elif isinstance(node, ast.FunctionDef) and node.name in todo:
            yield node.name, node


# ---- operators: each yields (description, apply) for one node; apply edits a copy in place ---

Edit = Callable[[ast.AST], None]


def _set(node: ast.AST, **fields: Any) -> Edit:
    def apply(target: ast.AST) -> None:
        for key, value in fields.items():
            setattr(target, key, value)
    return apply


def _num(value: float) -> ast.expr:
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


def op_constants(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return
    v = node.value
    if isinstance(v, float):
        for name, new in (("x2", v * 2), ("half", v / 2), ("sqrt2", v * math.sqrt(2))):
            if new != v:
                yield "const-scale", f"{v!r} -> {new!r} ({name})", _set(node, value=new)
    elif isinstance(v, int):
        for new in sorted({v * 2, v // 2, v + 1, v - 1} - {v}):
            if new >= 0:
                yield "const-int", f"{v!r} -> {new!r}", _set(node, value=new)
    elif isinstance(v, str):
        for new in _SWAP.get(v, []):
            yield "sibling-str", f"{v!r} -> {new!r}", _set(node, value=new)


def op_siblings(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    if isinstance(node, ast.Name) and node.id in _SWAP:
        for new in _SWAP[node.id]:
            yield "sibling", f"{node.id} -> {new}", _set(node, id=new)
    elif isinstance(node, ast.Attribute) and node.attr in _SWAP:
        for new in _SWAP[node.attr]:
            yield "sibling", f".{node.attr} -> .{new}", _set(node, attr=new)
    elif isinstance(node, ast.keyword) and node.arg in _SWAP:
        for new in _SWAP[node.arg]:
            yield "sibling-kw", f"{node.arg}= -> {new}=", _set(node, arg=new)


def op_swap_args(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    if isinstance(node, ast.Call) and len(node.args) >= 2:
        for i in range(len(node.args) - 1):
            args = list(node.args)
            args[i], args[i + 1] = args[i + 1], args[i]
            yield "swap-args", f"arguments {i} and {i + 1} swapped", _set(node, args=copy.deepcopy(args))
    if isinstance(node, ast.BinOp) and isinstance(node.op, _NONCOMMUTATIVE):
        yield "swap-operands", f"{ast.unparse(node)} operands swapped", _set(
            node, left=copy.deepcopy(node.right), right=copy.deepcopy(node.left))
    if isinstance(node, ast.Tuple) and 2 <= len(node.elts) <= 3:
        elts = list(node.elts)
        elts[0], elts[1] = elts[1], elts[0]
        yield "swap-tuple", f"({ast.unparse(node)}) first two swapped", _set(node, elts=copy.deepcopy(elts))


def op_keywords(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    if isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg is None:
                continue
            rest = [k for j, k in enumerate(node.keywords) if j != i]
            yield "drop-kwarg", f"{kw.arg}= dropped", _set(node, keywords=copy.deepcopy(rest))


def op_compare(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        for new in _CMP_FLIPS.get(type(node.ops[0]), []):
            yield "cmp-flip", f"{type(node.ops[0]).__name__} -> {new.__name__}", _set(node, ops=[new()])


def op_index(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    if not isinstance(node, ast.Subscript):
        return
    idx = node.slice
    text = ast.unparse(idx)
    if text == "0":
        yield "index", "[0] -> [-1]", _set(node, slice=_num(-1))
        yield "index", "[0] -> [1]", _set(node, slice=_num(1))
    elif text == "-1":
        yield "index", "[-1] -> [0]", _set(node, slice=_num(0))
        yield "index", "[-1] -> [-2]", _set(node, slice=_num(-2))
    elif isinstance(idx, ast.Slice):
        if text == "1:":
            yield "slice", "[1:] -> [:-1]", _set(node, slice=ast.Slice(None, _num(-1)))
        if text == ":-1":
            yield "slice", "[:-1] -> [1:]", _set(node, slice=ast.Slice(_num(1), None))
        for part in ("lower", "upper"):
            bound = getattr(idx, part)
            if bound is not None:
                for delta in (1, -1):
                    new = ast.Slice(**{k: copy.deepcopy(getattr(idx, k)) for k in ("lower", "upper", "step")})
                    setattr(new, part, ast.BinOp(copy.deepcopy(bound), ast.Add(), _num(delta)))
                    yield "slice", f"[{text}] {part} {delta:+d}", _set(node, slice=new)


def op_drop_call(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    """``x.abs()`` -> ``x``; ``math.sqrt(v)`` -> ``v``: the call's parent gets its operand."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Attribute, ast.Name)):
        return
    name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
    if name not in DROPPABLE_CALLS:
        return
    if isinstance(node.func, ast.Attribute) and not node.args and isinstance(node.func.value, ast.expr):
        inner: ast.expr = node.func.value
        is_method = not (isinstance(inner, ast.Name) and inner.id in ("math", "torch", "np"))
        if is_method:
            yield "drop-call", f".{name}() dropped", _replace_with(copy.deepcopy(inner))
            return
    if len(node.args) == 1:
        yield "drop-call", f"{name}(...) dropped", _replace_with(copy.deepcopy(node.args[0]))


def _replace_with(new: ast.expr) -> Edit:
    def apply(target: ast.AST) -> None:
        target.__class__ = new.__class__
        target.__dict__.clear()
        target.__dict__.update(copy.deepcopy(new).__dict__)
    return apply


def op_detach(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    """``.detach()`` added to an argument of a call (cuts the graph a student needs)."""
    if isinstance(node, ast.Call):
        for i, arg in enumerate(node.args):
            if isinstance(arg, (ast.Name, ast.Call, ast.Attribute)) and not _is_plain_callable(arg):
                args = copy.deepcopy(node.args)
                args[i] = ast.Call(ast.Attribute(args[i], "detach", ast.Load()), [], [])
                yield "detach", f"argument {i} .detach()ed", _set(node, args=args)


def _is_plain_callable(arg: ast.expr) -> bool:
    return isinstance(arg, ast.Name) and arg.id[:1].isupper()


def op_reorder_list(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    if isinstance(node, ast.List) and len(node.elts) >= 2:
        for i in range(len(node.elts) - 1):
            elts = copy.deepcopy(node.elts)
            elts[i], elts[i + 1] = elts[i + 1], elts[i]
            yield "reorder", f"list items {i} and {i + 1} swapped", _set(node, elts=elts)


def op_statements(node: ast.AST) -> Iterator[tuple[str, str, Edit]]:
    """A statement (a return, zero_grad, eval(), remove()...) dropped; two adjacent swapped."""
    for attr in ("body", "orelse", "finalbody"):
        body = getattr(node, attr, None)
        if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
            continue
        start = 1 if _is_docstring(body[0]) else 0
        for i in range(start, len(body)):
            stmt = body[i]
            if isinstance(stmt, (ast.FunctionDef, ast.Pass)):
                continue
            rest = body[:i] + body[i + 1:]
            new = copy.deepcopy(rest) if rest[start:] else copy.deepcopy(body[:start]) + [ast.Pass()]
            kind = "drop-return" if isinstance(stmt, ast.Return) else "drop-stmt"
            yield kind, f"line {stmt.lineno} dropped: {ast.unparse(stmt).splitlines()[0][:60]}", \
                _set(node, **{attr: new})
        for i in range(start, len(body) - 1):
            if isinstance(body[i + 1], ast.Return) or isinstance(body[i], ast.FunctionDef):
                continue
            swapped = copy.deepcopy(body)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            yield "swap-stmts", f"lines {body[i].lineno} and {body[i + 1].lineno} swapped", \
                _set(node, **{attr: swapped})


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
        stmt.value.value, str)


OPERATORS = (op_constants, op_siblings, op_swap_args, op_keywords, op_compare, op_index,
             op_drop_call, op_detach, op_reorder_list, op_statements)


def _walk(node: ast.AST) -> list[ast.AST]:
    """Every node under ``node`` in a fixed (depth-first, source) order, skipping type
    annotations (never evaluated under ``from __future__ import annotations``)."""
    out = [node]
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns", "type_comment"):
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                out += _walk(child)
    return out


def mutants_of(solution: str, starter: str, filename: str) -> list[Mutant]:
    """Every mutant of one student file (deduplicated by resulting source)."""
    tree = ast.parse(solution)
    original = ast.unparse(tree)
    todo = _todo_functions(starter)
    stem = Path(filename).stem
    seen = {original}
    out: list[Mutant] = []
    for qual, func in _student_functions(tree, todo):
        nodes = _walk(func)
        counters: dict[str, int] = {}
        for index, node in enumerate(nodes):
            if node is not func and _is_docstring_node(node, nodes):
                continue
            for operator in OPERATORS:
                for kind, description, edit in operator(node):
                    n = counters.get(kind, 0)
                    counters[kind] = n + 1
                    mutated = copy.deepcopy(tree)
                    target = _walk(_find(mutated, qual))[index]
                    edit(target)
                    ast.fix_missing_locations(mutated)
                    try:
                        source = ast.unparse(mutated)
                        compile(source, filename, "exec")
                    except (SyntaxError, ValueError, TypeError):
                        continue
                    if source in seen:
                        continue
                    seen.add(source)
                    line = getattr(node, "lineno", getattr(func, "lineno", 0))
                    out.append(Mutant(f"{stem}.{qual}:{kind}:{n}", filename, line,
                                      f"{qual} line {line}: {description}", source + "\n"))
    return out


def _is_docstring_node(node: ast.AST, nodes: list[ast.AST]) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and any(
        isinstance(p, ast.Expr) and p.value is node for p in nodes)


def _find(tree: ast.Module, qual: str) -> ast.AST:
    parts = qual.split(".")
    body: list[ast.stmt] = tree.body
    node: ast.AST = tree
    for part in parts:
        node = next(n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
        body = node.body  # type: ignore[attr-defined]
    return node


# ---- labs ----------------------------------------------------------------------------------

def lab_dirs(root: Path = REPO / "labs") -> list[Path]:
    return sorted(p.parent for p in root.glob("*/lab.toml"))


def student_files(lab: Path) -> list[str]:
    meta = tomllib.loads((lab / "lab.toml").read_text(encoding="utf-8"))
    return list(meta["student_files"])


def lab_mutants(lab: Path) -> list[Mutant]:
    out: list[Mutant] = []
    for name in student_files(lab):
        out += mutants_of((lab / "solution" / name).read_text(encoding="utf-8"),
                          (lab / "starter" / name).read_text(encoding="utf-8"), name)
    return out


def equivalents(lab: Path) -> dict[str, str]:
    """``mutants-equivalent.toml``: ``"<mutant id>" = "why it behaves the same"``."""
    path = lab / "mutants-equivalent.toml"
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = data.get("equivalent", {})
    return {str(k): str(v) for k, v in table.items()}


def sample(mutants: list[Mutant], k: int | None) -> list[Mutant]:
    """A fixed sample: the k mutants whose id hashes lowest (stable across runs and machines)."""
    if k is None or k >= len(mutants):
        return mutants
    ranked = sorted(mutants, key=lambda m: hashlib.sha256(m.id.encode()).hexdigest())
    chosen = {m.id for m in ranked[:k]}
    return [m for m in mutants if m.id in chosen]


# ---- grading ---------------------------------------------------------------------------------

class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def grade_mutant(lab: Path, mutant: Mutant, seeds: tuple[int, ...] | None = None) -> Outcome:
    """Run the lab's checks in order on the mutant; stop at the first one that does not pass."""
    from coursekit.grading.api import LabContext, collect_checks, load_grader, run_check

    before = set(sys.modules)
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        student = Path(tmp) / "student"
        shutil.copytree(lab / "solution", student, ignore=shutil.ignore_patterns("__pycache__"))
        (student / mutant.filename).write_text(mutant.source, encoding="utf-8")

        class _Quiet(LabContext):
            def figure(self, filename: str, draw: Any) -> Path | None:
                return None

        ctx = _Quiet(student_dir=student, figures_dir=Path(tmp) / "figures")
        if seeds is not None:
            ctx.seeds = seeds
        use_alarm = hasattr(signal, "SIGALRM")
        if use_alarm:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(MUTANT_TIMEOUT_S)
        try:
            for spec in collect_checks(load_grader(lab / "grader.py")):
                result = run_check(spec, ctx)
                if result.error:
                    return Outcome(mutant.id, "grader-error", spec.name, result.message)
                if not result.passed:
                    return Outcome(mutant.id, "killed", spec.name, result.message)
            return Outcome(mutant.id, "survived")
        except _Timeout:
            return Outcome(mutant.id, "killed", "(timeout)", f"ran past {MUTANT_TIMEOUT_S} s")
        finally:
            if use_alarm:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, old)
            root = str(student.resolve())
            for name in set(sys.modules) - before:
                file = getattr(sys.modules.get(name), "__file__", None) or ""
                if file.startswith(root) or name.startswith(("student_", "coursekit_grader_")):
                    sys.modules.pop(name, None)


def _grade_job(args: tuple[str, Mutant]) -> Outcome:
    import torch

    threads = torch.get_num_threads()
    try:
        return grade_mutant(Path(args[0]), args[1])
    finally:
        torch.set_num_threads(threads)


def run_lab(lab: Path, k: int | None = None, jobs: int = 1) -> LabReport:
    """Grade every (or a fixed sample of k) mutant of ``lab`` and classify it. Mutants listed
    as equivalent are graded too: one that a check now kills is reported ``stale-equivalent``
    (its entry in mutants-equivalent.toml is wrong or out of date)."""
    mutants = sample(lab_mutants(lab), k)
    equiv = equivalents(lab)
    jobs_args = [(str(lab), m) for m in mutants]
    if jobs > 1:
        import multiprocessing

        ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            outcomes = list(pool.map(_grade_job, jobs_args))
    else:
        outcomes = [_grade_job(a) for a in jobs_args]
    report = LabReport(lab.name)
    for o in outcomes:
        if o.id in equiv:
            if o.status == "survived":
                o = Outcome(o.id, "equivalent", why=equiv[o.id])
            else:
                o = Outcome(o.id, "stale-equivalent", o.check, o.message, equiv[o.id])
        report.outcomes.append(o)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", type=int, action="append", help="lab number (repeatable); default all")
    parser.add_argument("--sample", type=int, default=None, help="a fixed sample of K mutants per lab")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--list", action="store_true", help="list the mutants, grade nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every survivor's change")
    args = parser.parse_args(argv)
    labs = [lab for lab in lab_dirs() if not args.lab or int(lab.name[:2]) in args.lab]
    any_survivor = False
    print(f"{'lab':28s} {'mutants':>7s} {'killed':>6s} {'equiv':>5s} {'survived':>8s} {'errors':>6s}  score")
    for lab in labs:
        if args.list:
            for m in sample(lab_mutants(lab), args.sample):
                print(f"{m.id:60s} {m.description}")
            continue
        report = run_lab(lab, args.sample, args.jobs)
        by_id = {m.id: m for m in lab_mutants(lab)}
        print(f"{lab.name:28s} {len(report.outcomes):7d} {report.count('killed'):6d} "
              f"{report.count('equivalent'):5d} {report.count('survived'):8d} "
              f"{report.count('grader-error') + report.count('stale-equivalent'):6d}  {100 * report.score:.1f} %", flush=True)
        for o in report.outcomes:
            if o.status in ("survived", "grader-error", "stale-equivalent"):
                any_survivor = True
                print(f"    {o.status}: {o.id}  ({by_id[o.id].description}) {o.message[:150]}")
            elif args.verbose and o.status == "killed":
                print(f"    killed by {o.check}: {o.id}")
    return 1 if any_survivor else 0


if __name__ == "__main__":
    sys.exit(main())
