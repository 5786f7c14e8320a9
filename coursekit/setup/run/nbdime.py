"""nbdime's git integration, only with the student's consent (``--nbdime`` or a yes).

``nbdime config-git --enable --global`` writes ``diff.jupyternotebook.command =
git-nbdiffdriver diff`` and a merge driver as **bare names**: with nbdime only inside the
env, every ``git diff`` outside it then fails with ``git-nbdiffdriver: command not found``
(jupyter/nbdime#727, envs/SOURCES.md P5.9). So after nbdime has written its settings (and
the ``*.ipynb`` git attributes), coursekit rewrites the two driver commands with the env's
absolute paths. Never done silently: it changes the user's global git config.
"""

from __future__ import annotations

import time

from coursekit.setup.engines.base import env_script
from coursekit.setup.run.context import Context, StepOutcome

TITLE = "Configure git to diff and merge notebooks with nbdime"
QUESTION = (
    "Configure git to diff and merge notebooks with nbdime? This changes your global "
    "git config (~/.gitconfig)."
)


def _drivers(ctx: Context) -> dict[str, str]:
    assert ctx.location is not None
    prefix = ctx.location.prefix
    diff = env_script(prefix, "git-nbdiffdriver", ctx.os_name)
    merge = env_script(prefix, "git-nbmergedriver", ctx.os_name)
    return {
        "diff.jupyternotebook.command": f'"{diff}" diff',
        "merge.jupyternotebook.driver": f'"{merge}" merge %O %A %B %L %P',
    }


def configured(ctx: Context) -> bool:
    """True when git's global config already points at this env's nbdime drivers."""
    for key, value in _drivers(ctx).items():
        result = ctx.runner(
            ["git", "config", "--global", "--get", key], timeout=30, env=ctx.environ
        )
        if not result.ok or result.stdout.strip() != value:
            return False
    return True


def offer_nbdime(ctx: Context) -> StepOutcome | None:
    """Run nbdime's git setup when asked (``--nbdime``) or agreed to; else a hint."""
    want = ctx.options.nbdime
    if want is False:
        return None
    if ctx.location is None:
        return None
    if ctx.runner(["git", "--version"], timeout=30, env=ctx.environ).found is False:
        ctx.notes.append("git is not installed: nbdime's git integration was not configured.")
        return None
    start = time.monotonic()
    if configured(ctx):
        return StepOutcome(
            "nbdime_git", TITLE, "ok", time.monotonic() - start, "already configured"
        )
    if want is None and not (ctx.options.may_ask and ctx.confirm(QUESTION)):
        ctx.notes.append(
            "To diff notebooks in git: `coursekit setup --nbdime` (changes your global git config)."
        )
        return None
    nbdime = env_script(ctx.location.prefix, "nbdime", ctx.os_name)
    steps = [[str(nbdime), "config-git", "--enable", "--global"]]
    steps += [["git", "config", "--global", key, value] for key, value in _drivers(ctx).items()]
    for argv in steps:
        result = ctx.runner(argv, timeout=60, env=ctx.environ)
        if not result.ok:
            line = result.key_error_line() or f"exit {result.returncode}"
            ctx.notes.append(
                f"nbdime's git integration failed ({line}); your git config may be "
                "partly changed: `git config --global --list | grep jupyternotebook`."
            )
            return StepOutcome("nbdime_git", TITLE, "failed", time.monotonic() - start, line)
    return StepOutcome(
        "nbdime_git",
        TITLE,
        "done",
        time.monotonic() - start,
        "git diff/merge use the env's nbdime (absolute paths)",
    )
