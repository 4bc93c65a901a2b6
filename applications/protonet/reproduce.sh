#!/usr/bin/env bash
# Rebuilds the ProtoNet presets in saved_models/protonet/ (about 90 minutes on 2 CPU cores).
# Run from the repository root, with ../shared/data/omniglot present (or KZOO_OMNIGLOT set).
# ONLY=<preset name> rebuilds one preset; further arguments go to every `kzoo fit`.
# Each command trains, scores 600 fixed test episodes (20-way, 15 queries, seed 1234)
# on held-out alphabets, and records everything in the preset's metadata.json.
set -euo pipefail
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }
preset() { echo "saved_models/protonet/$1"; }

# Trained on Omniglot's and the glyphs' train alphabets together, every image distorted
# (new drawers, new fonts), weights selected on Omniglot's validation alphabet (Latin);
# tested on Omniglot's test alphabet, and on the glyphs' test scripts beside it.
want omniglot_20way_1shot && kzoo fit protonet --data omniglot+glyphs --ways 60 --shots 1 --queries 5 \
  --rotations --distort --steps 4000 --steps-per-epoch 200 --val-episodes 100 --select-best \
  --eval-ways 20 --eval-shots 1 --eval-episodes 600 \
  --description "ProtoNet, 64 channels, trained on Omniglot background-small (6 train alphabets) + built-in glyphs (6 train scripts) with distortions, 20-way 1-shot" \
  --save-preset "$(preset omniglot_20way_1shot)" --overwrite "$@"

want omniglot_20way_5shot && kzoo fit protonet --data omniglot --ways 20 --shots 5 --queries 5 --rotations \
  --steps 2000 --steps-per-epoch 200 --eval-ways 20 --eval-shots 5 --eval-episodes 600 \
  --description "ProtoNet, 64 channels, Omniglot background-small (6 train alphabets), 20-way 5-shot" \
  --save-preset "$(preset omniglot_20way_5shot)" --overwrite "$@"

want glyphs_20way_1shot && kzoo fit protonet --data glyphs --ways 60 --shots 1 --queries 5 \
  --steps 2000 --steps-per-epoch 200 --eval-ways 20 --eval-shots 1 --eval-episodes 600 \
  --description "ProtoNet, 64 channels, built-in glyphs (6 train scripts), 20-way 1-shot" \
  --save-preset "$(preset glyphs_20way_1shot)" --overwrite "$@"

# The fonts check (FONTS=DIR: a folder of .ttf/.otf files kzoo never renders, e.g. GNU FreeFont),
# then the README's table from the presets' metadata.
if [ -z "${ONLY:-}" ]; then
  [ -z "${FONTS:-}" ] || python applications/protonet/other_fonts.py --fonts "$FONTS"
  python applications/protonet/report.py --write
fi
