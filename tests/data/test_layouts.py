import json

import numpy as np
import pytest
from nifti_files import blob_pair, save_nifti, write_msd

from segenv.data.layouts import detect_layout, msd_layout, paired_layout
from segenv.errors import ConfigError, DataError


def test_msd_layout_reads_manifest_and_rejects_listed_missing_files(tmp_path):
    root = write_msd(tmp_path / "T", 3, modalities=("FLAIR", "T1w"), label_values=(0, 1, 2))
    (root / "labelsTr" / "case_001.nii.gz").unlink()
    layout = msd_layout(root)
    assert [f.name for f in layout.files] == ["case_000", "case_002"]
    assert layout.modality_names == {0: "FLAIR", 1: "T1w"}
    assert layout.label_values == (0, 1, 2)
    (rejection,) = layout.rejected
    assert rejection.name == "case_001"
    assert "labelsTr/case_001.nii.gz: listed in dataset.json but missing" in rejection.reason


def test_msd_layout_errors(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        msd_layout(tmp_path / "absent")
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(DataError, match=r"dataset\.json: not valid JSON"):
        msd_layout(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"training": [{"image": "x"}]}))
    with pytest.raises(DataError, match="training entry 0"):
        msd_layout(tmp_path)


def test_msd_without_manifest_pairs_by_file_name(tmp_path):
    root = write_msd(tmp_path / "T", 2)
    (root / "dataset.json").unlink()
    layout = detect_layout(root)
    assert [f.name for f in layout.files] == ["case_000", "case_001"]


def test_pairs_from_subfolders_tags_globs_and_lists(tmp_path):
    image, label = blob_pair(0)
    save_nifti(tmp_path / "a" / "images" / "p1.nii.gz", image)
    save_nifti(tmp_path / "a" / "labels" / "p1.nii.gz", label)
    save_nifti(tmp_path / "a" / "images" / "p2.nii.gz", image)  # no label: rejected
    layout = paired_layout(tmp_path / "a")
    assert [f.name for f in layout.files] == ["p1"]
    assert [(r.name, r.reason) for r in layout.rejected] == [("p2", "image without a label file")]

    save_nifti(tmp_path / "b" / "x_image.nii", image)
    save_nifti(tmp_path / "b" / "x_seg.nii", label)
    assert [f.name for f in paired_layout(tmp_path / "b").files] == ["x"]

    for case in ("BraTS_001", "BraTS_002"):  # BraTS 2020: <case>/<case>_flair.nii
        save_nifti(tmp_path / "c" / case / f"{case}_flair.nii", image)
        save_nifti(tmp_path / "c" / case / f"{case}_seg.nii", label)
    layout = paired_layout(tmp_path / "c", image_glob="*/*_flair", label_glob="*/*_seg")
    assert [f.name for f in layout.files] == ["BraTS_001", "BraTS_002"]
    assert layout.files[0].label.name == "BraTS_001_seg.nii"

    listed = paired_layout(pairs=[(tmp_path / "b" / "x_image.nii", tmp_path / "b" / "x_seg.nii")])
    assert listed.files[0].name == "x_image"
    with pytest.raises(ConfigError, match="same number of"):
        paired_layout(tmp_path / "c", image_glob="*/*_flair", label_glob="seg")
    with pytest.raises(DataError, match="no image/label pairs"):
        (tmp_path / "empty").mkdir()
        paired_layout(tmp_path / "empty")
    assert np.all(label >= 0)
