"""Every public function of student, trees and training takes a MergeProblem or plain arguments, same numbers."""

import pytest
import torch

import lineardistill as ld
from lineardistill import training
from lineardistill.problem import MergeProblem

SCH = ld.Schedule.linear(5)
LAM = torch.tensor([[0.4], [1.0], [2.5]], dtype=torch.float64)
CTAU = torch.tensor([0.3, 2.0], dtype=torch.float64)
TREE = "((5,4),(3,2,1))"


@pytest.mark.parametrize("init", ld.INITS)
def test_problem_and_plain_arguments_agree(init):
    p = MergeProblem(SCH, LAM, CTAU, init)
    torch.testing.assert_close(ld.merge_value(TREE, p), ld.merge_value(TREE, SCH, LAM, CTAU, init), rtol=0, atol=0)
    torch.testing.assert_close(ld.merge_block([0.9, 0.8], p, s=1, t=3),
                               ld.merge_block([0.9, 0.8], SCH, LAM, CTAU, 1, 3, init), rtol=0, atol=0)
    tol_p = training.training_tolerance(TREE, p, steps=50, batch_size=32)
    tol = training.training_tolerance(TREE, SCH, LAM, CTAU, steps=50, batch_size=32, init=init)
    torch.testing.assert_close(tol_p, tol, rtol=0, atol=0)


def test_weights_w2_and_teacher_value_take_a_problem():
    p = MergeProblem(SCH, LAM, CTAU)
    torch.testing.assert_close(ld.training_weights(p), ld.training_weights(SCH, LAM, CTAU), rtol=0, atol=0)
    torch.testing.assert_close(training.gd_weights(p, steps=100), training.gd_weights(SCH, LAM, CTAU, 100), rtol=0,
                               atol=0)
    m = ld.merge_value(TREE, p)
    torch.testing.assert_close(ld.w2(m, p, dim=None), ld.w2(m, SCH, LAM, dim=None), rtol=1e-15, atol=0)
    torch.testing.assert_close(ld.teacher_value(p), ld.composite(SCH, LAM).expand(3, 2), rtol=1e-15, atol=0)


def test_training_takes_a_problem():
    p = MergeProblem(SCH, LAM, CTAU, "teacher")
    kw = dict(steps=30, batch_size=16, seed=3, progress=False, device="cpu")
    a = training.train_tree(TREE, p, **kw).value
    b = training.train_tree(TREE, SCH, LAM, CTAU, "teacher", **kw).value
    assert torch.equal(a, b)
    c = training.train_block([0.9, 0.95], p, s=1, t=3, **kw).value
    d = training.train_block([0.9, 0.95], SCH, LAM, CTAU, 1, 3, "teacher", **kw).value
    assert torch.equal(c, d)


def test_a_problem_with_extra_arguments_is_refused():
    p = MergeProblem(SCH, LAM, CTAU)
    with pytest.raises(ValueError, match="lam"):
        ld.merge_value(TREE, p, lam=1.0)
    with pytest.raises(ValueError, match="init"):
        training.train_tree(TREE, p, init="zero", progress=False)
