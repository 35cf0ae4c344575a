"""The experiment runner: the ``marktsim`` Hydra app and the job folders it writes."""
