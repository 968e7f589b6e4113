"""IDX reading and writing: round trips and every kind of damaged file."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from snn_rram import SnnRramError
from snn_rram.datasets import read_idx, write_idx


def idx_bytes(array: np.ndarray, dtype_byte: int = 0x08) -> bytes:
    header = bytes([0, 0, dtype_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


IMAGES = np.arange(3 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(3, 28, 28)


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.array([7, 0, 255, 3], dtype=np.uint8),
        IMAGES,
        np.zeros((0, 28, 28), dtype=np.uint8),
        np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5),
    ],
    ids=["labels", "images", "empty", "4d"],
)
def test_round_trip(tmp_path: Path, name: str, array: np.ndarray) -> None:
    path = write_idx(tmp_path / name, array)
    assert path == tmp_path / name
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = read_idx(path)
    assert back.dtype == np.uint8
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


@settings(max_examples=25, deadline=None)
@given(
    array=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)),
    compress=st.booleans(),
)
def test_round_trip_property(tmp_path_factory, array: np.ndarray, compress: bool) -> None:
    path = tmp_path_factory.mktemp("idx") / "x"
    write_idx(path, array, compress=compress)
    np.testing.assert_array_equal(read_idx(path), array)


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    # gzip data under a plain name, plain data under a .gz name: both read correctly
    write_idx(tmp_path / "plain-name", IMAGES, compress=True)
    write_idx(tmp_path / "gz-name.gz", IMAGES, compress=False)
    assert (tmp_path / "plain-name").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "gz-name.gz").read_bytes()[:4] == b"\x00\x00\x08\x03"
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), IMAGES)
    np.testing.assert_array_equal(read_idx(tmp_path / "gz-name.gz"), IMAGES)


def test_reads_files_written_by_others(tmp_path: Path) -> None:
    # an independent encoder: the header built by hand, gzip by the standard library
    (tmp_path / "hand.gz").write_bytes(gz(idx_bytes(IMAGES)))
    np.testing.assert_array_equal(read_idx(tmp_path / "hand.gz"), IMAGES)


def test_gzip_output_is_deterministic(tmp_path: Path) -> None:
    a = write_idx(tmp_path / "a.gz", IMAGES).read_bytes()
    b = write_idx(tmp_path / "b.gz", IMAGES).read_bytes()
    assert a == b


def test_write_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    write_idx(path, IMAGES)
    write_idx(path, IMAGES[:1])
    assert read_idx(path).shape == (1, 28, 28)
    assert [p.name for p in tmp_path.iterdir()] == ["x.gz"]


@pytest.mark.parametrize(
    "array, match",
    [
        (IMAGES.astype(np.int16), "uint8"),
        ([1, 2, 3], "uint8"),
        (np.array(3, dtype=np.uint8), "dimensions"),
        (np.uint8(3), "not a numpy array"),
    ],
)
def test_write_refuses_bad_arrays(tmp_path: Path, array, match: str) -> None:
    with pytest.raises(SnnRramError, match=match):
        write_idx(tmp_path / "x", array)
    assert list(tmp_path.iterdir()) == []


def test_write_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SnnRramError, match="folder .* does not exist"):
        write_idx(tmp_path / "no" / "x.gz", IMAGES)


GOOD = idx_bytes(IMAGES)

CORRUPT = {
    "empty file": (b"", "truncated header"),
    "magic cut short": (GOOD[:3], "truncated header"),
    "bad magic": (b"\x01\x02" + GOOD[2:], "bad magic number"),
    "text file": (b"P5\n28 28\n255\n" + bytes(784), "bad magic number"),
    "float32 type byte": (idx_bytes(IMAGES.astype(np.float32), 0x0D), r"0x0d \(float"),
    "int32 type byte": (idx_bytes(IMAGES.astype(">i4"), 0x0C), r"0x0c \(int"),
    "unknown type byte": (b"\x00\x00\x42\x01" + struct.pack(">I", 1) + b"x", "not an IDX type"),
    "zero dimensions": (b"\x00\x00\x08\x00", "number of dimensions is 0"),
    "dimension sizes cut": (GOOD[:10], "truncated header"),
    "data cut by one byte": (GOOD[:-1], "truncated data"),
    "data cut in half": (GOOD[: len(GOOD) // 2], "truncated data"),
    "huge announced shape": (
        b"\x00\x00\x08\x03" + struct.pack(">3I", 2**31, 2**31, 2**31) + bytes(100),
        "truncated data|more than the limit of 4 GiB",
    ),
    "one trailing byte": (GOOD + b"\x00", "1 trailing byte"),
    "trailing garbage": (GOOD + b"garbage!", "8 trailing byte"),
}


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("case", list(CORRUPT), ids=list(CORRUPT))
def test_corrupt_idx_is_an_error_naming_the_file(
    tmp_path: Path, case: str, compressed: bool
) -> None:
    data, match = CORRUPT[case]
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(gz(data) if compressed else data)
    with pytest.raises(SnnRramError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


GZ = gz(GOOD)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]


BAD_GZIP = {
    "stream cut short": GZ[: len(GZ) // 2],
    "trailer missing": GZ[:-8],
    "CRC wrong": _flip(GZ, len(GZ) - 6),
    "length field wrong": _flip(GZ, len(GZ) - 2),
    "deflate data damaged": GZ[:20] + bytes(40) + GZ[60:],
    "garbage after the stream": GZ + b"not gzip",
    "gzip magic only": b"\x1f\x8b",
    "bad compression method": GZ[:2] + b"\x07" + GZ[3:],
}


@pytest.mark.parametrize("case", list(BAD_GZIP), ids=list(BAD_GZIP))
def test_bad_gzip_is_an_error_naming_the_file(tmp_path: Path, case: str) -> None:
    path = tmp_path / "broken-idx3-ubyte.gz"
    path.write_bytes(BAD_GZIP[case])
    with pytest.raises(SnnRramError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    assert "gzip" in message or "truncated" in message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SnnRramError, match="no such file") as info:
        read_idx(tmp_path / "absent.gz")
    assert "absent.gz" in str(info.value)
    with pytest.raises(SnnRramError, match="directory"):
        read_idx(tmp_path)
