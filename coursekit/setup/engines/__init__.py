"""Environment engines: the user's micromamba, mamba or conda, or the embedded py-rattler one.

Public API (doctor and labs use it to find the course env), by module::

    base:       Engine, EnvLocation, env_python(prefix) -> Path (python.exe at the root on
                Windows, bin/python elsewhere), env_bin_dirs, env_script, is_conda_env
    discovery:  find_engines(env) -> list[Engine]          # installed tools, best first
                choose_engine("auto" | kind, env) -> Engine
                resolve_engine("auto" | kind, "pt", runner=...) -> Engine  # keeps the one with pt
                locate_env(engine, "pt", runner=...) -> EnvLocation | None # Python confirmed
                find_env("pt", runner=...) -> EnvLocation | None           # through any engine

py-rattler is imported only inside :mod:`coursekit.setup.engines.embedded`, and only when used.
This ``__init__`` imports nothing: importing any engine module runs it, so an import here would
add a level under everything that finds an env (issue 9).

May import the core only (setup's planning and run, the doctor and the labs import it).
"""
