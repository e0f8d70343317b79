"""Use netspec inside a PyTorch training loop of your own. netspec checks the spec and lowers it
to an `nn.Module`. The data, the loss, the optimizer and the loop are plain PyTorch.

    python examples/embed_in_torch_loop.py              # 300 steps on the 8x8 digits
    python examples/embed_in_torch_loop.py --steps 20

The spec has no `loss` and no `train` section, because this loop does the training. It prints
the loss on the whole data set as it goes down, then the accuracy.
"""

from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

import netspec

SPEC = """\
network classifier {
    input pixels: [64]
    h = pixels -> dense(64, act=relu)
    logits = h -> dense(10)
}
"""


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 handwritten 8x8 digits: pixels scaled to [0, 1], (N, 64), and
    their labels, (N,)."""
    data = load_digits()
    return torch.tensor(data.data / 16.0, dtype=torch.float32), torch.tensor(data.target)


def whole_data_loss(module: torch.nn.Module, pixels: torch.Tensor, labels: torch.Tensor) -> float:
    """The cross-entropy on every sample: it goes down smoothly, unlike a minibatch's."""
    with torch.no_grad():
        return float(F.cross_entropy(module(pixels=pixels), labels))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    steps = parser.parse_args(argv).steps
    torch.manual_seed(0)
    torch.set_num_threads(1)  # a model this small runs fastest on one thread

    module = netspec.lower(netspec.compile(SPEC)).model  # forward(pixels) -> logits, (N, 10)
    pixels, labels = digits()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    report_every = max(steps // 10, 1)
    print(f"step {0:4d}  loss {whole_data_loss(module, pixels, labels):.4f}")
    for step in range(1, steps + 1):
        batch = torch.randint(0, len(labels), (32,))
        loss = F.cross_entropy(module(pixels=pixels[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % report_every == 0 or step == steps:
            print(f"step {step:4d}  loss {whole_data_loss(module, pixels, labels):.4f}")

    with torch.no_grad():
        accuracy = (module(pixels=pixels).argmax(dim=1) == labels).float().mean()
    print(f"accuracy on the training data: {accuracy.item():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
