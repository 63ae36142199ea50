"""Gallery: 1:N search equals brute force, incremental add/remove, warnings, blobs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.bio.gallery import Gallery, template_from_blob, template_to_blob


def _brute(ids: list[str], mat: np.ndarray, q: np.ndarray, k: int) -> list[tuple[str, float]]:
    d = np.linalg.norm(mat.astype(np.float64) - q.astype(np.float64), axis=1)
    best: dict[str, float] = {}
    for pid, dist in zip(ids, d, strict=True):
        best[pid] = min(best.get(pid, np.inf), float(dist))
    return sorted(best.items(), key=lambda x: x[1])[:k]


def _random(n: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, 128)) * 0.09).astype(np.float32)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(1, 4), min_size=1, max_size=40),
    k=st.integers(1, 8),
    seed=st.integers(0, 10_000),
    remove=st.lists(st.integers(0, 39), max_size=10),
)
def test_search_equals_brute_force(counts: list[int], k: int, seed: int, remove: list[int]) -> None:
    mats = [_random(c, seed + i) for i, c in enumerate(counts)]
    g = Gallery(capacity=16)  # small: forces growth
    for i, m in enumerate(mats):
        g.add(f"p{i}", m)
    for r in remove:
        g.remove(f"p{r}")  # idempotent for unknown / already removed
    ids, rows = [], []
    for i, m in enumerate(mats):
        if i not in remove:
            ids += [f"p{i}"] * len(m)
            rows.append(m)
    assert len(g) == len(ids) and g.person_count == len(set(ids))
    q = _random(1, seed + 999)[0]
    hits = g.search(q, k)
    if not ids:
        assert hits == []
        return
    expected = _brute(ids, np.concatenate(rows), q, k)
    assert [h.person_id for h in hits] == [e[0] for e in expected]
    assert np.allclose([h.distance for h in hits], [e[1] for e in expected], atol=1e-4)


def test_incremental_updates_and_erasure_leaves_no_trace() -> None:
    g = Gallery(capacity=16)
    a, b, c = _random(3, 1), _random(2, 2), _random(4, 3)
    g.add("a", a)
    g.add("b", b)
    g.add("c", c)
    assert g.remove("b") == 2 and "b" not in g and len(g) == 7
    assert g.search(b[0], 1)[0].person_id != "b"

    def rows(m: np.ndarray) -> list[list[float]]:
        return sorted(m.tolist())

    assert rows(g.templates_of("c")) == rows(c)  # rows moved, content intact
    tail = g._mat[len(g) :]  # the vacated rows are zeroed
    assert not tail.any()
    assert g.search(c[2], 1)[0].distance == pytest.approx(0.0, abs=1e-3)
    assert g.replace("a", a[:1]) == 1 and len(g.templates_of("a")) == 1
    assert g.remove("nobody") == 0


def test_identify_threshold_and_enrollment_warnings() -> None:
    base = _random(1, 5)[0]
    direction = _random(1, 6)[0]
    direction /= np.linalg.norm(direction)
    g = Gallery()
    g.add("same", base + direction * 0.3)  # a duplicate at 0.3
    g.add("lookalike", base + direction * 0.62)  # 0.62: within 0.6 + 0.05
    g.add("far", base + direction * 0.9)
    assert [h.person_id for h in g.identify(base)] == ["same"]
    warnings = g.enrollment_warnings([base])
    assert [(w.kind, w.person_id) for w in warnings] == [
        ("duplicate", "same"),
        ("lookalike", "lookalike"),
    ]
    assert warnings[0].distance == pytest.approx(0.3, abs=1e-4)
    again = g.enrollment_warnings([base], person_id="same")  # re-enrolling "same"
    assert [w.person_id for w in again] == ["lookalike"]
    assert g.enrollment_warnings([base], margin=0.0)[-1].person_id == "same"


def test_blobs_round_trip_and_bulk_load() -> None:
    mat = _random(50, 9)
    rows = [(f"p{i // 5}", template_to_blob(mat[i])) for i in range(50)]
    g = Gallery.from_blobs(rows)
    assert len(g) == 50 and g.person_count == 10
    assert np.array_equal(template_from_blob(rows[7][1]), mat[7])
    hits = g.search(mat[23], 3)
    assert hits[0].person_id == "p4" and hits[0].distance < 1e-3
    g.add("new", mat[:2])  # incremental after a bulk load
    assert len(g) == 52
    with pytest.raises(ValueError):
        template_to_blob(np.full(128, np.nan, np.float32))
    with pytest.raises(ValueError):
        Gallery.from_blobs([("x", b"short")])
    assert Gallery.from_blobs([]).search(mat[0]) == []


def test_a_packed_read_is_searched_in_place_and_copied_at_the_first_change() -> None:
    """from_packed keeps the vault's bytes as a read-only matrix (no 100 MB copy at 100,000
    people); removing or adding a person first makes it the gallery's own, and a removed
    person's rows are zeroed there as always."""
    mat = _random(40, 11)
    ids = [f"p{i // 4}" for i in range(40)]
    packed = b"".join(template_to_blob(row) for row in mat)
    g = Gallery.from_packed(ids, packed)
    assert len(g) == 40 and g.person_count == 10
    assert g.search(mat[13], 1)[0].person_id == "p3"
    assert g.remove("p3") == 4
    assert "p3" not in g and len(g) == 36
    assert not g._mat[36:40].any()  # the vacated tail is zeroed in the gallery's own copy
    assert all(h.person_id != "p3" for h in g.search(mat[13], 10))
    assert g.add("p3", mat[12:14]) == 2 and g.search(mat[13], 1)[0].person_id == "p3"
    assert packed == b"".join(template_to_blob(row) for row in mat)  # the read is untouched
    fresh = Gallery.from_packed(ids, packed)
    fresh.add("late", mat[:1])  # adding first also copies
    assert len(fresh) == 41 and fresh.search(mat[0], 1)[0].distance < 1e-3
    with pytest.raises(ValueError):
        Gallery.from_packed(ids, packed[:-1])


def test_concurrent_enroll_erase_and_search() -> None:
    import threading

    g = Gallery.from_arrays([f"p{i}" for i in range(500)], _random(500, 21))
    probes = _random(20, 22)
    errors: list[BaseException] = []
    stop = threading.Event()

    def searcher() -> None:
        try:
            while not stop.is_set():
                for q in probes:
                    for hit in g.search(q, 5):
                        assert hit.person_id  # never a freed slot
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(300):
        g.add(f"new{i}", _random(2, 100 + i))
        g.remove(f"p{i}")
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(g) == 200 + 600 and g.person_count == 500
