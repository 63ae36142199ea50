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
resolves it), and several photos in one row must show the same person. Each accepted row is one
``Consents.enroll`` transaction, so a crash mid-import leaves only whole people behind; the duplicate check is repeated inside that transaction, under the
vault's writer lock, so two imports of the same file at once enroll nobody twice. Reasons for
skipping never quote personal data or file names, only the row's line number in the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.bio.thresholds import IMAGE_MAX_FILE_BYTES
from app.desk_types import EnrollmentRequest, PersonDetails
from app.errors import ConsentDeskError, InvalidInput
from app.filecheck import read_regular, text_stream
from app.models import Disclosure, Guardian, Language, Signature
from app.rooms.consents import Consents

if TYPE_CHECKING:
    from app.bio.engine import PhotoAnalysis

REQUIRED_COLUMNS = ("name", "reference", "photo", "consent_scan", "signed_on")
MAX_SCAN_BYTES = 50 * 1024 * 1024
MAX_CSV_BYTES = 64 * 1024 * 1024
MAX_ROWS = 100_000
MAX_PHOTOS_PER_ROW = 10
IMPORT_BATCH_ROWS = 8
"""Rows whose photos are analysed together (one batched encoder run, see _analyse_ahead)."""
# No paper consent to face recognition signed before this date is plausible; 0001-01-01 is a
# typing error, not a date to print on a consent record.
EARLIEST_SIGNED_ON = dt.date(1990, 1, 1)
EARLIEST_BIRTH = dt.date(1900, 1, 1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
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


@dataclass(frozen=True)
class CsvRow:
    """One data row and its line number in the file as a text editor shows it (the header is
    line 1; blank lines count; a quoted field spanning lines is numbered by its first line)."""

    line: int
    values: dict[str, str]


Progress = Callable[[int, int], None]
Analysed = dict[tuple[int, int], "PhotoAnalysis | InvalidInput"]


class RowError(Exception):
    """Why one row is skipped; the message is for the operator's report. It never quotes the
    row's values or file names (a file name may well be a person's name): "photo 2", not
    "maria_lopez.jpg"."""


def _resolve(base: Path, text: str) -> Path:
    path = Path(text.strip()).expanduser()
    return path if path.is_absolute() else base / path


def read_rows(csv_path: Path) -> list[CsvRow]:
    """Every non-blank data row with its physical line number; the header is checked first."""
    stream = text_stream(csv_path, "The CSV file", MAX_CSV_BYTES)
    try:
        reader = csv.reader(stream)
        header: list[str] | None = None
        rows: list[CsvRow] = []
        last = 0
        for fields in reader:
            first, last = last + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue  # a blank line: counted, not a row
            if header is None:
                header = _check_header(fields)
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"The CSV has more than {MAX_ROWS} rows; split it.")
            values = {h: v for h, v in zip(header, fields, strict=False) if h}
            rows.append(CsvRow(first, values))
        if header is None:
            raise InvalidInput("The CSV is empty: it needs a header line.")
        return rows
    except UnicodeDecodeError:
        raise InvalidInput("The CSV is not UTF-8 text.") from None
    except csv.Error as exc:
        raise InvalidInput(f"The CSV cannot be read (line {last + 1}: {exc}).") from None


def _check_header(fields: list[str]) -> list[str]:
    header = [h.strip().lower() for h in fields]
    seen: set[str] = set()
    for h in header:
        if h and h in seen:
            # Which one would count? csv.DictReader silently takes the last: refuse instead.
            raise InvalidInput(f"The CSV has the column {h!r} more than once.")
        seen.add(h)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise InvalidInput(f"The CSV lacks the column(s): {', '.join(missing)}.")
    return header


def parse_signed_on(text: str, today: dt.date) -> dt.date:
    """A plausible signing date: ``YYYY-MM-DD``, not before 1990, not in the future."""
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        raise RowError("signed_on is not an ISO date (YYYY-MM-DD)")
    try:
        signed_on = dt.date.fromisoformat(text)
    except ValueError:
        raise RowError("signed_on is not an ISO date (YYYY-MM-DD)") from None
    if signed_on > today:
        raise RowError("signed_on is in the future")
    if signed_on < EARLIEST_SIGNED_ON:
        raise RowError(f"signed_on is before {EARLIEST_SIGNED_ON.isoformat()}; check the date")
    return signed_on


def _read_scan(base: Path, text: str) -> tuple[bytes, str]:
    """The scan's bytes, parsed and within limits, and the file's extension only."""
    if not text.strip():
        raise RowError("no consent_scan: a signed paper consent is required")
    path = _resolve(base, text)
    try:
        scan = read_regular(path, "The consent scan", MAX_SCAN_BYTES)
        from app.documents.scans import check_scan  # reportlab: loaded by imports only

        info = check_scan(scan)
    except InvalidInput as exc:
        raise RowError(str(exc)) from None
    return scan, f"scan.{info.kind.lower()}"


def _photo_fields(field: str) -> list[str]:
    return [p for p in field.split(";") if p.strip()]


def _read_photo(base: Path, text: str, number: int) -> bytes:
    return read_regular(_resolve(base, text), f"Photo {number}", IMAGE_MAX_FILE_BYTES)


def _analyse_ahead(consents: Consents, base: Path, rows: Sequence[CsvRow]) -> Analysed:
    """The photos of the next few rows read and analysed together: one batched encoder run
    over all their faces instead of one per photo (the encoder is the costliest step after
    detection). Results are keyed by (line, photo number); a photo that cannot be read keeps
    its error, which the row reports exactly as it would have alone. Rows are still checked
    and enrolled one at a time, in order."""
    keys: list[tuple[int, int]] = []
    sources: list[bytes | InvalidInput] = []
    for row in rows:
        photos = _photo_fields(row.values.get("photo", ""))
        if len(photos) > MAX_PHOTOS_PER_ROW:
            continue  # refused without reading them
        for number, text in enumerate(photos, start=1):
            keys.append((row.line, number))
            try:
                sources.append(_read_photo(base, text, number))
            except InvalidInput as exc:
                sources.append(exc)
    if not keys:
        return {}
    return dict(zip(keys, consents.faces.analyse_photos(sources), strict=True))


def _read_photos(
    consents: Consents, base: Path, field: str, line: int = 0, ahead: Analysed | None = None
) -> list[Any]:
    photos = _photo_fields(field)
    if not photos:
        raise RowError("no photo")
    if len(photos) > MAX_PHOTOS_PER_ROW:
        raise RowError(f"more than {MAX_PHOTOS_PER_ROW} photos in one row")
    embeddings: list[Any] = []
    for number, text in enumerate(photos, start=1):
        what = f"photo {number}"
        try:
            done = (ahead or {}).get((line, number))
            if done is None:
                done = consents.faces.analyse_photo(_read_photo(base, text, number))
            if isinstance(done, InvalidInput):
                raise done
            analysis = done
        except InvalidInput as exc:
            detail = str(exc)
            raise RowError(detail if detail.startswith("Photo ") else f"{what}: {detail}") from None
        if analysis.face_count == 0:
            raise RowError(f"no face found in {what}")
        if analysis.face_count > 1:
            raise RowError(f"{analysis.face_count} faces in {what}; one person per photo")
        embeddings.append(analysis.single_encoding())
    try:
        consents.faces.check_same_person(embeddings)
    except InvalidInput as exc:
        raise RowError(str(exc)) from None
    return embeddings


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
        if not _ISO_DATE.fullmatch(born_text):
            raise RowError("date_of_birth is not an ISO date (YYYY-MM-DD)")
        try:
            born = dt.date.fromisoformat(born_text)
        except ValueError:
            raise RowError("date_of_birth is not an ISO date (YYYY-MM-DD)") from None
        if born < EARLIEST_BIRTH:
            raise RowError(f"date_of_birth is before {EARLIEST_BIRTH.isoformat()}; check the date")
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


def _prepare(
    consents: Consents,
    row: dict[str, str],
    base: Path,
    purpose_id: int,
    line: int = 0,
    ahead: Analysed | None = None,
) -> _Row:
    name = row.get("name", "").strip()
    if not name:
        raise RowError("no name")
    signed_on = parse_signed_on(row.get("signed_on", ""), consents.now().date())
    try:  # before the photos are read: the purpose version in force, retention not yet run out
        consents.check_paper_date(purpose_id, signed_on)
    except InvalidInput as exc:
        raise RowError(str(exc)) from None
    born, guardian, language = _age_columns(consents, row)
    scan, scan_name = _read_scan(base, row.get("consent_scan", ""))
    embeddings = _read_photos(consents, base, row.get("photo", ""), line, ahead)
    reference = row.get("reference", "").strip() or None
    person = PersonDetails(
        name,
        reference,
        born,
        language,
        age_basis=None if born else "organisation_records",
    )
    return _Row(person, guardian, embeddings, signed_on, scan, scan_name)


def _disclosure(
    consents: Consents, purpose_id: int, language: Language, cache: dict[Language, Disclosure]
) -> Disclosure:
    if language not in cache:
        cache[language] = consents.purposes.disclosure(purpose_id, language)
    return cache[language]


def import_people(
    consents: Consents, csv_path: Path, purpose_id: int, progress: Progress | None = None
) -> ImportReport:
    """Enroll every acceptable row through the consents manager (no Desk needed: the import
    is one client of the consents room, like the enrollment wizard)."""
    consents.purposes.get(purpose_id)  # fail before reading photos if the purpose is wrong
    rows = read_rows(Path(csv_path))
    base = Path(csv_path).resolve().parent
    disclosures: dict[Language, Disclosure] = {}  # issue-13: a language the purpose lacks
    # refuses only the rows in that language, when they come
    skipped: list[SkippedRow] = []
    ids: list[str] = []
    attested = 0
    first_line_of: dict[str, int] = {}
    ahead: Analysed = {}
    for done, csv_row in enumerate(rows, start=1):
        if (done - 1) % IMPORT_BATCH_ROWS == 0:
            ahead = _analyse_ahead(consents, base, rows[done - 1 : done - 1 + IMPORT_BATCH_ROWS])
        if progress:
            progress(done, len(rows))
        number, row = csv_row.line, csv_row.values
        try:
            reference = row.get("reference", "").strip().casefold()
            if reference and reference in first_line_of:
                raise RowError(f"the same reference as row {first_line_of[reference]}")
            if reference:
                first_line_of[reference] = number
            item = _prepare(consents, row, base, purpose_id, number, ahead)
            warnings = consents.faces.check_duplicates(item.embeddings, purpose_id=purpose_id)
            if warnings:
                kinds = {w.kind for w in warnings}
                what = "already enrolled" if "duplicate" in kinds else "looks like someone enrolled"
                raise RowError(f"{what} ({warnings[0].person_id}); resolve it at the desk")
            result = consents.enroll(
                EnrollmentRequest(
                    person=item.person,
                    purpose_id=purpose_id,
                    disclosure_sha256=_disclosure(
                        consents, purpose_id, item.person.language, disclosures
                    ).sha256,
                    signature=PAPER_SIGNATURE,
                    embeddings=item.embeddings,
                    guardian=item.guardian,
                    paper_signed_on=item.signed_on,
                    paper_scan=item.scan,
                    paper_scan_name=item.scan_name,
                ),
                searched=warnings,  # one audited search per row (issue 13)
            )
        except RowError as exc:
            skipped.append(SkippedRow(number, str(exc)))
        except ConsentDeskError as exc:
            if exc.code == "warnings_unacknowledged":  # enrolled meanwhile by another session
                skipped.append(SkippedRow(number, "already enrolled; resolve it at the desk"))
            else:
                skipped.append(SkippedRow(number, str(exc)))
        else:
            ids.append(result.person.id)
            attested += item.person.date_of_birth is None
    return ImportReport(len(ids), tuple(skipped), tuple(ids), attested)
