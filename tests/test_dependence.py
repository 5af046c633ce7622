"""Tests for lineardistill.variants: what the transition depends on (theory R21, R22)."""

import pytest
import torch

import lineardistill as ld
from lineardistill import variants as V
from lineardistill.phase import BOOT, ONE_SHOT
from lineardistill.trees import MergeTree, all_trees

D = torch.float64
LAM = torch.tensor([0.3, 1.0, 1.7, 4.0], dtype=D)[:, None]
CTAU = torch.tensor([0.05, 1.0, 5.0], dtype=D)


@pytest.mark.parametrize("init", ld.INITS)
def test_book_model_equals_merge_value(init):
    sch = ld.Schedule.linear(6)
    trees = all_trees(6)
    got = V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(init=init))
    ref = torch.stack([ld.merge_value(t, sch, LAM, CTAU, init) for t in trees], -1)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=0)


def test_ve_latent_equals_merge_value_on_the_ve_view():
    """Computed two ways: the VE-latent student in z coordinates, and the book's rule on Schedule.ve_view()."""
    sch = ld.Schedule.linear(6)
    trees = all_trees(6)
    got = V.tree_values(trees, sch, LAM, CTAU * 1e-4, V.StudentModel(latent="ve"))
    ref = torch.stack([ld.merge_value(t, sch.ve_view(), LAM, CTAU * 1e-4) for t in trees], -1) / sch.alphas[-1]
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=0)
    # the teacher composite is the same in both latents
    torch.testing.assert_close(ld.composite(sch.ve_view(), LAM) / sch.alphas[-1], ld.composite(sch, LAM),
                               rtol=1e-12, atol=0)


def test_x0_standardized_model_is_latent_invariant():
    sch = ld.Schedule.linear(6)
    assert V.check_latent_invariance(sch, LAM, CTAU) < 1e-10
    trees = all_trees(6)
    vp = V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(target="x0", inputs="standardized"))
    ve = V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(target="x0", inputs="standardized", latent="ve"))
    torch.testing.assert_close(vp, ve, rtol=1e-12, atol=0)
    # the book's model is not invariant
    a = V.tree_values(trees, sch, LAM, CTAU * 1e-3, V.StudentModel())
    b = V.tree_values(trees, sch, LAM, CTAU * 1e-3, V.StudentModel(latent="ve"))
    assert float(((a - b) / a).abs().max()) > 1e-3


def test_prediction_targets_share_one_operator():
    sch = ld.Schedule.linear(6)
    trees = all_trees(6)
    x0 = V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(target="x0"))
    v = V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(target="v"))
    torch.testing.assert_close(x0, v, rtol=1e-14, atol=0)
    eps = V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(target="eps"))
    torch.testing.assert_close(x0, eps, rtol=1e-9, atol=0)  # one implied denoiser, one DDIM jump
    # measured on the output z_s, the three losses have different curvatures
    out = {t: V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(target=t, loss="output")) for t in ("x0", "eps", "v")}
    assert float((out["x0"] - out["eps"]).abs().max()) > 1e-3 and float((out["x0"] - out["v"]).abs().max()) > 1e-3
    # the latent target with the output loss is the book's model
    torch.testing.assert_close(V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(loss="output")),
                               V.tree_values(trees, sch, LAM, CTAU), rtol=1e-14, atol=0)


def test_leaves_and_single_steps_do_not_depend_on_the_model():
    """Every parametrisation represents the teacher step exactly: with infinite budget every tree gives T."""
    sch = ld.Schedule.linear(5)
    trees = all_trees(5)
    for model in (V.StudentModel(), V.StudentModel(target="eps"), V.StudentModel(latent="ve", target="x0")):
        vals = V.tree_values(trees, sch, LAM, torch.tensor(1e6, dtype=D), model)
        torch.testing.assert_close(vals, ld.composite(sch, LAM)[..., None].expand_as(vals), rtol=1e-12, atol=0)


def test_total_budget_values():
    sch = ld.Schedule.cosine(7)
    trees = all_trees(7)
    got = V.tree_values(trees, sch, LAM, CTAU, V.StudentModel(budget="total"))
    for j in (0, 17, 400, len(trees) - 1):
        k = V.internal_nodes(trees[j])
        torch.testing.assert_close(got[..., j], ld.merge_value(trees[j], sch, LAM, CTAU / k), rtol=1e-12, atol=0)
        torch.testing.assert_close(got[..., j], V.tree_budget_values(trees[j], sch, LAM, CTAU), rtol=1e-12, atol=0)
    assert V.internal_nodes(MergeTree.boot(7)) == 6 and V.internal_nodes(MergeTree.vanilla(7)) == 1


def test_data_objective_closed_form():
    sch = ld.Schedule.cosine(8)
    lam = torch.tensor([0.5, 2.0], dtype=D)
    T = ld.composite(sch, lam)
    teacher = V.w2_distance(T, sch, lam, "data")
    torch.testing.assert_close(teacher, (torch.sqrt(ld.teacher_output_variance(sch, lam)) - lam.sqrt()).abs(),
                               rtol=1e-12, atol=1e-15)
    assert float(V.w2_distance(T, sch, lam, "teacher").abs().max()) == 0.0


def test_key_entries_of_the_dependence_table():
    """Measured on the chapter's grid (linear, N = 8, 41 variances in [0.1, 10], budget at w_N = 1/e)."""
    sch = ld.Schedule.linear(8)
    lams = torch.logspace(-1, 1, 41, dtype=D)
    book = V.variant_phases(sch, lams, V.budget_for_root_weight(sch, V.StudentModel(), 0.3679))
    assert int(book.code[0]) == BOOT and int(book.code[-1]) == ONE_SHOT
    ve_model = V.StudentModel(latent="ve")
    ve = V.variant_phases(sch, lams, V.budget_for_root_weight(sch, ve_model, 0.3679), ve_model)
    assert bool((ve.code == BOOT).all())  # all VE steps shrink: part 1 of the theorem at every variance
    total = V.variant_phases(sch, lams, 1.0, V.StudentModel(budget="total"))
    assert int((total.code == ONE_SHOT).sum()) >= 40


def test_validation():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="alpha_N"):
        V.tree_values(all_trees(4), sch, 1.0, 1.0, V.StudentModel(latent="ve"))
    with pytest.raises(ValueError, match="latent"):
        V.StudentModel(latent="edm")
    with pytest.raises(ValueError, match="init"):
        V.StudentModel(init="zero", target="x0")
    with pytest.raises(ValueError, match="target='v'"):
        V.StudentModel(target="v", latent="ve")
    with pytest.raises(TypeError, match="model"):
        V.tree_values(all_trees(4), sch, 1.0, 1.0, "vp")
    with pytest.raises(ValueError, match="cover"):
        V.tree_values([MergeTree.boot(3)], sch, 1.0, 1.0)
    with pytest.raises(ValueError, match="weight"):
        V.budget_for_root_weight(sch, V.StudentModel(), 1.5)
