#!/usr/bin/env bash
# Writes the AI benchmark's inputs into DIR (once: existing files are kept, so runs compare on the same bytes).
# The same files feed all three sides (limit, Gureum, CLI).
#
#   line.png        one line of English, DejaVu Sans 12 pt rendered at 300 dpi (pango-view)
#   para.png        a six-line English paragraph, same font and resolution
#   tts.txt         one English sentence for TTS (eSpeak NG, voice en-us)
#   speech.wav      ~3 s of English speech, 16 kHz mono, spoken once by Flite (slt): Flite, not eSpeak, because
#                   PocketSphinx understands it (ENGINES.md: 4-12% WER against 45-66% for eSpeak)
#   translate.txt   one English sentence for eng -> spa
#   face.jpg        tests/Gureum.AI.Tests/Faces/data/astronaut.jpg, 512 x 512 (resized only if it is not)
#   *.json          the HTTP bodies of tts and translate
#   bad-*.bin/png/wav  the soak's bad inputs: not an image, a PNG bomb header, a WAV whose header lies
#
# Usage: bash bench/ai/inputs.sh DIR
set -euo pipefail
DIR="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY=/usr/bin/python3
mkdir -p "$DIR"
cd "$DIR"

TTS_TEXT="The weather today is sunny with a light breeze, perfect for a long walk in the park."
STT_TEXT="Please turn on the lights in the kitchen and close the door."
MT_TEXT="The house is big and the garden is beautiful in the summer."
FONT="DejaVu Sans 12"

[[ -s line.png ]] || pango-view -q --font "$FONT" --dpi 300 --margin 30 -o line.png \
    --text "The quick brown fox jumps over the lazy dog near the river bank."
if [[ ! -s para.png ]]; then
    printf '%s\n' "Optical character recognition turns pictures of text into text that a program can search, edit and read aloud. A scanner or a camera captures the page, the engine finds the lines and the words on it, and then it recognises every character with a model trained on many fonts. Clean pages at three hundred dots per inch read almost without errors, while blurred photographs, unusual fonts and skewed pages need more care before they are recognised." >para.txt
    # 480 pt wide at 300 dpi: a 2 000-pixel page width, six lines.
    pango-view -q --font "$FONT" --dpi 300 --margin 30 --width 480 --wrap word -o para.png para.txt
fi
[[ -s tts.txt ]] || printf '%s\n' "$TTS_TEXT" >tts.txt
[[ -s translate.txt ]] || printf '%s\n' "$MT_TEXT" >translate.txt
[[ -s speech.wav ]] || flite -voice slt -t "$STT_TEXT" -o speech.wav
if [[ ! -s face.jpg ]]; then
    "$PY" - "$ROOT/tests/Gureum.AI.Tests/Faces/data/astronaut.jpg" face.jpg <<'EOF'
import shutil, sys
import cv2
src, dst = sys.argv[1], sys.argv[2]
image = cv2.imread(src)
if image.shape[:2] == (512, 512):
    shutil.copyfile(src, dst)   # already 512 x 512: the very bytes, no re-encoding
else:
    cv2.imwrite(dst, cv2.resize(image, (512, 512), interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 90])
EOF
fi

# HTTP bodies (jq does the JSON escaping).
jq -cn --rawfile t tts.txt '{text: ($t | rtrimstr("\n")), voice: "en-us"}' >tts.json
jq -cn --rawfile t translate.txt '{texts: [($t | rtrimstr("\n"))], source: "eng", target: "spa"}' >translate.json

# Bad inputs for the soak: each must be refused with a 4xx, never a 5xx.
[[ -s bad-notimage.bin ]] || printf 'This is plain text, not an image at all.\n%.0s' {1..20} >bad-notimage.bin
if [[ ! -s bad-bomb.png || ! -s bad-lying.wav ]]; then
    "$PY" - <<'EOF'
import struct, zlib
# A PNG bomb header: a valid signature and IHDR claiming 60 000 x 60 000 RGBA pixels (14.4 GB decoded),
# then a small IDAT; the server must refuse it from the header (413) before decoding a pixel.
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 6, 0, 0, 0)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100000)) + chunk(b"IEND", b"")
open("bad-bomb.png", "wb").write(png)
# A WAV whose data chunk claims 100 MB while 3 200 bytes follow: the reader must say so (400), not read past the end.
pcm = b"\0\1" * 1600
fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
wav = b"RIFF" + struct.pack("<I", 36 + 100_000_000) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt \
    + b"data" + struct.pack("<I", 100_000_000) + pcm
open("bad-lying.wav", "wb").write(wav)
EOF
fi
