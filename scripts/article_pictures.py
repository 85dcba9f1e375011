"""Writes the article's six pictures (app.core.pictures) into a folder, each by its own main.py command, and
with --thumbnails also the README's small copies (docs/article/*.png, 300 pixels wide).

    .venv/bin/python scripts/article_pictures.py OUT_FOLDER [--thumbnails docs/article]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.pictures import ARTICLE_PICTURES  # noqa: E402 (after the path that finds it)

THUMBNAIL_WIDTH = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--thumbnails", type=Path, metavar="FOLDER")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for picture in ARTICLE_PICTURES:
        out = args.folder / f"{picture.name}.png"
        command = [sys.executable, str(ROOT / "main.py"), *picture.arguments(str(out))]
        subprocess.run(command, check=True, env=environment)
        print(out)
        if args.thumbnails:
            args.thumbnails.mkdir(parents=True, exist_ok=True)
            with Image.open(out) as image:
                height = round(image.height * THUMBNAIL_WIDTH / image.width)
                small = image.convert("RGB").resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
                small.save(args.thumbnails / out.name, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
