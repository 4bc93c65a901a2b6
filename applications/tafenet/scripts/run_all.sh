#!/bin/sh
# Every TAFE-Net result of applications/tafenet/README.md, sequentially and niced
# (about 45 min wall on 2 cores shared with other jobs; ~15 min of CPU).
#   PYTHON=/work/venv/bin/python applications/tafenet/scripts/run_all.sh
set -e
cd "$(dirname "$0")/../../.."
S=applications/tafenet/scripts
R=applications/tafenet/results
P=${PYTHON:-python}
COMMON="--epochs 8 --lr 1e-3 --batch-size 64"
# the data set (first call builds and caches it: characters, renderings, feature backbone)
nice -n 5 $P -c "from kzoo import zsl; d = zsl.glyph_compositions(); print(d); print(zsl.statistics_table(d)); print(d.extra['backbone'])" > $R/build_glyph_compositions.log 2>&1
# GZSL (Table 2 ablation) and unseen compositions (Table 4 ablation)
nice -n 5 $P $S/gzsl.py --method tafenet --beta 0.1 $COMMON --save-preset saved_models/tafenet/glyphs_gzsl > $R/tafenet_attributes_beta0.1.log 2>&1
nice -n 5 $P $S/gzsl.py --method tafenet --beta 0 $COMMON > $R/tafenet_attributes_beta0.log 2>&1
nice -n 5 $P $S/gzsl.py --method bilinear --epochs 20 > $R/bilinear_attributes.log 2>&1
nice -n 5 $P $S/gzsl.py --method tafenet --beta 0.1 --tasks onehot $COMMON --save-preset saved_models/tafenet/glyphs_composition_onehot > $R/tafenet_onehot_beta0.1.log 2>&1
nice -n 5 $P $S/gzsl.py --method bilinear --tasks onehot --epochs 20 > $R/bilinear_onehot.log 2>&1
nice -n 5 $P $S/gzsl.py --from-preset glyphs_gzsl --name preset_glyphs_gzsl_eval > $R/preset_glyphs_gzsl_eval.log 2>&1
nice -n 5 $P $S/gzsl.py --method tafenet --beta 0.1 --generator-activation linear --positive-weight 63 $COMMON --name tafenet_attributes_beta0.1_reference_variant > $R/tafenet_attributes_beta0.1_reference_variant.log 2>&1
# dynamic sparsity (Figure 5 analogue) and the scoring benchmark
nice -n 5 $P $S/sparsity.py --betas 0 0.01 0.03 0.1 0.3 --epochs 12 > $R/sparsity.log 2>&1
nice -n 5 $P benchmarks/tafenet_scoring.py > $R/benchmark_scoring.log 2>&1
$P $S/tables.py
