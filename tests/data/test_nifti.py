import gzip

import numpy as np
import pytest
from nifti_files import save_nifti

from segenv.data.nifti import CaseFiles, LabelMap, read_case, read_volume, resolve_modalities
from segenv.errors import ConfigError, DataError


def coded_volume(shape_xyz=(4, 3, 2)):
    x, y, z = np.meshgrid(*(np.arange(n) for n in shape_xyz), indexing="ij")
    return (100 * x + 10 * y + z).astype(np.float32)


def test_axes_become_z_y_x_and_spacing_follows(tmp_path):
    data = coded_volume()
    path = save_nifti(tmp_path / "a.nii.gz", data, np.diag([0.5, 2.0, 3.0, 1.0]))
    image, spacing, _ = read_volume(path)
    assert image.shape == (1, 2, 3, 4)  # (M, D=z, H=y, W=x)
    np.testing.assert_array_equal(image[0], data.transpose(2, 1, 0))
    assert image[0, 1, 2, 3] == 100 * 3 + 10 * 2 + 1  # [z, y, x] == data[x, y, z]
    assert spacing == (3.0, 2.0, 0.5)


def test_canonical_reorientation_flips_a_left_pointing_axis(tmp_path):
    data = coded_volume()
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])  # x increases towards Left: flipped to RAS+
    path = save_nifti(tmp_path / "lps.nii.gz", data, affine)
    canonical, _, _ = read_volume(path)
    stored, _, _ = read_volume(path, canonical=False)
    np.testing.assert_array_equal(canonical[0], data[::-1].transpose(2, 1, 0))
    np.testing.assert_array_equal(stored[0], data.transpose(2, 1, 0))


def test_four_d_modality_selection_by_name_and_index(tmp_path):
    data = np.stack([coded_volume() + 1000 * m for m in range(3)], axis=-1)
    path = save_nifti(tmp_path / "mm.nii.gz", data)
    names = {0: "FLAIR", 1: "T1w", 2: "T2w"}
    image, _, _ = read_volume(path, modalities="t2w", modality_names=names)
    np.testing.assert_array_equal(image[0], data[..., 2].transpose(2, 1, 0))
    image, _, _ = read_volume(path, modalities=("FLAIR", 1), modality_names=names)
    assert image.shape == (2, 2, 3, 4) and image[1, 0, 0, 0] == 1000
    with pytest.raises(ConfigError, match=r"modality='T1ce'.*known: 0='FLAIR'"):
        read_volume(path, modalities="T1ce", modality_names=names)
    with pytest.raises(DataError, match=r"mm\.nii\.gz: modality 5"):
        read_volume(path, modalities=5)
    assert resolve_modalities(0, 1, None, "x") == (0,)


def test_label_map_foreground_and_known_values():
    label = np.array([0, 1, 2, 3, 0])
    np.testing.assert_array_equal(LabelMap().apply(label, "f"), [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(LabelMap(foreground=(2,)).apply(label, "f"), [0, 0, 1, 0, 0])
    with pytest.raises(DataError, match=r"lab\.nii: label values \[3\] are outside the mapping"):
        LabelMap(known=(0, 1, 2)).apply(label, "lab.nii")
    with pytest.raises(DataError, match="no foreground voxel"):
        LabelMap(foreground=(7,)).apply(label, "lab.nii")
    with pytest.raises(DataError, match="non-integer"):
        LabelMap().apply(np.array([0.0, 0.5]), "lab.nii")
    with pytest.raises(DataError, match="outside the mapping"):
        LabelMap().apply(np.array([0, -1, 1]), "lab.nii")
    assert LabelMap.parse(2) == LabelMap(foreground=(2,))
    assert LabelMap.parse("nonzero") == LabelMap()
    with pytest.raises(ConfigError, match="not among the known"):
        LabelMap(foreground=(4,), known=(0, 1))


def write_pair(tmp_path, image=None, label=None, image_affine=None, label_affine=None):
    image = coded_volume((6, 5, 4)) if image is None else image
    if label is None:
        label = np.zeros(image.shape[:3], np.uint8)
        label[2:4, 2:4, 1:3] = 1
    files = CaseFiles(
        "c",
        save_nifti(tmp_path / "img.nii.gz", image, image_affine),
        save_nifti(tmp_path / "lab.nii.gz", label, label_affine),
    )
    return files


def test_read_case_returns_binary_label_on_the_image_grid(tmp_path):
    files = write_pair(tmp_path)
    raw = read_case(files)
    assert raw.image.shape == (1, 4, 5, 6) and raw.label.shape == (4, 5, 6)
    assert raw.label.dtype == bool and raw.label.sum() == 8
    assert raw.label[1, 2, 2] and not raw.label[0, 0, 0]


def test_bad_inputs_name_the_file(tmp_path):
    files = write_pair(tmp_path)
    missing = CaseFiles("c", tmp_path / "nope.nii.gz", files.label)
    with pytest.raises(DataError, match=r"nope\.nii\.gz: file not found"):
        read_case(missing)
    bad_shape = write_pair(tmp_path, label=np.ones((6, 5, 3), np.uint8))
    with pytest.raises(DataError, match=r"lab\.nii\.gz: label shape \(6, 5, 3\) does not match"):
        read_case(bad_shape)
    shifted = write_pair(tmp_path, label_affine=np.diag([1.0, 1.0, 2.0, 1.0]))
    with pytest.raises(DataError, match=r"lab\.nii\.gz: affine differs"):
        read_case(shifted)
    image = coded_volume((6, 5, 4))
    image[1, 1, 1] = np.nan
    with pytest.raises(DataError, match=r"img\.nii\.gz: channel 0 has 1 NaN/Inf"):
        read_case(write_pair(tmp_path, image=image))
    image[1, 1, 1] = np.inf
    with pytest.raises(DataError, match="NaN/Inf"):
        read_case(write_pair(tmp_path, image=image))
    empty = write_pair(tmp_path, label=np.zeros((6, 5, 4), np.uint8))
    with pytest.raises(DataError, match=r"lab\.nii\.gz: no foreground voxel"):
        read_case(empty)


def test_truncated_and_garbage_files_name_the_file(tmp_path):
    files = write_pair(tmp_path, image=np.random.default_rng(0).random((30, 30, 20)))
    raw = files.image.read_bytes()
    files.image.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"img\.nii\.gz: .*truncated"):
        read_case(files)
    files.image.write_bytes(gzip.compress(b"not a nifti header" * 30))
    with pytest.raises(DataError, match=r"img\.nii\.gz: cannot read it as NIfTI"):
        read_case(files)
