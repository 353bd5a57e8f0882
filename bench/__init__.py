"""Benchmarks of drl_microscopy, run from the repository root as `python -m bench.NAME` (`--help` on each);
`--record` rewrites the script's section of bench/RESULTS.md through `bench.results_md.write_section`."""
