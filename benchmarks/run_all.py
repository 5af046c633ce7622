"""`make bench`: run every benchmark and write benchmarks/results.md.

Runs the DP and phase-diagram benchmarks (bench_dp.py, which also writes
dp_results.md) and times every notebook of the book in a fresh kernel
(chapter_times.py), then writes one markdown page that the README quotes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chapter_times  # noqa: E402


def main() -> int:
    subprocess.run([sys.executable, str(HERE / "bench_dp.py")], check=True, stdout=subprocess.DEVNULL)
    dp = (HERE / "dp_results.md").read_text().split("\n", 2)[2]
    rows = chapter_times.chapter_rows()
    chapters = ["| notebook | seconds |", "|---|---:|"]
    chapters += [f"| {name} | {seconds:.1f} |" for name, seconds in rows]
    chapters.append(f"| **whole book** | {sum(s for _, s in rows):.1f} |")
    text = ("# Benchmarks\n\nWritten by `make bench` (benchmarks/run_all.py).\n\n## DP and phase diagram\n\n" + dp
            + "\n## Chapter execution (fresh kernel each)\n\n" + "\n".join(chapters) + "\n")
    (HERE / "results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
