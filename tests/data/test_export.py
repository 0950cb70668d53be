import json

import numpy as np

from segenv.data import SyntheticSource
from segenv.data.export import export_msd
from segenv.data.sources import NiftiSource


def test_synthetic_source_round_trips_through_the_msd_layout(tmp_path):
    source = SyntheticSource((6, 12, 14), num_cases=2, num_modalities=2, spacing=(2.0, 1.0, 0.5))
    root = export_msd(source, tmp_path / "Task00_Synthetic", test_cases=[source[0]])
    manifest = json.loads((root / "dataset.json").read_text())
    assert manifest["numTraining"] == 2 and manifest["numTest"] == 1
    assert manifest["modality"] == {"0": "FLAIR", "1": "T1"}
    assert (root / "imagesTs").is_dir()
    loaded = NiftiSource.from_msd(
        root,
        modality=[0, 1],
        shape=None,
        crop=None,
        normalise="none",
        cache_dir=False,
        verbose=False,
    )
    for original, read in zip(source, loaded, strict=True):
        assert read.name == original.name and read.spacing == original.spacing
        np.testing.assert_array_equal(read.image, original.image)
        np.testing.assert_array_equal(read.label, original.label)
