"""Still images in and out: PNG, JPEG, TIFF, WebP, BMP, JPEG 2000, AVIF, HEIF, GIF; 8- and 16-bit; grey, alpha,
palette, CMYK; EXIF orientation applied on reading (pixels come out upright, the tag is not written back).

Pillow reads headers and 8-bit pixels; OpenCV reads 16-bit pixels, which Pillow would truncate to
8 bits for colour images, and writes 16-bit PNG; tifffile writes 16-bit TIFF. A colour profile (ICC)
and the resolution are kept at either depth.
"""
from __future__ import annotations

import functools
import struct
import warnings
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image, ImageOps

from ..errors import InputError, OutputError
from ..frame import Frame, quantise
from .atomic import written

Image.MAX_IMAGE_PIXELS = None  # bian enforces its own limit before any pixel is decoded

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
           ".webp": "WEBP", ".bmp": "BMP", ".jp2": "JPEG2000", ".j2k": "JPEG2000", ".avif": "AVIF",
           ".heic": "HEIF", ".heif": "HEIF", ".gif": "GIF"}
"""JPEG 2000 is how many archives and libraries publish their scans; AVIF and HEIF (HEIC) are what phones
and browsers now save. (They were taken for videos: 'a video input needs a video output'.) A GIF of one
frame is a picture, an animated one a film (:func:`is_image`)."""
SIXTEEN_BIT = {"PNG", "TIFF"}
_ALPHA = {"PNG", "TIFF", "WEBP", "JPEG2000", "AVIF", "HEIF", "GIF"}  # GIF: fully transparent or opaque
DEFAULT_MAX_PIXELS = 250_000_000


@dataclass
class ImageInfo:
    path: Path
    format: str
    width: int
    height: int
    bits: int
    """8 or 16."""
    grey: bool
    alpha: bool
    mode: str
    """Pillow's mode of the file (P, CMYK, I;16 ...)."""
    icc_profile: bytes | None = None
    dpi: tuple | None = None
    pages: int = 1
    """Pages (frames) in the file; bian restores the first (multi-page TIFF)."""


def is_image(path: Path) -> bool:
    """Whether ``path`` names a picture (by its extension); an existing GIF only when it has one frame."""
    suffix = path.suffix.lower()
    if suffix == ".gif" and path.is_file():
        return frame_count(path) == 1
    return suffix in FORMATS


def frame_count(path: Path) -> int:
    """Frames (pages) in a picture file; 1 when it cannot be read (:func:`read_image` says why)."""
    try:
        with Image.open(path) as img:
            return getattr(img, "n_frames", 1)
    except OSError:
        return 1


@functools.cache
def _heif_opener() -> bool:
    """Teach Pillow HEIF (HEIC: phones' photos), through pillow-heif; False when it is not installed."""
    try:
        import pillow_heif  # here, not at the top: 50 ms that only pictures need
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _need_heif(path: Path, error=InputError) -> None:
    if not _heif_opener() and path.suffix.lower() in (".heic", ".heif"):
        raise error("HEIF/HEIC pictures need the pillow-heif package", path,
                    "pip install pillow-heif, or use JPEG or PNG")


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Frame, ImageInfo]:
    """Decode one image into an upright RGB frame (uint8 or uint16) and what is needed to write it back alike."""
    _need_heif(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(path)
            img.size  # noqa: B018  (header parsed here)
    except FileNotFoundError:
        raise InputError("input not found", path, "check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read image ({_reason(exc)})", path, "is it a valid picture file?") from None
    with img:
        if img.format not in FORMATS.values():
            raise InputError(f"unsupported image format {img.format}", path,
                             "use PNG, JPEG, TIFF, WebP, BMP, JPEG 2000, AVIF, HEIF or GIF")
        width, height = img.size
        if width * height > max_pixels:
            raise InputError(f"image is {width}×{height} = {width * height / 1e6:.0f} megapixels, over the "
                             f"limit of {max_pixels / 1e6:.0f} (a decompression bomb?)", path,
                             "raise --max-pixels if the picture is genuine")
        bits = _bit_depth(img, path)
        try:
            if bits == 16:
                pixels, alpha = _read_16bit(path, img)
            else:
                pixels, alpha = _read_8bit(img)
        except (OSError, ValueError, cv2.error, SyntaxError) as exc:
            raise InputError(f"image data is corrupt or truncated ({_reason(exc)})", path,
                             "re-export or re-scan the picture") from None
        info = ImageInfo(path=path, format=img.format, width=pixels.shape[1], height=pixels.shape[0], bits=bits,
                         grey=img.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
                         or (img.mode in ("P", "PA") and _palette_is_grey(img)),
                         alpha=alpha is not None, mode=img.mode, icc_profile=img.info.get("icc_profile"),
                         dpi=img.info.get("dpi"), pages=getattr(img, "n_frames", 1))
    frame = Frame(image=pixels, time=Fraction(0), duration=Fraction(1), index=0, alpha=alpha)
    return frame, info


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _bit_depth(img: Image.Image, path: Path) -> int:
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):  # F: 32-bit float scans, kept as 16-bit
        return 16
    if img.format == "PNG":
        with open(path, "rb") as fh:
            header = fh.read(26)
        return 16 if len(header) >= 25 and header[24] == 16 else 8
    if img.format == "TIFF":
        bits = img.tag_v2.get(258)
        if isinstance(bits, tuple):
            bits = bits[0]
        return 16 if bits == 16 else 8
    return 8


def _palette_is_grey(img: Image.Image) -> bool:
    palette = np.asarray(img.getpalette() or [], dtype=np.int32).reshape(-1, 3)
    return bool(len(palette)) and bool((palette.max(axis=1) == palette.min(axis=1)).all())


def _read_8bit(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    img = ImageOps.exif_transpose(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info)
    if img.mode == "CMYK":
        img = img.convert("RGB")
    rgba = np.asarray(img.convert("RGBA" if has_alpha else "RGB"))
    if has_alpha:
        return np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    return rgba, None


def _cmyk_to_bgr(cmyk: np.ndarray) -> np.ndarray:
    """uint16 BGR of uint16 CMYK ink amounts, by the same rule as Pillow's 8-bit conversion:
    each of R, G, B is (1 − its ink) × (1 − black)."""
    ink = cmyk[..., :4].astype(np.float32) / 65535
    return quantise((1 - ink[..., 2::-1]) * (1 - ink[..., 3:4]), np.uint16)


_EXIF_OPS = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
             5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1),
             7: lambda a: np.rot90(a, 1)[::-1], 8: lambda a: np.rot90(a, 1)}


def _read_16bit(path: Path, img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    if img.mode == "CMYK":  # a 16-bit CMYK TIFF (prepress scans), which OpenCV cannot decode
        data = _cmyk_to_bgr(tifffile.imread(path))
    else:
        data = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise ValueError("OpenCV could not decode the pixels")
    if data.dtype.kind == "f":  # float scans hold 0 (black) … 1 (white)
        data = quantise(data.astype(np.float32), np.uint16)
    elif data.dtype != np.uint16:
        data = quantise(data, np.uint16) if data.dtype == np.uint8 else data.astype(np.uint16)
    alpha = None
    if data.ndim == 2:
        rgb = np.repeat(data[..., None], 3, axis=2)
    elif data.shape[2] == 2:
        rgb, alpha = np.repeat(data[..., :1], 3, axis=2), data[..., 1]
    elif data.shape[2] == 4:
        rgb, alpha = data[..., 2::-1], data[..., 3]
    else:
        rgb = data[..., ::-1]
    op = _EXIF_OPS.get(img.getexif().get(0x0112, 1))
    if op is not None:
        rgb = op(rgb)
        alpha = None if alpha is None else op(alpha)
    return np.ascontiguousarray(rgb), None if alpha is None else np.ascontiguousarray(alpha)


def write_image(frame: Frame, info: ImageInfo, path: Path, grey: bool) -> list[str]:
    """Write ``frame`` like its source (format from ``path``'s extension, bit depth, alpha, grey),
    atomically: a temporary name in the same folder, renamed when complete. Returns notes for the user."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"unsupported image extension '{path.suffix}'", path,
                          "use .png, .jpg, .tif, .webp, .bmp, .jp2, .avif, .heic or .gif")
    _need_heif(path, OutputError)
    notes = []
    bits = 16 if info.bits == 16 and fmt in SIXTEEN_BIT else 8
    if info.mode == "F" and bits == 16:
        notes.append("the 32-bit float source was written as 16-bit integers (0…1 → 0…65535)")
    if info.pages > 1:
        what = "pages" if info.format == "TIFF" else "frames (it is animated)"
        notes.append(f"the source has {info.pages} {what}: only the first was restored")
    if info.bits == 16 and bits == 8:
        notes.append(f"bian writes {fmt} with 8 bits per channel: the 16-bit source was written as 8-bit "
                     "(use .png or .tif to keep 16 bits)")
    alpha = frame.alpha if fmt in _ALPHA else None
    if frame.alpha is not None and alpha is None:
        notes.append(f"{fmt} has no transparency: the alpha channel was dropped")
    pixels = quantise(frame.image, np.uint16 if bits == 16 else np.uint8)
    if grey:
        pixels = pixels[..., :1]
    if alpha is not None:
        pixels = np.concatenate([pixels, quantise(alpha, pixels.dtype)[..., None]], axis=2)
    if fmt == "GIF" and pixels.shape[2] >= 3 and Image.fromarray(pixels[..., :3]).getcolors(256) is None:
        notes.append("GIF holds 256 colours: the picture was reduced to them (use .png to keep every colour)")
    icc = _icc_for(info.icc_profile, pixels.shape[2])
    if info.icc_profile and icc is None:
        notes.append(f"the source's {_icc_space(info.icc_profile)} colour profile does not describe the output's "
                     "colours and was left out")
    try:
        with written(path) as partial:
            if bits == 16:
                _write_16bit(pixels, partial, fmt, icc, info.dpi)
            else:
                _write_8bit(pixels, info, fmt, partial, icc)
    except OSError as exc:
        raise OutputError(f"cannot write image ({_reason(exc)})", path,
                          "check the folder exists and is writable") from None
    return notes


def _icc_space(icc: bytes) -> str:
    return icc[16:20].decode("latin-1").strip() or "unknown"


def _icc_for(icc: bytes | None, channels: int) -> bytes | None:
    """``icc`` if its colour space is the output's (grey for 1–2 channels, RGB for 3–4), else None: a CMYK
    source's profile on RGB pixels, or a grey one on a colourised picture, would make viewers misread them."""
    if not icc or len(icc) < 20:
        return None
    return icc if _icc_space(icc) == ("GRAY" if channels <= 2 else "RGB") else None


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_16bit(pixels: np.ndarray, path: Path, fmt: str, icc: bytes | None, dpi: tuple | None) -> None:
    """16-bit PNG through OpenCV with the colour profile and resolution chunks added (OpenCV writes
    neither); 16-bit TIFF through tifffile (deflate), which writes both."""
    channels = pixels.shape[2]
    if fmt == "TIFF":
        tifffile.imwrite(path, pixels[..., 0] if channels == 1 else pixels,
                         photometric="minisblack" if channels <= 2 else "rgb",
                         extrasamples=("unassalpha",) if channels in (2, 4) else None, compression="zlib",
                         predictor=True, iccprofile=icc, resolution=tuple(dpi) if dpi else None,
                         resolutionunit="inch" if dpi else None)
        return
    if channels == 1:
        data = pixels[..., 0]
    elif channels == 2:  # grey + alpha: OpenCV has no LA layout, store as BGRA
        data = np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
    elif channels == 3:
        data = pixels[..., ::-1]
    else:
        data = pixels[..., [2, 1, 0, 3]]
    ok, encoded = cv2.imencode(path.suffix, np.ascontiguousarray(data))
    if not ok:
        raise OSError("OpenCV could not encode the picture")
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"icc\0\0" + zlib.compress(icc))
    if dpi:
        per_metre = [round(d / 0.0254) for d in dpi]
        extra += _png_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1))
    encoded = encoded.tobytes()
    end_of_header = 8 + 8 + 13 + 4  # signature, IHDR length/type, IHDR data, CRC
    path.write_bytes(encoded[:end_of_header] + extra + encoded[end_of_header:])


def _write_8bit(pixels: np.ndarray, info: ImageInfo, fmt: str, path: Path, icc: bytes | None) -> None:
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    img = Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode)
    options = {}
    if icc:
        options["icc_profile"] = icc
    if info.dpi:
        options["dpi"] = info.dpi
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    elif fmt == "WEBP":
        options.update(quality=95, method=4)
    elif fmt in ("AVIF", "HEIF"):
        options.update(quality=90)
    img.save(path, format=fmt, **options)
