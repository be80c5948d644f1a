"""PyTorch's side of `npm run bench` (bench/pytorch.ts): trains the zoo's models on one thread and reports
samples per second of the process's CPU time (wall-clock samples/s on an idle machine; on a shared one it
does not count the time other processes hold the core). Reads one JSON request per line on stdin, writes one JSON line per request on stdout.

Request: {"model": {"kind": "mlp", "hidden": [64, 32]} | {"kind": "logistic"} |
          {"kind": "cnn", "filters": [8, 16], "dense": 32}, "shape": [9] or [h, w, c], "n": 4096,
          "batch": 32, "seconds": 0.4}
Reply:   {"samplesPerSecond": ..., "torch": "1.13.0"}
"""
import json
import sys
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(1)


def build(model, shape):
    kind = model["kind"]
    layers = []
    if kind == "cnn":
        h, w, c = shape
        for f in model["filters"]:
            layers += [torch.nn.Conv2d(c, f, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            c, h, w = f, h // 2, w // 2
        layers += [torch.nn.Flatten(), torch.nn.Linear(h * w * c, model["dense"]), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(model["dense"], 1))
    else:
        inputs = shape[0]
        for units in model.get("hidden", []):
            layers += [torch.nn.Linear(inputs, units), torch.nn.ReLU()]
            inputs = units
        layers.append(torch.nn.Linear(inputs, 1))
    return torch.nn.Sequential(*layers)


def rate(req):
    shape, n, batch = req["shape"], req["n"], req["batch"]
    net = build(req["model"], shape)
    gen = torch.Generator().manual_seed(1)
    if len(shape) == 3:
        x = torch.randn(n, shape[2], shape[0], shape[1], generator=gen)
    else:
        x = torch.randn(n, shape[0], generator=gen)
    y = (torch.rand(n, 1, generator=gen) < 0.5).float()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def epoch():
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()

    epoch()
    epochs = 0
    t0 = time.process_time()
    while True:
        epoch()
        epochs += 1
        elapsed = time.process_time() - t0
        if elapsed >= req["seconds"]:
            return epochs * n / elapsed


for line in sys.stdin:
    if line.strip():
        print(json.dumps({"samplesPerSecond": rate(json.loads(line)), "torch": torch.__version__}), flush=True)
