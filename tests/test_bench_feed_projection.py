"""The feed ceiling's arithmetic (bench/feed_ceiling.py): the sustained rate and the 16-core projections the
closing notes quote (issue 22). Pure arithmetic on made-up runs, so each figure is checked exactly."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import feed_ceiling as fc  # noqa: E402


def run(cores, audio, wall, cpu, **extra):
    return dict(cores=cores, audio_s=audio, wall_s=wall, cpu_s=cpu, **extra)


def test_the_sustained_rate_is_the_audio_the_longer_run_adds_over_the_time_it_adds():
    short = {1: run(1, 6000, 8.0, 7.0), 2: run(2, 6000, 6.0, 8.0)}
    long = {1: run(1, 15000, 17.0, 16.0), 2: run(2, 15000, 11.0, 17.5)}
    got = fc.sustained_rates(short, long)
    assert got == {1: run(1, 9000, 9.0, 9.0), 2: run(2, 9000, 5.0, 9.5)}
    table = fc.sustained_table(short, long, got)
    assert table[2] == "| 1 | 6,000 → 15,000 | 8.00 → 17.00 | 1,000 | 1,000 | 1.00× | 1,000 |"
    assert table[3] == "| 2 | 6,000 → 15,000 | 6.00 → 11.00 | 1,800 | 900 | 1.80× | 947 |"


def test_a_longer_run_that_adds_no_time_is_refused_not_divided_by():
    with pytest.raises(ValueError, match="did not add audio, wall and CPU time on 2 core"):
        fc.sustained_rates({2: run(2, 6000, 6.0, 8.0)}, {2: run(2, 15000, 6.0, 9.0)})


def test_amdahl_from_the_two_core_speed_up():
    # 1,000 → 1,500 audio s per s: serial share 1/3, so 16 cores give 1,000 / (1/3 + 2/3/16) = 2,666.7
    rate, how = fc.amdahl_projection(run(1, 1000, 1.0, 1.0), run(2, 1500, 1.0, 2.0), 16)
    assert rate == pytest.approx(8000 / 3)
    assert "1.50× on 2 cores (serial share 33%)" in how
    assert fc.amdahl_projection(run(1, 1000, 1.0, 1.0), run(2, 2100, 1.0, 2.0), 16)[0] == 16000
    assert fc.amdahl_projection(run(1, 1000, 1.0, 1.0), run(2, 900, 1.0, 2.0), 16)[0] == 1000


def test_the_headline_takes_the_sustained_scaling_and_still_shows_the_whole_runs():
    best = {1: run(1, 1000, 1.0, 1.0), 2: run(2, 1500, 1.0, 2.0)}
    sustained = {1: run(1, 1000, 1.0, 1.0), 2: run(2, 1800, 1.0, 2.0)}
    lines = fc.projection_lines(best, sustained=sustained)
    text = "\n".join(lines)
    assert "| wall clock of the whole runs (five stores' fixed costs included)" in text and "| 2,667 | not met |" in text
    # 1.8×: serial share 1/9, so 1,000 / (1/9 + 8/9/16) = 6,000
    assert "sustained (the rate of the audio the longer corpora add, section 3c): Amdahl's law from the measured 1.80×" in text
    assert "| **the CPU side: the lowest of the scaling, CPU and one-thread bounds** | **6,000** | **met** |" in text
    assert "| **the CPU side: the lowest of the scaling, CPU and one-thread bounds** | **2,667** | **not met** |" in \
        "\n".join(fc.projection_lines(best))


def test_a_run_on_the_projected_core_count_is_reported_as_measured():
    best = {1: run(1, 1000, 1.0, 1.0), 2: run(2, 1500, 1.0, 2.0), 16: run(16, 6000, 1.5, 16.0)}
    sustained = {1: run(1, 1000, 1.0, 1.0), 2: run(2, 1800, 1.0, 2.0), 16: run(16, 9000, 2.5, 20.0)}
    text = "\n".join(fc.projection_lines(best, sustained=sustained))
    assert "| **measured: the whole runs on 16 cores (section 3; each store's fixed costs included)** | **4,000** | " \
           "**met** |" in text
    assert "| **measured: sustained on 16 cores (section 3c)** | **3,600** | **met** |" in text
    assert "Measured on 16 cores: the measured rows decide, not the projections" in text
    assert "measured:" not in "\n".join(fc.projection_lines({k: best[k] for k in (1, 2)}))
