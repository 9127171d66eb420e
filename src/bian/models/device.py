"""Where and in what precision a network runs, and how much memory it may use there.

Shared by every model user. Rules: CUDA runs fp16; a CPU runs bf16 when it has native bf16
instructions (AMX or AVX-512 BF16: measured 2-3x faster than fp32 on Real-ESRGAN here), otherwise
fp32. The choice is read off the CPU's feature flags, not timed, so every run, resumed run and worker
on the same kind of CPU picks the same precision and produces the same pixels. ``precision`` options: ``auto``, ``fp32``, ``bf16``, ``fp16``.

torch is imported inside the functions: stage modules read :data:`PRECISIONS` while the CLI lists its
options, which must stay fast.
"""
from __future__ import annotations

import functools
import os

from ..errors import OptionError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def choose_device(name: str = "auto") -> torch.device:
    """``auto`` → the first CUDA device when there is one, else the CPU."""
    import torch
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise OptionError(f"unknown device '{name}'", hint="use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"device '{name}' asked for but no CUDA GPU is available", hint="use --device cpu")
    return device


def choose_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    import torch
    if precision not in PRECISIONS:
        raise OptionError(f"unknown precision '{precision}'", hint="use " + ", ".join(PRECISIONS))
    if precision != "auto":
        if device.type == "cpu" and precision == "fp16":
            raise OptionError("fp16 is for GPUs", hint="use bf16 or fp32 on a CPU")
        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if device.type == "cuda":
        return torch.float16
    return torch.bfloat16 if bf16_faster_on_cpu() else torch.float32


@functools.lru_cache(maxsize=1)
def bf16_faster_on_cpu() -> bool:
    """Whether this CPU runs bf16 convolutions natively (AMX or AVX-512 BF16, through oneDNN).

    Without those instructions bf16 is emulated and slower than fp32. A timing test was tried first:
    on a loaded machine it flipped between runs, and so did the output.
    """
    if os.environ.get("BIAN_CPU_BF16") in ("0", "1"):  # lets tests and users pin the choice
        return os.environ["BIAN_CPU_BF16"] == "1"
    import torch

    probes = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    try:
        native = any(probe() for probe in probes if probe is not None)
        return native and torch.backends.mkldnn.is_available()
    except RuntimeError:
        return False


def available_memory(device: torch.device) -> int:
    """Bytes free for new tensors on ``device`` now."""
    if device.type == "cuda":
        import torch
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 << 30  # a guess for systems that say nothing; out-of-memory retries cover a wrong one


def memory_budget(device: torch.device, fraction: float = 0.5) -> int:
    """The share of free memory one model run may plan to use (the rest is left to everything else)."""
    return int(available_memory(device) * fraction)


def is_out_of_memory(error: BaseException) -> bool:
    import torch
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    text = str(error)
    return isinstance(error, (RuntimeError, MemoryError)) and (
        isinstance(error, MemoryError) or "out of memory" in text or "can't allocate memory" in text
        or "not enough memory" in text)


def release_memory(device: torch.device) -> None:
    if device.type == "cuda":
        import torch
        torch.cuda.empty_cache()
