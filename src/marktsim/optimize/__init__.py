"""marktsim-optimize: the budget and retention share for a strategist's scenario (Optuna)."""
