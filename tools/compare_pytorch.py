#!/usr/bin/env python3
"""The same pose networks as dkd's C++ tools, in plain PyTorch (Python), for
tools/compare_pytorch.sh: a SimpleBaseline (ResNet trunk + stride-2 deconvolutions
+ 1x1 heatmap head) built exactly as src/models/backbone.cpp builds it, timed for
inference (batch 1, eval mode, torch.inference_mode) or for training (Adam, MSE on
heatmaps, random in-memory tensors: no data loading at all). Prints one JSON line.

Run with Debian's python3-torch (the same LibTorch 1.13 as the C++ tools):
  /usr/bin/python3 tools/compare_pytorch.py infer --depth 50 --input 256
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - a message instead of a traceback
    sys.exit("compare_pytorch.py: PyTorch is missing; install Debian's python3-torch "
             "(apt-get install python3-torch) and run it with /usr/bin/python3")


def planes(stage, width):
    return max(1, int(round(64 * 2 ** stage * width)))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, p, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, p, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(p)
        self.conv2 = nn.Conv2d(p, p, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(p)
        self.downsample = None
        if stride != 1 or cin != p:
            self.downsample = nn.Sequential(nn.Conv2d(cin, p, 1, stride, bias=False), nn.BatchNorm2d(p))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, p, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, p, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(p)
        self.conv2 = nn.Conv2d(p, p, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(p)
        self.conv3 = nn.Conv2d(p, p * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(p * 4)
        self.downsample = None
        if stride != 1 or cin != p * 4:
            self.downsample = nn.Sequential(nn.Conv2d(cin, p * 4, 1, stride, bias=False), nn.BatchNorm2d(p * 4))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


LAYOUTS = {18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]), 50: (Bottleneck, [3, 4, 6, 3]),
           101: (Bottleneck, [3, 4, 23, 3]), 152: (Bottleneck, [3, 8, 36, 3])}


class PoseNet(nn.Module):
    """SimpleBaseline: ResNet trunk, deconvolution head (ConvTranspose2d + BN + ReLU), 1x1 to J."""

    def __init__(self, depth, width, stages, deconv_layers, deconv_filters, deconv_kernel, joints):
        super().__init__()
        block, blocks = LAYOUTS[depth]
        stem = planes(0, width)
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, c = [], stem
        for s in range(stages):
            p = planes(s, width)
            stage = []
            for i in range(blocks[s]):
                stage.append(block(c, p, (1 if s == 0 else 2) if i == 0 else 1))
                c = p * block.expansion
            layers.append(nn.Sequential(*stage))
        self.layers = nn.Sequential(*layers)
        padding, output_padding = {4: (1, 0), 3: (1, 1), 2: (0, 0)}[deconv_kernel]
        head = []
        for _ in range(deconv_layers):
            head += [nn.ConvTranspose2d(c, deconv_filters, deconv_kernel, 2, padding, output_padding, bias=False),
                     nn.BatchNorm2d(deconv_filters), nn.ReLU(inplace=True)]
            c = deconv_filters
        self.deconv = nn.Sequential(*head)
        self.final = nn.Conv2d(c, joints, 1)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        return self.final(self.deconv(self.layers(x)))


def median_ms(fn, frames, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["infer", "train"])
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--stages", type=int, default=4)
    ap.add_argument("--deconv-layers", type=int, default=3)
    ap.add_argument("--deconv-filters", type=int, default=256)
    ap.add_argument("--deconv-kernel", type=int, default=4)
    ap.add_argument("--joints", type=int, default=13)
    ap.add_argument("--input", type=int, nargs=2, default=[256, 256], metavar=("W", "H"))
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--frames", type=int, default=30, help="timed iterations")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = all cores")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--mkldnn", action="store_true",
                    help="infer: the trunk through torch.utils.mkldnn (weights packed once, activations in "
                         "oneDNN's layout), the deconvolution head on plain tensors: what Python gets by opting in")
    ap.add_argument("--bf16", action="store_true",
                    help="infer: the trunk in bfloat16 (module.to(torch.bfloat16)); the deconvolution head stays "
                         "float, because PyTorch 1.13's bfloat16 conv_transpose2d fails on CPU. train: the forward "
                         "under torch.autocast('cpu', torch.bfloat16), the loss in float")
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:
        import os
        torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    net = PoseNet(a.depth, a.width, a.stages, a.deconv_layers, a.deconv_filters, a.deconv_kernel, a.joints)
    w, h = a.input
    x = torch.rand(a.batch, 3, h, w)
    result = {"mode": a.mode, "params": sum(p.numel() for p in net.parameters()), "threads": torch.get_num_threads(),
              "torch": torch.__version__, "input": [w, h], "batch": a.batch}
    if a.mode == "infer":
        net.eval()
        forward = net
        if a.mkldnn:
            from torch.utils import mkldnn as mkldnn_utils
            # MkldnnBatchNorm takes oneDNN tensors only, so the dense head stays as it is.
            net.conv1, net.bn1 = mkldnn_utils.to_mkldnn(net.conv1), mkldnn_utils.to_mkldnn(net.bn1)
            net.layers = mkldnn_utils.to_mkldnn(net.layers)

            def forward(inp):
                y = net.layers(net.maxpool(torch.relu(net.bn1(net.conv1(inp.to_mkldnn())))))
                return net.final(net.deconv(y.to_dense()))
        if a.bf16:
            for m in (net.conv1, net.bn1, net.layers):
                m.to(torch.bfloat16)

            def forward(inp):
                y = net.layers(net.maxpool(torch.relu(net.bn1(net.conv1(inp.to(torch.bfloat16))))))
                return net.final(net.deconv(y.float()))
        result["mkldnn"] = a.mkldnn
        result["bf16"] = a.bf16
        with torch.inference_mode():
            result["ms_per_frame"] = median_ms(lambda: forward(x), a.frames, a.warmup)
    else:
        net.train()
        target = torch.rand(a.batch, a.joints, h // 4, w // 4)
        opt = torch.optim.Adam(net.parameters(), lr=a.lr)

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
                y = net(x)
            loss = torch.nn.functional.mse_loss(y.float(), target)
            loss.backward()
            opt.step()

        ms = median_ms(step, a.frames, a.warmup)
        result["ms_per_step"] = ms
        result["frames_per_s"] = a.batch * 1000.0 / ms
        result["bf16"] = a.bf16
    print(json.dumps(result))


if __name__ == "__main__":
    main()
