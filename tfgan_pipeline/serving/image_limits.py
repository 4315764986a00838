"""Image sizes read from file headers, to bound decoding before the model runs.

A 30 kB PNG can declare 50,000 x 50,000 pixels; the serving signature would
allocate ``H * W * C`` floats for it before resizing. The server reads the size
from the header of every string input that looks like an image (PNG IHDR, JPEG
SOFn, GIF logical screen, BMP info header: the formats ``tf.io.decode_image``
reads) and refuses images beyond its limit with a 400 before any decoding.
Bytes that are not one of these formats are left to the model (whose own check
names them, e.g. "is not a decodable PNG or JPEG image").
"""

import struct

import numpy as np

from tfgan_pipeline.serving.errors import invalid_argument

_PNG = b"\x89PNG\r\n\x1a\n"
# SOF markers that carry the frame size (not DHT C4, JPG C8, DAC CC).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data):
    """Returns ``(width, height)`` from an image header, or ``None`` if not an image.

    Truncated headers of a recognised format also give ``None`` (the decoder then
    rejects the bytes).
    """
    if data.startswith(_PNG):
        if len(data) >= 24 and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        return None
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    return None


def _jpeg_size(data):
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker == 0xD9:
            return None
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _JPEG_SOF:
            if i + 9 > n:
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def check_image_inputs(inputs, max_pixels, max_side):
    """Raises INVALID_ARGUMENT if any image in the string inputs is too large.

    Args:
      inputs: ``{input name: np.ndarray}``; only object (string) arrays are read.
      max_pixels: largest ``width * height`` accepted.
      max_side: largest width or height accepted.
    """
    for name, array in inputs.items():
        if array.dtype != object:
            continue
        for index, data in np.ndenumerate(array):
            if not isinstance(data, bytes):
                continue
            size = image_size(data)
            if size is None:
                continue
            width, height = size
            where = f"{name}[{', '.join(str(i) for i in index)}]" if index else name
            if width * height > max_pixels or width > max_side or height > max_side:
                raise invalid_argument(
                    f"{where} is a {width}x{height} image ({width * height} pixels); this "
                    f"server decodes at most {max_pixels} pixels and {max_side} per side "
                    "(--max_image_pixels, --max_image_side). Send a smaller image.")
