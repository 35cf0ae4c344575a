"""The browser dashboard (Mesa SolaraViz) for students and educators: ``marktsim-dashboard``."""
