"""``marktsim-study``: run the studies of experiments/ and keep every page's numbers theirs.

    marktsim-study list                          the studies, their questions and commands
    marktsim-study run NAME [NAME ...] | --all   run (or resume) the sweeps, write
                                                 experiments/NAME/findings.csv, run.json and the
                                                 figures, and fill in every page's markers
    marktsim-study render                        fill in every page's markers from the findings
    marktsim-study check                         exit 1 naming each page whose numbers differ

Sweeps go to ``--results`` (default results/studies), one folder per study and sweep; a
killed run resumes there; a finished one does no simulation again (docs/studies.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marktsim.studies import NAMES, studies
from marktsim.studies.core import StudyError, check, render_pages, run_study


def _repo(path: str) -> Path:
    repo = Path(path).resolve()
    if not (repo / "experiments").is_dir():
        raise StudyError(f"--repo {repo}: no experiments/ folder there; allowed: the marktsim repository")
    return repo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marktsim-study", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=".", help="the repository whose experiments/ and pages to use")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the studies")
    run = sub.add_parser("run", help="run studies and render the pages")
    run.add_argument("names", nargs="*", metavar="NAME")
    run.add_argument("--all", action="store_true", help="every study, in order")
    run.add_argument("--results", default="results/studies", help="folder for the sweeps (default results/studies)")
    run.add_argument("--launcher", default="joblib", choices=["joblib", "basic", "ray", "slurm"])
    sub.add_parser("render", help="fill in the pages' markers from the committed findings")
    sub.add_parser("check", help="exit 1 if a page's numbers differ from the findings")
    args = parser.parse_args(argv)
    try:
        repo = _repo(args.repo)
        known = studies()
        if args.command == "list":
            for name, study in known.items():
                print(f"{name}: {study.question}")
                for command in study.commands():
                    print(f"    {command}")
            return
        if args.command == "run":
            names = list(NAMES) if args.all else args.names
            unknown = [n for n in names if n not in known]
            if unknown or not names:
                raise StudyError(f"study {', '.join(unknown) or '(none)'}: allowed: {', '.join(NAMES)} or --all")
            results = Path(args.results)
            results = results if results.is_absolute() else Path.cwd() / results
            for name in names:
                out = run_study(known[name], repo, results, args.launcher)
                print(f"marktsim-study: {name}: {out / 'findings.csv'}")
        if args.command in ("run", "render"):
            for page in render_pages(repo, known):
                print(f"marktsim-study: updated {page.relative_to(repo)}")
            return
        problems = check(repo, known)
        for line in problems:
            print(f"marktsim-study: {line}", file=sys.stderr)
        if problems:
            raise SystemExit(1)
        print("marktsim-study: every page quotes the committed findings")
    except StudyError as exc:
        print(f"marktsim-study: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
