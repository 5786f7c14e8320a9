"""Loops forever after starting a child process that would outlive a careless kill."""
import subprocess
import sys
from pathlib import Path


def answer():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path("child.pid").write_text(str(child.pid))
    while True:
        pass


def make_tensor():
    import torch
    return torch.ones(3)
