#!/usr/bin/python3
"""The faces CLI peer of bench/ai/run.sh: OpenCV ships no face-detection command, so this is the one-shot script a
quick wrapper would spawn per request (Debian's python3-opencv, run by /usr/bin/python3).

    /usr/bin/python3 bench/ai/faces_cli.py IMAGE   ->  [[x, y, w, h], ...] on stdout

The same detection as Gureum's FaceDetector: grayscale decode, histogram equalisation, Debian's
haarcascade_frontalface_alt2, scaleFactor 1.1, minNeighbors 3, smallest face max(24 px, the model's window).
(Gureum also scales images over 1024 px down first; the benchmark's 512 x 512 photo needs no scaling.)
"""
import json
import sys

import cv2

MODEL = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"


def main():
    gray = cv2.imread(sys.argv[1], cv2.IMREAD_GRAYSCALE)
    if gray is None:
        print("not an image", file=sys.stderr)
        return 1
    gray = cv2.equalizeHist(gray)
    cascade = cv2.CascadeClassifier(MODEL)
    if cascade.empty():
        print(f"cannot load {MODEL}", file=sys.stderr)
        return 1
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=3, minSize=(24, 24))
    print(json.dumps([[int(v) for v in f] for f in faces]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
