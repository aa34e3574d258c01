"""Matplotlib figures into frames, frames into a GIF (Pillow): no external program."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]  # one per digit


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def frame(fig) -> Image.Image:
    """The figure as an RGB image; the figure is closed."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=64)
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def write_gif(frames: list[Image.Image], path: Path, ms_per_frame: int = 400) -> Path:
    """One GIF frame per image, looping; written to a temporary file and renamed."""
    if not frames:
        raise ValueError(f"{path}: no frames to write")
    tmp = path.with_suffix(".gif.tmp")
    frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=ms_per_frame, loop=0)
    tmp.replace(path)
    return path
