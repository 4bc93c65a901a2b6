#!/usr/bin/env bash
# Every AMAZ result of applications/amaz/README.md on the built-in glyph zero-shot set
# (kzoo.zsl.glyph_compositions), two queues in parallel: about 50 minutes on 2 CPU cores.
#
#   bash applications/amaz/reproduce.sh                # everything, then the README tables
#   bash applications/amaz/reproduce.sh preset report  # some targets
#
# Targets: preset (amaz/glyphs_zsl, eq. 3, by `kzoo fit amaz`), zsml (the same model without
# modulation), table_iv (the seven other modulator operators of Table IV), report (rewrites the
# README's tables from the preset's metadata and results/*.json). One seed (0) per row,
# 2,000 meta-iterations fixed in advance. Run from the repository root.
set -euo pipefail
here=applications/amaz
out=$here/results
mkdir -p "$out"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(preset zsml table_iv report)
variant() { python $here/variant.py --variant "$1" --out "$out/$1.json" "${@:2}"; }
table_iv() { for v in "$@"; do variant "$v" --no-gzsl --classifiers softmax svm; done; }
for target in "${targets[@]}"; do
  case "$target" in
    preset)  # the settings of variant.py's PRESET_SETTINGS; glyph sizes are kzoo fit's default on this data
      kzoo fit amaz --data glyph_compositions --steps 2000 --set dropout=0.0 --set synthesis_sigma=0.1 \
        --set output_activation=relu --set "meta_learning_rates=(0.001, 0.001, 0.001)" \
        --description "AMAZ on the built-in compositional glyph zero-shot set (kzoo.zsl.glyph_compositions)" \
        --save-preset saved_models/amaz/glyphs_zsl --overwrite ;;
    zsml) variant zsml ;;
    table_iv)  # two queues, one per core
      table_iv t4_w t4_sigmoid_w t4_softmax_w t4_base_plus_sigmoid &
      table_iv t4_base_minus_sigmoid t4_base_plus_softmax t4_base_minus_softmax
      wait ;;
    report) python $here/report.py --write ;;
    *) echo "unknown target: $target" >&2; exit 2 ;;
  esac
done
