#!/bin/sh
# Regenerates the thumbnails of filters/README.md with chunkvm's own commands. Run it
# from the repository root:
#
#     sh filters/thumbs/make.sh [PHOTO]
#
# original.png is level 2 of the pyramid of a photo (the one committed came from
# rocket.jpg, 640x427, the launch of DSCOVR, public domain: so 160x107, each pixel the
# mean of a 4x4 block); given PHOTO, it is made anew from it. Every other thumbnail is
# `chunkvm run` of one filter, with its defaults, or of one pipeline, on original.png.
set -eu
thumbs=filters/thumbs
chunkvm() { cargo run -q --release -p chunkvm -- "$@"; }
if [ $# -gt 0 ]; then
    chunks=$(mktemp -d)
    trap 'rm -rf "$chunks"' EXIT
    chunkvm import "$1" --out "$chunks/photo.chunks" >/dev/null
    chunkvm export "$chunks/photo.chunks" --level 2 --out "$thumbs/original.png"
fi
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
