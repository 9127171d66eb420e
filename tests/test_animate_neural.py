"""The neural animation engine (Thin-Plate Spline Motion Model): the published checkpoint layout, strict
loading of synthetic checkpoints written with the official key names and shapes (the real vox.pth.tar
cannot be fetched here), the forward pass, and pasting the result back into the photo."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bian.animate import neural, tpsmm
from bian.errors import ModelError

# From the authors' vox-256.yaml and module code: 10 TPS × 5 keypoints (fc 100); dense motion hourglass
# input 3·11 + 10·5 + 1 = 84 channels, decoder output 64 + 84 = 148; occlusion heads on 256, 148, 74, 37
# channels; anti-alias kernel for scale ¼: σ = 1.5 → 13 × 13; inpainting 64 → 512 channels.
OFFICIAL = {
    "kp_detector": {"fg_encoder.conv1.weight": (64, 3, 7, 7), "fg_encoder.layer2.0.downsample.0.weight": (128, 64, 1, 1),
                    "fg_encoder.layer4.1.bn2.running_var": (512,), "fg_encoder.fc.weight": (100, 512),
                    "fg_encoder.fc.bias": (100,)},
    "dense_motion_network": {"down.weight": (3, 1, 13, 13),
                             "hourglass.encoder.down_blocks.0.conv.weight": (128, 84, 3, 3),
                             "hourglass.encoder.down_blocks.4.norm.weight": (1024,),
                             "hourglass.decoder.up_blocks.1.conv.weight": (512, 2048, 3, 3),
                             "hourglass.decoder.up_blocks.4.conv.weight": (64, 256, 3, 3),
                             "maps.weight": (11, 148, 7, 7), "up.0.conv.weight": (74, 148, 3, 3),
                             "up.1.norm.bias": (37,), "occlusion.0.weight": (1, 256, 7, 7),
                             "occlusion.1.weight": (1, 148, 7, 7), "occlusion.3.weight": (1, 37, 7, 7)},
    "inpainting_network": {"first.conv.weight": (64, 3, 7, 7), "down_blocks.2.conv.weight": (512, 256, 3, 3),
                           "up_blocks.0.conv.weight": (256, 512, 3, 3), "up_blocks.1.conv.weight": (128, 512, 3, 3),
                           "up_blocks.2.conv.weight": (64, 256, 3, 3), "resblock.0.norm1.weight": (512,),
                           "resblock.5.conv2.weight": (256, 256, 3, 3), "final.weight": (3, 64, 7, 7)},
}
KEY_COUNTS = {"kp_detector": 122, "dense_motion_network": 59, "inpainting_network": 78}


@pytest.fixture(scope="module")
def official() -> tpsmm.TPSMM:
    torch.manual_seed(0)
    return tpsmm.TPSMM().eval()


def test_layout_is_the_published_one(official):
    for module, shapes in OFFICIAL.items():
        state = getattr(official, module).state_dict()
        assert len(state) == KEY_COUNTS[module], module
        for key, shape in shapes.items():
            assert tuple(state[key].shape) == shape, key


def _checkpoint(model: tpsmm.TPSMM) -> dict:
    """An official-style checkpoint: the three networks, the background predictor and training state that
    inference ignores (half precision to keep the file small; loading converts)."""
    half = {name: {k: v.half() if v.is_floating_point() else v for k, v in getattr(model, name).state_dict().items()}
            for name in KEY_COUNTS}
    bg = tpsmm.ResNet18(6, in_channels=6).state_dict()
    half["bg_predictor"] = {"bg_encoder." + k: v.half() if v.is_floating_point() else v for k, v in bg.items()}
    half["epoch"] = 99
    return half


def test_synthetic_checkpoint_loads_strictly(tmp_path, official):
    path = tmp_path / "vox.pth.tar"
    ckpt = _checkpoint(official)
    torch.save(ckpt, path)
    loaded = tpsmm.load_tpsmm(path)
    for name in KEY_COUNTS:
        ours = getattr(loaded, name).state_dict()
        for key, value in ckpt[name].items():
            assert torch.equal(ours[key], value.to(ours[key].dtype)), key
    # checkpoints of another layout are refused with one line
    torch.save({"kp_detector": {}, "epoch": 1}, path)
    with pytest.raises(ModelError, match="not a Thin-Plate Spline Motion Model checkpoint"):
        tpsmm.load_tpsmm(path)
    wrong = dict(ckpt["kp_detector"], **{"fg_encoder.fc.weight": torch.zeros(50, 512)})
    torch.save({"kp_detector": wrong}, path)
    with pytest.raises(ModelError):
        tpsmm.load_tpsmm(path)


def test_tps_is_the_published_spline():
    """Against the published formula written out independently in float64: kernel r² log r² on squared
    distances, affine part [x, y, 1], 0.01 added to the whole system's diagonal."""
    rng = np.random.default_rng(1)
    kp = rng.uniform(-0.8, 0.8, (1, 2, 5, 2))
    target = kp + 0.1 * rng.normal(size=kp.shape)
    query = rng.uniform(-1, 1, (30, 2))
    ours = tpsmm.tps_warp(torch.tensor(kp), torch.tensor(target), torch.tensor(query)).numpy()
    for g in range(2):
        c = kp[0, g]
        d2 = ((c[:, None] - c[None]) ** 2).sum(-1)
        big = np.zeros((8, 8))
        big[:5, :5] = d2 * np.log(d2 + 1e-9)
        big[:5, 5:7], big[:5, 7] = c, 1
        big[5:7, :5], big[7, :5] = c.T, 1
        params = np.linalg.solve(big + 0.01 * np.eye(8), np.vstack([target[0, g], np.zeros((3, 2))]))
        q2 = ((query[:, None] - c[None]) ** 2).sum(-1)
        expected = query @ params[5:7] + params[7] + (q2 * np.log(q2 + 1e-9)) @ params[:5]
        assert np.allclose(ours[0, g], expected, atol=1e-6)


def test_forward_of_the_published_model(official):
    torch.manual_seed(2)
    source = torch.rand(1, 3, 128, 128)
    kp = official.keypoints(source)
    assert kp.shape == (1, 50, 2) and kp.abs().max() <= 1
    out = official.animate(source, kp, kp + 0.02, kp)
    assert out.shape == (1, 3, 128, 128) and 0 <= out.min() and out.max() <= 1


def test_neural_animator_pastes_into_the_crops_only(tmp_path, monkeypatch):
    from skimage.data import astronaut
    import av
    from bian.faces import detect_faces

    monkeypatch.setattr(neural, "SIZE", 128)
    photo = astronaut().astype(np.float32) / 255
    faces = [max(detect_faces(photo, backend="dlib"), key=lambda f: f.size)]
    driving = tmp_path / "drive.mp4"
    with av.open(str(driving), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 256, 256, "yuv420p"
        for k in range(3):
            pic = (np.roll(photo[::2, ::2], 2 * k, axis=1) * 255).astype(np.uint8)
            c.mux(s.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")))
        c.mux(s.encode(None))
    torch.manual_seed(3)
    model = tpsmm.TPSMM(motion_width=8, motion_most=64, paint_width=8, paint_most=64).eval()
    animator = neural.NeuralAnimator(photo, faces, driving, model=model, detector="dlib")
    assert len(animator.times) == 3 and float(animator.rate) == 10
    frame = animator.frame(2)
    x0, y0, side = animator.crops[0]
    inside = np.zeros(photo.shape[:2], bool)
    inside[max(y0, 0):y0 + side, max(x0, 0):x0 + side] = True
    assert np.array_equal(frame[~inside], photo[~inside])
    assert np.abs(frame[inside] - photo[inside]).max() > 0.05
