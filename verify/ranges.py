"""The one range rule of every command line: ``a:b`` lists a, a + 1, ..., b, both ends included.

``--t 1:3`` (:mod:`verify.curves`) is t = 1, 2, 3, ``--seed 0:2`` and ``--grid D=2:4``
(:mod:`verify.sweep`) are 0, 1, 2 and 2, 3, 4. An optional step, ``a:b:step``, keeps the values of
a, a + step, ... that are <= b (``10:30:10`` is 10, 20, 30). A range with b < a or a step <= 0 is
refused (ValueError naming the parameter), never read as empty.
"""
from __future__ import annotations


def is_range(text: str) -> bool:
    """Whether ``text`` is written as a range (contains ``:``)."""
    return ":" in text


def parse_range(name: str, text: str, limit: int | None = None) -> range:
    """``"a:b"`` or ``"a:b:step"`` (integers) -> range of a..b, both ends included.

    ``limit`` : most values allowed (ValueError with the count beyond it), checked before any
    value is listed.

    Examples
    --------
    >>> list(parse_range("seed", "0:2")), list(parse_range("t", "10:30:10"))
    ([0, 1, 2], [10, 20, 30])
    """
    parts = text.strip().split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"{name}={text!r} must be an integer range a:b or a:b:step (both ends included)") from None
    if len(nums) not in (2, 3) or nums[1] < nums[0] or (len(nums) == 3 and nums[2] <= 0):
        raise ValueError(f"{name}={text!r} is empty or malformed: a range a:b[:step] needs a <= b and step > 0 "
                         "(both ends included)")
    span = range(nums[0], nums[1] + 1, nums[2] if len(nums) == 3 else 1)
    if limit is not None and len(span) > limit:
        raise ValueError(f"{name}={text!r} lists {len(span)} values; at most {limit}")
    return span
