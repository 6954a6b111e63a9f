"""The numbers behind the simplicity-bias page: half-lives measured against the analytic NTK's, by
width and parameterization, and the default run's time.

    python bench/spectral_bias.py          # widths 1024 .. 16384 in NTK parameterization, then muP
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.experiments import spectral_bias as sb


def line(config: sb.Config) -> str:
    start = time.perf_counter()
    result = sb.EXPERIMENT.execute(config, device="cpu")
    wall = time.perf_counter() - start
    half = result.tables["half_lives"]
    cells = "  ".join(f"k={int(r.frequency)} {r.measured:7.1f}/{r.predicted:6.1f} ({r.measured / r.predicted:4.2f}"
                      f"{'' if r.reached else ', extrapolated'})" for r in half.itertuples())
    m = result.metrics
    return (f"{config.parameterization:8s} width {config.width:5d}  {cells}  sharpness {m['sharpness']:.2f}  "
            f"kernel growth {m['kernel_growth']:.2f}  {wall:.2f} s")


def main() -> None:
    print("half-lives in steps, measured / predicted (ratio); defaults otherwise")
    for width in (1024, 2048, 4096, 8192, 16384):
        print(line(sb.Config(width=width)), flush=True)
    for width in (1024, 4096):
        print(line(sb.Config(parameterization="mup", width=width)), flush=True)
    print(line(sb.Config(parameterization="standard")), flush=True)


if __name__ == "__main__":
    main()
