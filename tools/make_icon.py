#!/usr/bin/python3
"""Writes icon.png, the pack's 64x64 icon for StackStorm Exchange and the
st2 web UI: three server bars of growing height on a rounded blue square,
with an up arrow. Standard library only (zlib, struct), so the icon is
reproducible anywhere: python3 tools/make_icon.py [PATH]."""
import os
import struct
import sys
import zlib

SIZE = 64
BG = (32, 96, 168, 255)
BAR = (236, 242, 250, 255)
ARROW = (255, 196, 61, 255)
CLEAR = (0, 0, 0, 0)


def inside_rounded(x, y, r=12):
    cx = min(max(x, r), SIZE - 1 - r)
    cy = min(max(y, r), SIZE - 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(x, y):
    if not inside_rounded(x, y):
        return CLEAR
    # Bars: bottom-aligned at y=52, growing left to right.
    for left, top in ((12, 38), (26, 30), (40, 22)):
        if left <= x < left + 10 and top <= y < 52:
            # a slot line across each bar, like a rack unit
            return BG if (y - top) % 6 == 3 and left + 2 <= x < left + 8 else BAR
    # The arrow: a shaft and a head rising to the upper right.
    if 47 <= x <= 49 and 8 <= y <= 18:
        return ARROW
    if 4 <= y <= 10 and abs(x - 48) <= (y - 4):
        return ARROW
    return BG


def png(width, height, rgba):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"".join(bytes(rgba(x, y)) for x in range(width))
                   for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "icon.png")
    with open(path, "wb") as f:
        f.write(png(SIZE, SIZE, pixel))
