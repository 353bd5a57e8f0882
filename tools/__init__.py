"""Release tooling and one-off probes of drl_microscopy, run from the repository root as `python -m tools.NAME`."""
