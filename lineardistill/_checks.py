"""Argument validation shared by every public function (the library's one input boundary).

Each helper raises ``ValueError`` (or ``TypeError``) whose message names the
parameter, shows the bad value (shortened) and says what is allowed, so that a
reader who passes a wrong argument learns what to fix without reading the
source. :class:`~lineardistill.problem.MergeProblem` calls these once for a
whole merge problem; chapter 4 of the book shows the problem object.

What counts as a number here: Python ints and floats, numpy real arrays and
scalars, and dense real torch tensors. Booleans (``True``, numpy bool arrays,
lists of bools), complex values (the imaginary part would be dropped), strings,
sparse and meta tensors are refused, and so are integers too large for float64.

>>> from lineardistill._checks import as_tensor
>>> as_tensor([0.5, 2], "lam", positive=True)
tensor([0.5000, 2.0000], dtype=torch.float64)
>>> as_tensor([True, False], "lam")
Traceback (most recent call last):
...
TypeError: lam must hold real numbers, not booleans, got [True, False]
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

DTYPE = torch.float64

MAX_ELEMENTS = 2**28
"""Largest float64 tensor (elements) a call may build before it refuses: 2 GiB.

The refusal says how much memory the call would need. A user with more memory
can raise the limit: ``lineardistill._checks.MAX_ELEMENTS = 2**31``.
"""

_MAX_SHOWN = 60


def device() -> torch.device:
    """The device computations run on: CUDA when present, else the CPU.

    >>> device().type in ("cpu", "cuda")
    True
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _show(value, limit: int = _MAX_SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a huge input never makes a huge message."""
    if isinstance(value, str) and len(value) > 4 * limit:
        value = value[: 2 * limit]  # repr of a 10 MB string is itself 10 MB: cut before
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())  # tensors print on several lines; a message is one
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bad_number(name: str, value, what: str = "a number or an array of numbers"):
    return TypeError(f"{name} must be {what}, got {_show(value)}")


def _scan_sequence(value, name: str) -> None:
    """Refuse bools, complex numbers, strings and huge ints anywhere inside nested lists or tuples."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (bool, np.bool_)):
            raise TypeError(f"{name} must hold real numbers, not booleans, got {_show(value)}")
        elif isinstance(item, (str, bytes)) or item is None:
            raise _bad_number(name, value)
        elif isinstance(item, numbers.Integral):
            if abs(int(item)) > 2**1023:
                raise ValueError(f"{name} must be finite in float64, got an integer with "
                                 f"{len(str(abs(int(item))))} digits")
        elif isinstance(item, (np.ndarray, torch.Tensor)):
            _check_array_kind(item, name, value)
        elif isinstance(item, numbers.Complex) and not isinstance(item, numbers.Real):
            raise TypeError(f"{name} must hold real numbers, got the complex value {_show(item)} "
                            "(the imaginary part would be dropped)")


def _check_array_kind(array, name: str, shown) -> None:
    if isinstance(array, np.ndarray):
        kind = array.dtype.kind
        if kind == "b":
            raise TypeError(f"{name} must hold real numbers, not booleans, got {_show(shown)}")
        if kind == "c":
            raise TypeError(f"{name} must hold real numbers, got a complex array (the imaginary part would "
                            f"be dropped): {_show(shown)}")
        if kind not in "iuf":
            raise _bad_number(name, shown)
        return
    if array.layout != torch.strided:
        raise TypeError(f"{name} must be a dense tensor, got a tensor with layout {array.layout}; "
                        "pass tensor.to_dense()")
    if array.device.type == "meta":
        raise TypeError(f"{name} must hold values, got a tensor on the 'meta' device (it has none)")
    if array.is_complex():
        raise TypeError(f"{name} must hold real numbers, got a complex tensor (the imaginary part would be "
                        f"dropped): {_show(shown)}")
    if array.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, not booleans, got {_show(shown)}")


def as_tensor(value, name: str, *, positive: bool = False, nonnegative: bool = False,
              device: torch.device | str | None = None) -> torch.Tensor:
    """Convert ``value`` (number, sequence, numpy array or tensor) to a float64 tensor.

    Parameters
    ----------
    value : float, sequence, numpy.ndarray or torch.Tensor
        The numbers; every entry must be finite.
    name : str
        The parameter's name, used in error messages.
    positive, nonnegative : bool
        Also require every entry ``> 0`` (or ``>= 0``).
    device : torch.device or str, optional
        Move the result there.

    Raises
    ------
    TypeError
        For booleans, strings, ``None``, complex values, sparse or meta tensors.
    ValueError
        For non-finite entries (including integers too large for float64), and
        for the sign checks.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise _bad_number(name, value)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        _check_array_kind(value, name, value)
    elif isinstance(value, (list, tuple)):
        _scan_sequence(value, name)
    elif isinstance(value, numbers.Integral):
        if abs(int(value)) > 2**1023:
            raise ValueError(f"{name} must be finite in float64, got an integer with {len(str(abs(int(value))))} "
                             "digits")
    elif isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got the complex value {_show(value)}")
    try:
        if isinstance(value, torch.Tensor):
            tensor = value.to(dtype=DTYPE)
        else:
            tensor = torch.as_tensor(np.asarray(value, dtype=np.float64) if isinstance(value, np.ndarray) else value,
                                     dtype=DTYPE)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise _bad_number(name, value) from None
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
    """``torch.broadcast_tensors`` of the keyword arguments, in order; a ValueError names them when they don't fit.

    >>> import torch
    >>> a, b = broadcast(lam=torch.ones(2, 1), ctau=torch.ones(3))
    >>> tuple(a.shape), tuple(b.shape)
    ((2, 3), (2, 3))
    """
    try:
        return tuple(torch.broadcast_tensors(*tensors.values()))
    except RuntimeError:
        names = list(tensors)
        shapes = ", ".join(f"{name} {tuple(t.shape)}" for name, t in tensors.items())
        raise ValueError(f"{', '.join(names[:-1])} and {names[-1]} must have shapes that broadcast together "
                         f"(torch rules), got {shapes}") from None


def as_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking its type and range.

    Python and numpy integers are accepted; bools and floats are not (a whole
    float such as ``8.0`` gets a hint to pass ``8``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e18:
            raise TypeError(f"{name} must be an integer, got the float {value!r}; pass {int(value)}")
        raise TypeError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {_show(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:,}, got {_show(value)}")
    return value


def as_float(value, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """Return ``value`` as a finite Python float after checking its sign."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite in float64, got {_show(value)}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def as_bool(value, name: str) -> bool:
    """Check that ``value`` is a Python bool (not 0/1, not a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def one_of(value, name: str, allowed) -> str:
    """Check that ``value`` is one of the strings in ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {_show(value)}")
    return value


def as_device(value, name: str = "device") -> torch.device:
    """A torch device from ``None`` (the default :func:`device`), a string or a ``torch.device``.

    Refuses strings torch does not know, the ``meta`` device, and a CUDA device
    when CUDA is not available (or the index is out of range), with a message
    that says so instead of torch's ``AssertionError``.

    >>> as_device("cpu")
    device(type='cpu')
    >>> as_device("gpu0")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'cpu', 'cuda', 'cuda:<index>' or a torch.device, got 'gpu0'
    """
    if value is None:
        return device()
    if isinstance(value, torch.device):
        dev = value
    elif isinstance(value, str):
        try:
            dev = torch.device(value)
        except RuntimeError:
            raise ValueError(f"{name} must be 'cpu', 'cuda', 'cuda:<index>' or a torch.device, got {_show(value)}") \
                from None
    else:
        raise TypeError(f"{name} must be None, a string such as 'cpu' or 'cuda', or a torch.device, got {_show(value)}")
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}={_show(value)} asks for a GPU, but CUDA is not available here "
                             "(torch.cuda.is_available() is False); use device='cpu' or device=None")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name}={_show(value)}: there are only {torch.cuda.device_count()} CUDA device(s)")
        return dev
    raise ValueError(f"{name} must be a CPU or CUDA device, got {_show(value)}")


def check_size(numel: int, what: str, hint: str) -> None:
    """Refuse to build a float64 tensor of more than :data:`MAX_ELEMENTS` elements, saying what it would cost."""
    if numel > MAX_ELEMENTS:
        raise ValueError(f"{what} would hold {numel:,} float64 numbers ({numel * 8 / 2**30:,.1f} GiB), more than "
                         f"the limit of {MAX_ELEMENTS:,} ({MAX_ELEMENTS * 8 / 2**30:.0f} GiB); {hint}, or raise "
                         "lineardistill._checks.MAX_ELEMENTS")
