"""HR bulk enrollment from existing photos where signed paper consents exist.

The CSV header is ``name,reference,photo,consent_scan,signed_on`` (more columns allowed).
``photo`` holds one or more paths separated by ``;``; ``consent_scan`` is the scanned signed
consent (PDF or image); ``signed_on`` an ISO date. Relative paths are relative to the CSV.

Optional columns (issue 13): ``date_of_birth`` (ISO date), ``guardian_name`` (who signed the
paper for a minor) and ``language`` (``en`` or ``zh``, the language of the record; default
``en``). A minor's row without a guardian is refused. A row without a date of birth is recorded
as "adult according to the organisation's records, attested by the importing admin", and the
report counts such rows. The signing date must fall on or after the purpose's first version, and
a consent whose retention (counted from the signing date) already ran out is refused.

A row is all or nothing: every photo must show exactly one face, the scan must be readable and
the face must not already be enrolled (a duplicate is skipped, not merged: a person at the desk
resolves it). Each accepted row is one ``Consents.enroll`` transaction, so a crash mid-import leaves
only whole people behind. Reasons for skipping never quote personal data beyond the row number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.desk_types import EnrollmentRequest, PersonDetails
from app.errors import ConsentDeskError, InvalidInput
from app.models import Guardian, Language, Signature
from app.rooms.consents import Consents

REQUIRED_COLUMNS = ("name", "reference", "photo", "consent_scan", "signed_on")
MAX_SCAN_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
# A paper consent has no on-screen strokes: the scan is the signature.
PAPER_SIGNATURE = Signature(strokes=(), width=0, height=0)


@dataclass(frozen=True)
class SkippedRow:
    row: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped: tuple[SkippedRow, ...]
    person_ids: tuple[str, ...]
    # Imported rows without a date of birth: adults on the organisation's records, attested by
    # the importing admin (issue 13).
    attested_adults: int = 0


Progress = Callable[[int, int], None]


class RowError(Exception):
    """Why one row is skipped; the message is for the operator's report."""


def _resolve(base: Path, text: str) -> Path:
    path = Path(text.strip()).expanduser()
    return path if path.is_absolute() else base / path


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InvalidInput(f"The CSV lacks the column(s): {', '.join(missing)}.")
            reader.fieldnames = header
            rows = []
            for i, row in enumerate(reader):
                if i >= MAX_ROWS:
                    raise InvalidInput(f"The CSV has more than {MAX_ROWS} rows; split it.")
                rows.append({k: (v or "") for k, v in row.items() if k is not None})
            return rows
    except FileNotFoundError:
        raise InvalidInput(f"CSV file not found: {csv_path}") from None
    except UnicodeDecodeError:
        raise InvalidInput("The CSV is not UTF-8 text.") from None
    except csv.Error as exc:
        raise InvalidInput(f"The CSV cannot be read: {exc}") from None


@dataclass(frozen=True)
class _Row:
    person: PersonDetails
    guardian: Guardian | None
    embeddings: list[Any]
    signed_on: dt.date
    scan: bytes
    scan_name: str


def _age_columns(
    consents: Consents, row: dict[str, str]
) -> tuple[dt.date | None, Guardian | None, Language]:
    """The optional date of birth, guardian and language of a row (issue 13)."""
    language = row.get("language", "").strip().lower() or "en"
    if language not in ("en", "zh"):
        raise RowError("language must be en or zh")
    born_text = row.get("date_of_birth", "").strip()
    born = None
    if born_text:
        try:
            born = dt.date.fromisoformat(born_text)
        except ValueError:
            raise RowError("date_of_birth is not an ISO date (YYYY-MM-DD)") from None
        if born > consents.now().date():
            raise RowError("date_of_birth is in the future")
    guardian_name = row.get("guardian_name", "").strip()
    if consents.needs_guardian(born) and not guardian_name:
        raise RowError(
            f"a minor (under {consents.settings.guardian_age()}) needs guardian_name: "
            "the guardian who signed the paper form"
        )
    guardian = Guardian(guardian_name, PAPER_SIGNATURE) if guardian_name else None
    return born, guardian, language  # type: ignore[return-value]


def _prepare(consents: Consents, row: dict[str, str], base: Path, purpose_id: int) -> _Row:
    name = row.get("name", "").strip()
    if not name:
        raise RowError("no name")
    try:
        signed_on = dt.date.fromisoformat(row.get("signed_on", "").strip())
    except ValueError:
        raise RowError("signed_on is not an ISO date (YYYY-MM-DD)") from None
    if signed_on > consents.now().date():
        raise RowError("signed_on is in the future")
    try:  # before the photos are read: the purpose version in force, retention not yet run out
        consents.check_paper_date(purpose_id, signed_on)
    except InvalidInput as exc:
        raise RowError(str(exc)) from None
    born, guardian, language = _age_columns(consents, row)
    scan_text = row.get("consent_scan", "").strip()
    if not scan_text:
        raise RowError("no consent_scan: a signed paper consent is required")
    scan_path = _resolve(base, scan_text)
    try:
        if scan_path.stat().st_size > MAX_SCAN_BYTES:
            raise RowError("the consent scan is larger than 50 MB")
        scan = scan_path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise RowError(f"consent scan not found: {scan_text}") from None
    if not scan:
        raise RowError("the consent scan is empty")
    photos = [p for p in row.get("photo", "").split(";") if p.strip()]
    if not photos:
        raise RowError("no photo")
    embeddings = []
    for text in photos:
        try:
            analysis = consents.faces.analyse_photo(_resolve(base, text))
        except InvalidInput as exc:
            raise RowError(str(exc)) from None
        if analysis.face_count == 0:
            raise RowError(f"no face found in {text.strip()}")
        if analysis.face_count > 1:
            raise RowError(f"{analysis.face_count} faces in {text.strip()}; one person per photo")
        embeddings.append(analysis.single_encoding())
    reference = row.get("reference", "").strip() or None
    person = PersonDetails(
        name,
        reference,
        born,
        language,
        age_basis=None if born else "organisation_records",
    )
    return _Row(person, guardian, embeddings, signed_on, scan, scan_path.name)


def import_people(
    consents: Consents, csv_path: Path, purpose_id: int, progress: Progress | None = None
) -> ImportReport:
    """Enroll every acceptable row through the consents manager (no Desk needed: the import
    is one client of the consents room, like the enrollment wizard)."""
    consents.purposes.get(purpose_id)  # fail before reading photos if the purpose is wrong
    rows = read_rows(Path(csv_path))
    base = Path(csv_path).resolve().parent
    disclosures = {lang: consents.purposes.disclosure(purpose_id, lang) for lang in ("en", "zh")}
    skipped: list[SkippedRow] = []
    ids: list[str] = []
    attested = 0
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        if progress:
            progress(number - 1, len(rows))
        try:
            item = _prepare(consents, row, base, purpose_id)
            warnings = consents.faces.check_duplicates(item.embeddings)
            if warnings:
                kinds = {w.kind for w in warnings}
                what = "already enrolled" if "duplicate" in kinds else "looks like someone enrolled"
                raise RowError(f"{what} ({warnings[0].person_id}); resolve it at the desk")
            result = consents.enroll(
                EnrollmentRequest(
                    person=item.person,
                    purpose_id=purpose_id,
                    disclosure_sha256=disclosures[item.person.language].sha256,
                    signature=PAPER_SIGNATURE,
                    embeddings=item.embeddings,
                    guardian=item.guardian,
                    paper_signed_on=item.signed_on,
                    paper_scan=item.scan,
                    paper_scan_name=item.scan_name,
                )
            )
        except RowError as exc:
            skipped.append(SkippedRow(number, str(exc)))
        except ConsentDeskError as exc:
            skipped.append(SkippedRow(number, str(exc)))
        else:
            ids.append(result.person.id)
            attested += item.person.date_of_birth is None
    return ImportReport(len(ids), tuple(skipped), tuple(ids), attested)
