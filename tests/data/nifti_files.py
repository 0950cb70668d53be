"""Writers of tiny NIfTI data sets (nibabel, into tmp_path; no downloads)."""

import json

import nibabel as nib
import numpy as np


def save_nifti(path, data, affine=None):
    """Write ``data`` (already in nibabel's (x, y, z[, M]) order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data), np.eye(4) if affine is None else affine), path)
    return path


def blob_pair(seed, shape_xyz=(20, 18, 12), modalities=1, label_values=(0, 1)):
    """An image (x, y, z[, M]) with a bright box and its integer label map."""
    rng = np.random.default_rng(seed)
    label = np.zeros(shape_xyz, dtype=np.uint8)
    x0, y0, z0 = (int(rng.integers(2, max(3, n // 3))) for n in shape_xyz)
    label[x0 : x0 + 6, y0 : y0 + 5, z0 : z0 + 4] = label_values[1]
    if len(label_values) > 2:
        label[x0 : x0 + 2, y0 : y0 + 2, z0 : z0 + 2] = label_values[2]
    base = rng.normal(10.0, 1.0, size=(*shape_xyz, modalities)).astype(np.float32)
    base += 5.0 * (label > 0)[..., None] * np.arange(1, modalities + 1, dtype=np.float32)
    base[:1] = 0.0  # a zero border, so "crop to the non-zero box" has something to do
    image = base[..., 0] if modalities == 1 else base
    return image, label


def write_msd(
    root,
    num_cases=4,
    *,
    modalities=("FLAIR",),
    labels=None,
    affine=None,
    shape_xyz=(20, 18, 12),
    label_values=(0, 1),
):
    """An MSD task folder with ``dataset.json``; returns the root."""
    entries = []
    for i in range(num_cases):
        image, label = blob_pair(i, shape_xyz, len(modalities), label_values)
        name = f"case_{i:03d}.nii.gz"
        save_nifti(root / "imagesTr" / name, image, affine)
        save_nifti(root / "labelsTr" / name, label, affine)
        entries.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    manifest = {
        "name": "TinyTask",
        "modality": {str(i): m for i, m in enumerate(modalities)},
        "labels": labels or {str(v): f"class{v}" for v in label_values},
        "training": entries,
        "test": [],
    }
    (root / "dataset.json").write_text(json.dumps(manifest))
    return root
