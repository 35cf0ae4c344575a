"""Analysis: statistics, calibration figures and the report built on marktsim's outputs."""
