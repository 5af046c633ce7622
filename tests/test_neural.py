"""lineardistill.neural: trained denoisers distilled by the book's strategies (R23), and the experiment command."""

import json
import math
from pathlib import Path

import pytest
import torch

import lineardistill as ld
from lineardistill import neural
from lineardistill.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
STORED = {name: ROOT / "book" / "data" / f"neural_full_{name}.json" for name in neural.DATASETS}
# The stored `check` numbers and the rerun come from the same code, seeds and float64 arithmetic on one CPU
# thread; they agree bit for bit on the machine that stored them. Another BLAS kernel may change the last bits
# of a matrix product; over the few hundred Adam steps of `tiny` such round-off stays far below this tolerance.
RTOL = 1e-6


def test_resolve_device():
    assert neural.resolve_device("cpu") == torch.device("cpu")
    assert neural.resolve_device(None).type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device"):
        neural.resolve_device("tpu")
    with pytest.raises(ValueError, match="device"):
        neural.resolve_device("not a device")
    with pytest.raises(TypeError, match="device"):
        neural.resolve_device(3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        neural.resolve_device("cuda")


def test_datasets():
    digits = neural.load_dataset("digits")
    assert digits.coords.shape == (1797, 61) and torch.allclose(digits.lam, ld.digits_spectrum(), rtol=1e-10)
    mix = neural.load_dataset("mixture2d", seed=1)
    again = neural.load_dataset("mixture2d", seed=1)
    assert mix.coords.shape == (4000, 2) and torch.equal(mix.coords, again.coords)
    cov = torch.cov(mix.coords.T)
    assert torch.allclose(cov, torch.diag(mix.lam), atol=1e-10)
    lc = ld.lambda_c(ld.Schedule.cosine(8))
    assert float(mix.lam[0]) > lc and float(mix.lam[1]) < 1      # one direction on each side of the band
    with pytest.raises(ValueError, match="name"):
        neural.load_dataset("cifar")
    with pytest.raises(ValueError, match="num_points"):
        neural.load_dataset("mixture2d", num_points=3)


def test_denoiser_is_seeded():
    a = neural.Denoiser(3, 16, 2, torch.Generator().manual_seed(0))
    b = neural.Denoiser(3, 16, 2, torch.Generator().manual_seed(0))
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(a(z, 0.6, 0.8), b(z, 0.6, 0.8)) and a(z, 0.6, 0.8).shape == (5, 3)
    with pytest.raises(TypeError, match="generator"):
        neural.Denoiser(3, 16, 2, 0)
    with pytest.raises(ValueError, match="hidden"):
        neural.Denoiser(3, 0, 2, torch.Generator())


class _LinearDenoiser(neural.Denoiser):
    """The optimal denoiser of N(0, diag(lam)) (R1) in the Denoiser interface."""

    def __init__(self, lam):
        super().__init__(len(lam), 2, 1, torch.Generator().manual_seed(0))
        self.lam = torch.as_tensor(lam, dtype=torch.float64)

    def forward(self, z, alpha, sigma):
        return alpha * self.lam / (alpha**2 * self.lam + sigma**2) * z


def test_operators_are_the_ddim_steps():
    """With the exact linear denoiser the network teacher is the book's linear teacher (R2, R4)."""
    lam = [0.3, 1.0, 4.0]
    sch = ld.Schedule.cosine(5)
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    out = neural.ddim_sample(_LinearDenoiser(lam), sch, z)
    assert torch.allclose(out, ld.run_ddim(z, sch, torch.tensor(lam, dtype=torch.float64)), rtol=1e-12, atol=1e-14)
    step = neural.Operator(_LinearDenoiser(lam), sch, 3)
    r = ld.teacher_multipliers(sch, torch.tensor(lam, dtype=torch.float64))[:, 2]
    assert torch.allclose(step(z), z * r, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="t"):
        neural.Operator(_LinearDenoiser(lam), sch, 6)


def test_frechet_distance_exact_cases():
    x = torch.randn(500, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    shift = torch.tensor([1.0, -2.0, 2.0], dtype=torch.float64)
    assert neural.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert neural.frechet_distance(x, x + shift) == pytest.approx(3.0, rel=1e-9)
    # y = 2 (x - mean): covariances commute, W2^2 = |mean|^2 + tr(S) exactly
    y = 2 * (x - x.mean(0))
    expected = math.sqrt(float((x.mean(0) ** 2).sum() + torch.trace(torch.cov(x.T))))
    assert neural.frechet_distance(x, y) == pytest.approx(expected, rel=1e-8)
    with pytest.raises(ValueError, match="a and b"):
        neural.frechet_distance(x, x[:, :2])


def test_allocate_steps_and_budget_fit():
    tree = ld.MergeTree.boot(6)
    cfg = neural.SETTINGS["cpu"]
    total = neural.allocate_steps(tree, "total", "cpu")
    assert sum(total) == cfg.distill_steps and max(total) - min(total) <= 1 and len(total) == 5
    assert neural.allocate_steps(tree, "per-student", "cpu") == [cfg.student_steps] * 5
    with pytest.raises(ValueError, match="accounting"):
        neural.allocate_steps(tree, "half", "cpu")
    with pytest.raises(ValueError, match="setting"):
        neural.allocate_steps(tree, "total", "huge")
    sch, lam = ld.Schedule.cosine(6), ld.digits_spectrum()
    grid = torch.logspace(-2, 2, 81, dtype=torch.float64)
    for ctau in (0.1, 1.0, 10.0):
        ratio = neural.theory_ratio(ld.MergeTree.vanilla(6), sch, lam, ctau)
        assert neural.fit_ctau(ratio, ld.MergeTree.vanilla(6), sch, lam, grid) == pytest.approx(ctau, rel=1e-9)


def test_experiment_validates():
    with pytest.raises(ValueError, match="data"):
        neural.run_experiment("cifar", "tiny")
    with pytest.raises(ValueError, match="setting"):
        neural.run_experiment("digits", "medium")
    with pytest.raises(ValueError, match="accountings"):
        neural.run_experiment("digits", "tiny", accountings=["per-student"])
    with pytest.raises(ValueError, match="threads"):
        neural.run_experiment("digits", "tiny", threads=0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "mix"
    status = main(["experiment", "--data", "mixture2d", "--setting", "tiny", "--out", str(out), "--quiet"])
    assert status == 0
    return out


def test_tiny_experiment_writes_results(tiny_run):
    result = json.loads((tiny_run / "results.json").read_text())
    assert set(result["strategies"]) == {"boot", "one-shot", "progressive", "theory"}
    for block in (result["strategies"], result["per_student"]):
        for entry in block.values():
            assert math.isfinite(entry["fd_data"]) and entry["fd_data"] >= 0
            assert math.isfinite(entry["fd_teacher"]) and entry["fd_teacher"] >= 0
            assert len(entry["variance_ratio"]) == len(result["lam"]) == len(entry["predicted_ratio"])
    assert sum(result["strategies"]["boot"]["steps"]) == neural.SETTINGS["tiny"].distill_steps
    for name in result["figures"]:
        assert (tiny_run / name).stat().st_size > 1000
    for key in ("command", "commit", "device", "seconds", "versions"):
        assert key in result["provenance"]


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    if not torch.cuda.is_available():
        out = tmp_path / "cuda"
        assert main(["experiment", "--device", "cuda", "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert "CUDA" in err and len(err.splitlines()) == 1 and not out.exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["experiment", "--out", str(blocker)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["experiment", "--out", str(tmp_path / "no" / "such" / "dir")]) == 2
    assert main(["experiment", "--data", "cifar", "--out", str(tmp_path)]) == 2


@pytest.mark.parametrize("name", neural.DATASETS)
def test_stored_full_results_and_reduced_rerun(name, tiny_run):
    path = STORED[name]
    stored = json.loads(path.read_text())
    for key in ("command", "commit", "device", "seconds", "versions"):
        assert key in stored["provenance"], key
    assert stored["setting"] == "full" and set(stored["strategies"]) == set(neural.STRATEGY_NAMES)
    if name == "mixture2d":
        rerun = json.loads((tiny_run / "results.json").read_text())
    else:
        rerun = neural.run_experiment(name, "tiny", seed=stored["check"]["seed"])
    check = stored["check"]
    assert rerun["teacher"]["fd_data"] == pytest.approx(check["teacher_fd_data"], rel=RTOL)
    for key, entry in check["strategies"].items():
        assert rerun["strategies"][key]["fd_data"] == pytest.approx(entry["fd_data"], rel=RTOL), key
        assert rerun["strategies"][key]["fd_teacher"] == pytest.approx(entry["fd_teacher"], rel=RTOL), key
