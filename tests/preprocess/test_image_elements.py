"""Per-element single-image preprocessing, tested without Beam on tiny images and IDX files."""

import io
import json
import struct

import numpy as np
from PIL import Image
import pytest

from tfgan_pipeline.data import schema
from tfgan_pipeline.preprocess import elements
from tfgan_pipeline.preprocess import image_elements as ie

RED, BLUE = (255, 0, 0), (0, 0, 255)
RGB3 = ie.ImageFormat(image_size=None, channels=3)


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _solid(color, height=8, width=8):
    return np.tile(np.array(color, np.uint8), (height, width, 1))


def _ab(height=8, half=8):
    return np.concatenate([_solid(RED, height, half), _solid(BLUE, height, half)], axis=1)


def _decode(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def _write_idx(path, magic, dims, payload):
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
                     + payload)
    return str(path)


# ---------------------------------------------------------------------------- splits


def test_unpaired_assignment_from_hand_computed_hashes():
    # (u0, u1) = hash_fraction(name, 0), (name, 1): 8.png (0.028, 0.355), 1.png (0.360, 0.423),
    # 0.png (0.874, 0.522), 10.png (0.152, 0.817).
    assert elements.hash_fraction("8.png", 0) == pytest.approx(0.028, abs=1e-3)
    assert elements.hash_fraction("0.png", 1) == pytest.approx(0.522, abs=1e-3)
    assert ie.unpaired_assignment("8.png", 0.1) == ("test", None)
    assert ie.unpaired_assignment("1.png", 0.1) == ("train", "A")  # u1 0.423 < 0.5
    assert ie.unpaired_assignment("0.png", 0.1) == ("train", "B")  # u1 0.522 >= 0.5
    # Raising the held-out share moves 10.png (u0 0.152) into test, never from A to B.
    assert ie.unpaired_assignment("10.png", 0.1) == ("train", "B")
    assert ie.unpaired_assignment("10.png", 0.2) == ("test", None)
    assert ie.unpaired_assignment("1.png", 0.0) == ("train", "A")
    with pytest.raises(ValueError, match="unpaired_test_fraction"):
        ie.unpaired_assignment("1.png", 1.0)


def test_held_out_files_match_the_paired_pipelines_val_split():
    names = [f"{i}.jpg" for i in range(200)]
    for name in names:
        held_out = ie.unpaired_assignment(name, 0.25)[0] == "test"
        assert held_out == (elements.hash_split(name, 0.25) == "val")
    sides = [ie.unpaired_assignment(n, 0.0)[1] for n in names]
    assert 70 < sides.count("A") < 130  # an even draw, not everything on one side


def test_holdout_split():
    # hash_fraction("t10k-00002") = 0.022, ("train-00000") = 0.959
    assert ie.holdout_split("t10k-00002", 0.1) == "eval"
    assert ie.holdout_split("train-00000", 0.9) == "train"
    assert ie.holdout_split("t10k-00002", 0.0) == "train"


def test_classify_domain_path():
    key = ie.classify_domain_path("/d/testB/x.jpg", "/d")
    assert key == elements.FileKey("test", "B", "x.jpg")
    loose = ie.classify_domain_path("/d/readme.txt", "/d")
    assert isinstance(loose, ie.ImageReject) and loose.reason == "outside_split_folder"
    with pytest.raises(ValueError, match="Unexpected file"):
        ie.classify_domain_path("/d/trainA/sub/x.jpg", "/d")
    assert ie.classify_unpaired_path("/d/8.png", "/d", 0.1) == elements.FileKey("test", None,
                                                                                "8.png")


def test_output_folders_and_domain_splits():
    assert ie.output_folder("train") == "train" and ie.output_folder("test", "B") == "testB"
    assert ie.domain_split("trainA") == ("train", "A") and ie.domain_split("train") is None
    assert list(ie.DOMAIN_FOLDERS) == ["trainA", "trainB", "testA", "testB"]


# ---------------------------------------------------------------------------- image files


def test_image_file_resized_or_kept_native():
    data = _png(_solid(RED, 6, 10))
    native = ie.process_image_file("/d/trainA/r.png", data, "train", "A", RGB3)
    assert (native.size, native.source_size, native.channels) == ((6, 10), (10, 6), 3)
    assert (native.split, native.domain, native.folder, native.file_name, native.label) == (
        "train", "A", "trainA", "r.png", schema.NO_LABEL)
    np.testing.assert_array_equal(_decode(native.image_png), _solid(RED, 6, 10))
    small = ie.process_image_file("/d/trainA/r.png", data, "train", "A",
                                  ie.ImageFormat(image_size=4, channels=3))
    assert small.size == (4, 4) and small.source_size == (10, 6)
    np.testing.assert_array_equal(_decode(small.image_png), _solid(RED, 4, 4))


def test_channels_are_checked_or_converted_on_request():
    gray = _png(np.full((4, 4), 100, np.uint8))
    out = ie.process_image_file("/d/trainB/g.png", gray, "train", "B", RGB3)
    assert isinstance(out, ie.ImageReject)
    assert (out.reason, out.split, out.domain) == ("wrong_channels", "train", "B")
    assert "pass channels=3" in out.detail
    converted = ie.process_image_file("/d/trainB/g.png", gray, "train", "B",
                                      ie.ImageFormat(channels=3, convert=True))
    np.testing.assert_array_equal(_decode(converted.image_png), np.full((4, 4, 3), 100))
    luma = ie.process_image_file("/d/trainA/r.png", _png(_solid(RED, 4, 4)), "train", "A",
                                 ie.ImageFormat(channels=1, convert=True))
    assert luma.channels == 1  # ITU-R 601-2: 255 * 299 / 1000 = 76.2
    np.testing.assert_array_equal(_decode(luma.image_png), np.full((4, 4), 76))
    rgba = _png(np.zeros((4, 4, 4), np.uint8))
    out = ie.process_image_file("/d/x.png", rgba, "train", "A",
                                ie.ImageFormat(channels=3, convert=True))
    assert out.reason == "wrong_channels" and "mode RGBA" in out.detail


@pytest.mark.parametrize("data,reason", [
    (b"", "empty_file"),
    (b"plain text", "not_an_image"),
    (_png(_solid(RED))[:40], "corrupt_image"),
], ids=["empty", "text", "truncated"])
def test_image_file_decoding_rejects(data, reason):
    out = ie.process_image_file("/d/testA/bad.png", data, "test", "A", RGB3)
    assert (out.path, out.reason, out.split, out.domain) == ("/d/testA/bad.png", reason, "test",
                                                             "A")
    assert out.detail


# ---------------------------------------------------------------------------- A|B as unpaired


def test_unpaired_file_keeps_one_half_for_training_and_both_for_test():
    data = _png(_ab())
    a, = ie.process_unpaired_file("/d/1.png", data, "train", "A", RGB3)
    b, = ie.process_unpaired_file("/d/0.png", data, "train", "B", RGB3)
    np.testing.assert_array_equal(_decode(a.image_png), _solid(RED))
    np.testing.assert_array_equal(_decode(b.image_png), _solid(BLUE))
    assert (a.folder, b.folder, a.source_size) == ("trainA", "trainB", (8, 8))
    test_a, test_b = ie.process_unpaired_file("/d/8.png", data, "test", None,
                                              ie.ImageFormat(image_size=4, channels=3))
    assert (test_a.folder, test_b.folder) == ("testA", "testB")
    assert test_a.file_name == test_b.file_name == "8.png"  # the partner is recoverable
    np.testing.assert_array_equal(_decode(test_a.image_png), _solid(RED, 4, 4))
    np.testing.assert_array_equal(_decode(test_b.image_png), _solid(BLUE, 4, 4))


def test_unpaired_file_rejects():
    odd, = ie.process_unpaired_file("/d/o.png", _png(np.zeros((8, 15, 3))), "test", None, RGB3)
    assert (odd.reason, odd.split, odd.domain) == ("odd_width", "test", None)
    gray, = ie.process_unpaired_file("/d/g.png", _png(np.zeros((8, 16))), "train", "B", RGB3)
    assert (gray.reason, gray.domain) == ("wrong_channels", "B")
    with pytest.raises(ValueError, match="side"):
        ie.process_unpaired_file("/d/x.png", b"", "train", "C", RGB3)


# ---------------------------------------------------------------------------- arrays, IDX


GRAY1 = ie.ImageFormat(channels=1)


def test_array_example_becomes_a_labelled_record():
    digit = np.arange(16, dtype=np.uint8).reshape(4, 4)
    ref = ie.ExampleRef("t10k-00002", "/m/t10k-images[2]")  # u0 = 0.022: eval at 0.1
    out = ie.process_array(ref, digit, 7, GRAY1, 0.1, num_classes=10)
    assert (out.split, out.domain, out.folder, out.label, out.file_name) == (
        "eval", None, "eval", 7, "t10k-00002")
    np.testing.assert_array_equal(_decode(out.image_png), digit)
    kept = ie.process_array(ie.ExampleRef("x", "p", "test", "B"), digit[..., None], None, GRAY1,
                            0.99)
    assert (kept.split, kept.domain, kept.label) == ("test", "B", schema.NO_LABEL)
    unlabelled = ie.process_array(ref, digit, -1, GRAY1, 0.1, num_classes=10)
    assert unlabelled.label == schema.NO_LABEL  # TFDS' -1 = "no label"


@pytest.mark.parametrize("array,label,reason", [
    (np.zeros((4, 4), np.uint8), 10, "label_out_of_range"),
    (np.zeros((4, 4), np.uint8), -2, "label_out_of_range"),
    (np.zeros((4, 4), np.float32), 1, "unsupported_dtype"),
    (np.zeros((4, 4, 4), np.uint8), 1, "wrong_channels"),
    (np.zeros((4, 4, 3), np.uint8), 1, "wrong_channels"),  # RGB where the source has 1
    (np.zeros((16,), np.uint8), 1, "not_an_image"),
    (np.zeros((0, 4), np.uint8), 1, "not_an_image"),
])
def test_array_rejects(array, label, reason):
    out = ie.process_array(ie.ExampleRef("train-00000", "/m/i[0]"), array, label, GRAY1, 0.0,
                           num_classes=10)
    assert isinstance(out, ie.ImageReject)
    assert (out.path, out.reason, out.split) == ("/m/i[0]", reason, "train")


def test_read_idx_examples(tmp_path):
    images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    img = _write_idx(tmp_path / "t10k-images-idx3-ubyte", 2051, (3, 2, 2), images.tobytes())
    lbl = _write_idx(tmp_path / "t10k-labels-idx1-ubyte", 2049, (3,), bytes([4, 5, 11]))
    out = list(ie.read_idx_examples("t10k", img, lbl))
    assert [(ref.name, ref.path, label) for ref, _, label in out] == [
        ("t10k-00000", f"{img}[0]", 4), ("t10k-00001", f"{img}[1]", 5),
        ("t10k-00002", f"{img}[2]", 11)]  # 11 is rejected later, per image
    np.testing.assert_array_equal(out[1][1], images[1])

    short = _write_idx(tmp_path / "short-labels", 2049, (2,), bytes([1, 2]))
    bad, = ie.read_idx_examples("t10k", img, short)
    assert (bad.path, bad.reason) == (img, "invalid_idx") and "3 images but 2 labels" in bad.detail
    bad, = ie.read_idx_examples("t10k", img, img)  # images file as labels: wrong magic
    assert bad.reason == "invalid_idx" and "magic" in bad.detail
    missing, = ie.read_idx_examples("t10k", str(tmp_path / "nope"), lbl)
    assert missing.reason == "read_error"


# ---------------------------------------------------------------------------- rejects, stats


def test_image_reject_json_and_reasons():
    key = elements.FileKey("train", "B", "x.png")
    reject = ie.ImageReject.for_key("/d/trainB/x.png", key, "read_error", "IsADirectoryError")
    assert json.loads(reject.to_json()) == {"path": "/d/trainB/x.png", "reason": "read_error",
                                            "detail": "IsADirectoryError", "split": "train",
                                            "domain": "B"}
    with pytest.raises(ValueError, match="reject reason"):
        ie.ImageReject("x", "not_rgb")  # a paired-only reason
    with pytest.raises(ValueError, match="reject reason"):
        elements.Reject("x", "wrong_channels")  # and the reverse


def test_build_stats_from_hand_counts():
    record = ie.process_array(ie.ExampleRef("n", "p", "test", "A"), np.zeros((2, 3), np.uint8),
                              1, GRAY1, 0.0)
    assert ie.stat_keys(record) == [("records", "test"), ("source_sizes", "3x2"),
                                    ("domains", ("A", "test")), ("labels", ("test", 1))]
    assert ie.stat_keys(ie.ImageReject("p", "odd_width")) == [("rejects", "odd_width")]
    counts = {("records", "train"): 3, ("domains", ("A", "train")): 2,
              ("domains", ("B", "train")): 1, ("labels", ("train", 10)): 2,
              ("labels", ("train", 2)): 1, ("rejects", "empty_file"): 1,
              ("source_sizes", "4x4"): 3, ("inputs", ""): 4}
    stats = ie.build_stats(counts, {"layout": "domains"}, ("trainA", "trainB", "testA"))
    assert stats == {
        "layout": "domains", "folders": ["trainA", "trainB", "testA"],
        "records_per_split": {"test": 0, "train": 3},
        "records_per_domain": {"A": {"test": 0, "train": 2}, "B": {"train": 1}},
        "label_counts": {"train": {"2": 1, "10": 2}}, "total_records": 3,
        "rejects_per_reason": {"empty_file": 1}, "rejected_inputs": 1, "inputs": 4,
        "source_sizes": {"4x4": 3}}
    with pytest.raises(TypeError):
        ie.stat_keys("neither")


def test_image_format_validation():
    with pytest.raises(ValueError, match="image_size"):
        ie.ImageFormat(image_size=0)
    with pytest.raises(ValueError, match="channels"):
        ie.ImageFormat(channels=4)
