"""One quoting helper for every command coursekit prints (setup steps and doctor fix lines)."""

from __future__ import annotations

import shlex

import pytest

from coursekit.render.setup import format_command
from coursekit.setup.plan.model import ENV_PYTHON
from coursekit.shellquote import join, program, windows_join

ANN = r"C:\Users\Ann Lee\miniforge3\envs\pt\python.exe"
PLAIN = r"C:\Users\ann\miniforge3\envs\pt\python.exe"


def test_a_quoted_windows_program_gets_powershells_call_operator() -> None:
    # `"C:\...\python.exe" -m pip` is a parse error in PowerShell ("Unexpected token '-m'").
    assert join([ANN, "-m", "pip", "install", "numpy<2"], "windows") == (
        f'& "{ANN}" -m pip install "numpy<2"')
    assert program(ANN, "windows") == f'& "{ANN}"'


def test_an_unquoted_windows_program_is_written_bare_for_both_shells() -> None:
    assert join([PLAIN, "-m", "pip", "install", "numpy"], "windows") == f"{PLAIN} -m pip install numpy"
    assert join(["conda", "create", "-n", "pt", "python=3.12"], "windows") == 'conda create -n pt "python=3.12"'
    # a quoted argument (not the program) needs no call operator
    assert windows_join(["pip", "a b"]) == 'pip "a b"'


@pytest.mark.parametrize("argv", [["/opt/my envs/pt/bin/python", "-m", "pip", "install", "numpy<2"],
                                  ["/e/pt/bin/python", "-c", "import torch; print(1)"], ["conda"]])
def test_posix_is_exactly_shlex_join(argv: list[str]) -> None:
    assert join(argv, "linux") == shlex.join(argv) == join(argv, "macos")


def test_setup_format_command_uses_the_same_helper() -> None:
    argv = [ENV_PYTHON, "-m", "pip", "install", "torch==2.13.0"]
    assert format_command(argv, "windows", ANN) == f'& "{ANN}" -m pip install "torch==2.13.0"'
    assert format_command(argv, "windows", PLAIN) == f'{PLAIN} -m pip install "torch==2.13.0"'
    assert format_command(argv, "windows") == '{env_python} -m pip install "torch==2.13.0"'
    assert format_command(argv, "linux", "/opt/my envs/python") == (
        "'/opt/my envs/python' -m pip install torch==2.13.0")
    assert format_command(argv, "linux") == "{env_python} -m pip install torch==2.13.0"


def _windows_numpy_missing(python: str) -> str:
    from coursekit.doctor.diagnose import diagnose
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import finding_data, merge

    data = merge(finding_data("numpy-missing"),
                 {"platform": {"os": "windows"}, "env": {"python": python}})
    found = {f.id: f for f in diagnose(from_data(Facts, data))}
    return found["numpy-missing"].fix or ""


def test_doctor_fix_lines_that_start_with_the_env_python_use_the_helper() -> None:
    # --force-reinstall: a broken NumPy is "already satisfied" for a plain install
    assert _windows_numpy_missing(ANN) == f'& "{ANN}" -m pip install --force-reinstall numpy'
    assert _windows_numpy_missing(PLAIN) == f"{PLAIN} -m pip install --force-reinstall numpy"


def test_doctor_fix_lines_on_posix_are_unchanged_for_plain_paths() -> None:
    from coursekit.doctor.diagnose import diagnose
    from tests.doctor.fixtures import finding_facts

    found = {f.id: f for f in diagnose(finding_facts("numpy-missing"))}
    assert found["numpy-missing"].fix == (
        "/home/student/miniforge3/envs/pt/bin/python -m pip install --force-reinstall numpy")


def test_a_double_quote_inside_a_windows_argument_is_escaped() -> None:
    # Killed two surviving mutants (bench/mutation.py shellquote): the inner quote must be escaped.
    from coursekit.shellquote import quote_arg

    assert quote_arg('say "hi"', "windows") == '"say \\"hi\\""'
    assert quote_arg('C:\\My "Files"', "windows") == '"C:\\My \\"Files\\""'
