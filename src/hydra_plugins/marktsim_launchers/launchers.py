"""marktsim's local launchers: Hydra's basic (sequential) and joblib launchers and its basic
sweeper, which start a job in about a millisecond (issue 18's start-up cost).

For every job Hydra's launchers compose its config (a deep copy of a ~300-node config even
from `compose_cache`'s shape), and Hydra's ``run_job`` copies it twice more and the hydra node
twice (``HydraConfig.set_config``), before the task function sees a config it converts to a
plain mapping first thing: about 30 ms a job, more than a small job's simulation. The classes
here do what Hydra's do, job by job in the same order, with two differences:

* a job's config is the one `compose_cache.compose_shared` keeps for the job's shape, its
  values set in place (each job runs to its end before the next is composed);
* `run_job` does what Hydra's ``run_job`` does for marktsim's configs (``hydra.job.chdir``
  false, ``hydra.output_subdir`` null, no callbacks) without the copies: HydraConfig points at
  the job's config, the output folder is made, the job's environment set, and the task
  function gets the job's config without its hydra node as a plain mapping (what
  ``marktsim.config.validate`` makes of it first; the ``JobReturn`` carries the same mapping
  and no hydra node). A config that asks for more of Hydra is run by Hydra's own ``run_job``.

`register` (called by ``marktsim.experiments.cli``) stores them under Hydra's names
(``hydra/launcher=basic``, the default, and ``joblib``; ``hydra/sweeper=basic``, the default),
with every option of Hydra's: the commands, options and folders are the same. tests/test_cli.py checks that each job's config
and folder are the ones Hydra's launchers give.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from hydra._internal.core_plugins.basic_launcher import BasicLauncher as HydraBasicLauncher
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper as HydraBasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobRuntime, JobStatus, configure_log, env_override, setup_globals
from hydra.core.utils import run_job as hydra_run_job
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_joblib_launcher import _core as joblib_core
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher as HydraJoblibLauncher
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict, read_write

from marktsim.config import one_thread_in_workers
from marktsim.experiments import compose_cache


def _lean(config: DictConfig, hydra_context: HydraContext) -> bool:
    """Whether `run_job` does all the job asks of Hydra: no change of directory, no .hydra
    folder, no callbacks."""
    return (not config.hydra.job.chdir and config.hydra.output_subdir is None
            and not config.hydra.callbacks and not hydra_context.callbacks.callbacks)


def task_config(config: DictConfig) -> dict[str, Any]:
    """The job's config without its hydra node, as a plain mapping, interpolations kept."""
    return {str(key): OmegaConf.to_container(value, resolve=False) if isinstance(value, (DictConfig, ListConfig))
            else value for key, value in config.items_ex(resolve=False) if key != "hydra"}


def run_job(hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig,
            job_dir_key: str, job_subdir_key: str | None) -> JobReturn:
    """Hydra's ``hydra.core.utils.run_job`` for one job, without copying its config (module docstring)."""
    if not _lean(config, hydra_context):
        return hydra_run_job(hydra_context=hydra_context, task_function=task_function, config=config,
                             job_dir_key=job_dir_key, job_subdir_key=job_subdir_key)
    instance = HydraConfig.instance()
    previous = instance.cfg
    instance.cfg = config  # type: ignore[assignment]  # HydraConfig.get() is config.hydra
    try:
        output_dir = str(OmegaConf.select(config, job_dir_key))
        if job_subdir_key is not None:
            output_dir = os.path.join(output_dir, str(OmegaConf.select(config, job_subdir_key)))
        with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
            config.hydra.runtime.output_dir = os.path.abspath(output_dir)
        task = task_config(config)
        ret = JobReturn(overrides=list(config.hydra.overrides.task), cfg=task,  # type: ignore[arg-type]
                        working_dir=os.getcwd())
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        configure_log(config.hydra.job_logging, config.hydra.verbose)
        with env_override(dict(config.hydra.job.env_set)):
            try:
                ret.return_value = task_function(task)
                ret.status = JobStatus.COMPLETED
            except Exception as exc:
                ret.return_value = exc
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        return ret
    finally:
        instance.cfg = previous


def _set_number(config: DictConfig, job_id: Any, num: int) -> None:
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.job.id = job_id
        config.hydra.job.num = num


class BasicLauncher(HydraBasicLauncher):
    """Hydra's basic launcher (one job after another in this process), jobs started by `run_job`."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        runs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            config = compose_cache.compose_shared(self.hydra_context.config_loader, self.config, list(overrides))
            _set_number(config, idx, idx)
            runs.append(run_job(self.hydra_context, self.task_function, config, "hydra.sweep.dir", "hydra.sweep.subdir"))
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return runs


def execute_job(idx: int, overrides: Sequence[str], hydra_context: HydraContext, config: DictConfig,
                task_function: TaskFunction, singleton_state: dict[Any, Any]) -> JobReturn:
    """One job in a joblib worker, as hydra_joblib_launcher's ``execute_job``, started by `run_job`
    (on one thread of the compiled engine when in a worker process: the jobs fill the cores)."""
    one_thread_in_workers()
    setup_globals()
    Singleton.set_state(singleton_state)
    job = compose_cache.compose_shared(hydra_context.config_loader, config, list(overrides))
    _set_number(job, f"{job.hydra.job.name}_{idx}", idx)
    return run_job(hydra_context, task_function, job, "hydra.sweep.dir", "hydra.sweep.subdir")


class JoblibLauncher(HydraJoblibLauncher):
    """hydra_joblib_launcher's launcher (jobs on joblib's loky workers), jobs started by `run_job`."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        hydra_execute = joblib_core.execute_job
        joblib_core.execute_job = execute_job  # what the plugin's launch hands to its workers
        try:
            return joblib_core.launch(launcher=self, job_overrides=job_overrides, initial_job_idx=initial_job_idx)
        finally:
            joblib_core.execute_job = hydra_execute


class BasicSweeper(HydraBasicSweeper):
    """Hydra's basic sweeper; a batch is checked by composing each job from its shape."""

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        assert self.config is not None and self.hydra_context is not None
        for overrides in batch:
            compose_cache.compose_shared(self.hydra_context.config_loader, self.config, list(overrides))


def register() -> None:
    """Store the launchers and the sweeper under Hydra's names (``basic``, ``joblib``), after
    Hydra's scan of its plugins (which runs each plugin's module again, storing its own)."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()  # the scan, once per process
    repo = ConfigStore.instance()
    repo.store(group="hydra/launcher", name="basic", provider="marktsim",
               node={"_target_": f"{__name__}.BasicLauncher"})
    repo.store(group="hydra/sweeper", name="basic", provider="marktsim",
               node={"_target_": f"{__name__}.BasicSweeper", "max_batch_size": None, "params": None})
    node = OmegaConf.structured(JobLibLauncherConf)
    node._target_ = f"{__name__}.JoblibLauncher"
    repo.store(group="hydra/launcher", name="joblib", provider="marktsim", node=node)
