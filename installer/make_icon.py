"""Draw the ConsentDesk icon with Pillow: PNG (Linux), ICO (Windows) and ICNS (macOS).

The icon is generated rather than committed as binaries so that it stays reviewable and the
repository stays small: a teal rounded square, a white head-and-shoulders outline inside a
viewfinder, and a green tick badge (consent given). Drawn at 1024 px and scaled down, which
antialiases the edges.

    python installer/make_icon.py [OUTDIR]      # default: build/icon
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 1024
TEAL = (20, 98, 110, 255)
WHITE = (255, 255, 255, 255)
GREEN = (46, 160, 67, 255)


def draw(size: int = SIZE) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 1024.0

    def pt(x: float, y: float) -> tuple[int, int]:
        return (round(x * s), round(y * s))

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (*pt(x0, y0), *pt(x1, y1))

    d.rounded_rectangle(box(48, 48, 976, 976), radius=round(200 * s), fill=TEAL)
    # Viewfinder corners: a camera frame around the face.
    w = round(34 * s)
    for x0, y0, dx, dy in ((190, 190, 1, 1), (834, 190, -1, 1), (190, 834, 1, -1)):
        d.line(
            [pt(x0, y0 + dy * 130), pt(x0, y0), pt(x0 + dx * 130, y0)],
            fill=WHITE,
            width=w,
            joint="curve",
        )
    # Head and shoulders.
    d.ellipse(box(392, 250, 632, 490), outline=WHITE, width=w)
    d.chord(box(292, 540, 732, 980), start=180, end=360, outline=WHITE, width=w)
    # Consent badge: a green disc with a white tick (it takes the fourth corner's place).
    d.ellipse(box(620, 620, 910, 910), fill=GREEN, outline=WHITE, width=round(20 * s))
    d.line(
        [pt(690, 770), pt(748, 828), pt(845, 705)], fill=WHITE, width=round(40 * s), joint="curve"
    )
    return img


def write_icons(outdir: Path) -> dict[str, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    big = draw()
    paths = {
        "png": outdir / "consentdesk.png",
        "ico": outdir / "consentdesk.ico",
        "icns": outdir / "consentdesk.icns",
    }
    big.resize((256, 256), Image.Resampling.LANCZOS).save(paths["png"], optimize=True)
    big.save(
        paths["ico"],
        sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)],
    )
    big.save(paths["icns"])
    return paths


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    outdir = Path(argv[0]) if argv else root / "build" / "icon"
    for kind, path in write_icons(outdir).items():
        print(f"icon {kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
