"""The description of this machine that both benchmark reports start with."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """CPU model, core count and Python version, e.g. "AMD EPYC, 2 cores, Python 3.11.7"."""
    cpuinfo = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
              if line.startswith("model name")] if cpuinfo.exists() else []
    cpu = models[0] if models else platform.processor()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
