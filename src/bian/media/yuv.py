"""YUV ⇄ RGB done here where swscale is biased: pictures of 9 to 16 bits (10-bit H.264/H.265, ProRes,
DNxHR, FFV1 YUV) both ways, and RGB into full-range 8-bit YUV.

swscale converts 9–16-bit YUV to and from 16-bit RGB with truncation: decoded frames were half an 8-bit
level dark (luma ramp: mean −0.49, max −0.98; whatever the flags), and RGB → 10-bit YUV half a level
bright, so a restore that changed nothing came back right while every stage saw its frames darkened. Into
full-range 8-bit YUV (MJPEG cameras, phones) it is off by R −0.7, G +0.5, B −0.9 levels even with
accurate rounding. Here both ways round to nearest, with the standard matrices (BT.601, BT.709, BT.2020,
FCC, SMPTE 240M by the picture's colour space; unspecified is BT.601, as in swscale) and ranges.

Chroma is sited as MPEG-2, H.264 and H.265 place it by default: on the left luma column of its pair
and, for 4:2:0, midway between its two rows. Upsampling is linear; downsampling averages the two rows
and weights the columns 1/4, 1/2, 1/4 about the sited one.

RGB: uint16 H×W×3 (0…65535), uint8 for 8-bit YUV. Pictures: PyAV frames of planar YUV formats
(``yuv420p``, ``yuv420p10le``, ``yuv422p12le``, ``yuva444p16le`` …; alpha ignored); other formats return
None (the caller converts).
"""
from __future__ import annotations

import re

import av
import cv2
import numpy as np

_PLANAR = re.compile(r"yuva?(420|422|444)p(?:(9|10|12|14|16)le)?")
_KR_KB = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 7: (0.212, 0.087), 9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}
"""Luma weights of red and blue by AVColorSpace; others (BT.601: 5, 6, unspecified) 0.299, 0.114."""


def _layout(pix_fmt: str) -> tuple[int, int, int] | None:
    """(bits, horizontal and vertical chroma subsampling) of a planar YUV format handled here."""
    found = _PLANAR.fullmatch(pix_fmt)
    if found is None:
        return None
    sub = {"420": (2, 2), "422": (2, 1), "444": (1, 1)}[found.group(1)]
    return int(found.group(2) or 8), *sub


def yuv_matrix(colorspace: int, full_range: bool, bits: int) -> np.ndarray:
    """float64 3×4 [M | o]: 16-bit RGB = M · (Y, U, V) + o for ``bits``-bit code values."""
    kr, kb = _KR_KB.get(int(colorspace), (0.299, 0.114))
    kg = 1.0 - kr - kb
    if full_range:
        y_gain, y_zero, c_gain = 65535 / (2 ** bits - 1), 0, 65535 / (2 ** bits - 1)
    else:
        y_gain, y_zero, c_gain = 65535 / (219 << (bits - 8)), 16 << (bits - 8), 65535 / (224 << (bits - 8))
    centre = 1 << (bits - 1)
    rv, bu = 2 * (1 - kr), 2 * (1 - kb)
    m = np.array([[y_gain, 0, c_gain * rv],
                  [y_gain, -c_gain * bu * kb / kg, -c_gain * rv * kr / kg],
                  [y_gain, c_gain * bu, 0]])
    return np.hstack([m, -(m @ [y_zero, centre, centre])[:, None]])


def _plane(plane, dtype=np.uint16) -> np.ndarray:
    """A view of one plane of a PyAV picture (its rows, without the padding)."""
    size = np.dtype(dtype).itemsize
    return np.frombuffer(plane, dtype).reshape(plane.height, plane.line_size // size)[:, :plane.width]


def to_rgb48(picture: av.VideoFrame) -> np.ndarray | None:
    """uint16 H×W×3 RGB of a planar YUV picture of 9–16 bits, or None for other formats."""
    layout = _layout(picture.format.name)
    if layout is None or layout[0] == 8:
        return None
    bits, sx, sy = layout
    y, u, v = (_plane(p) for p in picture.planes[:3])
    h, w = y.shape
    u, v = (_upsample(c, sx, sy, w, h) for c in (u, v))
    matrix = yuv_matrix(picture.colorspace, picture.color_range == 2, bits)
    return cv2.transform(cv2.merge([y, u, v]), matrix)  # rounds to nearest and clips to 0…65535


def _upsample(chroma: np.ndarray, sx: int, sy: int, width: int, height: int) -> np.ndarray:
    """Chroma at every pixel: rows interpolated between the centred samples, columns between the left-sited
    ones (even columns take the sample, odd ones the mean of the two beside them)."""
    if sy == 2:
        chroma = cv2.resize(chroma, (chroma.shape[1], height), interpolation=cv2.INTER_LINEAR)
    if sx == 1:
        return chroma
    beside = cv2.copyMakeBorder(chroma[:, 1:], 0, 0, 0, 1, cv2.BORDER_REPLICATE)  # column j + 1
    between = cv2.addWeighted(chroma, 0.5, beside, 0.5, 0)
    return cv2.merge([chroma, between]).reshape(chroma.shape[0], -1)[:, :width]  # interleaved


def _downsample(chroma: np.ndarray, sx: int, sy: int) -> np.ndarray:
    """Chroma at its sites: the mean of each pair of rows (the sample lies between them), and columns
    weighted 1/4, 1/2, 1/4 about each even one (the left-sited sample)."""
    if sy == 2:
        if chroma.shape[0] % 2:
            chroma = np.concatenate([chroma, chroma[-1:]])
        chroma = cv2.addWeighted(chroma[0::2], 0.5, chroma[1::2], 0.5, 0)
    if sx == 1:
        return chroma
    if chroma.shape[1] % 2:
        chroma = np.concatenate([chroma, chroma[:, -1:]], axis=1)
    even, odd = cv2.split(np.ascontiguousarray(chroma).reshape(chroma.shape[0], -1, 2))
    before = cv2.copyMakeBorder(odd[:, :-1], 0, 0, 1, 0, cv2.BORDER_REPLICATE)  # column 2j − 1 (edge: 2j + 1)
    return cv2.addWeighted(even, 0.5, cv2.addWeighted(odd, 0.5, before, 0.5, 0), 0.5, 0)


def from_rgb(rgb: np.ndarray, pix_fmt: str, colorspace: int | None, color_range: int | None) -> av.VideoFrame | None:
    """A PyAV picture in ``pix_fmt`` (planar YUV) from H×W×3 RGB: uint16 for 9–16-bit formats, uint8 for
    8-bit ones; None for other formats. ``colorspace`` and ``color_range`` as AVColorSpace and AVColorRange
    (None: BT.601, limited)."""
    layout = _layout(pix_fmt)
    if layout is None:
        return None
    bits, sx, sy = layout
    dtype = np.uint8 if bits == 8 else np.uint16
    if rgb.dtype != dtype:
        raise ValueError(f"{pix_fmt} is made from {np.dtype(dtype).name} RGB, not {rgb.dtype}")
    forward = yuv_matrix(colorspace or 2, color_range == 2, bits)
    inverse = np.linalg.inv(forward[:, :3]) * (257 if bits == 8 else 1)  # 8-bit RGB: 0…255
    matrix = np.hstack([inverse, -(np.linalg.inv(forward[:, :3]) @ forward[:, 3])[:, None]])
    height, width = rgb.shape[:2]
    # rounded to nearest (valid RGB stays within the code range), chroma before it is subsampled: its
    # rounding error averages out there
    y, u, v = cv2.split(cv2.transform(rgb, matrix))
    u, v = (_downsample(c, sx, sy) for c in (u, v))
    picture = av.VideoFrame(width, height, pix_fmt)
    for plane, values in zip(picture.planes, (y, u, v)):
        _plane(plane, dtype)[:] = values.reshape(plane.height, plane.width)
    if len(picture.planes) == 4:  # yuva: opaque
        _plane(picture.planes[3], dtype)[:] = 2 ** bits - 1
    picture.colorspace = colorspace or 2
    picture.color_range = color_range or 1
    return picture
