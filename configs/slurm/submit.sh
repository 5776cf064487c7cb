#!/usr/bin/env bash
# Submit a grid as an array of N shards plus a merge job that runs when they are all done:
#     CONFIG=configs/imagenet.toml RUN_ID=imagenet-1 ./configs/slurm/submit.sh 8
# A shard that failed leaves its cells missing: the merge then says which; resubmit that task
# (sbatch --array=<i> ...) and merge again. `bench run --dry-run --config ...` shows the grid first.
set -euo pipefail
N=${1:?usage: submit.sh NUMBER_OF_SHARDS}
here=$(dirname "$0")
array=$(sbatch --parsable --array=1-"$N" --export=ALL "$here/bench-array.sbatch")
sbatch --dependency=afterany:"$array" --export=ALL "$here/merge.sbatch"
echo "array job $array ($N shards), merge queued after it; results in ${OUTPUT:-$HOME/vizpert-runs}/$RUN_ID"
