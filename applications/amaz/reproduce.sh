#!/usr/bin/env bash
# Every AMAZ result of applications/amaz/README.md on the built-in glyph zero-shot set
# (kzoo.zsl.glyph_compositions): about 60 training runs in two queues, about 4 hours on 2 CPU cores.
#
#   bash applications/amaz/reproduce.sh                # everything, then the README tables
#   bash applications/amaz/reproduce.sh preset report  # some targets
#
# Targets: preset (amaz/glyphs_zsl, eq. 3, seed 0, by `kzoo fit amaz`), modulation (AMAZ and the
# same model without modulation, ZSML-like, seeds 0-2), table_iv (the seven other modulator
# operators of Table IV, seeds 0-2), clswgan (f-CLSWGAN at AMAZ's width, 256; the 4,096-wide one
# is applications/tafenet/reproduce.sh's), svm (kzoo's SVM trained 30-3,000 epochs beside the softmax, on
# the preset's synthetic features), unclipped (the softmax-without-base row of Table IV with the paper's
# plain support steps, inner_clipnorm=None, seeds 0-2), width (AMAZ and ZSML-like with every network 2x wider,
# seed 0, and f-CLSWGAN at 512 and 1,024), gap (gap.py at width 512, seeds 0-2: AMAZ, ZSML-like,
# both also with a pretrained C, and three f-CLSWGAN settings, each scored under both final-classifier
# protocols), iterations (AMAZ for 6,000 meta-iterations, seed 0), report (rewrites the README's tables
# from results/*.json).
# 2,000 meta-iterations per run, fixed in advance. Run from the repository root.
set -euo pipefail
here=applications/amaz
out=$here/results
seeds=(0 1 2)
mkdir -p "$out"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(preset modulation table_iv clswgan svm unclipped width gap iterations report)
variant() { python $here/variant.py --variant "$1" --seed "$2" --out "$out/$1_seed$2.json" "${@:3}"; }
queue() { local extra=$1; shift; for s in "${seeds[@]}"; do for v in "$@"; do variant "$v" "$s" $extra; done; done; }
for target in "${targets[@]}"; do
  case "$target" in
    preset)  # the settings of variant.py's PRESET_SETTINGS; glyph sizes are kzoo fit's default on this data
      kzoo fit amaz --data glyph_compositions --steps 2000 --set dropout=0.0 --set synthesis_sigma=0.1 \
        --set output_activation=relu --set "meta_learning_rates=(0.001, 0.001, 0.001)" \
        --description "AMAZ on the built-in compositional glyph zero-shot set (kzoo.zsl.glyph_compositions)" \
        --save-preset saved_models/amaz/glyphs_zsl --overwrite ;;
    modulation)  # one queue per core
      queue "" amaz &
      queue "" zsml
      wait ;;
    table_iv)
      queue --no-gzsl t4_w t4_sigmoid_w t4_softmax_w t4_base_plus_sigmoid &
      queue --no-gzsl t4_base_minus_sigmoid t4_base_plus_softmax t4_base_minus_softmax
      wait ;;
    clswgan) python applications/tafenet/gzsl.py --method clswgan --hidden 256 --epochs 30 --out "$out" \
      --name clswgan_attributes_hidden256 ;;
    svm) python $here/svm_convergence.py ;;
    unclipped)
      for s in "${seeds[@]}"; do
        python $here/variant.py --variant t4_softmax_w --inner-clipnorm none --no-gzsl --seed "$s" \
          --out "$out/unclipped/t4_softmax_w_seed$s.json"
      done ;;
    width)
      mkdir -p "$out/width512"
      for v in amaz zsml; do  # one per core
        python $here/variant.py --variant $v --width 512 --seed 0 --out "$out/width512/${v}_seed0.json" &
      done
      wait
      for hidden in 512 1024; do
        python applications/tafenet/gzsl.py --method clswgan --hidden $hidden --epochs 30 --out "$out" \
          --name clswgan_attributes_hidden$hidden
      done ;;
    gap)
      for s in "${seeds[@]}"; do  # one queue per core
        (for m in amaz amaz_pretrained_classifier; do python $here/gap.py --model $m --width 512 --seed "$s"; done) &
        for m in zsml zsml_pretrained_classifier clswgan clswgan_no_classifier clswgan_matched; do
          python $here/gap.py --model $m --width 512 --seed "$s"
        done
        wait
      done ;;
    iterations) python $here/variant.py --variant amaz --steps 6000 --seed 0 --no-gzsl \
      --out "$out/iterations/amaz_steps6000_seed0.json" ;;
    report) python $here/report.py --write ;;
    *) echo "unknown target: $target" >&2; exit 2 ;;
  esac
done
