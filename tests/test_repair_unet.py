"""The film-dust U-Net: own implementation, official key names, real weights when ../shared is there."""
import numpy as np
import pytest
import torch

from bian.errors import ModelError
from bian.models.arch.dust_unet import DustUNet, from_state_dict
from bian.repair import dust_net

# Key names and shapes as published (videogorillas/pytorch-unet-dust, weights/dust16_19.pth).
OFFICIAL = {
    "down_path.0.block.1.weight": (16, 3, 3, 3),
    "down_path.0.block.3.running_var": (16,),
    "down_path.3.block.5.weight": (128, 128, 3, 3),
    "up_path.0.up.weight": (128, 64, 2, 2),
    "up_path.0.conv_block.block.1.weight": (64, 128, 3, 3),
    "up_path.2.conv_block.block.7.bias": (16,),
    "last.weight": (1, 16, 1, 1),
}


def test_layer_names_and_shapes_match_the_published_checkpoint():
    state = DustUNet(wf=4, depth=4).state_dict()
    assert len(state) == 106
    for key, shape in OFFICIAL.items():
        assert tuple(state[key].shape) == shape


def test_checkpoint_round_trip_and_odd_sizes(tmp_path):
    torch.manual_seed(0)
    reference = DustUNet(wf=3, depth=3)
    path = tmp_path / "tiny.pth"
    torch.save(reference.state_dict(), path)
    net = dust_net.load(path)
    assert len(net.down_path) == 3 and net.last.in_channels == 8
    prob = dust_net.probability(np.random.default_rng(0).random((37, 51, 3)).astype(np.float32), net)
    assert prob.shape == (37, 51) and prob.dtype == np.float32
    assert 0.0 <= prob.min() and prob.max() <= 1.0


def test_a_wrong_checkpoint_is_a_model_error(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"down_path.0.block.1.weight": torch.zeros(16, 3, 3, 3)}, path)
    with pytest.raises(ModelError):
        dust_net.load(path)


def test_published_weights_reproduce_the_published_dust_map(shared):
    import cv2
    folder = shared / "weights" / "film_dust_unet"
    if not folder.is_dir():
        pytest.skip("film_dust_unet weights not in shared")
    net = dust_net.load(folder)
    # dust_frame_R1A.jpg is the project's own figure: the scanned frame beside the network's output.
    both = cv2.imread(str(shared / "data" / "film" / "dust_frame_R1A.jpg"))[..., ::-1].astype(np.float32) / 255
    frame, published = both[300:900, 360:1000], both[300:900, 1800 + 360:1800 + 1000].mean(axis=2)
    prob = dust_net.probability(np.ascontiguousarray(frame), net)
    speck = published > 0.5
    assert speck.sum() > 5000  # the large speck of the figure lies in this crop
    assert prob[speck].mean() > 5 * prob[~speck].mean()
    assert np.corrcoef(prob.ravel(), published.ravel())[0, 1] > 0.5
