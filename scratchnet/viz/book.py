"""The book's own pictures: chapter 5's speed of learning per hidden layer."""

from __future__ import annotations

from pathlib import Path

from .frames import COLOURS, pyplot


def speeds(result: dict, path: Path) -> Path:
    """``path`` (PNG): for each network of chapter 5 (2, 3, 4 hidden layers), the speed of learning
    ``||dC/db^l||`` of every hidden layer against the epoch, on a log scale, as the book's
    ``training_speed_N_layers.png`` figures draw it. ``result[hidden]`` is the list, per epoch from
    0, of the speeds first layer to last (``book.speed.training_speeds``)."""
    nets = sorted(k for k in result if isinstance(k, int))
    if not nets:
        raise ValueError("speeds: no chapter 5 speeds in the result")
    plt = pyplot()
    fig, axes = plt.subplots(1, len(nets), figsize=(4.2 * len(nets), 3.4), squeeze=False)
    for ax, hidden in zip(axes[0], nets, strict=True):
        history = result[hidden]
        for layer in range(len(history[0])):
            ax.semilogy(range(len(history)), [h[layer] for h in history], color=COLOURS[layer],
                        label=f"hidden layer {layer + 1}")
        ax.set(xlabel="epoch", ylabel="speed of learning", title=f"[784, {'30, ' * hidden}10]")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
