"""Tests for lineardistill.trees (R9): parsing, validation, enumeration, named strategies, evaluation."""

import math
import pickle
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lineardistill as ld
from lineardistill.trees import MergeTree, all_trees, count_trees, merge_value


# ----------------------------------------------------------------- helpers
def random_tree_text(rng: random.Random, hi: int, lo: int) -> str:
    """A random tree over steps hi..lo+1, written independently of the library."""
    if hi - lo == 1:
        return str(hi)
    cuts = sorted(rng.sample(range(lo + 1, hi), rng.randint(1, hi - lo - 1)), reverse=True)
    bounds = [hi] + cuts + [lo]
    parts = [random_tree_text(rng, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    return "(" + ",".join(parts) + ")"


def to_nested(text: str):
    """Independent reader used only by tests: nested tuples of ints via a regex-free scan."""
    stack = [[]]
    number = ""
    for ch in text:
        if ch.isdigit():
            number += ch
            continue
        if number:
            stack[-1].append(int(number))
            number = ""
        if ch == "(":
            stack.append([])
        elif ch == ")":
            done = tuple(stack.pop())
            stack[-1].append(done)
    if number:
        stack[-1].append(int(number))
    return stack[0][0]


def leaves_of(nested):
    return [nested] if isinstance(nested, int) else [x for c in nested for x in leaves_of(c)]


# ----------------------------------------------------------------- structure
def test_leaf_and_node_attributes():
    t = MergeTree.parse("(((4,3),2),1)")
    assert (t.hi, t.lo, t.num_steps, t.num_merges, t.depth) == (4, 0, 4, 3, 3)
    sub = t.children[0].children[0]
    assert (sub.hi, sub.lo, str(sub)) == (4, 2, "(4,3)")
    leaf = MergeTree.leaf(3)
    assert leaf.is_leaf and leaf.step == 3 and leaf.hi == 3 and leaf.lo == 2 and leaf.children == ()
    assert not t.is_leaf and t.step is None
    assert t.leaves() == [4, 3, 2, 1]
    assert MergeTree.parse("1") == MergeTree.leaf(1)


def test_equality_hash_and_immutability():
    a = MergeTree.parse("((3,2),1)")
    b = MergeTree.node([MergeTree.node([MergeTree.leaf(3), MergeTree.leaf(2)]), MergeTree.leaf(1)])
    c = MergeTree.parse("(3,(2,1))")
    assert a == b and hash(a) == hash(b) and a != c
    assert len({a, b, c}) == 2
    with pytest.raises(AttributeError):
        a.hi = 7
    with pytest.raises(TypeError):
        MergeTree()
    assert pickle.loads(pickle.dumps(a)) == a


def test_deep_chain_no_recursion_limit():
    n = 3000
    boot = MergeTree.boot(n)
    text = str(boot)
    assert text.count("(") == n - 1
    again = MergeTree.parse(text)
    assert again == boot and again.depth == n - 1
    sch = ld.Schedule.cosine(n)
    m = merge_value(boot, sch, 1.0, 0.5)
    assert torch.isfinite(m)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=14), st.integers(min_value=0, max_value=2**32 - 1))
def test_parse_format_round_trip(n, seed):
    rng = random.Random(seed)
    text = random_tree_text(rng, n, 0)
    tree = MergeTree.parse(text)
    assert str(tree) == text
    assert MergeTree.parse(str(tree)) == tree
    spaced = "".join(ch + ("" if ch.isdigit() and nxt.isdigit() else " " * rng.randint(0, 2))
                     for ch, nxt in zip(text, text[1:] + " "))
    assert MergeTree.parse("  " + spaced, num_steps=n) == tree
    nested = to_nested(text)
    assert leaves_of(nested) == list(range(n, 0, -1)) == tree.leaves()
    count = text.count("(")
    assert tree.num_merges == count


@pytest.mark.parametrize("text", ["((4,3)", "(4,4,3)", "(3,4)", "(4)", "(4,3,2,1,0)", "(4.5,3,2,1)", "(4,3,2)",
                                  "", "   ", "(4,,3,2,1)", "(4,3,2,1)x", "(2 1)", "(-1,0)", "(2,1))", ")(",
                                  "((2,1))", "(a,1)", "2,1", "(2;1)", "(2,1,)", "(,2,1)"])
def test_malformed_strings_raise(text):
    with pytest.raises(ValueError) as info:
        MergeTree.parse(text)
    message = str(info.value)
    assert "text" in message or "tree" in message


def test_error_names_position_and_reason():
    with pytest.raises(ValueError, match="position 6"):
        MergeTree.parse("((4,3)")
    with pytest.raises(ValueError, match="at least 2 children"):
        MergeTree.parse("(4)")
    with pytest.raises(ValueError, match="consecutive"):
        MergeTree.parse("(3,4)")
    with pytest.raises(ValueError, match="integers"):
        MergeTree.parse("(2.0,1)")
    with pytest.raises(ValueError, match="out of range 1..4"):
        MergeTree.parse("(5,4,3,2,1)", num_steps=4)
    with pytest.raises(ValueError, match="must cover 5..1"):
        MergeTree.parse("(4,3,2,1)", num_steps=5)
    with pytest.raises(TypeError):
        MergeTree.parse(42)
    with pytest.raises(TypeError, match="integer"):
        MergeTree.parse("(2,1)", num_steps=2.0)


def test_node_validation():
    with pytest.raises(ValueError, match="at least 2"):
        MergeTree.node([MergeTree.leaf(1)])
    with pytest.raises(ValueError, match="consecutive"):
        MergeTree.node([MergeTree.leaf(1), MergeTree.leaf(2)])
    with pytest.raises(TypeError):
        MergeTree.node([MergeTree.leaf(2), "1"])
    with pytest.raises(ValueError):
        MergeTree.leaf(0)
    with pytest.raises(TypeError):
        MergeTree.leaf(1.5)
    assert MergeTree.parse("(4,3)", allow_subtree=True).lo == 2


# ------------------------------------------------------------- enumeration
def brute_count(n):
    """Count ordered trees with n leaves by the composition recurrence (independent of the library)."""
    trees = [0, 1]
    seqs = [0, 1]  # sequences of >= 1 trees covering k leaves
    for k in range(2, n + 1):
        longer = sum(trees[j] * seqs[k - j] for j in range(1, k))
        trees.append(longer)
        seqs.append(trees[k] + longer)
    return trees[n]


@pytest.mark.parametrize("n", range(1, 10))
def test_tree_counts(n):
    trees = all_trees(n)
    known = [1, 1, 3, 11, 45, 197, 903, 4279, 20793][n - 1]  # little Schroeder numbers, theory R9
    assert len(trees) == count_trees(n) == brute_count(n) == known
    assert len(set(trees)) == len(trees)
    if n <= 7:
        texts = [str(t) for t in trees]
        assert len(set(texts)) == len(trees)
        assert [MergeTree.parse(x) for x in texts] == trees
        for t in trees:
            assert t.hi == n and t.lo == 0 and t.leaves() == list(range(n, 0, -1))


def test_count_trees_recurrence_larger():
    assert count_trees(10) == 103049 == brute_count(10)
    assert all(count_trees(n) == brute_count(n) for n in range(1, 30))


def test_all_trees_offset_and_limit():
    sub = all_trees(3, lo=2)
    assert {str(t) for t in sub} == {"(5,4,3)", "((5,4),3)", "(5,(4,3))"}
    with pytest.raises(ValueError, match="MAX_ENUMERATION_STEPS"):
        all_trees(ld.MAX_ENUMERATION_STEPS + 1)
    with pytest.raises(ValueError):
        all_trees(10**6)
    with pytest.raises(ValueError):
        all_trees(0)
    with pytest.raises(TypeError):
        all_trees(4.0)


# ---------------------------------------------------------- named strategies
def _block_sizes(tree):
    return [c.num_steps for c in tree.children]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 16])
def test_named_shapes(n):
    van = MergeTree.vanilla(n)
    boot = MergeTree.boot(n)
    cons = MergeTree.consistency(n)
    prog = MergeTree.progressive(n)
    for t in (van, boot, cons, prog):
        assert t.hi == n and t.lo == 0
    if n == 1:
        assert van == boot == cons == prog == MergeTree.leaf(1)
        return
    assert str(van) == "(" + ",".join(str(k) for k in range(n, 0, -1)) + ")"
    assert van.num_merges == 1
    # BOOT: left-deep, every node's last child a leaf, merges n-1
    assert boot.num_merges == n - 1 and boot.depth == n - 1
    node = boot
    while not node.is_leaf:
        assert len(node.children) == 2 and node.children[1].is_leaf
        node = node.children[0]
    assert node == MergeTree.leaf(n)
    # consistency: right-deep from the data end
    assert cons.num_merges == n - 1
    node = cons
    while not node.is_leaf:
        assert len(node.children) == 2 and node.children[0].is_leaf
        node = node.children[1]
    assert node == MergeTree.leaf(1)
    # progressive: binary, balanced, depth ceil(log2 n)
    assert prog.depth == math.ceil(math.log2(n)) and prog.num_merges == n - 1
    for sub in prog.nodes():
        sizes = _block_sizes(sub)
        assert len(sizes) == 2 and abs(sizes[0] - sizes[1]) <= 1
    if n & (n - 1) == 0:  # power of two: round r merges blocks of size 2^(r-1)
        for level in prog.levels():
            assert len({sub.num_steps for sub in level}) == 1


def test_small_named_strings():
    assert str(MergeTree.boot(4)) == "(((4,3),2),1)"
    assert str(MergeTree.consistency(4)) == "(4,(3,(2,1)))"
    assert str(MergeTree.progressive(4)) == "((4,3),(2,1))"
    assert str(MergeTree.vanilla(4)) == "(4,3,2,1)"
    assert str(MergeTree.tract(6, 2)) == "(((6,5),4),((3,2),1))"


@pytest.mark.parametrize("n,k", [(16, 4), (10, 3), (7, 2), (5, 5), (5, 1), (9, 4)])
def test_tract_segments(n, k):
    t = MergeTree.tract(n, k)
    assert t.hi == n and t.lo == 0
    if k == 1:
        assert t == MergeTree.boot(n)
        return
    if k == n:
        assert t == MergeTree.vanilla(n)
    sizes = _block_sizes(t)
    assert len(sizes) == k and sum(sizes) == n and max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)
    for seg in t.children:
        assert seg.num_merges == seg.num_steps - 1
        node = seg
        while not node.is_leaf:  # chain from the noise end inside each segment
            assert len(node.children) == 2 and node.children[1].is_leaf
            node = node.children[0]
    with pytest.raises(ValueError):
        MergeTree.tract(4, 5)
    with pytest.raises(ValueError):
        MergeTree.tract(4, 0)


def test_named_dispatch_and_bad_n():
    assert MergeTree.named("boot", 5) == MergeTree.boot(5)
    with pytest.raises(ValueError):
        MergeTree.named("magic", 5)
    for bad in (0, -3):
        with pytest.raises(ValueError):
            MergeTree.vanilla(bad)
    with pytest.raises(TypeError):
        MergeTree.boot(2.5)


# -------------------------------------------------------------- evaluation
def direct_value(nested, alphas, sigmas, lam, ctau, init):
    """Recursive evaluation from the raw formulas (independent of student.py / teacher.py)."""
    def r(t):
        return (alphas[t - 1] * alphas[t] * lam + sigmas[t - 1] * sigmas[t]) / (alphas[t] ** 2 * lam + sigmas[t] ** 2)

    def rec(node):
        if isinstance(node, int):
            return r(node), node, node - 1
        kids = [rec(c) for c in node]
        hi, lo = kids[0][1], kids[-1][2]
        prod = 1.0
        for v, _, _ in kids:
            prod = prod * v
        w = torch.exp(-ctau * (alphas[hi] ** 2 * lam + sigmas[hi] ** 2))
        start = {"warm": kids[0][0], "zero": 0.0 * prod, "identity": 1.0 + 0.0 * prod, "teacher": r(hi),
                 "coarse": (alphas[lo] * alphas[hi] * lam + sigmas[lo] * sigmas[hi])
                 / (alphas[hi] ** 2 * lam + sigmas[hi] ** 2)}[init]
        return w * start + (1 - w) * prod, hi, lo
    return rec(nested)[0]


@pytest.mark.parametrize("n", range(1, 7))
def test_merge_value_against_direct_recursion(n):
    sch = ld.Schedule.cosine(n)
    a, s = sch.alphas, sch.sigmas
    lam = torch.tensor([0.05, 0.3, 1.0, 2.5, 40.0], dtype=torch.float64)[:, None]
    ctau = torch.tensor([0.0, 0.2, 1.5, 8.0], dtype=torch.float64)
    for init in ld.INITS if n <= 4 else ("warm", "coarse"):
        for tree in all_trees(n):
            got = merge_value(tree, sch, lam, ctau, init=init)
            want = direct_value(to_nested(str(tree)), a, s, lam, ctau, init)
            assert got.shape == (5, 4)
            torch.testing.assert_close(got, torch.broadcast_to(want, (5, 4)), rtol=1e-12, atol=1e-14)


def test_merge_value_limits_and_broadcast():
    n = 8
    sch = ld.Schedule.linear(n)
    lam = torch.logspace(-1.3, 2, 7, dtype=torch.float64)
    T = ld.teacher_value(sch, lam)
    torch.testing.assert_close(T, ld.composite(sch, lam))
    for name in ld.STRATEGIES:
        tree = MergeTree.named(name, n)
        # infinite budget: exact merging gives the teacher composite whatever the init
        for init in ld.INITS:
            torch.testing.assert_close(merge_value(tree, sch, lam, 1e6, init), T, rtol=1e-12, atol=0)
        # no training, warm start: the root keeps its noisiest leaf's operator r_N
        torch.testing.assert_close(merge_value(tree, sch, lam, 0.0), ld.teacher_multipliers(sch, lam)[..., n - 1])
    m = merge_value("(8,7,6,5,4,3,2,1)", sch, lam[:, None], torch.tensor([0.1, 1.0]))
    assert m.shape == (7, 2)


def test_metrics():
    n = 6
    sch = ld.Schedule.cosine(n)
    lam = torch.tensor([0.2, 1.0, 5.0], dtype=torch.float64)
    m = merge_value(MergeTree.boot(n), sch, lam, 1.0)
    T = ld.teacher_value(sch, lam)
    torch.testing.assert_close(ld.distance(m, T), (m - T).abs())
    torch.testing.assert_close(ld.shrinkage(m, T), m / T)
    norm_n = torch.sqrt(sch.alphas[-1] ** 2 * lam + sch.sigmas[-1] ** 2)
    per = ld.w2(m, sch, lam, dim=None)
    torch.testing.assert_close(per, norm_n * (m - T).abs())
    total = ld.w2(m, sch, lam)
    assert total.shape == () and math.isclose(float(total), float(torch.sqrt((per**2).sum())), rel_tol=1e-12)
    # W2 between the two Gaussians by the general formula for commuting covariances
    cov_m, cov_t = m**2 * norm_n**2, T**2 * norm_n**2
    direct = torch.sqrt(((cov_m.sqrt() - cov_t.sqrt()) ** 2).sum())
    assert math.isclose(float(total), float(direct), rel_tol=1e-12)
    assert float(ld.w2(T, sch, lam)) == 0.0


@pytest.mark.parametrize("bad_lam,bad_ctau", [(-1.0, 1.0), (float("nan"), 1.0), (0.0, 1.0), (1.0, -0.5),
                                              (1.0, float("nan")), (1.0, float("inf"))])
def test_bad_lam_ctau(bad_lam, bad_ctau):
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="lam|ctau"):
        merge_value(MergeTree.boot(4), sch, bad_lam, bad_ctau)


def test_bad_tree_for_schedule():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="must cover 4..1"):
        merge_value(MergeTree.boot(5), sch, 1.0, 1.0)
    with pytest.raises(ValueError):
        merge_value("(4,3,2)", sch, 1.0, 1.0)
    with pytest.raises(TypeError):
        merge_value(42, sch, 1.0, 1.0)
    with pytest.raises(ValueError, match="init"):
        merge_value(MergeTree.boot(4), sch, 1.0, 1.0, init="cold")
    with pytest.raises(ValueError):
        ld.shrinkage(1.0, 0.0)
    with pytest.raises(TypeError):
        ld.w2(1.0, sch, 1.0, dim=1.5)
