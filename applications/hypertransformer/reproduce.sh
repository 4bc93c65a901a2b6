#!/usr/bin/env bash
# HyperTransformer on Omniglot background-small (held-out alphabets): HT logits-only, HT
# all-layers, MAML (MTNet variant=maml) and ProtoNet at matched CNN widths, all scored on
# the same 600 test episodes (20-way, 15 queries per class, seed 1234) as the ProtoNet and
# MT-net presets. CPU budget: HT trains on 4 episodes per step with Adam 1e-3 (the paper:
# 4M steps of 1 episode with SGD 0.02, which does not leave the ln(20) plateau in our budget).
#
#   bash applications/hypertransformer/reproduce.sh                        # the runs in the README
#   bash applications/hypertransformer/reproduce.sh maml_8 ht_all_4        # some runs
#   HT_STEPS=1500 bash applications/hypertransformer/reproduce.sh ht_all_4 # override HT steps
#
# Runs: ht_logits_8 (writes the omniglot_20way_1shot preset), ht_all_8, maml_8, protonet_8,
# ht_logits_4, ht_all_4, maml_4, protonet_4, ht_5shot (the omniglot_20way_5shot preset),
# semi (semi-supervised 1-shot with 2 and 4 unlabeled samples per class; only u=2 was run).
# Run from the repository root, with ../shared/data/omniglot present.
set -euo pipefail
out=applications/hypertransformer/results
mkdir -p "$out"
eval_args=(--eval-episodes 600 --eval-queries 15)
ht() { echo --data omniglot --ways 20 --queries 5 --tasks 4 --rotations --steps "${HT_STEPS:-$1}" \
         --steps-per-epoch 250 --learning-rate 0.001 "${eval_args[@]}"; }
run() { local name=$1; shift; echo "== $name: kzoo $*"; PYTHONUNBUFFERED=1 nice -n 5 kzoo "$@" 2>&1 \
          | grep --line-buffered -v '^[IEW]0000' | tee "$out/$name.log"; }
maml() { run "maml_$1ch_1shot" fit mtnet --data omniglot --ways 20 --shots 1 --queries 1 --tasks 16 --rotations \
           --steps 1000 --steps-per-epoch 250 --channels "$1" --set variant=maml --set inner_lr=0.1 \
           --set eval_inner_steps=5 "${eval_args[@]}"; }
protonet() { run "protonet_$1ch_1shot" fit protonet --data omniglot --ways 60 --shots 1 --queries 5 --rotations \
               --steps 2000 --steps-per-epoch 200 --channels "$1" --eval-ways 20 "${eval_args[@]}"; }
describe() { echo "HyperTransformer (logits generated), 8 channels, Omniglot background-small (6 train alphabets), 20-way $1-shot"; }

runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(ht_logits_8 maml_8 ht_logits_4 ht_all_4 maml_4 protonet_8 protonet_4)
for name in "${runs[@]}"; do
  case "$name" in
    ht_logits_8) run ht_logits_8ch_1shot fit hypertransformer $(ht 3000) --shots 1 --channels 8 \
                   --save-preset saved_models/hypertransformer/omniglot_20way_1shot --overwrite \
                   --description "$(describe 1)" ;;
    ht_all_8) run ht_all_8ch_1shot fit hypertransformer $(ht 3000) --shots 1 --channels 8 --set generate=all ;;
    ht_logits_4) run ht_logits_4ch_1shot fit hypertransformer $(ht 1500) --shots 1 --channels 4 ;;
    ht_all_4) run ht_all_4ch_1shot fit hypertransformer $(ht 1500) --shots 1 --channels 4 --set generate=all ;;
    maml_8) maml 8 ;;
    maml_4) maml 4 ;;
    protonet_8) protonet 8 ;;
    protonet_4) protonet 4 ;;
    ht_5shot) run ht_logits_8ch_5shot fit hypertransformer $(ht 3000) --shots 5 --channels 8 \
                --save-preset saved_models/hypertransformer/omniglot_20way_5shot --overwrite \
                --description "$(describe 5)" ;;
    semi) PYTHONUNBUFFERED=1 nice -n 5 python applications/hypertransformer/semi_supervised.py 2>&1 \
            | grep --line-buffered -v '^[IEW]0000' | tee "$out/semi_supervised.log" ;;
    *) echo "unknown run $name" >&2; exit 2 ;;
  esac
done
