"""Facts about the machine a benchmark ran on, saved with its JSON."""

from __future__ import annotations

import os
import platform

import torch


def machine_facts(load_before: tuple[float, ...]) -> dict:
    """CPUs, GPU, the load average before (``load_before``) and now, platform and torch
    version: what a reader needs to judge a wall time taken on a shared machine."""
    return {
        "cpus": os.cpu_count(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "torch": torch.__version__,
    }
