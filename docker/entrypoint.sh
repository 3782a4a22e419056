#!/bin/sh
# TuneLab's container entry point. Copies the models converted at build time (docker/prepare_model.py,
# in $TUNELAB_MODEL_SEED) into the home volume ($TUNELAB_HOME/models) where the volume lacks this
# image's conversion, then runs the command. A copy, not a link: a vLLM container that mounts the same
# volume can serve the same base folder. The copy is made under a temporary name and renamed into
# place; a lock keeps the server and the worker, starting together, from copying at once.
set -eu
seed="${TUNELAB_MODEL_SEED:-/opt/tunelab/models}"
home="${TUNELAB_HOME:?TUNELAB_HOME is not set}"
if [ -d "$seed" ]; then
    mkdir -p "$home/models"
    exec 9>"$home/models/.seed.lock"
    flock 9
    for src in "$seed"/*/; do
        [ -f "$src/tunelab-source.json" ] || continue
        name=$(basename "$src")
        dest="$home/models/$name"
        if ! cmp -s "$src/tunelab-source.json" "$dest/tunelab-source.json" 2>/dev/null; then
            echo "entrypoint: copying the converted model $name into $home/models" >&2
            tmp="$home/models/.$name.seed.$$"
            old="$home/models/.$name.old.$$"
            rm -rf "$tmp"
            cp -R "$src" "$tmp"
            if [ -e "$dest" ] || [ -L "$dest" ]; then mv "$dest" "$old"; fi
            mv "$tmp" "$dest"
            rm -rf "$old"
        fi
    done
    exec 9>&-
fi
exec "$@"
