"""Per-element preprocessing functions, tested without Beam on tiny images."""

import io
import json

import numpy as np
from PIL import Image
import pytest

from tfgan_pipeline.preprocess import elements

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def _png(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8), mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(array):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _ab_image(height=8, half=8, left=RED, right=BLUE):
    image = np.zeros((height, 2 * half, 3), np.uint8)
    image[:, :half] = left
    image[:, half:] = right
    return image


def _solid(color, height=8, width=8):
    return np.tile(np.array(color, np.uint8), (height, width, 1))


def _decode(png):
    return np.asarray(Image.open(io.BytesIO(png)))


# ---------------------------------------------------------------------------- splits


def test_hash_split_matches_hand_computed_sha1_prefix():
    # sha1("2.jpg")[:8] = 0x08fda0244b5397e0 -> u = 0.0351; sha1("1.jpg")[:8] -> u = 0.6750.
    assert elements.hash_split("2.jpg", 0.1) == "val"
    assert elements.hash_split("2.jpg", 0.03) == "train"
    assert elements.hash_split("1.jpg", 0.67) == "train"
    assert elements.hash_split("1.jpg", 0.68) == "val"
    assert elements.hash_split("1.jpg", 0.0) == "train"


def test_hash_split_is_stable_and_close_to_the_fraction():
    names = [f"{i}.jpg" for i in range(4000)]
    at_10 = {n for n in names if elements.hash_split(n, 0.1) == "val"}
    at_30 = {n for n in names if elements.hash_split(n, 0.3) == "val"}
    assert at_10 < at_30  # raising the fraction only moves files train -> val
    assert abs(len(at_10) / len(names) - 0.1) < 0.02
    assert abs(len(at_30) / len(names) - 0.3) < 0.03


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 2])
def test_hash_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        elements.hash_split("a.jpg", fraction)


def test_classify_path_pix2pix_folders_and_hash():
    key = elements.classify_path("/d/val/3.jpg", "/d", "pix2pix", "folders", 0.5)
    assert key == elements.FileKey("val", None, "3.jpg")
    loose = elements.classify_path("/d/3.jpg", "/d/", "pix2pix", "folders", 0.5)
    assert isinstance(loose, elements.Reject) and loose.reason == "outside_split_folder"
    hashed = elements.classify_path("/d/2.jpg", "/d", "pix2pix", "hash", 0.1)
    assert hashed == elements.FileKey("val", None, "2.jpg")


def test_classify_path_ab_layout_and_urls():
    key = elements.classify_path("gs://b/d/B/train/x.png", "gs://b/d", "ab", "folders", 0.1)
    assert key == elements.FileKey("train", "B", "x.png")
    key = elements.classify_path("/d/A/1.jpg", "/d", "ab", "hash", 0.7)
    assert key == elements.FileKey("val", "A", "1.jpg")  # u(1.jpg) = 0.675 < 0.7
    loose = elements.classify_path("/d/A/x.png", "/d", "ab", "folders", 0.1)
    assert loose.reason == "outside_split_folder" and loose.path == "/d/A/x.png"


def test_classify_path_errors_name_the_path():
    with pytest.raises(ValueError, match="not under the data folder"):
        elements.classify_path("/other/x.png", "/d", "pix2pix", "hash", 0.1)
    with pytest.raises(ValueError, match="A/ or B/"):
        elements.classify_path("/d/C/x.png", "/d", "ab", "hash", 0.1)
    with pytest.raises(ValueError, match="layout"):
        elements.classify_path("/d/x.png", "/d", "cyclegan", "hash", 0.1)


# ---------------------------------------------------------------------------- A|B files


def test_pix2pix_file_splits_halves_resizes_and_orients():
    record = elements.process_pix2pix_file("/d/1.png", _png(_ab_image()), "train", 12, "AtoB")
    assert isinstance(record, elements.PairRecord)
    assert record.file_name == "1.png" and record.split == "train" and record.paths == ("/d/1.png",)
    assert record.size == (12, 12) and record.source_size == (16, 8)
    input_image, target_image = _decode(record.input_png), _decode(record.target_png)
    assert input_image.shape == target_image.shape == (12, 12, 3)
    np.testing.assert_array_equal(input_image, _solid(RED, 12, 12))  # bicubic keeps constants
    np.testing.assert_array_equal(target_image, _solid(BLUE, 12, 12))

    swapped = elements.process_pix2pix_file("/d/1.png", _png(_ab_image()), "train", 12, "BtoA")
    assert swapped.input_png == record.target_png and swapped.target_png == record.input_png
    assert swapped.direction == "BtoA"


def test_pix2pix_file_keeps_left_right_geometry():
    # A 2-pixel-wide A|B image: left pixel column is A, right is B; load size 1 keeps them.
    image = np.array([[[10, 20, 30], [40, 50, 60]]], np.uint8)
    record = elements.process_pix2pix_file("x.png", _png(image), "val", 1, "AtoB")
    assert _decode(record.input_png).tolist() == [[[10, 20, 30]]]
    assert _decode(record.target_png).tolist() == [[[40, 50, 60]]]


def test_example_bytes_use_the_shared_schema():
    import tensorflow as tf

    from tfgan_pipeline.data import schema

    record = elements.process_pix2pix_file("/d/7.png", _png(_ab_image()), "train", 4, "AtoB")
    parsed = schema.parse_example(tf.constant(record.to_example_bytes()))
    assert parsed["file_name"].numpy() == b"7.png" and int(parsed["height"]) == 4
    np.testing.assert_array_equal(parsed["input_image"].numpy(), _solid(RED, 4, 4))


def _smooth_ab(height=96, half=96):
    """A smooth A|B image (gradients, so a JPEG of it is close to the pixels)."""
    y, x = np.mgrid[0:height, 0:2 * half]
    return np.stack([x * 255 // (2 * half), y * 255 // height, (x + y) % 256 // 2], -1)


def test_jpeg_draft_decodes_at_a_reduced_scale_close_to_the_reference():
    data = _jpeg(_smooth_ab())
    exact = elements.process_pix2pix_file("/d/s.jpg", data, "train", 40, "AtoB")
    draft = elements.process_pix2pix_file("/d/s.jpg", data, "train", 40, "AtoB", jpeg_draft=True)
    # 192x96 covers 2 x 40x40 at 1/2 (96x48), not at 1/4 (48x24): the decoder reduced it.
    image = elements.decode_rgb(data, (80, 40), 2)
    assert image.size == (96, 48) and image.info["source_size"] == (192, 96)
    assert elements.decode_rgb(data).size == (192, 96)
    assert elements.draft_scale((192, 96), (24, 12), 2) == 8
    assert elements.draft_scale((200, 96), (24, 12), 2) == 4  # 200 / 16 is not whole
    assert elements.draft_scale((202, 96), (24, 12), 2) == 1  # 101 per half: odd
    for name in ("input_png", "target_png"):
        a = _decode(getattr(exact, name)).astype(float)
        b = _decode(getattr(draft, name)).astype(float)
        assert a.shape == b.shape == (40, 40, 3)
        assert 0 < np.abs(a - b).mean() < 3  # another resampling, not another image
    assert exact.source_size == draft.source_size == (192, 96)


def test_jpeg_draft_in_the_ab_layout_keeps_sizes_and_rejects():
    a, b = _jpeg(_smooth_ab(64, 32)), _jpeg(_smooth_ab(64, 32)[::-1])
    files = [("A", "/d/A/1.jpg", a), ("B", "/d/B/1.jpg", b)]
    out, = elements.process_ab_pair("train", "1.jpg", files, 16, "AtoB", jpeg_draft=True)
    assert out.source_size == (64, 64) and _decode(out.input_png).shape == (16, 16, 3)
    small = [("A", "/d/A/2.jpg", a), ("B", "/d/B/2.jpg", _jpeg(_smooth_ab(32, 16)))]
    rejects = elements.process_ab_pair("train", "2.jpg", small, 16, "AtoB", jpeg_draft=True)
    assert [r.reason for r in rejects] == ["size_mismatch"] * 2
    assert "A is 64x64, B is 32x32" in rejects[0].detail


def test_jpeg_draft_leaves_other_formats_and_small_images_alone():
    png = _png(_smooth_ab(16, 16))
    assert (elements.process_pix2pix_file("/d/s.png", png, "train", 12, "AtoB", True)
            == elements.process_pix2pix_file("/d/s.png", png, "train", 12, "AtoB"))
    jpeg = _jpeg(_smooth_ab(16, 16))  # 32x16 cannot shrink and still cover 2 x 12x12
    assert (elements.process_pix2pix_file("/d/s.jpg", jpeg, "train", 12, "AtoB", True)
            == elements.process_pix2pix_file("/d/s.jpg", jpeg, "train", 12, "AtoB"))


def test_encoded_png_is_the_exact_pixels_for_every_decoder():
    import tensorflow as tf

    rng = np.random.default_rng(3)
    for array, mode in ((rng.integers(0, 256, (37, 23, 3)), "RGB"),
                        (rng.integers(0, 256, (19, 41)), "L")):
        png = elements.encode_png(Image.fromarray(array.astype(np.uint8), mode))
        np.testing.assert_array_equal(_decode(png), array)
        decoded = tf.io.decode_png(png, channels=3 if mode == "RGB" else 1).numpy()
        np.testing.assert_array_equal(decoded.reshape(array.shape), array)


def _truncated_jpeg():
    rng = np.random.default_rng(0)
    data = _jpeg(rng.integers(0, 256, (32, 64, 3)))
    return data[: len(data) // 2]


@pytest.mark.parametrize("data,reason", [
    (b"", "empty_file"),
    (b"hello, I am text named .jpg", "not_an_image"),
    (_truncated_jpeg(), "corrupt_image"),
    (_png(np.zeros((8, 16), np.uint8)), "not_rgb"),            # grayscale
    (_png(np.zeros((8, 16, 4), np.uint8)), "not_rgb"),         # RGBA
    (_png(np.zeros((8, 15, 3), np.uint8)), "odd_width"),
], ids=["empty", "text", "truncated", "grayscale", "rgba", "odd"])
def test_pix2pix_file_rejects_bad_input_with_reason(data, reason):
    out = elements.process_pix2pix_file("/d/bad.jpg", data, "train", 12, "AtoB")
    assert isinstance(out, elements.Reject)
    assert (out.path, out.reason, out.split) == ("/d/bad.jpg", reason, "train")
    assert out.detail  # always says something more


def test_palette_image_is_rejected_not_converted():
    palette = Image.fromarray(_ab_image()).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    out = elements.process_pix2pix_file("p.png", buffer.getvalue(), "train", 4, "AtoB")
    assert out.reason == "not_rgb" and "mode P" in out.detail


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="load_size"):
        elements.process_pix2pix_file("x", b"", "train", 0, "AtoB")
    with pytest.raises(ValueError, match="direction"):
        elements.process_pix2pix_file("x", b"", "train", 4, "AtoA")
    with pytest.raises(ValueError, match="reject reason"):
        elements.Reject("x", "looks_bad")


# ---------------------------------------------------------------------------- A/ and B/ files


def test_ab_pair_becomes_one_oriented_record():
    files = [("B", "/d/B/1.png", _png(_solid(BLUE))), ("A", "/d/A/1.png", _png(_solid(RED)))]
    out, = elements.process_ab_pair("train", "1.png", files, 4, "BtoA")
    assert isinstance(out, elements.PairRecord)
    assert out.paths == ("/d/A/1.png", "/d/B/1.png") and out.file_name == "1.png"
    np.testing.assert_array_equal(_decode(out.input_png), _solid(BLUE, 4, 4))  # BtoA: input is B
    np.testing.assert_array_equal(_decode(out.target_png), _solid(RED, 4, 4))


def test_ab_missing_partner():
    out, = elements.process_ab_pair("val", "9.png", [("A", "/d/A/9.png", b"x")], 4, "AtoB")
    assert (out.path, out.reason, out.split) == ("/d/A/9.png", "missing_partner", "val")
    assert "B/" in out.detail


def test_ab_bad_partner_rejects_both_files():
    files = [("A", "/d/A/1.png", b""), ("B", "/d/B/1.png", _png(_solid(BLUE)))]
    out = elements.process_ab_pair("train", "1.png", files, 4, "AtoB")
    assert sorted((r.path, r.reason) for r in out) == [
        ("/d/A/1.png", "empty_file"), ("/d/B/1.png", "partner_rejected")]


def test_ab_size_mismatch_rejects_both_files():
    files = [("A", "/d/A/1.png", _png(_solid(RED, 8, 8))),
             ("B", "/d/B/1.png", _png(_solid(BLUE, 8, 6)))]
    out = elements.process_ab_pair("train", "1.png", files, 4, "AtoB")
    assert [r.reason for r in out] == ["size_mismatch", "size_mismatch"]
    assert "A is 8x8, B is 6x8" in out[0].detail


def test_ab_duplicate_side_is_a_bug():
    files = [("A", "/d/A/1.png", b""), ("A", "/d/A2/1.png", b"")]
    with pytest.raises(ValueError, match="Two A files"):
        elements.process_ab_pair("train", "1.png", files, 4, "AtoB")


# ---------------------------------------------------------------------------- stats and JSON


def test_reject_json_line():
    line = elements.Reject("/d/x.jpg", "odd_width", "15x8", "val").to_json()
    assert json.loads(line) == {"path": "/d/x.jpg", "reason": "odd_width", "detail": "15x8",
                                "split": "val"}


def test_build_stats_from_hand_counts():
    record = elements.process_pix2pix_file("/d/1.png", _png(_ab_image()), "train", 4, "AtoB")
    reject = elements.Reject("/d/2.png", "empty_file")
    assert elements.stat_keys(record) == [("records", "train"), ("source_sizes", "16x8")]
    assert elements.stat_keys(reject) == [("rejects", "empty_file")]
    counts = {("records", "train"): 3, ("source_sizes", "16x8"): 3, ("rejects", "empty_file"): 2,
              ("files_listed", ""): 5}
    stats = elements.build_stats(counts, {"layout": "pix2pix"}, ("train", "val"))
    assert stats == {"layout": "pix2pix", "records_per_split": {"train": 3, "val": 0},
                     "total_records": 3, "rejects_per_reason": {"empty_file": 2},
                     "rejected_files": 2, "files_listed": 5, "source_sizes": {"16x8": 3}}
    with pytest.raises(TypeError):
        elements.stat_keys("neither")
