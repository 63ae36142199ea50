"""The engine on the shared real photos: same templates as face_recognition, one template per
single-face portrait, group photos refused, identities separated at 0.6, EXIF-rotated copies
giving the same template, and the model files found without pkg_resources."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.bio.engine import BioEngine, FaceBox
from app.bio.errors import EngineClosed, FaceCountError
from app.bio.images import load_image
from app.bio.models import find_model_paths, load_dlib_models
from app.bio.thresholds import MATCH_THRESHOLD
from tests.core.test_bio_support import (
    analysis_of,
    bio_engine,  # noqa: F401  (fixture)
    distance,
    manifest,
    single_face_rows,
)


def test_model_files_found_without_importing_face_recognition_models() -> None:
    """On Python 3.12+ without setuptools, importing face_recognition_models fails (it needs
    pkg_resources). Prove we never import it, with pkg_resources made unimportable."""
    code = (
        "import sys; sys.modules['pkg_resources'] = None\n"
        "from app.bio.models import find_model_paths, load_dlib_models\n"
        "paths = find_model_paths(); load_dlib_models(paths)\n"
        "assert 'face_recognition_models' not in sys.modules\n"
        "assert 'face_recognition' not in sys.modules\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "ok"


def test_missing_model_dir_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    from app.bio import models

    monkeypatch.setattr(models, "_package_model_dir", lambda: None)
    monkeypatch.delenv(models.MODEL_DIR_ENV, raising=False)
    with pytest.raises(models.ModelError) as info:
        find_model_paths(tmp_path)
    assert "not found" in info.value.message


def test_templates_equal_face_recognition(faces: Path, bio_engine) -> None:  # noqa: F811
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    fr = pytest.importorskip("face_recognition")
    # Importing face_recognition flips this process-wide Pillow flag; put it back so other
    # tests in this session see Pillow's default (our loader is immune either way).
    ImageFile.LOAD_TRUNCATED_IMAGES = before
    img = fr.load_image_file(str(faces / "obama_1.jpg"))
    locations = fr.face_locations(img)
    theirs = fr.face_encodings(img, locations)
    ours = bio_engine.encode(img, [FaceBox(*loc) for loc in locations])
    assert len(ours) == len(theirs) == 1
    assert ours[0].dtype == np.float32 and ours[0].shape == (128,)
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)


def test_every_single_face_photo_yields_one_template(faces: Path) -> None:
    rows = single_face_rows(faces)
    assert len(rows) >= 15
    for row in rows:
        analysis = analysis_of(faces / row["file"])
        assert analysis.face_count == 1, row["file"]
        template = analysis.single_encoding()
        assert template.shape == (128,) and np.all(np.isfinite(template))


def test_group_photos_are_refused_for_enrollment(faces: Path) -> None:
    groups = [r for r in manifest(faces) if r["faces"] not in ("0", "1")]
    assert groups
    for row in groups:
        analysis = analysis_of(faces / row["file"])
        assert analysis.face_count == int(row["faces"]), row["file"]
        with pytest.raises(FaceCountError) as info:
            analysis.single_encoding()
        assert info.value.code == "several_faces"
        assert info.value.count == int(row["faces"])


def test_identities_separate_at_the_match_threshold(faces: Path) -> None:
    rows = single_face_rows(faces)
    templates = [(r["identity"], analysis_of(faces / r["file"]).single_encoding()) for r in rows]
    same, different = [], []
    for (id_a, a), (id_b, b) in combinations(templates, 2):
        (same if id_a == id_b else different).append(distance(a, b))
    assert same and different
    assert max(same) < MATCH_THRESHOLD
    assert min(different) > MATCH_THRESHOLD


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_copy_gives_the_same_template(
    faces: Path,
    orientation: int,
    bio_engine,  # noqa: F811
) -> None:
    upright = Image.fromarray(load_image(faces / "obama_2.jpg"))
    stored = {
        3: upright.transpose(Image.Transpose.ROTATE_180),
        6: upright.transpose(Image.Transpose.ROTATE_90),  # viewer rotates 90 clockwise
        8: upright.transpose(Image.Transpose.ROTATE_270),  # viewer rotates 90 anticlockwise
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    rotated_buf, upright_buf = io.BytesIO(), io.BytesIO()
    stored.save(rotated_buf, "JPEG", quality=95, exif=exif.tobytes())
    upright.save(upright_buf, "JPEG", quality=95)
    a = bio_engine.analyse_photo(load_image(rotated_buf.getvalue()))
    b = bio_engine.analyse_photo(load_image(upright_buf.getvalue()))
    assert distance(a.single_encoding(), b.single_encoding()) < 0.1


def test_group_faces_match_their_portraits(faces: Path) -> None:
    """The faces found in a group photo are the right people (same decisions as portraits)."""
    obama = analysis_of(faces / "obama_1.jpg").single_encoding()
    biden = analysis_of(faces / "biden_2.jpg").single_encoding()
    group = analysis_of(faces / "group_two_people.jpg").encodings
    assert min(distance(obama, g) for g in group) < MATCH_THRESHOLD
    assert min(distance(biden, g) for g in group) < MATCH_THRESHOLD


def test_landmarks_and_frame_pipeline(faces: Path, bio_engine) -> None:  # noqa: F811
    img = load_image(faces / "obama_480p.jpg")
    frame = bio_engine.analyse_frame(img, encode=True)
    face = frame.single_face()
    assert face.landmarks is not None and face.landmarks.shape == (68, 2)
    box = face.box
    inside = (face.landmarks[:, 0] >= box.left - box.width * 0.3) & (
        face.landmarks[:, 0] <= box.right + box.width * 0.3
    )
    assert inside.all()
    photo = analysis_of(faces / "obama_480p.jpg").single_encoding()
    assert face.encoding is not None and distance(face.encoding, photo) < 0.15


def test_engine_serialises_calls_from_many_threads(faces: Path, bio_engine) -> None:  # noqa: F811
    img = load_image(faces / "obama_small.jpg")
    expected = bio_engine.analyse_photo(img).single_encoding()
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(bio_engine.analyse_photo(img).single_encoding())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(np.array_equal(r, expected) for r in results)
    future = bio_engine.analyse_photo_async(img)
    assert np.array_equal(future.result(timeout=30).single_encoding(), expected)


def test_closed_engine_refuses_work() -> None:
    engine = BioEngine(load_dlib_models(find_model_paths()))
    engine.close()
    with pytest.raises(EngineClosed):
        engine.detect(np.zeros((64, 64, 3), np.uint8))


def test_jitter_is_supported(faces: Path, bio_engine) -> None:  # noqa: F811
    img = load_image(faces / "obama_small.jpg")
    box = bio_engine.detect(img)
    one = bio_engine.encode(img, box)[0]
    jittered = bio_engine.encode(img, box, num_jitters=3)[0]
    assert 0 < distance(one, jittered) < 0.25  # same person, slightly moved template
