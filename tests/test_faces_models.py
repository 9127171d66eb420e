"""Face networks: MediaPipe Face Mesh on its real weights (from ../shared), GFPGAN v1.4 on a synthetic
checkpoint written with the official key names and shapes (the real file cannot be fetched here)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bian.errors import ModelError
from bian.faces import detect_faces
from bian.faces.detect import add_mesh
from bian.faces.gfpgan import GFPGANv1Clean, load_gfpgan, restore_aligned
from bian.faces.mesh import FaceMeshNet, load_face_mesh


def official_gfpgan_shapes(size: int = 512) -> dict[str, tuple]:
    """Key → shape of GFPGANv1.4.pth's ``params_ema`` (``size`` 512), written out from the published
    architecture (GFPGANv1Clean: channel_multiplier 2, narrow 1, sft_half, different_w, 8-layer MLP).
    Smaller ``size`` gives the same layout with fewer levels, for a fast forward pass."""
    full = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64}
    half = {k: v // 2 for k, v in full.items()}
    levels = [2 ** i for i in range(3, int(math.log2(size)) + 1)]
    s = {}

    def conv(name, cin, cout, k, bias=True):
        s[f"{name}.weight"] = (cout, cin, k, k)
        if bias:
            s[f"{name}.bias"] = (cout,)
    conv("conv_body_first", 3, half[size], 1)
    cin = half[size]
    for i, res in enumerate([r // 2 for r in reversed(levels)]):
        conv(f"conv_body_down.{i}.conv1", cin, cin, 3)
        conv(f"conv_body_down.{i}.conv2", cin, half[res], 3)
        conv(f"conv_body_down.{i}.skip", cin, half[res], 1, bias=False)
        cin = half[res]
    conv("final_conv", half[4], half[4], 3)
    for i, res in enumerate(levels):
        conv(f"conv_body_up.{i}.conv1", cin, cin, 3)
        conv(f"conv_body_up.{i}.conv2", cin, half[res], 3)
        conv(f"conv_body_up.{i}.skip", cin, half[res], 1, bias=False)
        cin = half[res]
        conv(f"toRGB.{i}", half[res], 3, 1)
        for head in ("condition_scale", "condition_shift"):
            conv(f"{head}.{i}.0", half[res], half[res], 3)
            conv(f"{head}.{i}.2", half[res], half[res], 3)
    n_latent = 2 * int(math.log2(size)) - 2
    s["final_linear.weight"] = (n_latent * 512, half[4] * 16)
    s["final_linear.bias"] = (n_latent * 512,)
    d = "stylegan_decoder"
    for i in range(8):
        s[f"{d}.style_mlp.{2 * i + 1}.weight"] = (512, 512)
        s[f"{d}.style_mlp.{2 * i + 1}.bias"] = (512,)
    s[f"{d}.constant_input.weight"] = (1, 512, 4, 4)

    def style_conv(name, cin, cout):
        s[f"{name}.weight"] = (1,)
        s[f"{name}.bias"] = (1, cout, 1, 1)
        s[f"{name}.modulated_conv.weight"] = (1, cout, cin, 3, 3)
        s[f"{name}.modulated_conv.modulation.weight"] = (cin, 512)
        s[f"{name}.modulated_conv.modulation.bias"] = (cin,)

    def to_rgb(name, cin):
        s[f"{name}.bias"] = (1, 3, 1, 1)
        s[f"{name}.modulated_conv.weight"] = (1, 3, cin, 1, 1)
        s[f"{name}.modulated_conv.modulation.weight"] = (cin, 512)
        s[f"{name}.modulated_conv.modulation.bias"] = (cin,)
    style_conv(f"{d}.style_conv1", 512, 512)
    to_rgb(f"{d}.to_rgb1", 512)
    cin = 512
    for i, res in enumerate(levels):
        style_conv(f"{d}.style_convs.{2 * i}", cin, full[res])
        style_conv(f"{d}.style_convs.{2 * i + 1}", full[res], full[res])
        to_rgb(f"{d}.to_rgbs.{i}", full[res])
        cin = full[res]
    for i in range(2 * len(levels) + 1):
        side = 2 ** ((i + 5) // 2)
        s[f"{d}.noises.noise{i}"] = (1, 1, side, side)
    return s


def synthetic_state(size: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in official_gfpgan_shapes(size).items():
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
        state[key] = torch.randn(shape, generator=gen) / math.sqrt(max(fan_in, 1))
        if key.endswith("modulation.bias"):
            state[key] = torch.ones(shape)  # StyleGAN2 initialises the style modulation around 1
    return state


@pytest.fixture(scope="module")
def gfpgan_checkpoint(tmp_path_factory):
    """A GFPGAN v1.4-shaped checkpoint (512) with random weights, saved like the official one."""
    state = synthetic_state(512)
    path = tmp_path_factory.mktemp("gfpgan") / "GFPGANv1.4.pth"
    torch.save({"params_ema": state}, path)
    return path, state


def test_gfpgan_loads_the_official_layout(gfpgan_checkpoint):
    path, state = gfpgan_checkpoint
    net = load_gfpgan(path)
    assert set(net.state_dict()) == set(state)
    assert torch.equal(net.stylegan_decoder.noises.noise14, state["stylegan_decoder.noises.noise14"])
    assert torch.equal(net.final_linear.weight, state["final_linear.weight"])
    assert sum(p.numel() for p in net.parameters()) > 80e6  # the real model's size class


def test_gfpgan_forward_pass_on_a_synthetic_checkpoint(tmp_path):
    """The same layout at 16 px (two levels): a full 512 pass takes minutes on 2 cores."""
    torch.save({"params_ema": synthetic_state(16)}, tmp_path / "small.pth")
    net = GFPGANv1Clean(16)
    net.load_state_dict(torch.load(tmp_path / "small.pth", weights_only=True)["params_ema"], strict=True)
    face = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    out = restore_aligned(net.eval(), face)
    assert out.shape == (2, 16, 16, 3) and np.isfinite(out).all()
    assert 0 <= out.min() and out.max() <= 1 and out.std() > 0
    assert np.array_equal(out, restore_aligned(net, face))  # stored noise: deterministic
    assert not np.array_equal(out[0], out[1])  # the output depends on the input


def test_gfpgan_refuses_a_checkpoint_of_another_layout(tmp_path, gfpgan_checkpoint):
    _, state = gfpgan_checkpoint
    broken = dict(state)
    broken.pop("final_linear.bias")
    torch.save({"params_ema": broken}, tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="does not fit"):
        load_gfpgan(tmp_path / "bad.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read"):
        load_gfpgan(tmp_path / "junk.pth")


def test_face_mesh_layout_matches_the_published_weights(shared):
    real = torch.load(shared / "weights" / "mediapipe_face" / "blazeface_landmark.pth", weights_only=True)
    mine = FaceMeshNet().state_dict()
    assert {k: tuple(v.shape) for k, v in mine.items()} == {k: tuple(v.shape) for k, v in real.items()}


def test_face_mesh_on_real_weights_agrees_with_dlib(shared):
    from skimage.data import astronaut
    image = astronaut()
    faces = detect_faces(image, backend="yunet", landmarks="68", model_path=shared / "weights" / "yunet")
    face = faces[0]
    dlib68 = face.landmarks
    add_mesh(image, [face], model_path=shared / "weights" / "mediapipe_face")
    mesh = face.landmarks
    assert mesh.shape == (468, 3) and face.notes["mesh_presence"] > 0.9
    eye_dist = np.linalg.norm(dlib68[45] - dlib68[36])
    # outer eye corners, mouth corners, nose tip, chin: mesh index → iBUG index
    pairs = [(33, 36), (263, 45), (61, 48), (291, 54), (1, 30), (152, 8)]
    err = np.mean([np.linalg.norm(mesh[a, :2] - dlib68[b]) for a, b in pairs]) / eye_dist
    assert err < 0.1


def test_face_mesh_loader_refuses_wrong_weights(tmp_path):
    torch.save({"backbone1.0.weight": torch.zeros(3)}, tmp_path / "bad.pth")
    with pytest.raises(ModelError):
        load_face_mesh(tmp_path / "bad.pth")
