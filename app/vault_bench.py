"""``consentdesk bench --scale N``: how sign-in, commands, purge and backups behave with N people.

Why built in (issue 12): 100,000 people is the size at which filing with the regulator is
required and a large employer reaches it; what does not scale shows only there. The vault is
built the way real vaults grow: a few people through the real enrollment code (signed consent
forms, templates, audit entries), the rest with the same rows through the same SQL in bulk,
copying the real consent form's bytes so every person carries a real-sized PDF. Then every
figure is measured the way an operator meets it: sign-in with the production KDF, whole CLI
processes (start included) for ``stats``, ``identify``, ``backup`` and ``restore``, peak memory
of the backup process from the kernel (``wait4``).

The keys of :func:`run_vault_bench`'s result are a promise (README table, tests).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from app.db import checkpoint
from app.desk import Desk, DeskOptions, EnrollmentRequest, PersonDetails
from app.models import Signature, SignaturePoint
from app.values import _iso, _new_id

KEYS = (
    "people",
    "vault_kb_per_person",
    "unlock_ms",
    "cli_command_ms",
    "identify_cli_ms",
    "purge_ms_none",
    "purge_ms_1000_expired",
    "backup_ms",
    "backup_peak_rss_mb",
    "restore_ms",
    "full_check_ms",
)
REAL_ENROLLMENTS = 5
BATCH = 2000
# SQLite's page cache (KiB) while the bulk rows go in: the index pages stay decrypted in memory.
BUILD_CACHE_KIB = 256 * 1024
ADMIN = "bench-admin"
PASSWORD = "bench scale password 4 vault"
Progress = Callable[[str], None]


def _signature(seed: int) -> Signature:
    stroke = tuple(
        SignaturePoint(40 + i * 10, 100 + 50 * math.sin(i / 3 + seed), i * 15) for i in range(50)
    )
    return Signature(strokes=(stroke,), width=600, height=200)


def _embedding(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=128).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32)


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return round(statistics.median(samples), 1)


class _Builder:
    """Fills a fresh vault: a few real enrollments, then the same rows in bulk."""

    def __init__(self, home: Path, progress: Progress) -> None:
        self.home = home
        self.progress = progress
        self.options = DeskOptions()  # the production KDF: sign-in is measured as it is
        self.rng = np.random.default_rng(12)

    def build(self, people: int) -> None:
        from app.compliance.service import Compliance
        from app.compliance.types import NecessityAnswers

        desk, _ = Desk.initialise(self.home, "Scale Bench", ADMIN, PASSWORD, options=self.options)
        try:
            purpose = desk.add_purpose(
                title="Building entrance",
                controller="Scale Bench",
                contact="privacy@bench.example",
                retention_days=3650,
                alternative="Access card from the front desk",
            )
            Compliance(desk).assess_purpose(
                purpose.id,
                NecessityAnswers(
                    necessity="Hands-free entry at all hours; the lobby has no night staff.",
                    why_not_alternative="Cards are lent and lost; cards remain available.",
                    scenario="building_access",
                    access="Front-desk staff only",
                ),
            )
            real = min(REAL_ENROLLMENTS, people)
            for i in range(real):
                self._enroll(desk, purpose.id, i)
            self.progress(f"{real} people enrolled through the real code")
            self._bulk(desk, people - real)
        finally:
            desk.lock()

    def _pair(self) -> list[list[float]]:
        """Two captures of one face: the same template with a little noise (several photos
        of two different people are refused, issue 11)."""
        first = _embedding(self.rng)
        second = first + self.rng.normal(scale=0.005, size=128).astype(np.float32)
        return [first.tolist(), second.tolist()]

    def _enroll(self, desk: Desk, purpose_id: int, i: int) -> None:
        disclosure = desk.disclosure(purpose_id, "en")
        desk.enroll(
            EnrollmentRequest(
                person=PersonDetails(
                    f"Bench Person {i:06d}", f"REF-{i:06d}", None, "en", "id_document_seen"
                ),
                purpose_id=purpose_id,
                disclosure_sha256=disclosure.sha256,
                signature=_signature(i),
                embeddings=self._pair(),
                acknowledged_warnings=True,
            )
        )

    def _bulk(self, desk: Desk, count: int) -> None:
        """The rows an enrollment writes, copied from a real one with new IDs and names.

        Issue 12: built a batch at a time (the rows of :data:`BATCH` people prepared first,
        then one multi-row insert per table and one chained, signed audit append), with a
        large page cache and ``synchronous = NORMAL`` while the bulk runs. The rows, indexes,
        triggers and consent-form bytes are exactly those of the per-row copy it replaces;
        only the Python and SQLite work per row is less."""
        s = desk.session
        conn = s.conn
        tables = {"people": "id = ?", "consents": "person_id = ?", "documents": "person_id = ?"}
        model_id = conn.execute("SELECT id FROM people ORDER BY created_at LIMIT 1").fetchone()[0]
        models: dict[str, list[dict[str, Any]]] = {}
        for table, where in tables.items():
            cur = conn.execute(f"SELECT * FROM {table} WHERE {where}", (model_id,))
            names = [d[0] for d in cur.description]
            models[table] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        now = s.now()
        restore = {
            p: conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("cache_size", "synchronous")
        }
        # Durability of a throwaway vault mid-build is worth nothing, and the pages go
        # straight into the file instead of through the WAL and a checkpoint (written once,
        # not twice); the file is the same. WAL mode is back before anything is measured.
        checkpoint(conn)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(f"PRAGMA cache_size = -{BUILD_CACHE_KIB}")
        conn.execute("PRAGMA synchronous = OFF")
        try:
            done = 0
            while done < count:
                n = min(BATCH, count - done)
                rows = _BatchRows(models, self.rng, now)
                for k in range(done, done + n):
                    rows.add(k + REAL_ENROLLMENTS)
                with s.write() as c:
                    rows.insert(c)
                    s.audit.append_many(ADMIN, rows.audit, at=now)
                done += n
                if done % 10000 == 0 or done == count:
                    self.progress(f"{done + REAL_ENROLLMENTS} people in the vault")
        finally:
            for pragma, value in restore.items():
                conn.execute(f"PRAGMA {pragma} = {int(value)}")
            conn.execute("PRAGMA journal_mode = WAL")


class _BatchRows:
    """The rows of a batch of bulk people, collected per table for one multi-row insert each."""

    def __init__(
        self, models: Mapping[str, list[dict[str, Any]]], rng: np.random.Generator, now: Any
    ) -> None:
        self._models = models
        self._rng = rng
        self._at = _iso(now)
        self.rows: dict[str, list[tuple[Any, ...]]] = {
            "people": [], "consents": [], "templates": [], "documents": []
        }  # fmt: skip
        self.audit: list[tuple[str, str | None, Mapping[str, Any]]] = []
        self._columns = {t: tuple(models[t][0]) for t in ("people", "consents", "documents")}

    def add(self, i: int) -> None:
        pid = _new_id("P")
        name = f"Bench Person {i:06d}"
        person = dict(self._models["people"][0], id=pid, name=name, reference=f"REF-{i:06d}")
        if "name_fold" in person:
            person["name_fold"] = name.casefold()
        self.rows["people"].append(tuple(person.values()))
        for consent in self._models["consents"]:
            cid = _new_id("C")
            self.rows["consents"].append(tuple(dict(consent, id=cid, person_id=pid).values()))
            for e in _pair_bytes(self._rng):
                self.rows["templates"].append((cid, pid, e, self._at))
            for doc in self._models["documents"]:
                if doc.get("consent_id") == consent["id"]:
                    row = dict(doc, id=secrets.token_hex(8), person_id=pid, consent_id=cid)
                    self.rows["documents"].append(tuple(row.values()))
            self.audit.append(("consent.grant", pid, {"consent": cid, "bulk": True}))

    def insert(self, conn: Any) -> None:
        """Parents first, as an enrollment does: foreign keys and triggers see the same order."""
        for table in ("people", "consents"):
            _insert_many(conn, table, self._columns[table], self.rows[table])
        conn.executemany(
            "INSERT INTO templates (consent_id, person_id, embedding, created_at) VALUES (?,?,?,?)",
            self.rows["templates"],
        )
        _insert_many(conn, "documents", self._columns["documents"], self.rows["documents"])


def _pair_bytes(rng: np.random.Generator) -> list[bytes]:
    """Two captures of one face as stored (float32 little-endian), like :meth:`_Builder._pair`."""
    first = rng.normal(size=128).astype(np.float32)
    first /= np.linalg.norm(first)
    second = first + rng.normal(scale=0.005, size=128).astype(np.float32)
    return [first.astype("<f4").tobytes(), second.astype("<f4").tobytes()]


def _insert_many(
    conn: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    cols = ",".join(columns)
    marks = ",".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


# ---------------------------------------------------------------------- measuring
def _cli_env(home: Path) -> dict[str, str]:
    """The environment of a measured CLI process. Bytecode is used and kept (``__pycache__``,
    ignored by git) even when the caller's shell sets PYTHONDONTWRITEBYTECODE: an installed
    ConsentDesk runs from bytecode, and compiling every module at every start (1.3 s of a
    3.3 s ``stats`` at 10,000 people) is not what an operator waits for."""
    env = {
        **os.environ,
        "CONSENTDESK_USER": ADMIN,
        "CONSENTDESK_PASSWORD": PASSWORD,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def _compile_bytecode(home: Path) -> None:
    """Compile the app's modules once, unmeasured, as an installation does."""
    app_dir = str(Path(__file__).resolve().parent)
    cmd = [sys.executable, "-m", "compileall", "-q", app_dir]
    subprocess.run(cmd, env=_cli_env(home), stdout=subprocess.DEVNULL, check=False)


# Starts the measured command and reports its wall time and its own peak RSS. Why a launcher:
# Linux keeps a process's peak RSS across exec, and a child started straight from this process
# (vfork, shared memory) took this process's peak as its own: the builder's page cache made a
# 105 MB backup read as 436 MB. The launcher is small, and the command it forks starts afresh.
_LAUNCHER = r"""
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read()
_pid, status, usage = os.wait4(proc.pid, 0)
wall = (time.perf_counter() - t0) * 1000.0
sys.stderr.buffer.write(err[-2000:])
rc = os.waitstatus_to_exitcode(status)
print(json.dumps({"wall_ms": wall, "rss_mb": usage.ru_maxrss / 1024.0, "rc": rc}))
"""


def _peak_rss_of(home: Path, *args: str) -> tuple[float, float]:
    """Run one CLI process and return (wall ms, its own peak RSS in MB via wait4)."""
    env = _cli_env(home)
    cmd = [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "app"]
    cmd += ["--home", str(home), "--json", *args]
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    err = proc.stderr.decode(errors="replace")
    try:
        report = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"{args[0]} could not be measured: {err.strip()[-300:]}") from None
    if report["rc"] != 0:
        raise RuntimeError(f"{args[0]} failed: {err.strip()[-300:]}")
    return float(report["wall_ms"]), float(report["rss_mb"])


def _face_photo(testdata: Path | None) -> Path | None:
    for folder in (testdata, Path(os.environ.get("CONSENTDESK_TESTDATA", ""))):
        if folder and (Path(folder) / "faces" / "obama_1.jpg").is_file():
            return Path(folder) / "faces" / "obama_1.jpg"
    return None


def run_vault_bench(
    people: int,
    *,
    testdata: Path | None = None,
    workdir: Path | None = None,
    progress: Progress | None = None,
    keep: Path | None = None,
) -> dict[str, float | int | None]:
    """Build a vault of ``people`` in a temporary folder, measure, delete it; see :data:`KEYS`.

    ``keep``: build in that new folder instead and leave the measured vault there, so the
    window can be looked at signing in to the same vault (issue 12's "registry within 2 s")."""
    say = progress or (lambda _m: None)
    if people < 1:
        raise ValueError("people must be at least 1")
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=False)
        root = keep
    else:
        root = Path(tempfile.mkdtemp(prefix="consentdesk-scale-", dir=workdir))
    try:
        home = root / "vault"
        _Builder(home, say).build(people)
        result: dict[str, float | int | None] = dict.fromkeys(KEYS)
        result["people"] = people
        db = home / "vault.db"
        result["vault_kb_per_person"] = round(db.stat().st_size / 1024 / people, 1)
        opts = DeskOptions(auto_purge=True)
        say("measuring sign-in")
        result["unlock_ms"] = _median_ms(
            lambda: Desk.unlock(home, ADMIN, PASSWORD, options=opts).lock(), 3
        )
        _compile_bytecode(home)
        say("measuring a whole 'stats' process")
        result["cli_command_ms"] = round(
            statistics.median(_peak_rss_of(home, "stats")[0] for _ in range(3)), 1
        )
        photo = _face_photo(testdata)
        if photo is not None:
            say("measuring a whole 'identify' process")
            result["identify_cli_ms"] = round(  # median of three, as the stats process
                statistics.median(_peak_rss_of(home, "identify", str(photo))[0] for _ in range(3)),
                1,
            )
        desk = Desk.unlock(home, ADMIN, PASSWORD, options=DeskOptions(auto_purge=False))
        try:
            say("measuring purges")
            result["purge_ms_none"] = _median_ms(desk.purge_expired, 5)
            expire = min(1000, people)
            with desk.session.write() as conn:
                conn.execute(
                    "UPDATE consents SET expires_at = ? WHERE id IN (SELECT id FROM consents "
                    "WHERE status = 'active' ORDER BY id LIMIT ?)",
                    (_iso(desk.session.now().replace(year=2000)), expire),
                )
            t0 = time.perf_counter()
            purged = desk.purge_expired()
            result["purge_ms_1000_expired"] = round((time.perf_counter() - t0) * 1000.0, 1)
            if len(purged.expired_consents) != expire:
                raise RuntimeError("the purge did not expire what was due")
            say("measuring the full integrity check")
            result["full_check_ms"] = round(desk.full_check().seconds * 1000.0, 1)
        finally:
            desk.lock()
        backup = root / "scale.cdbackup"
        say("measuring backup and restore")
        result["backup_ms"], rss = _peak_rss_of(home, "backup", str(backup))
        result["backup_ms"] = round(float(result["backup_ms"] or 0), 1)
        result["backup_peak_rss_mb"] = round(rss, 1)
        restore_ms, _ = _peak_rss_of(home, "restore", str(backup))
        result["restore_ms"] = round(restore_ms, 1)
        return result
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
        else:
            (root / "scale.cdbackup").unlink(missing_ok=True)


def result_json(result: Mapping[str, object]) -> str:
    return json.dumps({k: result[k] for k in KEYS})
