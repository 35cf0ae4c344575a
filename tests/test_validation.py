"""The validation pipeline at reduced size: it runs end to end and its closed-form checks hold."""

from __future__ import annotations

import re

from marktsim.analysis.validation import run


def test_validation_runs_at_small_size_and_reproduces_closed_forms(tmp_path):
    path = run("small", tmp_path)
    text = path.read_text()
    for figure in ("bass.png", "markov.png", "lifetime_value.png", "marginal_costs.png", "face_validity.png"):
        assert (tmp_path / "figures" / figure).is_file()
    for heading in ("Bass diffusion", "Two-state Markov", "lifetime value", "Reichheld & Sasser", "leaky bucket",
                    "Blattberg & Deighton", "Gupta, Lehmann & Stuart", "Rust, Lemon & Zeithaml",
                    "Schmitt, Skiera & Van den Bulte", "Nitzan & Libai", "Claim 2 for a lone firm",
                    "Claim 3: is there a region", "Claim 5", "Face validity"):
        assert heading in text, heading
    # Bass: the recursion lies inside the simulated 95 % band at most ticks (small size: 4 replicates)
    shares = [int(m) for m in re.findall(r"\| (\d+)% \|\n", text)]
    assert shares and min(shares) >= 80
    # lifetime value: the simulated multiples are within 15 % of the closed form at small size
    deviation = float(re.search(r"timing: ([\d.]+)%", text).group(1))
    assert deviation < 15
