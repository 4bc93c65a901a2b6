#!/bin/sh
# The AMAZ reproduction on the built-in glyph set: two queues in parallel (one per core),
# about 25 min on 2 idle CPU cores.
#   sh applications/amaz/run_all.sh
set -e
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
R=applications/amaz/results
STEPS=${STEPS:-2000}
COMMON="--steps $STEPS --dropout ${DROPOUT:-0.0}"
mkdir -p $R
table_iv() {  # Table IV rows: softmax and linear SVM on 100 synthetic features per unseen class
    for v in "$@"; do
        nice -n 5 $PY applications/amaz/reproduce.py --variant $v $COMMON --out $R/$v.json --no-gzsl \
            --classifiers softmax svm > $R/$v.log 2>&1
    done
}
(
    nice -n 5 $PY applications/amaz/reproduce.py --variant amaz $COMMON --out $R/amaz.json \
        --tensorboard $R/tensorboard/amaz --preset saved_models/amaz/glyphs_zsl > $R/amaz.log 2>&1
    table_iv t4_w t4_sigmoid_w t4_softmax_w
) &
(
    nice -n 5 $PY applications/amaz/reproduce.py --variant zsml $COMMON --out $R/zsml.json > $R/zsml.log 2>&1
    table_iv t4_base_plus_sigmoid t4_base_minus_sigmoid t4_base_plus_softmax t4_base_minus_softmax
) &
wait
$PY applications/amaz/report.py $R > $R/tables.md
