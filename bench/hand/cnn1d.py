"""specs/cnn1d.net by hand: the same data (MNIST-1D, the paper's 4,000 / 1,000 split), network,
Adam at 0.01 with a cosine schedule over 6,000 steps of batch 100, and the same evaluation
schedule as `netspec train` (the test split after every epoch of 40 steps). What a careful
PyTorch user writes; bench/e2e.py times it against `netspec train specs/cnn1d.net`.

    python bench/hand/cnn1d.py [--eval-every EPOCHS]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
import torch.nn.functional as F
from mnist1d.data import get_dataset_args, make_dataset
from torch import nn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval-every", type=int, default=1, help="epochs between test passes")
    parser.add_argument("--steps", type=int, default=6000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = make_dataset(get_dataset_args())
    x = torch.tensor(np.asarray(data["x"]), dtype=torch.float32).unsqueeze(1)  # (4000, 1, 40)
    y = torch.tensor(np.asarray(data["y"]), dtype=torch.long)
    x_test = torch.tensor(np.asarray(data["x_test"]), dtype=torch.float32).unsqueeze(1)
    y_test = torch.tensor(np.asarray(data["y_test"]), dtype=torch.long)
    model = nn.Sequential(
        nn.Conv1d(1, 64, 5, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 5, 10),
    )  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    batch, per_epoch, step = 100, len(x) // 100, 0
    epoch = 0
    while step < args.steps:
        model.train()
        order = torch.randperm(len(x))
        for j in range(per_epoch):
            if step == args.steps:
                break
            for group in opt.param_groups:
                group["lr"] = 0.01 * 0.5 * (1 + math.cos(math.pi * step / args.steps))
            idx = order[j * batch : (j + 1) * batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        epoch += 1
        if epoch % args.eval_every == 0 or step == args.steps:
            model.eval()
            with torch.no_grad():
                accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
    print(f"test accuracy {accuracy:.4f} after {step} steps")


if __name__ == "__main__":
    main()
