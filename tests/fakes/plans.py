"""Small hand-made plans for executor tests (the real planner builds them in production)."""

from __future__ import annotations

from coursekit.setup.plan.model import Plan, Step, TorchChoice

COURSE = ("jupyterlab", "jupyterlab-git", "matplotlib", "nbdime", "pandas", "scikit-learn",
          "seaborn", "ipykernel")


def make_test_plan(index_url: str, *, channel: str, variant: str = "cu126",
                   version: str = "2.7.0", vision: str = "0.22.0", audio: str = "2.7.0",
                   python: str = "3.12", gpu: bool | None = None,
                   conda_packages: tuple[str, ...] = COURSE,
                   dependents: tuple[str, ...] = ("lightning>=2.6.6",)) -> Plan:
    """A plan like make_plan's for the test index and channel."""
    tag = f"+{variant}"
    torch = TorchChoice(version + tag, variant, index_url, vision + tag, audio + tag,
                        release=".".join(version.split(".")[:2]),
                        gpu=(variant != "cpu") if gpu is None else gpu)
    steps = (
        Step("create_env", "Create the conda env 'pt'", ("conda", "create", "-n", "pt")),
        Step("install_torch", f"Install torch {torch.version}", ("python", "-m", "pip"),
             in_env=True),
        Step("install_dependents", "Install lightning holding torch", ("python", "-m", "pip"),
             in_env=True, holds=torch.pins()),
        Step("register_kernel", "Register the Jupyter kernel 'pt'", ("python", "-m", "ipykernel")),
        Step("verify", "Verify torch", ("python", "-c", "import torch"), in_env=True),
    )
    return Plan("pt", python, "embedded", torch, steps, channels=(channel,),
                conda_packages=conda_packages, pip_dependents=dependents)
