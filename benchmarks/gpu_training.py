"""Chapter 4's GPU path, timed: train every merge of a tree for many coordinates.

Runs the same training as the CUDA branch of book/04_students.ipynb (4096
variances x 2 budgets, progressive tree at N = 8, batch 4096, 1000 steps per
student) on the device given, then the chapter's CPU setting, and compares
both with the closed form within the library's stated tolerance.

Usage: python benchmarks/gpu_training.py [--device cuda|cpu] [--coordinates 4096]
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import lineardistill as ld


def run(device: str, coordinates: int, steps: int, batch_size: int, rng: str) -> dict:
    schedule = ld.Schedule.cosine(8)
    tree = ld.MergeTree.progressive(8)
    lams = torch.logspace(math.log10(0.05), 2, coordinates, dtype=torch.float64)[:, None]
    ctaus = torch.tensor([0.3, 1.0], dtype=torch.float64)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = ld.train_tree(tree, schedule, lams, ctaus, steps=steps, batch_size=batch_size, seed=0,
                           device=device, rng_device=rng, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    closed = ld.merge_value(tree, schedule, lams, ctaus)
    tolerance = ld.training_tolerance(tree, schedule, lams, ctaus, steps=steps, batch_size=batch_size)
    relative = ((result.value.cpu() - closed) / closed).abs()
    return {"device": device, "coordinates": coordinates, "steps": steps, "batch": batch_size,
            "seconds": seconds, "max_rel_error": float(relative.max()),
            "worst_share_of_tolerance": float((relative / tolerance).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=str(ld.device().type), choices=["cuda", "cpu"])
    parser.add_argument("--coordinates", type=int, default=4096)
    args = parser.parse_args()
    if args.device == "cuda":
        print("GPU:", torch.cuda.get_device_name(), "torch", torch.__version__)
        rows = [run("cuda", args.coordinates, 1000, 4096, "device"), run("cuda", 16, 150, 256, "cpu")]
    else:
        rows = []
    rows.append(run("cpu", 16, 150, 256, "cpu"))  # the chapter's CPU setting, for comparison
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
