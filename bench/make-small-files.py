#!/usr/bin/env python3
"""Writes a tree of many small files: make-small-files.py DIR FILES [FOLDERS] [MAX_BYTES]

FILES files of 0..MAX_BYTES (default 4096) random bytes each, spread evenly over FOLDERS
(default FILES/100, at least 1) folders DIR/d00000/.. The sizes and contents come from a fixed
seed, so two runs make the same tree. Used by bench/small-files.sh and
tests/control/quiesce_measure.sh."""
import os
import random
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, files = sys.argv[1], int(sys.argv[2])
    folders = int(sys.argv[3]) if len(sys.argv) > 3 else max(1, files // 100)
    max_bytes = int(sys.argv[4]) if len(sys.argv) > 4 else 4096
    rng = random.Random(13)
    per = (files + folders - 1) // folders
    n = 0
    for d in range(folders):
        path = os.path.join(root, f"d{d:05d}")
        os.makedirs(path, exist_ok=True)
        for i in range(per):
            if n == files:
                break
            size = rng.randint(0, max_bytes)
            # Random bytes per file: deduplication must not make this easy.
            data = rng.randbytes(size) if size else b""
            with open(os.path.join(path, f"f{i:05d}.bin"), "wb") as f:
                f.write(data)
            n += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
