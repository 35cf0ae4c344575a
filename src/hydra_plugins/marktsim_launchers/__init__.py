"""marktsim's Hydra launchers and sweeper (``launchers.py``): Hydra looks for plugin classes
in the ``hydra_plugins`` namespace package only."""
