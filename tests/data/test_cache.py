import os

import numpy as np

from segenv.data.cache import CacheStatus, VolumeCache, file_fingerprint, settings_hash


def arrays():
    return {"image": np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4), "label": np.eye(3) > 0}


def test_round_trip_and_misses(tmp_path):
    cache = VolumeCache(tmp_path / "c")
    assert cache.load("a", "k", "f")[0] is CacheStatus.MISSING
    path = cache.save("a", "k", "f", arrays(), {"note": 1})
    status, loaded, extra = cache.load("a", "k", "f")
    assert status is CacheStatus.HIT and extra == {"note": 1}
    for key, value in arrays().items():
        np.testing.assert_array_equal(loaded[key], value)
    assert cache.load("a", "k", "other fingerprint")[0] is CacheStatus.STALE
    assert cache.load("a", "other settings", "f")[0] is CacheStatus.MISSING
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left over


def test_corruption_is_detected(tmp_path):
    cache = VolumeCache(tmp_path)
    path = cache.save("a", "k", "f", arrays())
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))
    assert cache.load("a", "k", "f")[0] is CacheStatus.CORRUPT
    cache.save("a", "k", "f", arrays())
    data = bytearray(path.read_bytes())
    offset = data.find(np.float32(5).tobytes())  # flip a stored voxel, keep the zip valid
    data[offset : offset + 4] = np.float32(6).tobytes()
    path.write_bytes(bytes(data))
    assert cache.load("a", "k", "f")[0] is CacheStatus.CORRUPT


def test_fingerprint_and_settings_hash(tmp_path):
    source = tmp_path / "x.nii.gz"
    source.write_bytes(b"abc")
    before = file_fingerprint([source])
    os.utime(source, ns=(1, 2))
    assert file_fingerprint([source]) != before
    assert settings_hash({"a": 1, "b": [2]}) == settings_hash({"b": [2], "a": 1})
    assert settings_hash({"a": 1}) != settings_hash({"a": 2})
