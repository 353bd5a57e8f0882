#!/usr/bin/env bash
# The device-machine check (issues 4 and 7): the `cuda` test cells of the notebooks, and bench/gpu.py.
# Run from the repository root on a machine with a GPU where the project's packages import; writes into $OUT
# (default gpu_out/): nvidia-smi.txt, gpu.json, gpu.log, nbdev_test_cuda.log. Arguments go to bench/gpu.py.
set -u
out=${OUT:-gpu_out}; mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$out/nvidia-smi.txt"
python3 -m bench.gpu --out "$out/gpu.json" "$@" > "$out/gpu.log" 2>&1 &
bench=$!
# the tests start once the throughput timings are done (so they do not disturb them), beside the quality runs
while kill -0 $bench 2>/dev/null && ! grep -q throughput_s "$out/gpu.json" 2>/dev/null; do sleep 2; done
OMP_NUM_THREADS=2 python3 -c 'import sys; from fastcore.script import anno_parser; from nbdev.test import nbdev_test; a = vars(anno_parser(nbdev_test).parse_args(sys.argv[1:])); [a.pop(k, None) for k in ("pdb", "xtra")]; nbdev_test(**a)' --flags cuda --n_workers 5 --do_print --timing \
  --file_re "${TEST_RE:-^(00_core|01_synth|01a_cells|05_learner|05a_distributed|06_features)\.ipynb$}" > "$out/nbdev_test_cuda.log" 2>&1
echo "nbdev_test --flags cuda (00_core, 01_synth, 01a_cells, 05_learner, 05a_distributed, 06_features): exit $?" | tee -a "$out/nbdev_test_cuda.log"
wait $bench; echo "bench/gpu.py: exit $?"
tail -n 25 "$out/nbdev_test_cuda.log"; tail -n 20 "$out/gpu.log"
