"""Merge trees at the edges of their arguments (issue 16, mutation survivors of trees.py).

Expected text, shapes and counts are built here by hand (string joins, plain
recursion over nested tuples, the composition recurrence), never by the code
under test.
"""

import math

import pytest
import torch

import lineardistill as ld
import lineardistill.trees as trees_mod
from lineardistill.trees import MergeTree, all_trees, count_trees, merge_value

F64 = torch.float64


def flat_text(hi, lo):
    """The one-merge block over steps hi..lo+1, written out: '(hi,hi-1,...,lo+1)'."""
    return "(" + ",".join(str(k) for k in range(hi, lo, -1)) + ")"


def block_of_length(length):
    """A flat block whose text has exactly ``length`` characters (search over hi, lo)."""
    for lo in range(0, 200):
        for hi in range(lo + 2, 200):
            if len(flat_text(hi, lo)) == length:
                return hi, lo
    raise AssertionError(length)


@pytest.mark.parametrize("length", [59, 60, 61, 62])
def test_messages_cut_a_tree_to_sixty_characters(length):
    hi, lo = block_of_length(length)
    text = flat_text(hi, lo)
    big = MergeTree.parse(text, allow_subtree=True)
    gap = MergeTree.leaf(lo - 1) if lo >= 2 else MergeTree.leaf(hi + 5)
    with pytest.raises(ValueError) as info:
        MergeTree.node([big, gap])
    shown = text if length <= 60 else text[:57] + "..."
    assert f"children[0] = {shown} ends at time {lo}," in str(info.value)


@pytest.mark.parametrize("length", [79, 80, 81])
def test_repr_cuts_at_eighty_characters(length):
    hi, lo = block_of_length(length)
    text = flat_text(hi, lo)
    tree = MergeTree.parse(text, allow_subtree=True)
    assert repr(tree) == "MergeTree(" + repr(text if length <= 80 else text[:77] + "...") + ")"


def test_a_tree_is_never_equal_to_something_else():
    leaf = MergeTree.leaf(1)
    assert (leaf == 1) is False and (leaf != 1) is True
    assert (leaf != MergeTree.leaf(1)) is False and (leaf != MergeTree.leaf(2)) is True
    assert MergeTree.parse("((3,2),1)") != MergeTree.parse("(3,2,1)")
    assert MergeTree.parse("(4,(3,2),1)") != MergeTree.parse("(4,3,(2,1))")


def heights(nested):
    """Height of every internal node of a nested-tuple tree, children before parents."""
    out = []

    def rec(x):
        if isinstance(x, int):
            return 0
        h = 1 + max(rec(c) for c in x)
        out.append((h, x))
        return h

    rec(nested)
    return out


def to_nested(tree):
    return tree.step if tree.is_leaf else tuple(to_nested(c) for c in tree.children)


@pytest.mark.parametrize("text", ["((6,5),((4,3),2),1)", "(((4,3),2),1)", "(4,3,2,1)", "((5,4),(3,(2,1)))", "1"])
def test_levels_group_the_nodes_by_height(text):
    tree = MergeTree.parse(text)
    by_height = {}
    for h, node in heights(to_nested(tree)):
        by_height.setdefault(h, []).append(node)
    got = [[to_nested(n) for n in level] for level in tree.levels()]
    assert got == [by_height[h] for h in sorted(by_height)]
    assert [to_nested(n) for n in tree.nodes()] == [n for _, n in heights(to_nested(tree))]
    post = [to_nested(n) for n in tree.postorder()]
    assert post[-1] == to_nested(tree) and len(post) == tree.num_merges + tree.num_steps


def test_named_strategies_refuse_more_than_max_tree_steps(monkeypatch):
    monkeypatch.setattr(trees_mod, "MAX_TREE_STEPS", 6)
    for build in (MergeTree.vanilla, MergeTree.boot, MergeTree.consistency, MergeTree.progressive):
        assert build(6).num_steps == 6
        with pytest.raises(ValueError, match=r"^num_steps = 7 is more than MAX_TREE_STEPS = 6"):
            build(7)


@pytest.mark.parametrize("n", [3, 5, 6, 7, 11, 12])
def test_progressive_splits_with_the_noisy_half_taking_the_extra_step(n):
    def expected(hi, lo):
        if hi - lo == 1:
            return hi
        size = hi - lo
        mid = hi - (size + 1) // 2            # noisy half: ceil(size / 2) steps
        return (expected(hi, mid), expected(mid, lo))

    assert to_nested(MergeTree.progressive(n)) == expected(n, 0)


@pytest.mark.parametrize("n, k", [(7, 3), (10, 4), (5, 2), (6, 6), (4, 1)])
def test_tract_blocks_written_out(n, k):
    size, extra = divmod(n, k)
    sizes = [size + (1 if j < extra else 0) for j in range(k)]
    parts, hi = [], n
    for s in sizes:
        chain = hi
        for step in range(hi - 1, hi - s, -1):
            chain = (chain, step)
        parts.append(chain)
        hi -= s
    want = parts[0] if k == 1 else tuple(parts)
    assert to_nested(MergeTree.tract(n, k)) == want


@pytest.mark.parametrize("n", [1, 2, 4, 5, 9, 16])
def test_named_tract_defaults_to_the_rounded_square_root(n):
    k = max(1, round(math.sqrt(n)))
    assert MergeTree.named("tract", n) == MergeTree.tract(n, k)
    assert MergeTree.named("tract", n, segments=1) == MergeTree.boot(n)
    for name in ("vanilla", "boot", "consistency", "progressive"):
        assert MergeTree.named(name, n) == getattr(MergeTree, name)(n)


def test_named_refuses_arguments_it_does_not_take():
    with pytest.raises(TypeError, match=r"^MergeTree.named\('boot'\) takes no argument 'segments' \(only 'tract'"):
        MergeTree.named("boot", 4, segments=2)
    with pytest.raises(TypeError, match=r"takes no argument 'depth'$"):
        MergeTree.named("tract", 4, depth=2)
    with pytest.raises(ValueError, match="segments"):
        MergeTree.named("tract", 4, segments=5)


def composition_count(n):
    """Ordered trees with n leaves: a tree is a leaf or a sequence of >= 2 trees (composition recurrence)."""
    trees, seqs = [0, 1], [0, 1]
    for k in range(2, n + 1):
        longer = sum(trees[j] * seqs[k - j] for j in range(1, k))
        trees.append(longer)
        seqs.append(longer + longer)
    return trees[n]


def test_count_trees_refuses_beyond_its_limit(monkeypatch):
    monkeypatch.setattr(trees_mod, "MAX_COUNT_STEPS", 12)
    assert count_trees(12) == composition_count(12) == 2646723        # allowed at the limit
    with pytest.raises(ValueError, match=r"^num_steps = 13 is more than MAX_COUNT_STEPS = 12"):
        count_trees(13)
    with pytest.raises(ValueError, match="num_steps"):
        count_trees(0)


def test_all_trees_says_how_many_trees_it_refuses(monkeypatch):
    with pytest.raises(ValueError, match=r"there are 2,646,723 trees; all_trees refuses num_steps > "
                                         r"MAX_ENUMERATION_STEPS = 11"):
        all_trees(12)
    with pytest.raises(ValueError, match="more than 10\\^30"):
        all_trees(41)
    monkeypatch.setattr(trees_mod, "MAX_ENUMERATION_STEPS", 3)
    assert len(all_trees(3)) == 3
    with pytest.raises(ValueError, match="there are 11 trees"):
        all_trees(4)


def test_all_trees_at_an_offset_cover_their_block():
    for n, lo in ((1, 3), (2, 1), (4, 5)):
        got = all_trees(n, lo=lo)
        assert len(got) == len(set(got)) == composition_count(n)
        for t in got:
            assert (t.hi, t.lo) == (lo + n, lo)
    with pytest.raises(ValueError, match="lo"):
        all_trees(2, lo=-1)


def test_merge_value_of_a_node_with_many_children():
    """A node with four children: the first is the start, the others multiply into the rest."""
    sch = ld.Schedule.linear(6)
    lam = torch.tensor([0.5, 3.0], dtype=F64)
    ctau = 0.6
    a, s = sch.alphas, sch.sigmas
    r = {t: (a[t - 1] * a[t] * lam + s[t - 1] * s[t]) / (a[t] ** 2 * lam + s[t] ** 2) for t in range(1, 7)}

    def w(t):
        return torch.exp(-ctau * (a[t] ** 2 * lam + s[t] ** 2))

    inner = r[4] * (w(4) + (1 - w(4)) * r[3])                          # (4,3)
    rest = inner * r[2] * r[1]
    want = r[6] * (w(6) + (1 - w(6)) * r[5] * rest)                    # (6,5,(4,3),2,1)
    torch.testing.assert_close(merge_value("(6,5,(4,3),2,1)", sch, lam, ctau), want, rtol=1e-13, atol=0)


def test_teacher_value_distance_and_shrinkage():
    sch = ld.Schedule.cosine(5)
    lam = torch.tensor([0.4, 2.0], dtype=F64)
    p = ld.MergeProblem(sch, lam, 1.0)
    prod = torch.ones(2, dtype=F64)
    a, s = sch.alphas, sch.sigmas
    for t in range(1, 6):
        prod = prod * (a[t - 1] * a[t] * lam + s[t - 1] * s[t]) / (a[t] ** 2 * lam + s[t] ** 2)
    torch.testing.assert_close(ld.teacher_value(p), prod, rtol=1e-13, atol=0)
    torch.testing.assert_close(ld.teacher_value(sch, lam), prod, rtol=1e-13, atol=0)
    d = ld.distance([0.5, 0.9], torch.tensor([[0.7], [0.1]], dtype=F64))
    assert d.shape == (2, 2)
    torch.testing.assert_close(d, torch.tensor([[0.2, 0.2], [0.4, 0.8]], dtype=F64), rtol=1e-15, atol=1e-16)
    assert ld.shrinkage([1.0, 3.0], 2.0).tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match="^T is too small for m"):
        ld.shrinkage(1e300, 1e-300)
    assert ld.shrinkage([], []).shape == (0,)
    with pytest.raises(ValueError, match=r"^T\b"):
        ld.shrinkage(1.0, -1.0)


def test_w2_axes():
    sch = ld.Schedule.cosine(3)
    lam = torch.tensor([[0.5, 2.0, 3.0]], dtype=F64)                     # (1, 3)
    T = ld.teacher_value(sch, lam)
    m = T + torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.1, 0.0]], dtype=F64)  # (2, 3)
    norm = torch.sqrt(sch.alphas[-1] ** 2 * lam + sch.sigmas[-1] ** 2)
    per = norm * (m - T).abs()
    torch.testing.assert_close(ld.w2(m, sch, lam, dim=None), per, rtol=1e-13, atol=0)
    torch.testing.assert_close(ld.w2(m, sch, lam, dim=0), per.pow(2).sum(0).sqrt(), rtol=1e-13, atol=0)
    torch.testing.assert_close(ld.w2(m, sch, lam, dim=-2), per.pow(2).sum(0).sqrt(), rtol=1e-13, atol=0)
    torch.testing.assert_close(ld.w2(m, sch, lam, dim=1), per.pow(2).sum(1).sqrt(), rtol=1e-13, atol=0)
    for bad in (2, -3):
        with pytest.raises(ValueError, match=r"^dim must be an axis of m broadcast with lam, in -2\.\.1"):
            ld.w2(m, sch, lam, dim=bad)
    with pytest.raises(TypeError, match="^dim"):
        ld.w2(m, sch, lam, dim=True)
    # a single coordinate: dim -1 and 0 are its only axis, the value is the per-coordinate one
    one = ld.w2(float(T[0, 0]) + 0.1, sch, 0.5)
    assert one.shape == () and float(one) == pytest.approx(0.1 * float(norm[0, 0]), rel=1e-12)
    assert float(ld.w2(float(T[0, 0]) + 0.1, sch, 0.5, dim=0)) == pytest.approx(float(one), rel=1e-15)
    with pytest.raises(ValueError, match="dim"):
        ld.w2(1.0, sch, 0.5, dim=1)
    p = ld.MergeProblem(sch, lam, 2.0)
    torch.testing.assert_close(ld.w2(m, p, dim=None), per, rtol=1e-13, atol=0)


def test_arguments_are_named_first():
    cases = [(lambda: ld.distance("a", 1.0), TypeError, "m"), (lambda: ld.distance(1.0, "a"), TypeError, "T"),
             (lambda: ld.shrinkage("a", 1.0), TypeError, "m"), (lambda: ld.shrinkage(1.0, "a"), TypeError, "T"),
             (lambda: MergeTree.named("x", 3), ValueError, "name"),
             (lambda: MergeTree.named("tract", -4), ValueError, "num_steps"),
             (lambda: MergeTree.named("tract", 0), ValueError, "num_steps"),
             (lambda: MergeTree.tract(4, 5), ValueError, "segments"),
             (lambda: MergeTree.tract(4, 0), ValueError, "segments")]
    for fn, err, word in cases:
        with pytest.raises(err, match=rf"^{word}\b"):
            fn()


def test_a_problem_fixes_the_variances_of_the_teacher_value():
    p = ld.MergeProblem(ld.Schedule.cosine(3), [0.5, 2.0], 1.0)
    with pytest.raises(ValueError, match="not both"):
        ld.teacher_value(p, 1.0)


def test_deleting_an_attribute_is_refused():
    tree = MergeTree.parse("((3,2),1)")
    with pytest.raises(AttributeError, match="^MergeTree is immutable$"):
        del tree.hi
    with pytest.raises(AttributeError, match="^MergeTree is immutable$"):
        tree.depth = 0
    assert tree.hi == 3 and tree.depth == 2


def test_a_block_that_does_not_reach_time_zero_survives_pickling():
    import pickle

    sub = MergeTree.parse("((6,5),4)", allow_subtree=True)
    again = pickle.loads(pickle.dumps(sub))
    assert again == sub and (again.hi, again.lo) == (6, 3)
    inner = MergeTree.parse("(((4,3),2),1)").children[0]
    assert pickle.loads(pickle.dumps(inner)) == inner


@pytest.mark.parametrize("text, pos, reason", [
    ("(-1,0)", 1, "leaves must be positive integers"),
    ("(2.0,1)", 2, "leaves must be integers"),
    ("(2e3,1)", 2, "leaves must be integers"),
    ("(2E3,1)", 2, "leaves must be integers"),
    ("(2.,1)", 2, "leaves must be integers"),
    ("2.5", 1, "leaves must be integers"),
    ("(.5,1)", 1, "unexpected character '.'"),          # no digit before the point: not a number at all
    (".5", 0, "unexpected character '.'"),
    ("(e,1)", 1, "unexpected character 'e'"),
    ("(2,1)x", 5, "unexpected character 'x'"),
    ("(2,1) -", 6, "leaves must be positive integers"),
    ("1234567890", 0, "leaf '1234567890' is too large"),
])
def test_parse_says_where_and_why(text, pos, reason):
    with pytest.raises(ValueError) as info:
        MergeTree.parse(text)
    assert str(info.value).startswith(f"cannot parse text {text!r} at position {pos}: {reason}")


def test_parse_checks_the_tree_it_read():
    # nine digits are read as a leaf (then it is not a whole tree); ten are refused as too large
    with pytest.raises(ValueError, match=r"^the tree in text '123456789' covers steps 123456789\.\.123456789"):
        MergeTree.parse("123456789")
    with pytest.raises(ValueError, match=r"^the tree in text '\(3,2\)' covers steps 3\.\.2 but must reach step 1"):
        MergeTree.parse("(3,2)")
    # a block may reach num_steps exactly, not beyond
    assert MergeTree.parse("(4,3)", num_steps=4, allow_subtree=True).hi == 4
    with pytest.raises(ValueError, match=r"at position 1: leaf 5 is out of range 1\.\.4"):
        MergeTree.parse("(5,4)", num_steps=4, allow_subtree=True)
    for kwargs, err, word in ((dict(num_steps=0), ValueError, "num_steps"), (dict(num_steps=-2), ValueError,
                              "num_steps"), (dict(allow_subtree="yes"), TypeError, "allow_subtree")):
        with pytest.raises(err, match=rf"^{word}\b"):
            MergeTree.parse("1", **kwargs)
    with pytest.raises(ValueError, match=r"^step\b"):
        MergeTree.leaf(0)


def test_a_tree_equals_itself():
    tree = MergeTree.parse("((3,2),1)")
    assert tree == tree and not (tree != tree)


def test_w2_with_a_problem_takes_no_other_variances():
    sch = ld.Schedule.cosine(3)
    p = ld.MergeProblem(sch, [0.5, 2.0], 1.0)
    with pytest.raises(ValueError, match="not both"):
        ld.w2([0.9, 0.9], p, 1.0)
    with pytest.raises(TypeError, match=r"^m\b"):
        ld.w2("a", sch, 1.0)


def test_more_names_come_first():
    cases = [(lambda: MergeTree.boot(0), ValueError, "num_steps"), (lambda: MergeTree.vanilla(-1), ValueError,
             "num_steps"), (lambda: count_trees(0), ValueError, "num_steps"), (lambda: all_trees(0), ValueError,
             "num_steps"), (lambda: all_trees(2, lo=-1), ValueError, "lo"),
             (lambda: merge_value(42, ld.Schedule.cosine(3), 1.0, 1.0), TypeError, "tree must be a MergeTree")]
    for fn, err, word in cases:
        with pytest.raises(err, match=rf"^{word}\b"):
            fn()
    with pytest.raises(ValueError) as info:
        MergeTree.parse("(2X,1)")
    assert "position 2: unexpected character 'X'" in str(info.value)


def test_a_text_tree_must_cover_the_schedule():
    with pytest.raises(ValueError, match=r"must cover 4\.\.1"):
        merge_value("(3,2,1)", ld.Schedule.cosine(4), 1.0, 1.0)


@pytest.mark.parametrize("n", [13, 50, 201])
def test_count_trees_refusal_states_the_number_of_digits(n, monkeypatch):
    """The message's digit count (an asymptotic estimate) is within one of the exact count's, computed here."""
    monkeypatch.setattr(trees_mod, "MAX_COUNT_STEPS", n - 1)
    with pytest.raises(ValueError) as info:
        count_trees(n)
    stated = int(str(info.value).split("the count has about ")[1].split(" ")[0].replace(",", ""))
    assert abs(stated - len(str(composition_count(n)))) <= 1


def test_all_trees_refusal_counts_up_to_forty_steps():
    with pytest.raises(ValueError, match=rf"there are {composition_count(40):,} trees;"):
        all_trees(40)
    with pytest.raises(ValueError, match=r"there are more than 10\^30 trees;"):
        all_trees(41)


def test_check_root_names_a_tree_by_default():
    with pytest.raises(TypeError, match=r"^tree must be a MergeTree, got 42"):
        trees_mod.check_root(42)
    with pytest.raises(ValueError, match=r"^tree covers steps 3\.\.2 but must reach step 1"):
        trees_mod.check_root(MergeTree.parse("(3,2)", allow_subtree=True))
    with pytest.raises(ValueError, match=r"^tree covers steps 3\.\.1 but must cover 4\.\.1"):
        trees_mod.check_root(MergeTree.boot(3), 4)
