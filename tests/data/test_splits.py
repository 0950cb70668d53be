import json

import pytest

from segenv.data.splits import Splits, three_way_split, two_way_split
from segenv.errors import ConfigError, DataError

NAMES = [f"case_{i:03d}" for i in range(20)]


def test_three_way_split_is_disjoint_complete_and_seeded():
    splits = three_way_split(NAMES, seed=3)
    groups = [set(splits[g]) for g in ("train1", "train2", "test")]
    assert [len(g) for g in groups] == [8, 8, 4]  # MM-WHS in IteR-MRL: 8 / 8 / 4
    assert set().union(*groups) == set(NAMES)
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert three_way_split(list(reversed(NAMES)), seed=3) == splits  # listing order is irrelevant
    assert three_way_split(NAMES, seed=4) != splits


def test_three_way_split_sizes():
    names = [f"b{i}" for i in range(274)]
    brats = three_way_split(names, fractions=(117, 117, 40))
    assert [len(brats[g]) for g in ("train1", "train2", "test")] == [117, 117, 40]
    fixed = three_way_split(NAMES, num_train=5, num_test=3)
    assert [len(fixed[g]) for g in ("train1", "train2", "test")] == [5, 5, 3]
    rest = three_way_split(NAMES, num_train=6)
    assert len(rest["test"]) == 8
    with pytest.raises(ConfigError, match="num_train"):
        three_way_split(NAMES, num_train=10)
    with pytest.raises(ConfigError, match="at least 3"):
        three_way_split(["a", "b"])


def test_two_way_split():
    splits = two_way_split(NAMES, test_fraction=0.25, seed=1)
    assert len(splits["test"]) == 5 and len(splits["train"]) == 15
    assert not set(splits["test"]) & set(splits["train"])


def test_save_load_round_trip_and_bad_files(tmp_path):
    splits = three_way_split(NAMES, seed=2)
    path = splits.save(tmp_path / "sub" / "splits.json")
    assert Splits.load(path) == splits
    assert json.loads(path.read_text())["splits"]["test"] == list(splits["test"])
    with pytest.raises(DataError, match="not found"):
        Splits.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataError, match="not a segenv splits file"):
        Splits.load(tmp_path / "bad.json")
    overlap = {"format": "segenv.splits", "splits": {"train1": ["a"], "test": ["a"]}}
    (tmp_path / "overlap.json").write_text(json.dumps(overlap))
    with pytest.raises(DataError, match=r"overlap\.json: splits are not disjoint.*'a'"):
        Splits.load(tmp_path / "overlap.json")
    with pytest.raises(ConfigError, match="no split named"):
        splits["train3"]
