"""Run the `full` setting of the trained-networks chapter's experiment and store it under book/data/ (with provenance).

Usage: python scripts/run_neural_full.py [digits|mixture2d ...]

For each data set this writes book/data/neural_full_<data>.json holding the full run (results and
provenance: command, commit, device, seconds, versions) and, under "check", the `tiny` run made by the
same code at the same commit, which tests/test_neural.py reruns and compares within a stated tolerance.
On a machine without CUDA the full run is made on the CPU; the provenance says which.
"""

import json
import os
import sys
import time

import torch

from lineardistill import neural

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(names):
    for name in names or neural.DATASETS:
        command = f"python scripts/run_neural_full.py {name}"
        result = neural.run_experiment(name, "full", seed=0, progress=True, command=command)
        start = time.perf_counter()
        check = neural.run_experiment(name, "tiny", seed=0, progress=False)
        result["check"] = {"setting": "tiny", "seed": 0, "seconds": round(time.perf_counter() - start, 1),
                           "teacher_fd_data": check["teacher"]["fd_data"],
                           "strategies": {k: {"fd_data": v["fd_data"], "fd_teacher": v["fd_teacher"]}
                                          for k, v in check["strategies"].items()}}
        path = os.path.join(ROOT, "book", "data", f"neural_full_{name}.json")
        with open(path, "w") as fh:
            json.dump(result, fh, indent=1)
        print(f"wrote {path} ({result['provenance']['seconds']} s on {result['provenance']['device']}, "
              f"torch threads {torch.get_num_threads()})")


if __name__ == "__main__":
    main(sys.argv[1:])
