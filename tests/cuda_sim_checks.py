"""The CUDA kernels against the CPU path, on tiny shapes, for the CUDA simulator (or a real GPU).

    NUMBA_ENABLE_CUDASIM=1 python tests/cuda_sim_checks.py

Run by tests/test_cuda.py in a subprocess (the simulator must be chosen before Numba's CUDA support loads).
Prints one line per check and "all N checks passed"; exits non-zero at the first mismatch.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import minicnn.functional as F  # noqa: E402
from minicnn import cuda, nn, specs  # noqa: E402
from minicnn.cuda import conv_blocked, ops  # noqa: E402
from minicnn.models.efficientnet import MBConvBlock  # noqa: E402
from minicnn.models.resnet import Bottleneck, conv1x1  # noqa: E402
from minicnn.testing import assert_close  # noqa: E402

rng = np.random.default_rng(0)
checks = 0


def check(name, on_gpu, on_cpu, kind="direct"):
    global checks
    got = on_gpu()
    assert type(got).__name__ in ("DeviceArray", "tuple"), f"{name}: the result left the GPU ({type(got).__name__})"
    want = on_cpu()
    pairs = zip(got, want) if isinstance(got, tuple) else [(got, want)]
    for g, w in pairs:
        g = np.asarray(g)
        tol_kind = "exact" if g.dtype.kind == "i" else kind
        assert_close(g, w.astype(np.float64) if w.dtype.kind == "f" else w, kind=tol_kind, dtype=w.dtype,
                     scale=None if w.dtype.kind == "i" else max(np.abs(w).max(), 1.0) * 4, name=name)  # fmt: skip
    checks += 1
    print(f"ok {name}", flush=True)


def arr(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


d = cuda.to_device
for dtype in (np.float32, np.float64):
    x, w, b = arr(2, 4, 6, 7, dtype=dtype), arr(6, 2, 3, 2, dtype=dtype), arr(6, dtype=dtype)
    for algorithm in ("naive", "im2col"):  # the direct kernel and the tiled implicit GEMM
        configs = (dict(padding=1), dict(stride=(1, 2), padding=(1, 0, 2, 1), groups=2),
                   dict(dilation=2, padding="same"), dict(stride=2), dict(padding=(0, 1), groups=2))  # fmt: skip
        for kw in configs:
            weight = w if kw.get("groups") == 2 else arr(6, 4, 3, 2, dtype=dtype)
            check(f"conv2d {algorithm} {dtype.__name__} {kw}",
                  lambda kw=kw, weight=weight, a=algorithm: F.conv2d(d(x), d(weight), d(b), algorithm=a, **kw),
                  lambda kw=kw, weight=weight: F.conv2d(x, weight, b, **kw))  # fmt: skip
    blocked = ops._blocked_config
    for config in conv_blocked.CONFIGS:  # the register-blocked kernel ("auto") in each of its block shapes
        ops._blocked_config = lambda *shape, config=config: config
        w10 = arr(10, 2, 3, 3, dtype=dtype)
        kw = dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2)
        check(f"conv2d auto ({config} blocks) {dtype.__name__} {kw}",
              lambda kw=kw: F.conv2d(d(x), d(w10), d(arr(10, dtype=dtype) * 0 + 1), algorithm="auto", **kw),
              lambda kw=kw: F.conv2d(x, w10, np.ones(10, dtype), **kw))  # fmt: skip
    ops._blocked_config = blocked
    depthwise = arr(8, 1, 3, 3, dtype=dtype)
    check(f"conv2d depthwise {dtype.__name__}", lambda: F.conv2d(d(x), d(depthwise), groups=4, padding=1),
          lambda: F.conv2d(x, depthwise, groups=4, padding=1))  # fmt: skip
    spec = specs.conv2d(x, np.ones((3, 4, 3, 3), dtype), None, 1, 0, 1, 1)
    check(f"conv2d with ReLU fused {dtype.__name__}",
          lambda: ops.conv2d(d(x), d(np.ones((3, 4, 3, 3), dtype)), None, spec, "default", relu=True),
          lambda: F.relu(F.conv2d(x, np.ones((3, 4, 3, 3), dtype))))  # fmt: skip
    check(f"max_pool2d {dtype.__name__}", lambda: F.max_pool2d(d(x), 3, 2, 1, return_indices=True),
          lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True), "exact")  # fmt: skip
    check(f"max_pool2d ceil, dilation {dtype.__name__}", lambda: F.max_pool2d(d(x), 2, 2, dilation=2, ceil_mode=True),
          lambda: F.max_pool2d(x, 2, 2, dilation=2, ceil_mode=True), "exact")  # fmt: skip
    for kw in (dict(count_include_pad=True), dict(count_include_pad=False, ceil_mode=True), dict(divisor_override=3),
               dict(divisor_override=-2)):  # fmt: skip
        check(f"avg_pool2d {kw} {dtype.__name__}", lambda kw=kw: F.avg_pool2d(d(x), 3, 2, 1, **kw),
              lambda kw=kw: F.avg_pool2d(x, 3, 2, 1, **kw), "reduction")  # fmt: skip
    check(f"adaptive_avg_pool2d {dtype.__name__}", lambda: F.adaptive_avg_pool2d(d(x), (4, None)),
          lambda: F.adaptive_avg_pool2d(x, (4, None)), "reduction")  # fmt: skip
    check(f"adaptive_max_pool2d {dtype.__name__}", lambda: F.adaptive_max_pool2d(d(x), (4, 3), return_indices=True),
          lambda: F.adaptive_max_pool2d(x, (4, 3), return_indices=True), "exact")  # fmt: skip
    check(f"relu {dtype.__name__}", lambda: F.relu(d(x)), lambda: F.relu(x), "exact")
    check(f"relu6 {dtype.__name__}", lambda: F.relu6(d(x * 5)), lambda: F.relu6(x * 5), "exact")
    a, lw, lb = arr(3, 20, dtype=dtype), arr(5, 20, dtype=dtype), arr(5, dtype=dtype)
    check(f"linear {dtype.__name__}", lambda: F.linear(d(a), d(lw), d(lb)), lambda: F.linear(a, lw, lb), "linear")
    for dim in (1, -1):
        for op in ("softmax", "log_softmax"):
            check(f"{op} dim={dim} {dtype.__name__}", lambda dim=dim, op=op: getattr(F, op)(d(x), dim=dim),
                  lambda dim=dim, op=op: getattr(F, op)(x, dim=dim), "reduction")  # fmt: skip
    for mode in ("constant", "reflect", "replicate", "circular"):
        check(f"pad {mode} {dtype.__name__}", lambda m=mode: F.pad(d(x), (1, 2, 2, 1), mode=m),
              lambda m=mode: F.pad(x, (1, 2, 2, 1), mode=m), "exact")  # fmt: skip
    mean, var, bw, bb = arr(4, dtype=dtype), np.abs(arr(4, dtype=dtype)) + 0.5, arr(4, dtype=dtype), arr(4, dtype=dtype)
    check(f"batch_norm eval {dtype.__name__}", lambda: F.batch_norm(d(x), d(mean), d(var), d(bw), d(bb)),
          lambda: F.batch_norm(x, mean, var, bw, bb), "reduction")  # fmt: skip
    rm_d, rv_d, rm, rv = d(mean.copy()), d(var.copy()), mean.copy(), var.copy()
    check(f"batch_norm training {dtype.__name__}", lambda: F.batch_norm(d(x), rm_d, rv_d, training=True),
          lambda: F.batch_norm(x, rm, rv, training=True), "reduction")  # fmt: skip
    assert_close(np.asarray(rv_d), rv.astype(np.float64), kind="reduction", name="running_var after training")

# A small network with every kind of block of the three models, moved with model.to("cuda").
down = nn.Sequential(conv1x1(3, 8, 2), nn.BatchNorm2d(8))
net = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.ReLU(inplace=True), Bottleneck(3, 2, 2, down),
                    MBConvBlock(8, 8, 3, 1, 2), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(),
                    nn.Linear(8, 5)).eval()  # fmt: skip
for m in net.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean[:] = rng.standard_normal(m.num_features)
        m.running_var[:] = rng.random(m.num_features) + 0.5
x = arr(1, 3, 6, 6)
cpu = net(x)
net.to("cuda")
assert type(net[0].weight).__name__ == "DeviceArray" and type(net[2].bn1.num_batches_tracked).__name__ == "ndarray"
check("a small network (VGG, ResNet and EfficientNet blocks) after model.to('cuda')", lambda: net(d(x)), lambda: cpu,
      "model")  # fmt: skip
net.to("cpu")
assert isinstance(net[0].weight, np.ndarray)  # back on the host (a Parameter, a NumPy array)
print(f"all {checks} checks passed")
