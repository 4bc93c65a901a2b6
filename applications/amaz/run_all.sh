#!/bin/sh
# The AMAZ reproduction on the built-in glyph set, sequentially (about 35 min on 2 shared CPU cores).
#   sh applications/amaz/run_all.sh
set -e
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
R=applications/amaz/results
STEPS=${STEPS:-600}
COMMON="--steps $STEPS --dropout ${DROPOUT:-0.0}"
mkdir -p $R
nice -n 5 $PY applications/amaz/reproduce.py --variant amaz $COMMON --out $R/amaz.json \
    --tensorboard $R/tensorboard/amaz > $R/amaz.log 2>&1
nice -n 5 $PY applications/amaz/reproduce.py --variant zsml $COMMON --out $R/zsml.json > $R/zsml.log 2>&1
for v in t4_w t4_sigmoid_w t4_softmax_w t4_base_plus_sigmoid t4_base_minus_sigmoid t4_base_plus_softmax \
         t4_base_minus_softmax; do
    nice -n 5 $PY applications/amaz/reproduce.py --variant $v $COMMON --out $R/$v.json --no-gzsl \
        --classifiers svm > $R/$v.log 2>&1
done
$PY applications/amaz/report.py $R > $R/tables.md
