"""Stored documents: the ``documents`` table, the PDF maker and checking a PDF handed back.

Every document the workstation issues is signed with the workstation key and kept in the vault
(until the person is erased), so a paper copy brought back later can be checked against it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Literal

from app.db import Connection, Row, fetch_all, fetch_one
from app.desk_types import DocumentCheck
from app.errors import InvalidInput, NotFound, VaultError
from app.models import AuditVerification, DocumentInfo, DocumentKind, Language
from app.rooms.purposes import Purposes
from app.session import Session
from app.stored import document_of
from app.stored import store as store_document
from app.values import _dt, _iso

if TYPE_CHECKING:  # building the maker registers fonts: imported on first use only
    from app.documents.maker import DocumentMaker
    from app.ledger import LedgerEntry
    from app.org_authority import RootCertificate
    from app.printed_check import PrintedCheck

DOC_SQL = (
    "SELECT id, kind, person_id, consent_id, created_at, sha256, filename, "
    "coalesce(size, length(content)) AS size, language FROM documents "
)


class Archive:
    """Makes, stores, lists and verifies the signed PDFs."""

    def __init__(
        self, session: Session, purposes: Purposes, maker: DocumentMaker | None = None
    ) -> None:
        self._s = session
        self._purposes = purposes
        self._maker = maker

    @property
    def maker(self) -> DocumentMaker:
        """The PDF maker, signing with the workstation key kept in the vault (built on first
        use: registering the CJK font costs a few hundred milliseconds)."""
        with self._s.lock:
            if self._maker is None:
                from app.documents.maker import DocumentMaker
                from app.org_authority import make_signer

                # issue-15: the workstation key with its chain to the organisation root, and a
                # timestamper when the organisation has a TSA
                signer = self._s.read(make_signer)
                self._maker = DocumentMaker(signer, clock=self._s.clock, audit_head=self._head)
            return self._maker

    def _head(self) -> str:
        """The audit head as this session sees it (inside a write: with its own entries)."""
        return self._s.read(lambda c: self._s.audit.head())

    def forget(self) -> None:
        """Drop the maker (it holds the signing key) when the desk locks."""
        self._maker = None

    @staticmethod
    def new_id() -> str:
        from app.documents.maker import new_document_id

        return str(new_document_id())

    @staticmethod
    def filename(kind: str, doc_id: str) -> str:
        from app.documents.maker import document_filename

        return str(document_filename(kind, doc_id))

    def _info(self, r: Row) -> DocumentInfo:
        return DocumentInfo(
            id=r["id"],
            kind=r["kind"],
            person_id=r["person_id"],
            consent_id=r["consent_id"],
            created_at=_dt(r["created_at"]) or self._s.now(),
            sha256=r["sha256"],
            filename=r["filename"],
            size=int(r["size"]),
            language=r["language"],
        )

    def of_person(self, person_id: str) -> list[DocumentInfo]:
        rows = self._s.read(
            lambda c: fetch_all(
                c, DOC_SQL + "WHERE person_id = ? ORDER BY created_at, id", (person_id,)
            )
        )
        return [self._info(r) for r in rows]

    def pdf(self, document_id: str) -> bytes:
        """The stored document, byte for byte as issued (inflated and hash-checked)."""
        content = self._s.read(lambda c: document_of(c, document_id))
        if content is None:
            raise NotFound("No such document.")
        return content

    def store(
        self,
        conn: Connection,
        *,
        doc_id: str,
        kind: DocumentKind,
        person_id: str | None,
        consent_id: str | None,
        language: str,
        filename: str,
        content: bytes,
        purpose_version_id: int | None = None,
    ) -> DocumentInfo:
        """Keep a document inside the caller's transaction, with its audit entry."""
        now = self._s.now()
        sha = hashlib.sha256(content).hexdigest()
        # issue 12: compressed at rest, shared font programs kept once; read back byte-exact
        stored, encoding, parts = store_document(conn, content)
        conn.execute(
            "INSERT INTO documents (id, kind, person_id, consent_id, purpose_version_id, language, "
            "filename, sha256, content, encoding, parts, size, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc_id,
                kind,
                person_id,
                consent_id,
                purpose_version_id,
                language,
                filename,
                sha,
                stored,
                encoding,
                parts,
                len(content),
                _iso(now),
            ),
        )
        self._s.audit.append(
            self._s.actor,
            "document.create",
            person_id,
            {"document": doc_id, "kind": kind, "sha256": sha},
        )
        lang: Language = "zh" if language == "zh" else "en"
        return DocumentInfo(
            doc_id, kind, person_id, consent_id, now, sha, filename, len(content), lang
        )

    def retention_notice(self, purpose_id: int, language: Language) -> bytes:
        """The printable notice for a purpose; kept in the vault so it can be verified later."""
        purpose = self._purposes.get(purpose_id)
        doc_id = self.new_id()
        pdf = self.maker.retention_notice(
            purpose, self._s.organisation, language, document_id=doc_id
        )
        with self._s.write() as conn:
            self.store(
                conn,
                doc_id=doc_id,
                kind="retention_notice",
                person_id=None,
                consent_id=None,
                language=language,
                filename=self.filename("retention_notice", doc_id),
                content=pdf,
                purpose_version_id=purpose.version_id,
            )
        return pdf

    def audit_witness(self, pdf: bytes) -> AuditVerification:
        """The audit chain checked against the head a document was issued at.

        Why: restoring an older backup rolls the audit log back with the data, and the rolled
        back chain verifies as intact. A document issued later names an entry the vault no
        longer holds (or holds differently, once new entries reused its number): the rollback
        shows."""
        import dataclasses

        from app.pdfsign import INFO_AUDIT_HEAD, INFO_DOCUMENT_ID, read_info_value

        head = read_info_value(pdf, INFO_AUDIT_HEAD)
        if not head:
            raise InvalidInput(
                "This file names no audit head: it is not a document issued by ConsentDesk "
                "(or it was issued before documents carried one).",
                code="no_audit_head",
            )
        result = self._s.read(lambda c: self._s.audit.verify(head))
        if not result.ok and not self._s.read(lambda c: self._s.audit.verify()).ok:
            return dataclasses.replace(result, document_head=head)
        problems = result.problems
        if problems:
            doc_id = read_info_value(pdf, INFO_DOCUMENT_ID) or "?"
            seq = head.split(":", 1)[0]
            problems = (
                f"document {doc_id} was issued when the audit log stood at entry {seq}; this "
                "vault no longer holds that entry as it was: the vault was rolled back (an "
                "older backup restored) or the document comes from another vault",
                *problems,
            )
        return dataclasses.replace(result, problems=problems, document_head=head)

    def _in_ledger(self, sha: str) -> LedgerEntry | None:
        """The erasure-ledger entry that recorded a document with this hash, if any."""
        from app.ledger import ErasureLedger

        key = self._s.meta("audit_key") or b""
        ledger = ErasureLedger(self._s.vault.paths.home, key)
        return next((e for e in ledger.read().entries if e.certificate_sha256 == sha), None)

    def verify(self, pdf: bytes) -> DocumentCheck:
        """Check a PDF's signature against this workstation's certificate and look it up."""
        from app.org_authority import trust_anchors
        from app.pdfsign import verify_pdf

        # issue-15: trusted are the organisation root and a pre-root vault's old certificate
        result = verify_pdf(pdf, self._s.read(trust_anchors))
        sha = hashlib.sha256(pdf).hexdigest()

        def lookup(c: Connection) -> tuple[Row | None, Row | None]:
            row = fetch_one(
                c,
                "SELECT id, kind, person_id, sha256 FROM documents WHERE sha256 = ? OR id = ? "
                "ORDER BY sha256 = ? DESC LIMIT 1",
                (sha, result.document_id or "", sha),
            )
            erased = fetch_one(
                c, "SELECT person_id, erased_at FROM erasures WHERE certificate_sha256 = ?", (sha,)
            )
            return row, erased

        row, erased = self._s.read(lookup)
        # issue-13: a refusal kept without a name: the person holds the record, the vault its hash
        nameless = self._s.read(
            lambda c: fetch_one(c, "SELECT id FROM refusals WHERE record_sha256 = ?", (sha,))
        )
        status: Literal[
            "stored",
            "differs_from_stored",
            "erasure_certificate",
            "ledger_record",
            "refusal_record",
            "unknown",
        ]
        in_ledger = None if row is not None or erased is not None else self._in_ledger(sha)
        if nameless is not None:
            status = "refusal_record"
        elif erased is not None:
            status = "erasure_certificate"
        elif in_ledger is not None:
            status = "erasure_certificate" if in_ledger.kind == "erase" else "ledger_record"
        elif row is None:
            status = "unknown"
        elif row["sha256"] == sha:
            status = "stored"
        else:
            status = "differs_from_stored"
        return DocumentCheck(
            valid=bool(result.valid),
            status=status,
            document_id=result.document_id or (row["id"] if row else None),
            kind=(row["kind"] if row else None) or result.document_kind,
            person_id=(row["person_id"] if row else None)
            or (erased["person_id"] if erased else None)
            or (in_ledger.person_id if in_ledger else None),
            signer=result.signer,
            signed_at=result.signed_at,
            sha256=sha,
            problems=tuple(result.problems),
            issuer=result.issuer,  # issue-15
            timestamp_at=result.timestamp_at,  # issue-15
        )

    # -- issue-15: trust anchors and trusted time -----------------------------------------
    def organisation_root(self) -> RootCertificate:
        """The organisation's public root certificate, for anyone to check documents with.

        Public by nature, so any signed-in account may export it; a vault whose admin has not
        signed in since the upgrade has none yet (an admin's sign-in creates it)."""
        from app.org_authority import RootCertificate, root_certificate, root_fingerprint

        pem = self._s.read(root_certificate)
        if pem is None:
            raise VaultError(
                "This vault has no organisation root yet; an admin must sign in once first."
            )
        return RootCertificate(pem=pem, sha256=root_fingerprint(pem))

    def set_timestamp_authority(self, url: str | None) -> None:
        """Admin only: the RFC 3161 TSA that documents are time-stamped by (None removes it)."""
        from app.org_authority import set_timestamp_url

        self._s.require_admin()
        with self._s.write() as conn:
            set_timestamp_url(conn, url)
            self._s.audit.append(
                self._s.actor, "settings.timestamp_authority", details={"set": bool(url)}
            )
        with self._s.lock:
            self._maker = None  # the next document is signed with the new setting

    def verify_printed(self, qr_text: str) -> PrintedCheck:
        """Check a printed copy by the text of its QR code against the stored document."""
        from app.printed_check import check_printed

        return self._s.read(lambda c: check_printed(c, qr_text))
