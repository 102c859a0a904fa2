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


def subpixel_weight(w, padding):
    """[in, out, K, K] ConvTranspose2d weight (stride 2) -> [4 out, in, 2, 2] weight of the
    equivalent 2x2 convolution, channel 4 c + phase: src/models/subpixel_deconv.cpp's form."""
    k_size = w.shape[2]

    def tap(a, u):  # transposed kernel tap of phase a, window tap u; K = a zero tap
        k = a + padding - 2 * (u - 1 + a)
        return k if 0 <= k < k_size else k_size

    padded = nn.functional.pad(w, (0, 1, 0, 1))
    phases = []
    for a in range(2):
        for b in range(2):
            rows = torch.tensor([tap(a, 0), tap(a, 1)])
            cols = torch.tensor([tap(b, 0), tap(b, 1)])
            phases.append(padded.index_select(2, rows).index_select(3, cols))
    return torch.stack(phases).permute(2, 0, 1, 3, 4).reshape(4 * w.shape[1], w.shape[0], 2, 2)


def subpixel_deconv(x, deconv):
    """ConvTranspose2d (stride 2, no bias) as one 2x2 convolution and a phase interleave."""
    n, _, h, w = x.shape
    out = deconv.weight.shape[1]
    y = nn.functional.conv2d(x, subpixel_weight(deconv.weight, deconv.padding[0]), None, 1, 1)
    y = y.view(n, out, 2, 2, h + 1, w + 1)
    rows = [torch.stack([y[:, :, a, b, a:a + h, b:b + w] for b in range(2)], -1) for a in range(2)]
    return torch.stack(rows, 3).reshape(n, out, 2 * h, 2 * w)


LAYOUTS = {18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]), 50: (Bottleneck, [3, 4, 6, 3]),
           101: (Bottleneck, [3, 4, 23, 3]), 152: (Bottleneck, [3, 8, 36, 3])}


class PoseNet(nn.Module):
    """SimpleBaseline: ResNet trunk, deconvolution head (ConvTranspose2d + BN + ReLU), 1x1 to J."""

    def __init__(self, depth, width, stages, deconv_layers, deconv_filters, deconv_kernel, joints, subpixel=False):
        super().__init__()
        self.subpixel = subpixel
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

    def head(self, x):
        if not self.subpixel:
            return self.deconv(x)
        for m in self.deconv:
            x = subpixel_deconv(x, m) if isinstance(m, nn.ConvTranspose2d) else m(x)
        return x

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        return self.final(self.head(self.layers(x)))


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
    ap.add_argument("--freeze", action="store_true",
                    help="infer: PyTorch's best float path for inference: torch.jit.trace, torch.jit.freeze and "
                         "torch.jit.optimize_for_inference (folds batch norms, fuses convolution + ReLU, packs "
                         "weights for oneDNN)")
    ap.add_argument("--subpixel", action="store_true",
                    help="the deconvolutions as 2x2 convolutions with 4x the output channels and a phase "
                         "interleave (the C++ deconv_impl: subpixel; the same function and parameters)")
    ap.add_argument("--check-subpixel", action="store_true",
                    help="only check that --subpixel computes what ConvTranspose2d computes, and exit")
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:
        import os
        torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    net = PoseNet(a.depth, a.width, a.stages, a.deconv_layers, a.deconv_filters, a.deconv_kernel, a.joints,
                  a.subpixel)
    w, h = a.input
    if a.check_subpixel:
        x = torch.rand(2, 3, h, w)
        net.subpixel = False
        reference = net(x)
        net.subpixel = True
        diff = (net(x) - reference).abs().max().item()
        print(json.dumps({"subpixel_max_abs_diff": diff}))
        sys.exit(0 if diff < 1e-4 else 1)
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
        if a.freeze:
            with torch.no_grad():
                frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x)))

            def forward(inp):
                return frozen(inp)
        result["freeze"] = a.freeze
        result["subpixel"] = a.subpixel
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
        result["subpixel"] = a.subpixel
    print(json.dumps(result))


if __name__ == "__main__":
    main()
