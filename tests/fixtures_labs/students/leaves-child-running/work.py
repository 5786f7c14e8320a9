"""Starts a background process and returns normally: it must not outlive grading."""
import subprocess
import sys
from pathlib import Path

import torch


def answer():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path("child.pid").write_text(str(child.pid))
    return 42


def make_tensor():
    return torch.ones(3)
