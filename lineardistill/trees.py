"""Merge trees: a distillation strategy as an ordered tree over the teacher steps (theory R9).

Chapter 5 of the book (*Strategies as merge trees*) explains this module. The
named strategies follow the ones Gao and Li (2025, arXiv:2505.16024) study
(one-shot, BOOT-style, consistency-style, progressive); their evaluation by
the closed form of R6/R7 is this book's own model.

The leaves are the teacher steps ``N, ..., 1`` (leaf ``t`` carries ``z_t`` to
``z_{t-1}``), read from the noisy end. Every internal node has two or more
children covering consecutive blocks of steps and stands for one training run
(R6/R7) that merges them into one student. The text form lists children from
the noisy end in nested parentheses, e.g. ``(((4,3),2),1)``; a bare ``1`` is
the one-leaf tree for ``N = 1``. Text is read by a small hand-written parser,
never by ``eval``.

Everything here is iterative (no Python recursion over the tree), so chains of
thousands of steps parse, print, compare and evaluate without hitting the
recursion limit. Error messages show at most a few dozen characters of a tree
or of its text, however large.

>>> from lineardistill import MergeTree, Schedule, merge_value
>>> tree = MergeTree.parse("((4,3),(2,1))")
>>> tree.num_merges, tree.depth
(3, 2)
>>> str(MergeTree.boot(4))
'(((4,3),2),1)'
>>> from lineardistill import composite
>>> m = merge_value(tree, Schedule.cosine(4), lam=1.0, ctau=50.0)   # a long budget: close to exact
>>> abs(float(m) - float(composite(Schedule.cosine(4), 1.0))) < 1e-12
True
"""

from __future__ import annotations

import math
import numbers
import re

import torch

from ._checks import _show, as_bool, as_int, as_tensor, broadcast, one_of
from .problem import INITS, MergeProblem  # noqa: F401  (INITS re-exported for old imports)
from .teacher import composite

MAX_ENUMERATION_STEPS = 11
"""Largest ``num_steps`` that trees are enumerated for (518,859 trees at N = 11, about 10 s on one CPU core).

The one limit for :func:`all_trees` and for the enumeration in
:mod:`lineardistill.dp` (whose ``ENUMERATION_MAX_STEPS`` is the same number).
N = 12 would give 2,646,723 trees; use the DP of :mod:`lineardistill.dp` instead.
"""

MAX_COUNT_STEPS = 20_000
"""Largest ``num_steps`` :func:`count_trees` counts exactly (a 15,000-digit integer, about 0.3 s).

The exact count costs time quadratic in ``N`` (big-integer arithmetic): N = 10^5
takes seconds, N = 10^6 many minutes. Raise the limit to wait longer.
"""


_NOT_TREE_TEXT = re.compile(r"[^0-9(),\s]|[^\x00-\x7f]")


MAX_TREE_STEPS = 1_000_000
"""Largest ``num_steps`` a named strategy is built for (about 2 million Python objects, a few hundred MB)."""


def _tree_steps(num_steps) -> int:
    n = as_int(num_steps, "num_steps", minimum=1)
    if n > MAX_TREE_STEPS:
        raise ValueError(f"num_steps = {n:,} is more than MAX_TREE_STEPS = {MAX_TREE_STEPS:,}: the tree would hold "
                         f"about {2 * n:,} Python objects (~{2 * n * 150 / 2**30:,.1f} GiB); raise "
                         "lineardistill.trees.MAX_TREE_STEPS to build it")
    return n


def _brief(tree) -> str:
    """A tree's text form, cut to a readable length for messages."""
    text = str(tree)
    return text if len(text) <= 60 else text[:57] + "..."


class MergeTree:
    """An ordered merge tree (R9). Immutable and hashable; ``==`` compares structure.

    Build one with :meth:`leaf` and :meth:`node`, :meth:`parse`, a named strategy
    (:meth:`vanilla`, :meth:`boot`, :meth:`consistency`, :meth:`progressive`,
    :meth:`tract`) or :func:`all_trees`.

    Attributes
    ----------
    children:
        The children ordered from the noisy end (``()`` for a leaf).
    step:
        The teacher step of a leaf (from time ``step`` to ``step - 1``), ``None`` for a node.
    hi, lo:
        The block's top (noisiest) and bottom times: ``(4,3)`` has ``hi = 4``, ``lo = 2``.
    num_steps:
        ``hi - lo``, the number of teacher steps the block covers.
    num_merges:
        The number of internal nodes, i.e. of training runs.
    depth:
        0 for a leaf, else 1 + the largest depth of a child.
    """

    __slots__ = ("_hash", "children", "depth", "hi", "lo", "num_merges", "step")

    def __init__(self, *args, **kwargs):
        raise TypeError("build a MergeTree with MergeTree.leaf(step), MergeTree.node(children) or MergeTree.parse(text)")

    # ---------------------------------------------------------------- builders
    @classmethod
    def _make(cls, step, children):
        tree = object.__new__(cls)
        object.__setattr__(tree, "step", step)
        object.__setattr__(tree, "children", children)
        if step is not None:
            object.__setattr__(tree, "hi", step)
            object.__setattr__(tree, "lo", step - 1)
            object.__setattr__(tree, "num_merges", 0)
            object.__setattr__(tree, "depth", 0)
            object.__setattr__(tree, "_hash", hash(("leaf", step)))
        else:
            object.__setattr__(tree, "hi", children[0].hi)
            object.__setattr__(tree, "lo", children[-1].lo)
            object.__setattr__(tree, "num_merges", 1 + sum(c.num_merges for c in children))
            object.__setattr__(tree, "depth", 1 + max(c.depth for c in children))
            object.__setattr__(tree, "_hash", hash(("node", tuple(c._hash for c in children))))
        return tree

    @classmethod
    def leaf(cls, step: int) -> MergeTree:
        """The teacher step from time ``step`` to ``step - 1`` (``step >= 1``)."""
        return cls._make(as_int(step, "step", minimum=1), ())

    @classmethod
    def node(cls, children) -> MergeTree:
        """One merge of ``children`` (ordered from the noisy end; at least 2, consecutive blocks)."""
        if isinstance(children, (MergeTree, str, bytes)):
            raise TypeError(f"children must be a sequence of MergeTree, got {_show(children)}")
        try:
            children = tuple(children)
        except TypeError:
            raise TypeError(f"children must be a sequence of MergeTree, got {_show(children)}") from None
        for i, child in enumerate(children):
            if not isinstance(child, MergeTree):
                raise TypeError(f"children[{i}] must be a MergeTree, got {_show(child)}")
        if len(children) < 2:
            raise ValueError(f"a merge node needs at least 2 children, got {len(children)}"
                             + (f" ({_brief(children[0])})" if children else ""))
        for i in range(1, len(children)):
            if children[i].hi != children[i - 1].lo:
                raise ValueError(
                    f"children must cover consecutive blocks listed from the noisy end: children[{i - 1}] = "
                    f"{_brief(children[i - 1])} ends at time {children[i - 1].lo}, so children[{i}] must start at "
                    f"time {children[i - 1].lo}, but {_brief(children[i])} starts at time {children[i].hi}")
        return cls._make(None, children)

    # -------------------------------------------------------------- properties
    @property
    def is_leaf(self) -> bool:
        """True for a single teacher step."""
        return self.step is not None

    @property
    def num_steps(self) -> int:
        """The number of teacher steps the tree covers, ``hi - lo``."""
        return self.hi - self.lo

    def __setattr__(self, name, value):
        raise AttributeError("MergeTree is immutable")

    def __delattr__(self, name):
        raise AttributeError("MergeTree is immutable")

    def __reduce__(self):
        return (MergeTree._from_text, (str(self),))

    @classmethod
    def _from_text(cls, text):
        return cls.parse(text, allow_subtree=True)

    def postorder(self):
        """Every subtree once, children before parents (iterative)."""
        stack = [(self, False)]
        while stack:
            tree, expanded = stack.pop()
            if expanded or tree.step is not None:
                yield tree
            else:
                stack.append((tree, True))
                stack.extend((c, False) for c in reversed(tree.children))

    def nodes(self) -> list[MergeTree]:
        """The internal nodes (training runs), children before parents."""
        return [t for t in self.postorder() if t.step is None]

    def leaves(self) -> list[int]:
        """The leaf steps from the noisy end, e.g. ``[4, 3, 2, 1]``."""
        return list(range(self.hi, self.lo, -1))

    def levels(self) -> list[list[MergeTree]]:
        """Internal nodes grouped by height (``levels()[0]``: nodes whose children are all leaves).

        The height of a node is its depth as a subtree, so all nodes of one
        level can be trained at once: their children belong to lower levels.
        """
        out: dict[int, list[MergeTree]] = {}
        for t in self.postorder():
            if t.step is None:
                out.setdefault(t.depth, []).append(t)
        return [out[k] for k in sorted(out)]

    # ------------------------------------------------------------ comparison
    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, MergeTree):
            return NotImplemented
        stack = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a is b:
                continue
            if a._hash != b._hash or a.step != b.step or len(a.children) != len(b.children):
                return False
            stack.extend(zip(a.children, b.children))
        return True

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    # ------------------------------------------------------------- text form
    def __str__(self) -> str:
        parts: list[str] = []
        stack: list = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
            elif item.step is not None:
                parts.append(str(item.step))
            else:
                parts.append("(")
                stack.append(")")
                for i, child in enumerate(reversed(item.children)):
                    stack.append(child)
                    if i < len(item.children) - 1:
                        stack.append(",")
        return "".join(parts)

    def __repr__(self) -> str:
        text = str(self)
        if len(text) > 80:
            text = text[:77] + "..."
        return f"MergeTree({text!r})"

    @classmethod
    def parse(cls, text: str, num_steps: int | None = None, *, allow_subtree: bool = False) -> MergeTree:
        """Read the text form, e.g. ``"(((4,3),2),1)"`` (spaces allowed; never ``eval``).

        The tree must cover the steps ``N, ..., 1`` each once (its lowest leaf
        is 1); with ``num_steps`` given, also ``N = num_steps``. Pass
        ``allow_subtree=True`` to read a block that does not reach time 0,
        such as ``"(4,3)"``. Raises ``ValueError`` naming the text and the
        position of the first problem.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a string such as '((3,2),1)', got {_show(text)}")
        if num_steps is not None:
            num_steps = as_int(num_steps, "num_steps", minimum=1)
        allow_subtree = as_bool(allow_subtree, "allow_subtree")

        def fail(pos, why):
            raise ValueError(f"cannot parse text {_show(text)} at position {pos}: {why}")

        bad = _NOT_TREE_TEXT.search(text)  # a stray character is found in C, before the loop in Python
        if bad is not None:
            ch = bad.group()
            if ch == "-":
                fail(bad.start(), "leaves must be positive integers")
            if ch in ".eE" and bad.start() > 0 and text[bad.start() - 1].isdigit():
                fail(bad.start(), "leaves must be integers")
            fail(bad.start(), f"unexpected character {_show(ch)} (allowed: digits, '(', ')', ',' and spaces)")
        stack: list[tuple[int, list]] = []  # (position of '(', children so far)
        result = None
        expect_item = True  # after '(' or ',' or at the start
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if ch.isspace():
                i += 1
                continue
            if result is not None:
                fail(i, f"unexpected {ch!r} after the complete tree")
            if ch.isdigit() and ch.isascii():
                j = i
                while j < n and text[j].isdigit() and text[j].isascii():
                    j += 1
                if j < n and text[j] in ".eE":
                    fail(j, "leaves must be integers")
                if not expect_item:
                    fail(i, "expected ',' or ')' before another leaf")
                if j - i > 9:
                    fail(i, f"leaf {_show(text[i:j], 20)} is too large")
                step = int(text[i:j])
                if step < 1:
                    fail(i, f"leaf {step} is out of range: steps are numbered from 1")
                if num_steps is not None and step > num_steps:
                    fail(i, f"leaf {step} is out of range 1..{num_steps}")
                tree = cls._make(step, ())
                if stack:
                    stack[-1][1].append((i, tree))
                else:
                    result = tree
                expect_item = False
                i = j
            elif ch == "(":
                if not expect_item:
                    fail(i, "expected ',' or ')' before '('")
                stack.append((i, []))
                i += 1
            elif ch == ",":
                if expect_item or not stack:
                    fail(i, "unexpected ','")
                expect_item = True
                i += 1
            elif ch == ")":
                if not stack:
                    fail(i, "unbalanced ')'")
                if expect_item:
                    fail(i, "expected a leaf or '(' before ')'")
                start, items = stack.pop()
                if len(items) < 2:
                    fail(start, f"a merge node needs at least 2 children, got {len(items)}")
                for k in range(1, len(items)):
                    (_, prev), (pos, cur) = items[k - 1], items[k]
                    if cur.hi != prev.lo:
                        fail(pos, f"children must cover consecutive blocks from the noisy end: after {_brief(prev)} "
                                  f"(ending at time {prev.lo}) comes {_brief(cur)}, which starts at time {cur.hi} "
                                  f"instead of {prev.lo}")
                tree = cls._make(None, tuple(t for _, t in items))
                if stack:
                    stack[-1][1].append((start, tree))
                else:
                    result = tree
                expect_item = False
                i += 1
            elif ch == "-":
                fail(i, "leaves must be positive integers")
            else:
                fail(i, f"unexpected character {ch!r} (allowed: digits, '(', ')', ',' and spaces)")
        if stack:
            fail(n, f"missing ')' to close the '(' at position {stack[-1][0]}")
        if result is None:
            fail(n, "empty text")
        if not allow_subtree:
            check_root(result, num_steps, name=f"the tree in text {_show(text)}")
        elif num_steps is not None and result.hi > num_steps:
            raise ValueError(f"the tree in text {_show(text)} reaches time {result.hi} > num_steps = {num_steps}")
        return result

    # --------------------------------------------------------- named strategies
    @classmethod
    def _chain_from_noise(cls, hi: int, lo: int) -> MergeTree:
        tree = cls._make(hi, ())
        for step in range(hi - 1, lo, -1):
            tree = cls._make(None, (tree, cls._make(step, ())))
        return tree

    @classmethod
    def vanilla(cls, num_steps: int) -> MergeTree:
        """One-shot distillation: one merge of all steps, ``(N, N-1, ..., 1)``."""
        n = _tree_steps(num_steps)
        if n == 1:
            return cls._make(1, ())
        return cls._make(None, tuple(cls._make(t, ()) for t in range(n, 0, -1)))

    @classmethod
    def boot(cls, num_steps: int) -> MergeTree:
        """BOOT-style sequential merging from the noise end: ``((((N, N-1), N-2), ...), 1)``."""
        n = _tree_steps(num_steps)
        return cls._chain_from_noise(n, 0)

    @classmethod
    def consistency(cls, num_steps: int) -> MergeTree:
        """Consistency-style chain from the data end: ``(N, (N-1, (..., (2, 1))))``."""
        n = _tree_steps(num_steps)
        tree = cls._make(1, ())
        for step in range(2, n + 1):
            tree = cls._make(None, (cls._make(step, ()), tree))
        return tree

    @classmethod
    def progressive(cls, num_steps: int) -> MergeTree:
        """Progressive distillation: balanced binary merges, halving the number of steps each round.

        Each block is split into two halves, the noisy half taking the extra
        step when the size is odd, so for ``N = 2^k`` this is exactly ``k``
        rounds of pairwise merges, and otherwise the most balanced binary tree
        (depth ``ceil(log2 N)``).
        """
        n = _tree_steps(num_steps)
        # iterative: build blocks bottom-up from the list of splits
        blocks = {}
        todo = [(n, 0)]
        order = []
        while todo:
            hi, lo = todo.pop()
            order.append((hi, lo))
            if hi - lo > 1:
                mid = hi - (hi - lo + 1) // 2
                todo.append((hi, mid))
                todo.append((mid, lo))
        for hi, lo in reversed(order):
            if hi - lo == 1:
                blocks[hi, lo] = cls._make(hi, ())
            else:
                mid = hi - (hi - lo + 1) // 2
                blocks[hi, lo] = cls._make(None, (blocks[hi, mid], blocks[mid, lo]))
        return blocks[n, 0]

    @classmethod
    def tract(cls, num_steps: int, segments: int) -> MergeTree:
        """TRACT-style: a noise-first chain inside each of ``segments`` blocks, then one merge of the blocks.

        The blocks are consecutive and as equal as possible (the noisier ones
        take the extra steps). ``segments = 1`` gives :meth:`boot`,
        ``segments = N`` gives :meth:`vanilla`.
        """
        n = _tree_steps(num_steps)
        k = as_int(segments, "segments", minimum=1, maximum=n)
        if k == 1:
            return cls._chain_from_noise(n, 0)
        size, extra = divmod(n, k)
        parts, hi = [], n
        for j in range(k):
            lo = hi - size - (1 if j < extra else 0)
            parts.append(cls._chain_from_noise(hi, lo))
            hi = lo
        return cls._make(None, tuple(parts))

    @classmethod
    def named(cls, name: str, num_steps: int, **kwargs) -> MergeTree:
        """The named strategy ``name`` (one of :data:`STRATEGIES`) for ``num_steps`` steps."""
        name = one_of(name, "name", STRATEGIES)
        extra = set(kwargs) - ({"segments"} if name == "tract" else set())
        if extra:
            raise TypeError(f"MergeTree.named({name!r}) takes no argument {sorted(extra)[0]!r}"
                            + ("" if name == "tract" else " (only 'tract' takes segments)"))
        if name == "tract":
            return cls.tract(num_steps, kwargs.get("segments", max(1, round(math.sqrt(as_int(num_steps, "num_steps", minimum=1))))))
        return getattr(cls, name)(num_steps)


STRATEGIES = ("vanilla", "boot", "consistency", "progressive", "tract")
"""Names of the strategies that :meth:`MergeTree.named` builds."""


def check_root(tree, num_steps: int | None = None, name: str = "tree") -> MergeTree:
    """Check that ``tree`` is a MergeTree covering steps ``N..1`` (``N = num_steps`` when given)."""
    if not isinstance(tree, MergeTree):
        raise TypeError(f"{name} must be a MergeTree, got {_show(tree)}")
    if tree.lo != 0:
        raise ValueError(f"{name} covers steps {tree.hi}..{tree.lo + 1} but must reach step 1 "
                         f"(leaves N..1, each once)")
    if num_steps is not None and tree.hi != num_steps:
        raise ValueError(f"{name} covers steps {tree.hi}..1 but must cover {num_steps}..1 (num_steps = {num_steps})")
    return tree


def as_tree(tree, num_steps: int | None = None, name: str = "tree") -> MergeTree:
    """Accept a MergeTree or its text form; check that it covers ``num_steps..1``."""
    if isinstance(tree, str):
        return MergeTree.parse(tree, num_steps)
    return check_root(tree, num_steps, name)


# ------------------------------------------------------------------ counting
def count_trees(num_steps: int) -> int:
    """R9: the number of merge trees over ``num_steps`` leaves (little Schroeder numbers).

    ``1, 1, 3, 11, 45, 197, 903, ...`` from the recurrence
    ``(n+1) s(n+1) = 3 (2n-1) s(n) - (n-2) s(n-1)``, exact integer arithmetic.
    Refuses ``num_steps > MAX_COUNT_STEPS`` (the exact count grows like
    ``(3 + 2 sqrt 2)^N``, and its cost like ``N^2``).

    >>> [count_trees(n) for n in range(1, 8)]
    [1, 1, 3, 11, 45, 197, 903]
    """
    n = as_int(num_steps, "num_steps", minimum=1)
    if n > MAX_COUNT_STEPS:
        digits = n * math.log10(3 + 2 * math.sqrt(2)) - 1.5 * math.log10(n)
        raise ValueError(f"num_steps = {n:,} is more than MAX_COUNT_STEPS = {MAX_COUNT_STEPS:,}: the count has about "
                         f"{digits:,.0f} decimal digits and would take about {0.1 * (n / 1e4) ** 2:,.0f} s to compute "
                         "exactly; raise lineardistill.trees.MAX_COUNT_STEPS to wait for it")
    prev, cur = 1, 1  # s(1), s(2)
    if n <= 2:
        return 1
    for k in range(2, n):
        prev, cur = cur, (3 * (2 * k - 1) * cur - (k - 2) * prev) // (k + 1)
    return cur


def all_trees(num_steps: int, lo: int = 0) -> list[MergeTree]:
    """R9: every merge tree over the steps ``lo + num_steps, ..., lo + 1`` (subtrees shared).

    Refuses ``num_steps > MAX_ENUMERATION_STEPS`` (the count grows like ``5.8^N``).
    """
    n = as_int(num_steps, "num_steps", minimum=1)
    lo = as_int(lo, "lo", minimum=0)
    if n > MAX_ENUMERATION_STEPS:
        how_many = f"{count_trees(n):,}" if n <= 40 else "more than 10^30"
        raise ValueError(f"num_steps = {n} is too large to enumerate: there are {how_many} trees; "
                         f"all_trees refuses num_steps > MAX_ENUMERATION_STEPS = {MAX_ENUMERATION_STEPS} "
                         "(use the dynamic programme in lineardistill.dp instead)")
    trees: dict[tuple[int, int], list[MergeTree]] = {}
    seqs: dict[tuple[int, int], list[tuple[MergeTree, ...]]] = {}  # sequences of >= 1 trees covering (hi, low)
    for size in range(1, n + 1):
        for low in range(lo, lo + n - size + 1):
            hi = low + size
            if size == 1:
                trees[hi, low] = [MergeTree._make(hi, ())]
            else:
                trees[hi, low] = [MergeTree._make(None, s) for s in _seqs_longer(seqs, trees, hi, low)]
            seqs[hi, low] = [(t,) for t in trees[hi, low]] + list(_seqs_longer(seqs, trees, hi, low))
    return trees[lo + n, lo]


def _seqs_longer(seqs, trees, hi, low):
    """Sequences of >= 2 trees covering (hi, low): a first block (hi, u) then >= 1 more."""
    for u in range(hi - 1, low, -1):
        for first in trees[hi, u]:
            for rest in seqs[u, low]:
                yield (first,) + rest


# ---------------------------------------------------------------- evaluation
def merge_value(tree, schedule, lam=None, ctau=None, init: str = "warm") -> torch.Tensor:
    """R6/R7 over a whole tree: the final one-step multiplier ``m``, shape ``broadcast(lam, ctau)``.

    Nodes are evaluated bottom-up by the one merge rule,
    :meth:`lineardistill.problem.MergeProblem.merge`. ``schedule`` is a
    :class:`~lineardistill.problem.MergeProblem` or a schedule given with
    ``lam``, ``ctau`` and ``init`` (one of :data:`~lineardistill.problem.INITS`).
    ``tree`` (a MergeTree or its text) must cover ``schedule.num_steps..1``.
    """
    problem = MergeProblem.of(schedule, lam, ctau, init)
    tree = as_tree(tree, problem.num_steps)
    r = problem.r                                      # shape batch + (N,)
    values: dict[int, torch.Tensor] = {}
    for sub in tree.postorder():
        if sub.step is not None:
            values[id(sub)] = r[..., sub.step - 1]
            continue
        kids = [values[id(c)] for c in sub.children]
        rest = kids[1]
        for k in kids[2:]:
            rest = rest * k
        values[id(sub)] = problem.merge(kids[0], rest, sub.lo, sub.hi)
        for c in sub.children:
            values.pop(id(c), None)
    return values[id(tree)].clone()


def teacher_value(schedule, lam=None) -> torch.Tensor:
    """R4: the composite teacher ``T = T(0, N)`` that every strategy approximates.

    ``schedule`` is a schedule given with ``lam``, or a :class:`MergeProblem`.
    """
    if isinstance(schedule, MergeProblem):
        return MergeProblem.of(schedule, lam).T
    return composite(schedule, lam)


def distance(m, T) -> torch.Tensor:
    """R9: the per-coordinate loss ``|m - T|`` (``m`` and ``T`` broadcast together)."""
    m = as_tensor(m, "m")
    T = as_tensor(T, "T", device=m.device)
    m, T = broadcast(m=m, T=T)
    return (m - T).abs()


def shrinkage(m, T) -> torch.Tensor:
    """R9: the signal shrinkage ``m / T`` of a strategy (1 means no loss).

    ``T`` must be > 0, and so large against ``m`` that the ratio is finite: a
    subnormal ``T`` that makes ``m / T`` overflow is refused, not returned as inf.

    >>> float(shrinkage(0.5, 0.25))
    2.0
    """
    m = as_tensor(m, "m")
    T = as_tensor(T, "T", positive=True, device=m.device)
    m, T = broadcast(m=m, T=T)
    ratio = m / T
    if ratio.numel() and not bool(torch.isfinite(ratio).all()):
        raise ValueError(f"T is too small for m: m / T overflows float64 (smallest T {float(T.min()):.3g}, "
                         f"largest |m| {float(m.abs().max()):.3g})")
    return ratio


def w2(m, schedule, lam=None, dim: int | None = -1) -> torch.Tensor:
    """R9: Gaussian ``W2(N(0, M Sigma_N M), N(0, T Sigma_N T))`` for diagonal ``M = diag(m)``.

    Parameters
    ----------
    m : float or array_like
        The strategy's multipliers, one per coordinate.
    schedule : Schedule or MergeProblem
        A schedule given with ``lam``, or a problem (its ``lam`` is used).
    lam : float or array_like
        The variances of the coordinates, broadcast with ``m``.
    dim : int or None, default -1
        The coordinate axis summed over; ``None`` sums nothing and returns the
        per-coordinate value ``||v_N|| |m - T|``.

    Returns
    -------
    torch.Tensor
        ``sqrt(sum_i ||v_{i,N}||^2 (m_i - T_i)^2)`` over ``dim``.

    Examples
    --------
    >>> from lineardistill import Schedule, composite
    >>> sch = Schedule.cosine(4)
    >>> float(w2(composite(sch, [1.0, 2.0]), sch, [1.0, 2.0]))   # the teacher itself: distance 0
    0.0
    """
    if isinstance(schedule, MergeProblem):
        problem = MergeProblem.of(schedule, lam)
    else:
        problem = MergeProblem(schedule, lam, 0.0)
    m = as_tensor(m, "m", device=problem.device)
    m, norm, T = broadcast(m=m, lam=problem.norms[..., -1], T=problem.T)
    per = norm * (m - T).abs()
    if dim is None:
        return per
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim must be an integer axis or None, got {_show(dim)}")
    rank = max(per.ndim, 1)
    if not -rank <= int(dim) < rank:
        raise ValueError(f"dim must be an axis of m broadcast with lam, in {-rank}..{rank - 1}, got {dim}")
    if per.ndim == 0:
        return per
    return torch.sqrt((per**2).sum(dim=int(dim)))
