#!/usr/bin/env bash
# Every Task2Vec / Model2Vec result of applications/task2vec/README.md (about 2.5 hours on 2 CPU cores).
#
#   bash applications/task2vec/reproduce.sh                      # everything
#   bash applications/task2vec/reproduce.sh probe model_selection # some targets
#
# Targets: probe (the task2vec/probe_glyphs_resnet preset, by `kzoo fit task2vec`), speed
# (benchmarks/task2vec_speed.py), model_selection (13 tasks and the 35-task runs, Table 1's
# structure), mixed_selection (the mixed meta-task: experts trained once into $EXPERTS, default
# /tmp/kzoo_experts), budget (variational_budget.py), each writing its JSON to results/, and
# report (rewrites the README's tables from them; report.py FILE.json prints one file's tables).
# Run from the repository root, with ../shared/data/omniglot present.
set -euo pipefail
here=applications/task2vec
out=$here/results
experts=${EXPERTS:-/tmp/kzoo_experts}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(probe speed model_selection mixed_selection budget report)
for target in "${targets[@]}"; do
  case "$target" in
    probe)
      kzoo fit task2vec --data glyphs --epochs 12 --batch-size 128 --learning-rate 2e-3 \
        --description "Task2Vec probe: small ResNet (16-32-64-128) trained to classify glyph characters" \
        --save-preset saved_models/task2vec/probe_glyphs_resnet --overwrite ;;
    speed)
      python benchmarks/task2vec_speed.py | tee "$out/task2vec_speed.log"
      python benchmarks/task2vec_speed.py --methods expected --sizes 100,1000 | tee "$out/task2vec_speed_expected.log" ;;
    model_selection)
      python $here/model_selection.py --classes 20 --expert-epochs 3 --methods montecarlo --max-samples 500
      python $here/model_selection.py --classes 20 --expert-epochs 3 --methods expected --max-samples 500 \
        --output $out/model_selection_expected.json
      python $here/model_selection.py --classes 20 --expert-epochs 3 --methods variational --max-samples 500 \
        --output $out/model_selection_variational.json
      python $here/model_selection.py --classes 20 --expert-epochs 10 --methods montecarlo --max-samples 500 \
        --output $out/model_selection_10epochs.json
      python $here/model_selection.py --classes 10 --tasks-per-alphabet 3 --expert-epochs 10 --methods montecarlo \
        --max-samples 500 --output $out/model_selection_35tasks.json
      python $here/model_selection.py --classes 10 --tasks-per-alphabet 3 --expert-epochs 10 --expert-lr 1e-4 \
        --methods montecarlo --max-samples 500 --output $out/model_selection_35tasks_lr1e-4.json ;;
    mixed_selection)
      python $here/mixed_selection.py --experts-dir "$experts" | tee "$out/mixed_selection_training_run.log"
      python $here/mixed_selection.py --experts-dir "$experts" --method expected --max-samples 250 \
        --output $out/mixed_selection_expected.json ;;
    budget)
      python $here/variational_budget.py ;;
    report)  # the README's tables from results/*.json
      python $here/report.py --write ;;
    *) echo "unknown target: $target" >&2; exit 2 ;;
  esac
done
