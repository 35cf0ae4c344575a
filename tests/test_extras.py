"""Optional dependencies (pyproject.toml extras): every feature whose extra is missing ends in one
line that names the extra and the `pip install` adding it, with exit 2 and nothing written. The
extras are made to look absent in-process; benchmarks/core_install.py checks a real core install."""

from __future__ import annotations

import pytest

from marktsim import extras
from marktsim.config import load_config


@pytest.fixture
def without(monkeypatch):
    """Make the modules of the given extras look uninstalled."""

    def hide(*names: str) -> None:
        hidden = {m for name in names for m in extras.EXTRAS[name]}
        installed = extras._installed
        monkeypatch.setattr(extras, "_installed", lambda module: module not in hidden and installed(module))

    return hide


def test_the_test_environment_has_every_extra_it_tests():
    for name in ("dashboard", "optimize", "slurm"):
        assert extras.missing(name) == [], name
    with pytest.raises(ValueError, match="allowed: dashboard"):
        extras.missing("nonsense")


def one_line(capsys, extra: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"pip install 'marktsim[{extra}]'" in err
    return err


def test_dashboard_without_its_extra(without, capsys):
    from marktsim.dashboard import cli

    without("dashboard")
    with pytest.raises(SystemExit) as stop:
        cli.main([])
    assert stop.value.code == 2
    assert "marktsim-dashboard needs the optional dependencies 'dashboard'" in one_line(capsys, "dashboard")


def test_optimizer_without_its_extra(without, capsys, tmp_path):
    from marktsim.optimize import cli

    without("optimize")
    with pytest.raises(SystemExit) as stop:
        cli.main(["--study", str(tmp_path / "study"), "market.n_customers=200"])
    assert stop.value.code == 2
    one_line(capsys, "optimize")
    assert list(tmp_path.iterdir()) == []


def test_calibration_without_its_extra(without, capsys, tmp_path):
    from marktsim.calibration import cli

    without("optimize")
    data = tmp_path / "data.csv"
    data.write_text("period,survivors\n0,1000\n1,800\n")
    with pytest.raises(SystemExit) as stop:
        cli.main(["--data", str(data), "--out", str(tmp_path / "out")])
    assert stop.value.code == 2
    one_line(capsys, "optimize")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_sensitivity_design_without_its_extra(without):
    from marktsim.experiments.sensitivity import unit_sample

    sens = load_config(["experiment=sensitivity", "design.chunk=0"]).sensitivity
    assert len(unit_sample(sens)) > 0  # with the extra: a sample
    without("optimize")
    with pytest.raises(extras.MissingExtra, match=r"morris sensitivity design .*marktsim\[optimize\]"):
        unit_sample(sens)


@pytest.mark.parametrize("launcher, extra", [("slurm", "slurm"), ("submitit_local", "slurm"), ("ray", "ray")])
def test_cluster_launcher_without_its_extra(without, launcher, extra):
    from marktsim.experiments.cli import precheck

    without(extra)
    with pytest.raises(extras.MissingExtra, match=rf"hydra/launcher={launcher} .*marktsim\[{extra}\]"):
        precheck(["-m", f"hydra/launcher={launcher}", "seed=1,2"])


def test_the_command_line_says_it_in_one_line(without, capsys, monkeypatch, tmp_path):
    from marktsim.experiments import cli

    without("slurm")
    monkeypatch.setattr("sys.argv", ["marktsim", "-m", "hydra/launcher=slurm", "seed=1,2",
                                     f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    one_line(capsys, "slurm")
    assert list(tmp_path.iterdir()) == []
