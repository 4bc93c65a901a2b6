#!/usr/bin/env bash
# MT-net vs MAML on Omniglot background-small (held-out alphabets), scored on the same
# 600 test episodes (seed 1234, 15 queries per class) as the ProtoNet presets.
# Settings of the reference code (stride-2 64-channel convs, 1 inner step in training,
# 1 query per class; 20-way: meta-batch 16, alpha 0.1, 5 steps at test; 5-way:
# meta-batch 32, alpha 0.4, 3 steps at test) but 1,000 meta-iterations instead of
# 40,000 (CPU budget: about 15 minutes per run on 2 cores).
#
#   bash applications/mtnet/omniglot.sh            # mtnet then maml
#   bash applications/mtnet/omniglot.sh maml       # one variant (run two shells in parallel)
#
# Run from the repository root; the mtnet run writes the omniglot_20way_1shot preset.
set -euo pipefail
mkdir -p applications/mtnet/results
common=(--data omniglot --shots 1 --queries 1 --rotations --steps 1000 --steps-per-epoch 250 --eval-episodes 600)
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(mtnet maml)
for variant in "${variants[@]}"; do
    preset=()
    if [ "$variant" = mtnet ]; then
      preset=(--save-preset saved_models/mtnet/omniglot_20way_1shot --overwrite
              --description "MT-net, 64 channels, Omniglot background-small (6 train alphabets), 20-way 1-shot")
    fi
    kzoo fit mtnet "${common[@]}" --ways 20 --tasks 16 --set variant="$variant" --set inner_lr=0.1 \
      --set eval_inner_steps=5 "${preset[@]}" | tee "applications/mtnet/results/omniglot_20way_$variant.log"
    kzoo fit mtnet "${common[@]}" --ways 5 --tasks 32 --set variant="$variant" --set inner_lr=0.4 \
      --set eval_inner_steps=3 | tee "applications/mtnet/results/omniglot_5way_$variant.log"
done
