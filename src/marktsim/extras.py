"""Optional dependencies (the extras of pyproject.toml): a feature whose extra is not installed
ends in one line that names the extra and the command that installs it (README, "Installing")."""

from __future__ import annotations

from importlib.util import find_spec

from marktsim.config import ConfigError

# each extra and the modules whose presence shows it is installed
EXTRAS: dict[str, tuple[str, ...]] = {
    "dashboard": ("solara", "ipyvuetify"),
    "optimize": ("optuna", "SALib"),
    "slurm": ("hydra_plugins.hydra_submitit_launcher",),
    "ray": ("hydra_plugins.hydra_ray_launcher", "ray"),
    "lesson": ("jupyterlab", "markdown_it"),
}
# the launcher configs (hydra/launcher=<name>) that need an extra
LAUNCHERS = {"slurm": "slurm", "submitit_slurm": "slurm", "submitit_local": "slurm", "ray": "ray"}


class MissingExtra(ConfigError):
    """A feature was asked for whose optional dependencies are not installed."""


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return False


def missing(extra: str) -> list[str]:
    """The modules of `extra` that are not installed (none: the extra is there)."""
    if extra not in EXTRAS:
        raise ValueError(f"extra = {extra!r}: allowed: {', '.join(EXTRAS)}")
    return [m for m in EXTRAS[extra] if not _installed(m)]


def require(extra: str, feature: str) -> None:
    """Raise MissingExtra (one line) when `feature` cannot run because `extra` is not installed."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(f"{feature} needs the optional dependencies '{extra}' ({', '.join(absent)} not installed): "
                           f"pip install 'marktsim[{extra}]'")


def require_launcher(overrides: list[str]) -> None:
    """The extra of a launcher chosen on the command line (hydra/launcher=slurm or ray)."""
    for override in overrides:
        key, _, name = override.lstrip("+~").partition("=")
        if key == "hydra/launcher" and name in LAUNCHERS:
            require(LAUNCHERS[name], f"hydra/launcher={name}")
