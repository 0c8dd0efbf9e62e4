"""benchmarks/synthetic/clip_jumps.py's analysis on a hand-made case; the script itself reads saved trajectories
and the split's data."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "synthetic" / "clip_jumps.py"


@pytest.fixture(scope="module")
def cj():
    spec = importlib.util.spec_from_file_location("synthetic_clip_jumps", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_jump_to_the_clip_is_found_with_the_z_scores_it_starts_and_lands_at(cj):
    seen = np.array([9.0, 11.0, 9.0, 11.0])  # mean 10, std 1: the clip bounds closes to [5, 15]
    closes = np.array(
        [
            [11.0, 10.5, 5.2, 5.1],  # jumps from z 0.5 to z -4.8, then stays beyond 4
            [11.0, 11.2, 10.8, 11.0],  # stays near the mean
        ]
    )
    a = cj.analyse(closes, seen, near=4.0, top=2)
    assert (a["mean"], a["std"]) == pytest.approx((10.0, 1.0))
    assert a["bounds"] == pytest.approx((5.0, 15.0))
    assert a["closes_near"] == pytest.approx(2 / 8) and a["paths_near"] == pytest.approx(0.5)
    assert a["closes_beyond_4_5"] == pytest.approx(2 / 8)
    big = a["largest"][0]
    assert (big["path"], big["bar"]) == (0, 3)
    assert big["log_return"] == pytest.approx(np.log(5.2 / 10.5))
    assert (big["z_from"], big["z_to"]) == pytest.approx((0.5, -4.8))
    # the first bar's return is taken from the context's last close (11: z 1)
    r_untouched = np.diff(np.log([11.0, 11.0, 11.2, 10.8, 11.0]))
    assert a["kurtosis_untouched"] == pytest.approx(
        np.mean((r_untouched - r_untouched.mean()) ** 4) / r_untouched.var() ** 2 - 3
    )
