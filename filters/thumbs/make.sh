#!/bin/sh
# Regenerates the thumbnails of filters/README.md with chunkvm's own commands. Run it
# from the repository root:
#
#     sh filters/thumbs/make.sh [PHOTO]
#
# original.png is level 2 of the pyramid of vm/tests/data/rocket.jpg (640x427, so
# 160x107: each pixel the mean of a 4x4 block); every other thumbnail is `chunkvm run`
# of one filter, with its defaults, or of one pipeline, on original.png. PHOTO, if given,
# takes the place of rocket.jpg.
set -eu
photo=${1:-vm/tests/data/rocket.jpg}
thumbs=filters/thumbs
chunkvm() { cargo run -q --release -p chunkvm -- "$@"; }
chunks=$(mktemp -d)
trap 'rm -rf "$chunks"' EXIT
chunkvm import "$photo" --out "$chunks/rocket.chunks" >/dev/null
chunkvm export "$chunks/rocket.chunks" --level 2 --out "$thumbs/original.png"
for file in filters/*.chop; do
    name=$(basename "$file" .chop)
    chunkvm run "$file" --input "$thumbs/original.png" --output "$thumbs/$name.png" \
        --filter "$name"
done
for file in filters/pipelines/*.chop; do
    name=$(basename "$file" .chop)
    chunkvm run "$file" --input "$thumbs/original.png" --output "$thumbs/$name.png" \
        --pipeline "$name"
done
