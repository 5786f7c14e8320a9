"""Every ``COURSEKIT_*`` environment variable, in one place (documented in README.md)."""

from __future__ import annotations

from typing import Final

DEFAULT_ENV_NAME: Final = "pt"
"""The course env's name when the env spec cannot be read. Everywhere else the name comes from
the spec's ``[env] name`` (:func:`coursekit.setup.plan.envspec.course_env_name`); ``--env``
overrides it for the doctor."""


ENV_DISK_GB: Final = {"gpu": 10, "cpu": 4}
"""Free space (GB, 10**9 bytes) a fresh course env needs: the conda stack plus the torch trio
and room for pip's download (a CUDA build pulls several GB of nvidia-* wheels). The one number
setup's disk note, setup's disk-full fix and the doctor's ``disk-low`` all say."""


class EnvVars:
    """Names of the environment variables coursekit reads."""

    DEBUG: Final = "COURSEKIT_DEBUG"
    """Any non-empty value other than 0: show tracebacks, like ``--debug``."""
    HOME: Final = "COURSEKIT_HOME"
    """Folder for coursekit's own state (progress file, embedded-engine envs). Default: the
    per-user data folder (platformdirs)."""
    NO_COLOR: Final = "NO_COLOR"
    """https://no-color.org: any non-empty value turns colour off."""
    OFFLINE: Final = "COURSEKIT_OFFLINE"
    """Non-empty: never touch the network (plans use the matrix alone)."""
    NO_RELEASE_CHECK: Final = "COURSEKIT_NO_RELEASE_CHECK"
    """Non-empty: the doctor does not ask the PyTorch index for a newer stable release."""
    RELEASE_INDEX: Final = "COURSEKIT_RELEASE_INDEX"
    """The index root the doctor's release check reads (a mirror, a ``file://`` folder);
    default https://download.pytorch.org/whl."""
    SPEC: Final = "COURSEKIT_ENV_SPEC"
    """Path to an environment spec TOML that replaces envs/course.toml."""
