#!/usr/bin/env bash
# Every MT-net result of applications/mtnet/README.md.
#
#   bash applications/mtnet/reproduce.sh regression          # Tables 1-2 and Figure 4 over seeds 0-4, the regression presets
#   bash applications/mtnet/reproduce.sh omniglot [VARIANT]  # Omniglot MT-net vs MAML (mtnet writes omniglot_20way_1shot)
#   bash applications/mtnet/reproduce.sh report              # the README's tables and figures from results/*.json
#
# regression: every run of sine.py, two at a time (JOBS=...) on one thread each, about 4 hours on
# 2 CPU cores; SEEDS=... selects seeds; runs whose result exists are skipped (delete a file to redo it).
# Seed 0 writes the presets sinusoid_10shot and polynomial_order{0,1,2}.
# omniglot: settings of the reference code (stride-2 64-channel convs, 1 inner step in training,
# 1 query per class; 20-way: meta-batch 16, alpha 0.1, 5 steps at test; 5-way: meta-batch 32,
# alpha 0.4, 3 steps at test) but 1,000 meta-iterations instead of 40,000 (about 15 minutes per run).
# Run from the repository root (omniglot: with ../shared/data/omniglot present).
set -euo pipefail
here=applications/mtnet
out=$here/results
mkdir -p "$out"

regression_runs() {
  local run="python $here/sine.py --skip-existing --threads 1" seeds="${SEEDS:-0 1 2 3 4}" seed order preset v lr
  for seed in $seeds; do
    # Figure 4: fraction of updated weights for polynomial orders 0, 1, 2
    for order in 0 1 2; do
      preset=""
      [ "$seed" = 0 ] && preset="--save-preset saved_models/mtnet/polynomial_order$order"
      echo "$run --seed $seed --variant mtnet --polynomial $order --iterations 20000 $preset"
    done
    # and order 2 with its coefficients in [-0.263, 0.263], so Var(y) equals order 1's (0.263^2 = 3.11 / 44.78)
    echo "$run --seed $seed --variant mtnet --polynomial 2 --coefficient-range 0.263 --iterations 20000"
  done
  for seed in $seeds; do
    # Table 1: every variant, 60k iterations (the paper's), alpha = 0.01
    preset=""
    [ "$seed" = 0 ] && preset="--save-preset saved_models/mtnet/sinusoid_10shot"
    echo "$run --seed $seed --variant mtnet --iterations 60000 $preset"
    for v in maml tnet mnet; do echo "$run --seed $seed --variant $v --iterations 60000"; done
    for v in mnet mtnet; do echo "$run --seed $seed --variant $v --full-mask --iterations 60000"; done
  done
  for seed in $seeds; do
    # Table 2: MAML, T-net, MT-net over alpha, 60k iterations as in Table 1 (alpha = 0.01 is
    # Table 1's run; 20k iterations are too few at alpha = 1, see the README's learning curve)
    for lr in 10 1 0.1 0.001 0.0001; do
      for v in maml tnet mtnet; do echo "$run --seed $seed --variant $v --inner-lr $lr --iterations 60000"; done
    done
  done
}

omniglot() {
  local common=(--data omniglot --shots 1 --queries 1 --rotations --steps 1000 --steps-per-epoch 250 --eval-episodes 600)
  local variants=("$@") variant preset
  [ ${#variants[@]} -gt 0 ] || variants=(mtnet maml)
  for variant in "${variants[@]}"; do
    preset=()
    if [ "$variant" = mtnet ]; then
      preset=(--save-preset saved_models/mtnet/omniglot_20way_1shot --overwrite
              --description "MT-net, 64 channels, Omniglot background-small (6 train alphabets), 20-way 1-shot")
    fi
    kzoo fit mtnet "${common[@]}" --ways 20 --tasks 16 --set variant="$variant" --set inner_lr=0.1 \
      --set eval_inner_steps=5 "${preset[@]}" | tee "$out/omniglot_20way_$variant.log"
    kzoo fit mtnet "${common[@]}" --ways 5 --tasks 32 --set variant="$variant" --set inner_lr=0.4 \
      --set eval_inner_steps=3 | tee "$out/omniglot_5way_$variant.log"
  done
}

target=${1:-}
[ $# -gt 0 ] && shift
case "$target" in
  regression)
    regression_runs | xargs -P "${JOBS:-2}" -I{} sh -c "{} > /dev/null 2>&1 || echo 'FAILED: {}'"
    python $here/report.py --write ;;
  omniglot) omniglot "$@" ;;
  report) python $here/report.py --write ;;
  *) echo "usage: bash $here/reproduce.sh regression|omniglot [VARIANT...]|report" >&2; exit 2 ;;
esac
