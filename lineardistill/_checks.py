"""Argument validation shared by every public function.

Each helper raises ``ValueError`` (or ``TypeError``) whose message names the
parameter, shows the bad value and says what is allowed, so that a reader who
passes a wrong argument learns what to fix without reading the source.
"""

from __future__ import annotations

import math
import numbers

import torch

DTYPE = torch.float64


def device() -> torch.device:
    """The device computations run on: CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_tensor(value, name: str, *, positive: bool = False, nonnegative: bool = False,
              device: torch.device | str | None = None) -> torch.Tensor:
    """Convert ``value`` (float, sequence, numpy array or tensor) to a float64 tensor.

    Rejects booleans, strings, complex or non-finite entries and, when asked,
    entries that are not strictly positive or not non-negative.
    """
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise TypeError(f"{name} must be a number or an array of numbers, got {_show(value)}")
    try:
        if isinstance(value, torch.Tensor):
            if value.is_complex() or value.dtype == torch.bool:
                raise TypeError
            tensor = value.to(dtype=DTYPE)
        else:
            tensor = torch.as_tensor(value, dtype=DTYPE)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {_show(value)}") from None
    if device is not None:
        tensor = tensor.to(device)
    if tensor.numel() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} must be finite, got {_show(value)}")
    if positive and tensor.numel() and not bool((tensor > 0).all()):
        raise ValueError(f"{name} must be > 0, got {_show(value)}")
    if nonnegative and tensor.numel() and not bool((tensor >= 0).all()):
        raise ValueError(f"{name} must be >= 0, got {_show(value)}")
    return tensor


def broadcast(**tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``torch.broadcast_tensors`` of the keyword arguments, in order; a ValueError names them when they don't fit."""
    try:
        return tuple(torch.broadcast_tensors(*tensors.values()))
    except RuntimeError:
        names = list(tensors)
        shapes = ", ".join(f"{name} {tuple(t.shape)}" for name, t in tensors.items())
        raise ValueError(f"{', '.join(names[:-1])} and {names[-1]} must have shapes that broadcast together "
                         f"(torch rules), got {shapes}") from None


def as_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking its type and range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            raise TypeError(f"{name} must be an integer, got the float {value!r}; pass {int(value)}")
        raise TypeError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def as_float(value, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """Return ``value`` as a finite Python float after checking its sign."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def one_of(value, name: str, allowed) -> str:
    """Check that ``value`` is one of the strings in ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {_show(value)}")
    return value
