#!/usr/bin/env bash
# Rebuilds the ProtoNet presets in saved_models/protonet/ (about 30 minutes on 2 CPU cores).
# Run from the repository root, with ../shared/data/omniglot present (or KZOO_OMNIGLOT set).
# Each command trains, scores 600 fixed test episodes (20-way, 15 queries, seed 1234)
# on held-out alphabets, and records everything in the preset's metadata.json.
set -euo pipefail
preset() { echo "saved_models/protonet/$1"; }

kzoo fit protonet --data omniglot --ways 60 --shots 1 --queries 5 --rotations \
  --steps 2000 --steps-per-epoch 200 --eval-ways 20 --eval-shots 1 --eval-episodes 600 \
  --description "ProtoNet, 64 channels, Omniglot background-small (6 train alphabets), 20-way 1-shot" \
  --save-preset "$(preset omniglot_20way_1shot)" --overwrite "$@"

kzoo fit protonet --data omniglot --ways 20 --shots 5 --queries 5 --rotations \
  --steps 2000 --steps-per-epoch 200 --eval-ways 20 --eval-shots 5 --eval-episodes 600 \
  --description "ProtoNet, 64 channels, Omniglot background-small (6 train alphabets), 20-way 5-shot" \
  --save-preset "$(preset omniglot_20way_5shot)" --overwrite "$@"

kzoo fit protonet --data glyphs --ways 60 --shots 1 --queries 5 \
  --steps 2000 --steps-per-epoch 200 --eval-ways 20 --eval-shots 1 --eval-episodes 600 \
  --description "ProtoNet, 64 channels, built-in glyphs (6 train scripts), 20-way 1-shot" \
  --save-preset "$(preset glyphs_20way_1shot)" --overwrite "$@"
