"""The validation pipeline at reduced size: it runs end to end, its page is made from the checks'
data, and its closed-form checks hold (asserted on the data, not on the Markdown)."""

from __future__ import annotations

import numpy as np

from marktsim.analysis.validation import PAGE, bass_recursion, run


def test_validation_runs_at_small_size_and_reproduces_closed_forms(tmp_path):
    result = run("small", tmp_path)
    text = result.path.read_text()
    for figure in ("bass.png", "markov.png", "lifetime_value.png", "marginal_costs.png", "face_validity.png",
                   "retention_curves.png"):
        assert (tmp_path / "figures" / figure).is_file()
    for heading in ("Bass diffusion", "Two-state Markov", "lifetime value", "Reichheld & Sasser", "leaky bucket",
                    "Blattberg & Deighton", "Gupta, Lehmann & Stuart", "Rust, Lemon & Zeithaml",
                    "Schmitt, Skiera & Van den Bulte", "Nitzan & Libai", "Claim 2 for a lone firm",
                    "Claim 3: is there a region", "Claim 5", "Face validity"):
        assert heading in text, heading
    checks = result.checks
    assert set(checks) == {compute.__name__ for compute, _ in (i for i in PAGE if not isinstance(i, str))}
    assert all(len(check.rows) > 0 for check in checks.values())
    # Bass: the recursion lies inside the simulated 95 % band at most ticks (small size: 4 replicates)
    bass = checks["bass"]
    assert bass.rows.inside.min() >= 0.8
    for (p, q), (curve, *_), final in zip(bass.curves, bass.curves.values(), bass.rows.bass_final):
        assert curve[-1] == final == bass_recursion(p, q, bass.numbers["horizon"])[-1]
    # lifetime value: the simulated multiples are within 15 % of the closed form at small size
    assert checks["lifetime_value"].numbers["max_deviation"] < 0.15
    # the page quotes the data: the Bass table's coverage column and the lifetime deviation
    assert f"{bass.rows.inside.iloc[0]:.0%} |" in text
    assert f"timing: {checks['lifetime_value'].numbers['max_deviation']:.2%}" in text
    # Markov: the stationary share is x10 / (x01 + x10) with the hazards the rows report
    markov = checks["markov"].rows
    np.testing.assert_allclose(markov.stationary, markov.x_10 / (markov.x_01 + markov.x_10))
