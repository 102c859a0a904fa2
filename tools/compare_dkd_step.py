#!/usr/bin/env python3
"""The DKD tracker's streaming step in PyTorch eager (Python), the peer of dkd's C++
PoseTracker::track for tools/compare_pytorch.sh: the same model (the state_dict that
`dkd_infer --bench --export-step DIR` writes), the same frame and crops, crop and
decode included, written the way a PyTorch user writes it (nn.Modules, cv2.warpAffine,
F.affine_grid + F.grid_sample for the location prior, DARK decoding with tensor
operators). It first replays the exported start() and track() frames and checks that
its keypoints are the C++ tracker's, then times one later frame at batch 1 and with
STREAMS people stepped together (the same crop repeated). Prints one JSON line.

  /usr/bin/python3 tools/compare_dkd_step.py DIR [--streams 8] [--frames 200]
"""
import argparse
import json
import math
import os
import sys

try:
    import cv2
    import numpy as np
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - a message instead of a traceback
    sys.exit("compare_dkd_step.py: %s; install Debian's python3-torch and python3-opencv "
             "(apt-get install python3-torch python3-opencv) and run it with /usr/bin/python3" % e)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_pytorch import LAYOUTS, median_ms, planes, subpixel_deconv  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
STRIDE = 4


class Backbone(nn.Module):
    """ResNet trunk + stride-2 deconvolutions, with src/models/backbone.cpp's module names."""

    def __init__(self, c):
        super().__init__()
        block, blocks = LAYOUTS[c["depth"]]
        stem = planes(0, c["width"])
        self.subpixel = c["subpixel"]
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        ch = stem
        self.layers = []
        for s in range(c["stages"]):
            p = planes(s, c["width"])
            stage = []
            for i in range(blocks[s]):
                stage.append(block(ch, p, (1 if s == 0 else 2) if i == 0 else 1))
                ch = p * block.expansion
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*stage))
            self.layers.append(getattr(self, "layer%d" % (s + 1)))
        padding, output_padding = {4: (1, 0), 3: (1, 1), 2: (0, 0)}[c["deconv_kernel"]]
        head = []
        for _ in range(c["deconv_layers"]):
            head += [nn.ConvTranspose2d(ch, c["deconv_filters"], c["deconv_kernel"], 2, padding, output_padding,
                                        bias=False), nn.BatchNorm2d(c["deconv_filters"]), nn.ReLU(inplace=True)]
            ch = c["deconv_filters"]
        self.deconv_layers = nn.Sequential(*head)
        self.channels = ch

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for layer in self.layers:
            x = layer(x)
        for m in self.deconv_layers:
            x = subpixel_deconv(x, m) if self.subpixel and isinstance(m, nn.ConvTranspose2d) else m(x)
        return x


class Initializer(nn.Module):
    def __init__(self, c, joints):
        super().__init__()
        self.backbone = Backbone(c)
        self.final_layer = nn.Conv2d(self.backbone.channels, joints, 1)

    def forward(self, x):
        return self.final_layer(self.backbone(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.backbone = Backbone(c)

    def forward(self, x):
        return self.backbone(x)


def distillator_stages(side, k):
    n = 0
    while side // 2 >= k:
        side //= 2
        n += 1
    return n


class Distillator(nn.Module):
    """The paper's pooled kernels: 1x1 reduce, pooled 3x3 stages, adaptive pool to k x k, 1x1 head."""

    def __init__(self, d, channels, joints, heatmap_side):
        super().__init__()
        hidden, self.k, self.c, self.j = d["channels"], d["kernel_size"], channels, joints
        bias = d["norm"] == "none"

        def norm():
            return nn.BatchNorm2d(hidden) if d["norm"] == "batch" else nn.Identity()
        self.reduce = nn.Sequential(nn.Conv2d(channels + joints, hidden, 1, bias=bias), norm(), nn.ReLU(inplace=True))
        stages = []
        for _ in range(distillator_stages(heatmap_side, self.k)):
            if d["pool_first"]:
                stages.append(nn.MaxPool2d(2, 2))
            stages += [nn.Conv2d(hidden, hidden, 3, 1, 1, bias=bias), norm(), nn.ReLU(inplace=True)]
            if not d["pool_first"]:
                stages.append(nn.MaxPool2d(2, 2))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Conv2d(hidden, joints * channels, 1)

    def forward(self, features, heatmaps):
        x = self.stages(self.reduce(torch.cat([features, heatmaps], 1)))
        x = F.adaptive_avg_pool2d(x, self.k)
        return self.head(x).view(features.shape[0], self.j, self.c, self.k, self.k)


class Matching(nn.Module):
    def __init__(self, d, channels, joints):
        super().__init__()
        self.k = d["kernel_size"]
        self.scale = nn.Parameter(torch.ones(joints))
        self.bias = nn.Parameter(torch.zeros(joints))
        self.static_head = nn.Conv2d(channels, joints, 1) if d["static_head"] else None

    def forward(self, kernels, features):
        b, c, h, w = features.shape
        j = kernels.shape[1]
        out = F.conv2d(features.reshape(1, b * c, h, w), kernels.reshape(b * j, c, self.k, self.k),
                       padding=self.k // 2, groups=b).view(b, j, h, w)
        out = out * self.scale.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return out + self.static_head(features) if self.static_head is not None else out


class Prior(nn.Module):
    def __init__(self, d, joints):
        super().__init__()
        k = 1 if d["prior_fusion"] == "pointwise" else 3
        self.fuse1 = nn.Conv2d(2 * joints, d["prior_channels"], k, padding=k // 2)
        self.fuse2 = nn.Conv2d(d["prior_channels"], joints, k, padding=k // 2)

    def forward(self, response, prior):
        return response + self.fuse2(torch.relu(self.fuse1(torch.cat([response, prior], 1))))


class Dkd(nn.Module):
    def __init__(self, s):
        super().__init__()
        d, j = s["distillator"], s["num_joints"]
        if d["kernels"] != "pooled" or d["matching"] != "per_joint" or d["normalize"] or d["prior_gate"] \
                or d["prior_features"] or d["prior_fusion"] == "grouped" or d["prior"] not in ("none", "warped"):
            sys.exit("compare_dkd_step.py: only the pooled, per-joint, unnormalised design with an ungated "
                     "conv3x3/pointwise warped prior (or none) is written here; got %s" % json.dumps(d))
        self.initializer = Initializer(s["initializer"], j)
        self.encoder = Encoder(s["encoder"])
        c = self.encoder.backbone.channels
        self.distillator = Distillator(d, c, j, s["input_size"][0] // STRIDE)
        self.matching = Matching(d, c, j)
        self.prior = Prior(d, j) if d["prior"] == "warped" else None


def heatmap_crop(m):
    """Image -> input pixels (2x3) -> image -> heatmap pixels (pixel-centre convention)."""
    s = 1.0 / STRIDE
    return np.array([[m[0, 0] * s, m[0, 1] * s, (m[0, 2] + 0.5) * s - 0.5],
                     [m[1, 0] * s, m[1, 1] * s, (m[1, 2] + 0.5) * s - 0.5]])


def affine3(m):
    return np.vstack([m, [0.0, 0.0, 1.0]])


def warp_prior(heatmaps, crop_from, crop_to):
    """H(t-1) resampled into frame t's crop: theta for affine_grid (align_corners=False)."""
    n, j, h, w = heatmaps.shape
    norm = np.array([[2.0 / w, 0, 1.0 / w - 1], [0, 2.0 / h, 1.0 / h - 1], [0, 0, 1]])
    theta = norm @ affine3(crop_from) @ np.linalg.inv(affine3(crop_to)) @ np.linalg.inv(norm)
    theta = torch.from_numpy(np.repeat(theta[None, :2], n, 0)).float()
    grid = F.affine_grid(theta, [n, j, h, w], align_corners=False)
    return F.grid_sample(heatmaps, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def crop_input(frame, m, size):
    patch = cv2.warpAffine(frame, m, tuple(size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
    rgb = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(((rgb - MEAN) / STD).transpose(2, 0, 1).copy())


def decode_dark(heatmaps, sigma):
    """Argmax with the quarter-pixel shift, refined by DARK (as src/data/heatmap.cpp)."""
    n, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(n * j, h * w)
    maxvals, idx = flat.max(-1)
    x, y = idx % w, torch.div(idx, w, rounding_mode="floor")

    def get(f, xx, yy):
        return f.gather(-1, (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).unsqueeze(-1)).squeeze(-1)
    fx = x.float() + torch.where((x > 0) & (x < w - 1), torch.sign(get(flat, x + 1, y) - get(flat, x - 1, y)) * 0.25,
                                 torch.zeros(()))
    fy = y.float() + torch.where((y > 0) & (y < h - 1), torch.sign(get(flat, x, y + 1) - get(flat, x, y - 1)) * 0.25,
                                 torch.zeros(()))
    r = max(1, int(math.ceil(3.0 * sigma)))
    g = torch.exp(torch.arange(-r, r + 1, dtype=torch.float32) ** 2 * (-1.0 / (2 * sigma * sigma)))
    g = g / g.sum()
    maps = flat.view(n * j, 1, h, w)
    blurred = F.conv2d(F.pad(maps, (r, r, r, r), mode="replicate"), (g.view(-1, 1) * g.view(1, -1))[None, None])
    old_max, new_max = maps.amax((2, 3), keepdim=True), blurred.amax((2, 3), keepdim=True)
    blurred = blurred * torch.where(new_max > 0, old_max / new_max.clamp_min(1e-12), torch.ones_like(new_max))
    logmap = blurred.clamp_min(1e-10).log().view(n * j, h * w)

    def at(dx, dy):
        return get(logmap, x + dx, y + dy)
    c = at(0, 0)
    gx, gy = 0.5 * (at(1, 0) - at(-1, 0)), 0.5 * (at(0, 1) - at(0, -1))
    hxx, hyy = 0.25 * (at(2, 0) - 2 * c + at(-2, 0)), 0.25 * (at(0, 2) - 2 * c + at(0, -2))
    hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    det = hxx * hyy - hxy * hxy
    safe = torch.where(det.abs() > 1e-12, det, torch.ones_like(det))
    ox, oy = -(hyy * gx - hxy * gy) / safe, -(hxx * gy - hxy * gx) / safe
    ok = (x > 1) & (x < w - 2) & (y > 1) & (y < h - 2) & (det > 1e-12) & (hxx < 0) & (ox.abs() <= 1) & \
        (oy.abs() <= 1)
    fx = torch.where(ok, x.float() + ox, fx)
    fy = torch.where(ok, y.float() + oy, fy)
    return torch.stack([fx, fy], -1).view(n, j, 2), maxvals.view(n, j)


def to_image(coords, m_heatmap):
    """Heatmap pixels -> image pixels through the inverse of the heatmap crop."""
    inv = np.linalg.inv(affine3(m_heatmap))[:2]
    c = coords.numpy().astype(np.float64)
    return c @ inv[:, :2].T + inv[:, 2]


class Stream:
    """One or more people tracked together (a batch of crops of the same frame)."""

    def __init__(self, model, s):
        self.model, self.size, self.sigma = model, s["input_size"], s["heatmap_sigma"]
        self.decode = s["decode"]

    def run(self, frame, crops, start):
        x = torch.stack([crop_input(frame, m, self.size) for m in crops])
        hcrops = [heatmap_crop(m) for m in crops]
        mdl = self.model
        features = mdl.encoder(x)
        if start:
            heatmaps = mdl.initializer(x)
        else:
            response = mdl.matching(mdl.distillator(self.features, self.heatmaps), features)
            if mdl.prior is not None:
                prior = torch.cat([warp_prior(self.heatmaps[i:i + 1], self.hcrops[i], hcrops[i])
                                   for i in range(len(crops))])
                heatmaps = mdl.prior(response, prior)
            else:
                heatmaps = response
        self.features, self.heatmaps, self.hcrops = features, heatmaps, hcrops
        coords, maxvals = decode_dark(heatmaps, self.sigma)
        return [to_image(coords[i], hcrops[i]) for i in range(len(crops))], maxvals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="the folder dkd_infer --bench --export-step wrote")
    ap.add_argument("--streams", type=int, default=8, help="people stepped together in the second timing")
    ap.add_argument("--frames", type=int, default=200, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = all cores")
    a = ap.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
    cv2.setNumThreads(1)
    with open(os.path.join(a.dir, "step.json")) as f:
        s = json.load(f)
    if s["decode"] != "dark":
        sys.exit("compare_dkd_step.py: only eval.decode = dark is written here")
    model = Dkd(s)
    state = torch.load(os.path.join(a.dir, "model.pt"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit("compare_dkd_step.py: state_dict does not fit: missing %s, unexpected %s" % (missing, unexpected))
    model.eval()
    frame = cv2.imread(os.path.join(a.dir, "frame.png"), cv2.IMREAD_COLOR)
    crops = [np.array(fr["crop"], np.float64).reshape(2, 3) for fr in s["frames"]]
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "input": s["input_size"]}
    with torch.inference_mode():
        # The exported frames replayed: the same keypoints as the C++ tracker?
        stream = Stream(model, s)
        worst = 0.0
        for i, (fr, m) in enumerate(zip(s["frames"], crops)):
            points, _ = stream.run(frame, [m], start=(i == 0))
            worst = max(worst, float(np.abs(points[0] - np.array(fr["keypoints"])).max()))
        result["max_keypoint_diff_px"] = worst
        # Timing: one later frame (crop, step, decode), the crop of the last exported frame.
        last = crops[-1]
        stream.run(frame, [last], start=True)
        result["ms_per_step_batch1"] = median_ms(lambda: stream.run(frame, [last], start=False), a.frames, a.warmup)
        batch = Stream(model, s)
        batch.run(frame, [last] * a.streams, start=True)
        result["streams"] = a.streams
        result["ms_per_step_streams"] = median_ms(lambda: batch.run(frame, [last] * a.streams, start=False),
                                                  a.frames, a.warmup)
    print(json.dumps(result))
    sys.exit(0 if worst < 0.05 else 1)


if __name__ == "__main__":
    main()
