#!/usr/bin/env bash
# Every TAFE-Net result of applications/tafenet/README.md, on the built-in glyph zero-shot set
# (kzoo.zsl.glyph_compositions; about 25 minutes of 2 CPU cores in all).
#
#   bash applications/tafenet/reproduce.sh                 # everything, then the README tables
#   bash applications/tafenet/reproduce.sh presets report  # some targets
#
# Targets: presets (glyphs_gzsl and glyphs_composition_onehot, by `kzoo fit tafenet`),
# ablations (beta = 0; the authors' code's variant), baselines (bilinear, ESZSL, f-CLSWGAN and
# TAFE-Net on both task descriptions, with and without calibrated stacking), sparsity (DynamicTAFENet, Figure 5), benchmark (scoring speed), report
# (rewrites the README's tables from the presets' metadata and results/*.json).
# Run from the repository root. One seed (0) per row; the epochs are fixed in advance.
set -euo pipefail
here=applications/tafenet
out=$here/results
mkdir -p "$out"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(presets ablations baselines sparsity benchmark report)
# the presets' recipe: widths 256 (the paper's 2048 are for ResNet-101 features), 64 classes per step
sizes=(--set "hidden_units=(256, 256, 256)" --set task_units=256 --set classifier_units=128
       --set embedding_loss_weight=0.1 --set classes_per_step=64)
preset() {  # preset NAME DESCRIPTIONS TEXT
  kzoo fit tafenet --data glyph_compositions --descriptions "$2" --epochs 8 --batch-size 64 \
    --learning-rate 1e-3 "${sizes[@]}" --description "TAFE-Net on the built-in glyph compositional set ($3)" \
    --save-preset "saved_models/tafenet/$1" --overwrite
}
for target in "${targets[@]}"; do
  case "$target" in
    presets)
      preset glyphs_gzsl attributes "attribute task descriptions"
      preset glyphs_composition_onehot onehot "one-hot diacritic ++ one-hot letter task descriptions" ;;
    ablations)
      python $here/gzsl.py --method tafenet --beta 0
      python $here/gzsl.py --method tafenet --beta 0.1 --generator-activation linear --positive-weight 63 \
        --name tafenet_attributes_beta0.1_reference_variant
      python $here/gzsl.py --method tafenet --initialization reference --name tafenet_ablation_reference_init
      python $here/gzsl.py --method tafenet --beta 1 --name tafenet_ablation_beta1
      python $here/gzsl.py --method tafenet --epochs 30 --name tafenet_ablation_epochs30
      python $here/gzsl.py --method tafenet --task-units 64 --name tafenet_ablation_task_units64
      python $here/gzsl.py --method tafenet --task-normalization none --name tafenet_ablation_no_task_norm
      python $here/gzsl.py --method tafenet --classification-loss softmax --name tafenet_ablation_softmax
      python $here/gzsl.py --method tafenet --task-normalization none --classification-loss softmax \
        --name tafenet_ablation_no_task_norm_softmax
      python $here/gzsl.py --method tafenet --task-lr-multiplier 1 --name tafenet_ablation_task_lr1
      python $here/gzsl.py --method tafenet --task-lr-multiplier 1 --generator-activation linear \
        --name tafenet_ablation_task_lr1_linear
      python $here/gzsl.py --method tafenet --task-lr-multiplier 1 --generator-activation linear \
        --classification-loss softmax --name tafenet_ablation_task_lr1_linear_softmax
      python $here/gzsl.py --method tafenet --task-lr-multiplier 1 --task-normalization none \
        --name tafenet_ablation_task_lr1_no_task_norm
      python $here/gzsl.py --method tafenet --task-lr-multiplier 1 --task-normalization none \
        --generator-activation linear --name tafenet_ablation_task_lr1_no_task_norm_linear
      python $here/gzsl.py --method tafenet --task-lr-multiplier 1 --task-normalization none \
        --generator-activation linear --classification-loss softmax \
        --name tafenet_ablation_task_lr1_no_task_norm_linear_softmax
      python $here/gzsl.py --method tafenet --task-lr-multiplier 1 --task-normalization none \
        --generator-activation linear --epochs 20 --name tafenet_ablation_task_lr1_no_task_norm_linear_epochs20 ;;
    baselines)  # each with calibrated stacking, gamma chosen on held-out seen classes (a second fit)
      for tasks in attributes onehot; do
        python $here/gzsl.py --method bilinear --tasks $tasks --epochs 20 --calibrate
        python $here/gzsl.py --method eszsl --tasks $tasks --calibrate
        python $here/gzsl.py --method clswgan --tasks $tasks --epochs 30 --calibrate
        python $here/gzsl.py --method tafenet --tasks $tasks --calibrate --name "tafenet_${tasks}_beta0.1_calibrated"
      done ;;
    sparsity)
      python $here/sparsity.py --betas 0 0.01 0.03 0.1 0.3 --epochs 12 ;;
    benchmark)
      python benchmarks/tafenet_scoring.py | tee "$out/benchmark_scoring.log" ;;
    report)
      python $here/report.py --write ;;
    *) echo "unknown target: $target" >&2; exit 2 ;;
  esac
done
