#!/usr/bin/env bash
# All MT-net regression runs behind applications/mtnet/README.md (Tables 1-2, Figure 4),
# two at a time (about 45 minutes on 2 CPU cores), and the sinusoid_10shot preset.
# Then: python applications/mtnet/report.py  (tables and the Figure 4 plot for the README)
# Run from the repository root. Results: applications/mtnet/results/*.json; runs whose
# result exists are skipped (delete a file to redo it).
set -euo pipefail
run="python applications/mtnet/sine.py --skip-existing"
{
  # Table 1: every variant, 60k iterations (the paper's), alpha = 0.01
  echo "$run --variant mtnet --iterations 60000 --save-preset saved_models/mtnet/sinusoid_10shot"
  for v in maml tnet mnet; do echo "$run --variant $v --iterations 60000"; done
  for v in mnet mtnet; do echo "$run --variant $v --full-mask --iterations 60000"; done
  # Table 2: MAML, T-net, MT-net over alpha, 20k iterations
  for lr in 10 1 0.1 0.01 0.001 0.0001; do
    for v in maml tnet mtnet; do echo "$run --variant $v --inner-lr $lr --iterations 20000"; done
  done
  # Figure 4: fraction of updated weights for polynomial orders 0, 1, 2
  for order in 0 1 2; do echo "$run --variant mtnet --polynomial $order --iterations 20000"; done
} | xargs -P 2 -I{} sh -c "{} > /dev/null 2>&1 || echo 'FAILED: {}'"
