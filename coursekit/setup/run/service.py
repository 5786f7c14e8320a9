"""What ``coursekit setup`` calls: engine choice, options, questions, the run itself.

The Click command stays a thin adapter and draws: it passes a
:class:`~coursekit.setup.run.context.Reporter` down and renders the returned
:class:`~coursekit.setup.run.context.SetupResult`; the work is in
:func:`coursekit.setup.run.execute.carry_out`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from coursekit.errors import EnvironmentProblem
from coursekit.setup.engines.base import Engine
from coursekit.setup.engines.discovery import resolve_engine
from coursekit.setup.plan.model import EmbeddedTarget, Plan
from coursekit.setup.run.context import Reporter, RunOptions, SetupResult
from coursekit.setup.run.execute import carry_out


def is_interactive() -> bool:
    """A person at a terminal: pip's progress bar is shown and questions may be asked."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def plan_engine(name: str, env_name: str | None = None) -> str:
    """The engine kind the plan's commands are written for: ``auto`` keeps the engine that has
    the course env (``env_name``; default: the env spec's name). ``--dry-run`` never fails on
    a missing tool: it then shows conda's commands."""
    from coursekit.setup.plan.envspec import course_env_name

    try:
        return resolve_engine(name, env_name or course_env_name()).kind
    except EnvironmentProblem:
        return "conda" if name == "auto" else name


def make_options(
    *,
    engine: str = "auto",
    channels: tuple[str, ...] = (),
    index_url: str | None = None,
    force: bool = False,
    nbdime: bool | None = None,
    yes: bool = False,
) -> RunOptions:
    """RunOptions from the flags; ``--index-url`` is validated here (exit 2 before any work)."""
    from coursekit.setup.run.pipsafe import check_channel, check_index

    if index_url is not None:
        check_index(index_url)
    for channel in channels:
        check_channel(channel)
    return RunOptions(
        engine=engine,
        channels=channels,
        index_url=index_url,
        pypi_index_url=_user_pypi_index(),
        force=force,
        nbdime=nbdime,
        interactive=is_interactive(),
        yes=yes,
    )


def _user_pypi_index() -> str | None:
    """The ``index-url`` the user's pip config or ``PIP_INDEX_URL`` names (a PyPI mirror)."""
    import os

    from coursekit.setup.plan.detect import system_os
    from coursekit.setup.run import pipsafe

    try:
        files = pipsafe.config_files(os.environ, None, system_os())
        return pipsafe.read_settings(files, os.environ).index_url
    except (OSError, ValueError):  # an unreadable config: pip itself will say so
        return None


def _swap_channels(argv: tuple[str, ...], channels: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "-c" and i + 1 < len(argv):
            skip = True
            continue
        out.append(arg)
        if arg == "--override-channels":
            out += [a for c in channels for a in ("-c", c)]
    return tuple(out)


def _swap_index(args: tuple[str, ...], source: tuple[str, ...]) -> tuple[str, ...]:
    if "--index-url" in args:
        i = args.index("--index-url")
        return (*args[:i], *source, *args[i + 2 :])
    if "install" in args:  # plain PyPI plan: the override adds the one source
        i = args.index("install") + 1
        return (*args[:i], *source, *args[i:])
    return args


def with_overrides(plan: Plan, options: RunOptions) -> Plan:
    """The plan as ``--channel``/``--index-url`` change it, so ``--dry-run`` shows the commands
    that will run and the progress lines name the real source (pure)."""
    import dataclasses

    from coursekit.setup.run.pipsafe import check_index

    steps = list(plan.steps)
    torch = plan.torch
    if options.channels:
        steps = [
            dataclasses.replace(s, argv=_swap_channels(s.argv, options.channels))
            if s.id == "create_env"
            else s
            for s in steps
        ]
    if options.index_url:
        source = check_index(options.index_url)
        old = f"from {torch.index_url}" if torch.index_url else "from PyPI"
        args = tuple(source.pip_args())
        # the trio always comes from the override; lightning & co. too when it is a folder of
        # wheels (an offline room: steps.install_dependents), else from PyPI as planned
        swapped = (
            ("install_torch", "install_dependents")
            if source.folder is not None
            else ("install_torch",)
        )
        steps = [
            dataclasses.replace(
                s,
                argv=_swap_index(s.argv, args),
                python_args=_swap_index(s.python_args, args),
                title=s.title.replace(
                    old if s.id == "install_torch" else "from PyPI", f"from {source.label}"
                ),
            )
            if s.id in swapped
            else s
            for s in steps
        ]
        torch = dataclasses.replace(torch, index_url=source.url or str(source.folder))
    pypi = options.pypi_index_url
    if pypi:
        # the titles name the PyPI mirror pip really uses (the user's own index-url)
        steps = [
            dataclasses.replace(s, title=s.title.replace("from PyPI", f"from {pypi}"))
            if s.id in ("install_torch", "install_dependents")
            else s
            for s in steps
        ]
    return dataclasses.replace(
        plan, steps=tuple(steps), torch=torch, channels=options.channels or plan.channels
    )


# Where platformdirs' user_data_dir("coursekit", appauthor=False) is on each OS, written for
# that OS's shell, for plans of another machine (--os/--gpu-*): the built-in engine puts envs
# in <that>/envs (coursekit.setup.engines.discovery.embedded_env_roots).
_DATA_DIR_TEXT = {
    "linux": '"${XDG_DATA_HOME:-$HOME/.local/share}/coursekit/envs/%s"',
    "macos": '"$HOME/Library/Application Support/coursekit/envs/%s"',
    "windows": '"$env:LOCALAPPDATA\\coursekit\\envs\\%s"',
}


def embedded_target(plan: Plan, *, described: bool) -> EmbeddedTarget | None:
    """For a dry run with the built-in engine: the real commands that create and use the env.

    On this machine the paths are known (coursekit's own Python, where the engine puts
    ``pt``), so every step pastes as shown. For another machine (``--os``/``--gpu-*``) the
    default folder is written with the variables that machine's shell expands, and coursekit's
    Python is ``python`` (the interpreter coursekit is installed in there). None for other
    engines.
    """
    if plan.engine != "embedded":
        return None
    from coursekit.setup.engines.base import env_python

    if not described:
        from coursekit.setup.engines.discovery import embedded_env_prefix

        prefix = embedded_env_prefix(plan.env_name)
        return EmbeddedTarget(sys.executable, str(prefix), str(env_python(prefix)))
    os_name = plan.extra.get("platform", "linux").split("-")[0]
    folder = _DATA_DIR_TEXT.get(os_name, _DATA_DIR_TEXT["linux"]) % plan.env_name
    inner = folder[:-1]
    python = (inner + '\\python.exe"') if os_name == "windows" else (inner + '/bin/python"')
    return EmbeddedTarget(
        "python",
        folder,
        python,
        quoted=True,
        note="python: the Python coursekit is installed in on that machine; "
        "the folder is the default one (an existing ~/.conda/envs is "
        "used instead when there is one)",
    )


def _confirm(options: RunOptions) -> Callable[[str], bool]:
    if not options.may_ask:
        return lambda question: False
    import click

    return lambda question: click.confirm(question, default=False)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM / SIGHUP (a closed terminal, a logout) stop setup like Ctrl-C: the running
    tool and its children are killed (pip runs in its own session and would otherwise go on
    installing into the env after setup is gone). A signal setup was started ignoring stays
    ignored: ``nohup coursekit setup`` asked to survive the terminal closing."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            previous[name] = signal.signal(number, interrupt)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def execute_plan(
    plan: Plan,
    *,
    reporter: Reporter,
    options: RunOptions | None = None,
    engine: Engine | None = None,
) -> SetupResult:
    """Carry out ``plan``, telling ``reporter`` (the command line's progress display) as it
    goes; returns the result for the caller to render (this wing draws nothing)."""
    options = options or RunOptions(interactive=is_interactive())
    engine = engine or resolve_engine(options.engine, plan.env_name)
    reporter.note(f"engine: {engine.display}")
    with _stop_signals_interrupt():
        return carry_out(plan, engine, options, reporter=reporter, confirm=_confirm(options))
