"""Side-by-side crops of the same region of several versions of a set of images (TF-GAN's
compression README: original | no adversarial loss | adversarial loss), for docs/.

    python docs/scripts/side_by_side_crops.py --out docs/compression/crops.png --crop 96 --scale 2 \
        --names baboon.jpg,fruits.jpg ORIGINAL_DIR DECODED_DIR_1 DECODED_DIR_2

Each row is one name; each column one folder (a decoded image is found by its stem, with any of
.png/.jpg). The crop is centred in each image unless --at gives "x,y" per name. Needs Pillow.
"""
import argparse
from pathlib import Path

from PIL import Image


def find(folder: Path, name: str) -> Path:
    stem = Path(name).stem
    for candidate in [folder / name, *(folder / f"{stem}{ext}" for ext in (".png", ".jpg", ".jpeg"))]:
        if candidate.is_file():
            return candidate
    raise SystemExit(f"{folder}: no image named {stem}.*")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="one column per folder, left to right")
    parser.add_argument("--names", required=True, help="comma-separated file names, one row each")
    parser.add_argument("--crop", type=int, default=96, help="side of the square crop in pixels")
    parser.add_argument("--at", help="semicolon-separated x,y top-left corners, one per name")
    parser.add_argument("--scale", type=int, default=2, help="nearest-neighbour enlargement")
    parser.add_argument("--gap", type=int, default=4, help="white pixels between tiles")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    names = args.names.split(",")
    corners = [tuple(int(v) for v in c.split(",")) for c in args.at.split(";")] if args.at else [None] * len(names)
    if len(corners) != len(names):
        raise SystemExit("--at needs one x,y per name")
    tile = args.crop * args.scale
    cols, rows = len(args.folders), len(names)
    sheet = Image.new("RGB", (cols * tile + (cols - 1) * args.gap, rows * tile + (rows - 1) * args.gap), "white")
    for r, (name, corner) in enumerate(zip(names, corners)):
        for c, folder in enumerate(args.folders):
            image = Image.open(find(folder, name)).convert("RGB")
            w, h = image.size
            x, y = corner if corner else ((w - args.crop) // 2, (h - args.crop) // 2)
            if x < 0 or y < 0 or x + args.crop > w or y + args.crop > h:
                raise SystemExit(f"{name}: a {args.crop}-pixel crop at {x},{y} leaves the {w}x{h} image")
            crop = image.crop((x, y, x + args.crop, y + args.crop)).resize((tile, tile), Image.NEAREST)
            sheet.paste(crop, (c * (tile + args.gap), r * (tile + args.gap)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)


if __name__ == "__main__":
    main()
