"""Tests of lineardistill.mixture (R18): the mixture teacher, the one-step student class, piece counts."""

import itertools
import math

import pytest
import torch

import lineardistill as ld
from lineardistill import mixture as mx

DT = torch.float64
SCH = ld.Schedule.cosine(6)
MIX1 = mx.GaussianMixture.scalar([0.6, 0.3, 0.1], [-1.5, 0.5, 2.0], [0.1, 0.05, 0.02])
MIX2 = mx.GaussianMixture(
    [0.5, 0.2, 0.3],
    [[1.0, -1.0], [-1.5, 0.5], [0.0, 2.0]],
    [[[0.3, 0.1], [0.1, 0.2]], [[0.1, 0.0], [0.0, 0.4]], [[0.5, -0.2], [-0.2, 0.3]]],
)


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny tensors: one thread avoids contention on a busy 2-core machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_denoiser_matches_monte_carlo_posterior_mean():
    """E[x0 | z_t] by self-normalized importance sampling with the prior as proposal."""
    gen = torch.Generator().manual_seed(1)
    x0 = mx.sample_mixture(MIX2, 400_000, gen)
    t = 3
    a, s = float(SCH.alphas[t]), float(SCH.sigmas[t])
    for z in ([0.4, 0.3], [-1.0, 1.0], [1.5, -0.5]):
        z = torch.tensor(z, dtype=DT)
        logw = -((z - a * x0) ** 2).sum(-1) / (2 * s * s)
        w = torch.softmax(logw, 0)
        mc = (w[:, None] * x0).sum(0)
        ess = 1.0 / float((w**2).sum())
        spread = torch.sqrt((w[:, None] * (x0 - mc) ** 2).sum(0))
        exact = mx.mixture_denoise(z, t, SCH, MIX2)
        assert ess > 2000
        # 5 Monte Carlo standard errors
        assert bool(((exact - mc).abs() <= 5 * spread / math.sqrt(ess)).all()), (exact, mc)


def test_single_gaussian_reduces_to_the_linear_model():
    lam = torch.tensor([0.3, 1.0, 4.0], dtype=DT)
    single = mx.GaussianMixture([1.0], torch.zeros(1, 3), lam[None])
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=DT)
    for t in (1, 3, 6):
        assert torch.allclose(mx.mixture_denoise(z, t, SCH, single), ld.denoise(z, t, SCH, lam), rtol=1e-12)
        r = ld.teacher_multipliers(SCH, lam)[:, t - 1]
        assert torch.allclose(mx.mixture_step(z, t, SCH, single), r * z, rtol=1e-12, atol=1e-14)
    assert torch.allclose(mx.mixture_composite(z, SCH, single), ld.composite(SCH, lam) * z, rtol=1e-10)
    assert torch.allclose(mx.mixture_composite(z, SCH, single), ld.run_ddim(z, SCH, lam), rtol=1e-10)


def test_teacher_step_is_exactly_a_gated_affine_map():
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(2), dtype=DT) * 2
    for t in (1, 4, 6):
        student = mx.teacher_step_student(SCH, MIX2, t)
        with torch.no_grad():
            assert torch.allclose(student(z)[0], mx.mixture_step(z, t, SCH, MIX2), atol=1e-12)
            assert torch.allclose(torch.exp(student.log_gates(z)[0]), mx.responsibilities(z, t, SCH, MIX2),
                                  atol=1e-12)


def test_responsibilities_are_stable_far_away():
    far = torch.tensor([[1e4, -1e4], [0.0, 0.0]], dtype=DT)
    gamma = mx.responsibilities(far, 1, SCH, MIX2)
    assert bool(torch.isfinite(gamma).all())
    assert torch.allclose(gamma.sum(-1), torch.ones(2, dtype=DT))
    assert bool(torch.isfinite(mx.mixture_step(far, 1, SCH, MIX2)).all())


def test_sampling_moments_and_reproducibility():
    gen = torch.Generator().manual_seed(5)
    x = mx.sample_mixture(MIX2, 200_000, gen)
    assert torch.allclose(x.mean(0), MIX2.mean(), atol=0.01)
    assert torch.allclose(torch.cov(x.T), MIX2.covariance(), atol=0.02)
    z = mx.sample_latents(MIX2, SCH, 2, 200_000, torch.Generator().manual_seed(6))
    a, s = SCH.alphas[2], SCH.sigmas[2]
    expected = a**2 * MIX2.covariance() + s**2 * torch.eye(2, dtype=DT)
    assert torch.allclose(torch.cov(z.T), expected, atol=0.02)
    again = mx.sample_latents(MIX2, SCH, 2, 200_000, torch.Generator().manual_seed(6))
    assert torch.equal(z, again)


def test_piece_count_matches_located_breakpoints():
    grid = torch.linspace(-4, 4, 80_001, dtype=DT)
    spacing = float(grid[1] - grid[0])
    for s, t in [(0, 1), (0, 3), (2, 6), (0, 6), (3, 6)]:
        pieces = mx.composite_pieces(SCH, MIX1, s, t, -4.0, 4.0)
        values = mx.hard_composite(grid[:, None], SCH, MIX1, s, t)[:, 0]
        located = mx.locate_breakpoints(grid, values)
        exact = torch.tensor([p[0] for p in pieces[1:]], dtype=DT)
        assert len(pieces) == located.numel() + 1
        assert torch.allclose(located, exact, atol=2 * spacing)
        # each piece's affine map reproduces the hard composite inside it
        for left, right, slope, icpt, _ in pieces:
            mid = torch.tensor([[(left + right) / 2]], dtype=DT)
            assert float(mx.hard_composite(mid, SCH, MIX1, s, t)) == pytest.approx(slope * float(mid) + icpt,
                                                                                   abs=1e-10)
    one_step = mx.count_pieces(SCH, MIX1, 0, 1, -4.0, 4.0)
    assert one_step == len(mx.step_regions(SCH, MIX1, 1, -4.0, 4.0))
    # merging from the noise end: the count grows with the number of merged steps, beyond K
    counts = [mx.count_pieces(SCH, MIX1, 6 - k, 6, -4.0, 4.0) for k in range(1, 5)]
    assert counts[0] == 1  # alpha_N = 0: the gates are constant, the first step is affine
    assert all(b > a for a, b in itertools.pairwise(counts)) and counts[-1] > MIX1.num_components
    assert all(c <= MIX1.num_components ** k for k, c in enumerate(counts, start=1))


def test_single_step_floor_is_zero_and_merged_floor_positive_and_growing():
    """Teacher-gated students (convex): a random start still reaches 0 for one step; merged blocks cannot."""
    blocks = [(0, 1), (2, 3), (0, 2), (0, 3), (0, 4)]
    fit = mx.error_floors(SCH, MIX1, blocks, gates="teacher", init="random", num_samples=512, num_iters=100, seed=0)
    assert float(fit.mse[0]) < 1e-12 and float(fit.mse[1]) < 1e-12
    floors = fit.train_mse[2:]
    assert bool((floors > 1e-4).all()), floors
    assert bool((floors[1:] > floors[:-1]).all()), floors  # grows with the number of merged steps
    # training reached the closed-form least-squares optimum of the convex problem
    x, y, _, _, _ = mx._floor_data(SCH.to("cpu"), MIX1, blocks, 512, 0)
    best = mx.least_squares_maps(x, y, mx.GatedAffine.stack(mx.teacher_step_student(SCH, MIX1, t) for _, t in blocks))
    with torch.no_grad():
        optimum = ((best(x) - y) ** 2).sum(-1).mean(-1)
    assert torch.allclose(fit.train_mse[2:], optimum[2:], rtol=1e-6)
    assert float(fit.mse[0]) == pytest.approx(0.0, abs=1e-12) and float(optimum[0]) < 1e-20


def test_free_gates_do_not_lose_to_teacher_gates():
    blocks = [(0, 2), (0, 3)]
    fixed = mx.error_floors(SCH, MIX1, blocks, gates="teacher", num_samples=256, num_iters=50)
    free = mx.error_floors(SCH, MIX1, blocks, gates="free", num_samples=256, num_iters=50)
    assert bool((free.train_mse <= fixed.train_mse * (1 + 1e-9)).all())
    assert bool((free.train_mse > 0).all())


def test_lipschitz_estimate_of_linear_and_mixture_steps():
    lam = 2.5
    single = mx.GaussianMixture.scalar([1.0], [0.0], [lam])
    lips = mx.step_lipschitz(SCH, single, -3.0, 3.0, num_points=11)
    assert torch.allclose(lips, ld.teacher_multipliers(SCH, lam), rtol=1e-12)
    lips = mx.step_lipschitz(SCH, MIX1, -5.0, 5.0, num_points=2001)
    grid = torch.linspace(-5, 5, 2001, dtype=DT)[:, None]
    for t in (1, 3):
        out = mx.mixture_step(grid, t, SCH, MIX1)[:, 0]
        slopes = torch.diff(out) / torch.diff(grid[:, 0])
        assert float(lips[t - 1]) == pytest.approx(float(slopes.abs().max()), rel=1e-3)
    assert float(lips[0]) > 1.0  # the last step pushes the modes apart: expansive


def test_sequential_merge_errors_stay_under_the_lipschitz_bound():
    sch = ld.Schedule.cosine(4)
    result = mx.sequential_merge(sch, MIX1, lo=-5.0, hi=5.0, num_samples=256, num_iters=60, seed=0)
    assert result.total_rms.shape == (3,) and result.merge_rms.shape == (3,)
    assert bool((result.total_rms <= result.bound * (1 + 1e-9)).all())
    # (total_rms[0] == merge_rms[0] held by construction, the first merge has nothing before it: dropped)
    assert bool((result.merge_rms > 0).all()) and result.one_shot_rms > 0


def test_block_errors_obey_the_lipschitz_bounds():
    """Convex students per block: each block's effect and the total stay under the Lipschitz bounds."""
    result = mx.block_errors(SCH, MIX1, [(4, 6), (2, 4), (0, 2)], lo=-5.0, hi=5.0, num_samples=256, num_iters=40)
    assert bool((result.merge_rms > 1e-6).all())
    assert bool((result.output_rms <= result.lipschitz_after * result.merge_rms * (1 + 1e-9)).all())
    assert result.total_rms <= result.total_bound * (1 + 1e-9)
    # (lipschitz_after[-1] == 1 and output_rms[-1] == merge_rms[-1] held by construction: dropped)
    lips = mx.step_lipschitz(SCH, MIX1, -5.0, 5.0)
    assert float(result.lipschitz_after[0]) == pytest.approx(float(torch.prod(lips[:4])), rel=1e-12)
    # single steps are exact students: nothing reaches the output
    exact = mx.block_errors(SCH, MIX1, [(k - 1, k) for k in range(6, 0, -1)], lo=-5.0, hi=5.0, num_samples=128,
                            num_iters=20)
    assert exact.total_rms < 1e-12


@pytest.mark.parametrize("call, match", [
    (lambda: mx.block_errors(SCH, MIX1, [(0, 3), (3, 6)], lo=-5.0, hi=5.0), "partition"),
    (lambda: mx.block_errors(SCH, MIX1, [(3, 6), (0, 2)], lo=-5.0, hi=5.0), "partition"),
    (lambda: mx.GaussianMixture.scalar([0.5, 0.6], [0.0, 1.0], [1.0, 1.0]), "sum to 1"),
    (lambda: mx.GaussianMixture.scalar([0.5, 0.5], [0.0, 1.0], [1.0, -1.0]), "variances"),
    (lambda: mx.GaussianMixture.scalar([0.5, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0]), "same length"),
    (lambda: mx.GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]]), "positive definite"),
    (lambda: mx.GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.0, 1.0]]]), "symmetric"),
    (lambda: mx.GaussianMixture([0.5, 0.5], [[0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]), "means"),
    (lambda: mx.GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0]]]), "covariances"),
    (lambda: mx.GaussianMixture([1.0], [[0.0]], [[0.0]]), "positive definite"),
    (lambda: mx.GaussianMixture([-0.5, 1.5], [[0.0], [1.0]], [[1.0], [1.0]]), "weights"),
    (lambda: mx.mixture_denoise([[0.0, 0.0, 0.0]], 1, SCH, MIX2), "dimension"),
    (lambda: mx.mixture_step([[0.0]], 0, SCH, MIX1), "t"),
    (lambda: mx.mixture_step([[0.0]], 7, SCH, MIX1), "t"),
    (lambda: mx.mixture_denoise([[0.0]], 1, "cosine", MIX1), "schedule"),
    (lambda: mx.mixture_denoise([[0.0]], 1, SCH, {"weights": [1.0]}), "mixture"),
    (lambda: mx.mixture_composite([[0.0]], SCH, MIX1, s=4, t=2), "s must be <= t"),
    (lambda: mx.sample_mixture(MIX1, 10, generator=None), "generator"),
    (lambda: mx.sample_mixture(MIX1, 0, torch.Generator()), "num_samples"),
    (lambda: mx.error_floors(SCH, MIX1, [(2, 2)]), "blocks"),
    (lambda: mx.error_floors(SCH, MIX1, [(0, 9)]), "blocks"),
    (lambda: mx.error_floors(SCH, MIX1, [(0, 1)], gates="mlp"), "gates"),
    (lambda: mx.error_floors(SCH, MIX1, [(0, 1)], init="zero"), "init"),
    (lambda: mx.count_pieces(SCH, MIX2, 0, 2, -1.0, 1.0), "one-dimensional"),
    (lambda: mx.count_pieces(SCH, MIX1, 0, 2, 1.0, -1.0), "hi"),
    (lambda: mx.locate_breakpoints([0.0, 1.0, 3.0], [0.0, 1.0, 2.0]), "equally spaced"),
    (lambda: mx.step_lipschitz(SCH, MIX2, -1.0, 1.0), "one-dimensional"),
    (lambda: mx.lipschitz_estimate("f", [[0.0]]), "fn"),
    (lambda: mx.fit_students(torch.zeros(1, 4, 1), torch.zeros(1, 4, 2), mx.teacher_step_student(SCH, MIX1, 1)),
     "same shape"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ------------------------------------------------ chapter 8 redo: gates and whole trees
def test_teacher_gates_are_constant_at_pure_noise():
    """With alpha_N = 0 every component of z_N is N(0, sigma_N^2): the teacher-gates student is one affine map."""
    sch = ld.Schedule.cosine(8)
    mix = ld.example_mixture()
    student = ld.teacher_step_student(sch, mix, 8)
    z = torch.linspace(-5, 5, 101, dtype=torch.float64)[:, None]
    gates = torch.exp(student.log_gates(z))[0]
    torch.testing.assert_close(gates, mix.weights.expand_as(gates), rtol=1e-12, atol=1e-14)
    out = student(z)[0, :, 0]
    second_difference = out[2:] - 2 * out[1:-1] + out[:-2]
    assert float(second_difference.abs().max()) < 1e-12          # affine in z
    inner = torch.exp(ld.teacher_step_student(sch, mix, 7).log_gates(z))[0]
    assert float((inner - inner.mean(0)).abs().max()) > 0.1       # one step earlier the gates do depend on z


def test_distill_tree_counts_and_errors():
    from lineardistill.mixture import distill_tree

    sch = ld.Schedule.cosine(4)
    mix = ld.example_mixture()
    one = distill_tree(sch, mix, ld.MergeTree.vanilla(4), num_samples=256, num_iters=20, seed=0, device="cpu")
    boot = distill_tree(sch, mix, ld.MergeTree.boot(4), num_samples=256, num_iters=20, seed=0, device="cpu")
    assert one.num_students == 1 and boot.num_students == 3 and len(boot.node_rms) == 3
    for r in (one, boot):
        assert 0 < r.relative < 1 and r.rms > 0
    # a single step needs no student: the teacher step is exact
    single = distill_tree(ld.Schedule.cosine(1), mix, ld.MergeTree.vanilla(1), num_samples=64, num_iters=5)
    assert single.num_students == 0 and single.rms < 1e-12
    # the same seed gives the same numbers
    again = distill_tree(sch, mix, ld.MergeTree.vanilla(4), num_samples=256, num_iters=20, seed=0, device="cpu")
    assert again.rms == one.rms
    with pytest.raises(ValueError, match="num_samples"):
        distill_tree(sch, mix, ld.MergeTree.vanilla(4), num_samples=1)
    with pytest.raises(ValueError):
        distill_tree(sch, mix, "(3,2,1)")
