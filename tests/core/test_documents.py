"""The PDFs: content in both languages, embedded fonts, rendering, signatures, attachments.

PDFs are built once per session (they take a fraction of a second each) and checked with the
poppler tools a person's viewer would resemble: ``pdftotext``, ``pdftoppm``, ``pdffonts``, and
``pdfsig`` as a signature validator independent of pyHanko (see ``tests/core/pdftools.py`` for
what happens where poppler is missing).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from app.documents import DocumentMaker, document_filename
from app.errors import InvalidInput
from app.models import Language
from app.pdfsign import PdfSigner, create_workstation_identity, verify_pdf
from app.signature import SignatureError
from tests.core import test_documents_fixtures as fx
from tests.core.pdftools import poppler

KINDS = [
    "consent_form",
    "refusal_record",
    "withdrawal_receipt",
    "erasure_certificate",
    "access_report",
    "retention_notice",
    "paper_consent_record",
]
LANGS: list[Language] = ["en", "zh"]


def _run(*args: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run a poppler tool with the PDF on stdin: personal data never goes to a temp file."""
    return subprocess.run(args, input=data, capture_output=True, timeout=120, check=False)


def pdftotext(pdf: bytes, *crop: str) -> str:
    proc = _run(poppler("pdftotext"), "-enc", "UTF-8", *crop, "-", "-", data=pdf)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode("utf-8")


def squash(text: str) -> str:
    """Whitespace removed: text extraction re-flows lines and may split words or CJK runs."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="session")
def identity() -> tuple[bytes, bytes]:
    return create_workstation_identity(fx.ORG.name)


@pytest.fixture(scope="session")
def maker(identity: tuple[bytes, bytes]) -> DocumentMaker:
    return DocumentMaker(PdfSigner(*identity), clock=lambda: fx.T0)


@pytest.fixture(scope="session")
def unsigned_maker() -> DocumentMaker:
    return DocumentMaker(None, clock=lambda: fx.T0)


def build(maker: DocumentMaker, kind: str, lang: Language, **over: Any) -> bytes:
    """Build one document of ``kind`` with the shared sample records."""
    org, purpose = fx.org(lang), fx.purpose(lang)
    person = over.pop("person", fx.person(lang))
    doc_id = over.pop("document_id", f"doc-{kind}-{lang}")
    if kind == "consent_form":
        return maker.consent_form(
            org=org,
            purpose=purpose,
            person=person,
            consent=fx.consent(lang),
            disclosure=fx.disclosure(lang),
            signature=fx.sample_signature(),
            guardian=over.pop("guardian", fx.guardian(lang)),
            audit_events=fx.audit_events(),
            document_id=doc_id,
            **over,
        )
    if kind == "refusal_record":
        return maker.refusal_record(
            org=org,
            purpose=purpose,
            person=person,
            consent=fx.refusal(lang),
            disclosure=fx.disclosure(lang),
            signature=fx.sample_signature(),
            audit_events=fx.audit_events(3),
            document_id=doc_id,
            **over,
        )
    if kind == "withdrawal_receipt":
        result, withdrawn = fx.withdrawal(lang)
        return maker.withdrawal_receipt(
            org=org,
            person=person,
            result=result,
            consents=[withdrawn],
            purposes=[purpose],
            operator="desk.patel",
            audit_events=fx.audit_events(4),
            document_id=doc_id,
            **over,
        )
    if kind == "erasure_certificate":
        return maker.erasure_certificate(
            org=org,
            person=person,
            result=fx.erasure(),
            consents=[fx.consent(lang)],
            purposes=[purpose],
            audit_events=fx.audit_events(2),
            document_id=doc_id,
            **over,
        )
    if kind == "access_report":
        return maker.access_report(
            org=org,
            person=person,
            consents=[fx.consent(lang), fx.refusal(lang)],
            purposes=[purpose],
            documents=fx.documents(),
            audit_events=fx.audit_events(5),
            template_count=3,
            operator="desk.jones",
            document_id=doc_id,
            **over,
        )
    if kind == "retention_notice":
        return maker.retention_notice(purpose, org, lang, document_id=doc_id)
    if kind == "paper_consent_record":
        return maker.paper_consent_record(
            org=org,
            purpose=purpose,
            person=person,
            consent=fx.consent(lang, paper_signed_on=fx.T0.date(), liveness=None),
            scan=over.pop("scan", fx.scan_png()),
            imported_by="admin.lee",
            audit_events=fx.audit_events(2),
            document_id=doc_id,
            **over,
        )
    raise AssertionError(kind)


@pytest.fixture(scope="session")
def docs(maker: DocumentMaker) -> dict[tuple[str, str], bytes]:
    return {(k, lang): build(maker, k, lang) for k in KINDS for lang in LANGS}


CASES = [(k, lang) for k in KINDS for lang in LANGS]


@pytest.mark.parametrize(("kind", "lang"), CASES)
def test_text_names_person_purpose_consent_and_hash(
    docs: dict[tuple[str, str], bytes], kind: str, lang: Language
) -> None:
    pdf = docs[kind, lang]
    text = squash(pdftotext(pdf))
    purpose = fx.purpose(lang)
    assert squash(purpose.title) in text
    assert fx.disclosure(lang).sha256 in text
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta is not None
    assert str(meta["/ConsentDeskContentSHA256"]) in text
    if kind != "retention_notice":
        assert squash(fx.person(lang).name) in text
        consent_id = fx.REFUSAL_ID if kind == "refusal_record" else fx.CONSENT_ID
        assert consent_id in text
    labels = {"en": "Document ID", "zh": "文件编号"}
    assert squash(labels[lang]) in text


@pytest.mark.parametrize(("kind", "lang"), CASES)
def test_every_font_is_embedded(
    docs: dict[tuple[str, str], bytes], kind: str, lang: Language
) -> None:
    proc = _run(poppler("pdffonts"), "-", data=docs[kind, lang])
    if proc.returncode != 0:  # older poppler cannot read stdin: fall back to a pipe path
        proc = _run(poppler("pdffonts"), "/dev/stdin", data=docs[kind, lang])
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.decode().splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        columns = row.split()
        # name, type..., encoding, emb, sub, uni, object, generation
        assert columns[-5] == "yes", f"font not embedded: {row}"
        assert "WenQuanYi" in columns[0]


@pytest.mark.parametrize(("kind", "lang"), CASES)
def test_every_document_renders_and_is_signed(
    docs: dict[tuple[str, str], bytes],
    identity: tuple[bytes, bytes],
    kind: str,
    lang: Language,
) -> None:
    pdf = docs[kind, lang]
    proc = _run(poppler("pdftoppm"), "-r", "15", "-png", data=pdf)
    assert proc.returncode == 0
    assert proc.stderr == b"", proc.stderr.decode(errors="replace")
    assert proc.stdout.startswith(b"\x89PNG")
    result = verify_pdf(pdf, identity[1])
    assert result.valid, result.problems
    assert result.document_id == f"doc-{kind}-{lang}"
    assert result.document_kind == kind
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1


def _pdfsig(pdf: bytes, folder: Path) -> str:
    # pdfsig cannot read stdin; the fixtures' people are invented, so a temp file is harmless.
    path = folder / "document.pdf"
    path.write_bytes(pdf)
    proc = _run(poppler("pdfsig"), "-nocert", str(path), data=b"")
    return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")


@pytest.mark.parametrize("kind", KINDS)
def test_an_independent_validator_accepts_the_signature_and_sees_tampering(
    docs: dict[tuple[str, str], bytes], kind: str, tmp_path: Path
) -> None:
    """poppler's pdfsig (not pyHanko, which signed it) validates what a recipient would get."""
    pdf = docs[kind, "zh"]
    report = _pdfsig(pdf, tmp_path)
    assert "Signature is Valid." in report and "Total document signed" in report, report
    assert "ConsentDesk workstation" in report
    # One byte changed in the first signed range: no longer a valid signature.
    first_range = re.search(r"Signed Ranges: \[0 - (\d+)\]", report)
    assert first_range, report
    tampered = bytearray(pdf)
    tampered[int(first_range.group(1)) // 2] ^= 0x01
    assert "Signature is Valid." not in _pdfsig(bytes(tampered), tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_carries_no_personal_data(docs: dict[tuple[str, str], bytes], kind: str) -> None:
    meta = PdfReader(io.BytesIO(docs[kind, "en"])).metadata
    assert meta is not None
    blob = " ".join(str(v) for v in meta.values())
    assert fx.person("en").name not in blob
    assert "FLAT-12B" not in blob
    assert fx.person("en").name not in document_filename(kind, "0123456789abcdef")


@pytest.mark.parametrize("lang", LANGS)
def test_printed_disclosure_matches_its_hash(
    docs: dict[tuple[str, str], bytes], lang: Language
) -> None:
    """The text on the form is the text that was hashed: compare the printed body (header and
    footer cropped away) with the disclosure, and the attached exact copy byte for byte."""
    pdf = docs["consent_form", lang]
    disclosure = fx.disclosure(lang)
    body = pdftotext(pdf, "-x", "0", "-y", "50", "-W", "595", "-H", "742")
    assert squash(disclosure.text) in squash(body)
    assert disclosure.sha256 in squash(body)
    attachments = PdfReader(io.BytesIO(pdf)).attachments
    (exact,) = attachments[f"disclosure-{lang}.txt"]
    assert exact.decode("utf-8") == disclosure.text
    assert hashlib.sha256(exact).hexdigest() == disclosure.sha256 == fx.consent(lang).text_sha256


def test_refusal_states_no_face_was_captured(docs: dict[tuple[str, str], bytes]) -> None:
    en = squash(pdftotext(docs["refusal_record", "en"]))
    assert squash("No image of the face was captured") in en
    assert squash(fx.purpose("en").alternative) in en
    zh = squash(pdftotext(docs["refusal_record", "zh"]))
    assert "未拍摄任何面部图像" in zh


def test_withdrawal_and_erasure_state_counts(docs: dict[tuple[str, str], bytes]) -> None:
    receipt = squash(pdftotext(docs["withdrawal_receipt", "en"]))
    assert squash("Face templates destroyed 3") in receipt
    assert "Movingout" in receipt and "desk.patel" in receipt
    cert = pdftotext(docs["erasure_certificate", "en"])
    assert re.search(r"Face templates\s+3\s+0", cert)
    assert "admin.lee" in cert


def test_access_report_counts_templates_without_values(
    docs: dict[tuple[str, str], bytes],
) -> None:
    text = squash(pdftotext(docs["access_report", "en"]))
    assert squash("3 face template(s) exist. Their values are not printed.") in text
    assert fx.REFUSAL_ID in text and fx.documents()[0].id in text
    assert "disclosure.shown" in text  # audit events listed


def test_consent_form_shows_liveness_and_guardian(docs: dict[tuple[str, str], bytes]) -> None:
    text = pdftotext(docs["consent_form", "en"])
    for needle in [
        "Passed",
        "Turn head left",
        "2140 ms",
        "Rosa O'Connor",
        "desk.jones",
        "Europe/London",
    ]:
        assert needle in text, needle
    zh = pdftotext(docs["consent_form", "zh"])
    assert "向左转头" in zh and "王芳" in zh and "Asia/Shanghai" in zh


def _image_count(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_photo_only_for_a_purpose_that_keeps_photos(unsigned_maker: DocumentMaker) -> None:
    photo = fx.scan_png()
    with pytest.raises(InvalidInput, match="does not keep photos"):
        build(unsigned_maker, "consent_form", "en", photo=photo)
    keep = fx.purpose("en", keep_photos=True)
    kwargs: dict[str, Any] = dict(
        org=fx.ORG,
        purpose=keep,
        person=fx.person("en"),
        consent=fx.consent("en", keep_photos=True),
        disclosure=fx.disclosure("en", True),
        signature=fx.sample_signature(),
    )
    with_photo = unsigned_maker.consent_form(photo=photo, **kwargs)
    without = unsigned_maker.consent_form(**kwargs)
    assert _image_count(with_photo) == _image_count(without) + 1


def test_forms_refuse_mismatched_records(unsigned_maker: DocumentMaker) -> None:
    other = fx.disclosure("zh")
    with pytest.raises(InvalidInput, match="language"):
        unsigned_maker.consent_form(
            org=fx.ORG,
            purpose=fx.purpose("en"),
            person=fx.person("en"),
            consent=fx.consent("en"),
            disclosure=dataclasses.replace(other),
            signature=fx.sample_signature(),
        )
    edited = dataclasses.replace(fx.disclosure("en"), text=fx.disclosure("en").text + "x\n")
    with pytest.raises(InvalidInput, match="fingerprint"):
        unsigned_maker.consent_form(
            org=fx.ORG,
            purpose=fx.purpose("en"),
            person=fx.person("en"),
            consent=fx.consent("en"),
            disclosure=edited,
            signature=fx.sample_signature(),
        )
    with pytest.raises(InvalidInput, match="different person"):
        build(
            unsigned_maker,
            "consent_form",
            "en",
            person=dataclasses.replace(fx.person("en"), id="someone-else"),
        )
    with pytest.raises(InvalidInput, match="refused"):
        unsigned_maker.refusal_record(
            org=fx.ORG,
            purpose=fx.purpose("en"),
            person=fx.person("en"),
            consent=fx.consent("en"),
            disclosure=fx.disclosure("en"),
        )
    with pytest.raises(SignatureError):
        unsigned_maker.consent_form(
            org=fx.ORG,
            purpose=fx.purpose("en"),
            person=fx.person("en"),
            consent=fx.consent("en"),
            disclosure=fx.disclosure("en"),
            signature=fx.sample_signature(scale=0.05),
        )


def test_error_messages_carry_no_personal_data(unsigned_maker: DocumentMaker) -> None:
    person = dataclasses.replace(fx.person("en"), id="someone-else")
    with pytest.raises(InvalidInput) as info:
        build(unsigned_maker, "consent_form", "en", person=person)
    assert fx.person("en").name not in str(info.value)
    assert "someone-else" not in str(info.value)


def test_paper_pdf_scan_is_attached_unchanged(unsigned_maker: DocumentMaker) -> None:
    scan = build(unsigned_maker, "retention_notice", "en")  # any PDF will do as a "scan"
    pdf = build(unsigned_maker, "paper_consent_record", "zh", scan=scan)
    (attached,) = PdfReader(io.BytesIO(pdf)).attachments["paper-consent-scan.pdf"]
    assert attached == scan
    text = squash(pdftotext(pdf))
    assert hashlib.sha256(scan).hexdigest() in text
    assert "paper-consent-scan.pdf" in text


def test_paper_image_scan_becomes_pages(unsigned_maker: DocumentMaker) -> None:
    single = build(unsigned_maker, "paper_consent_record", "en")
    multi = build(unsigned_maker, "paper_consent_record", "en", scan=fx.scan_png(3))
    assert len(PdfReader(io.BytesIO(multi)).pages) == len(PdfReader(io.BytesIO(single)).pages) + 2
    text = pdftotext(multi)
    assert "Original scan, page 3 of 3" in text
    assert "2026-03-14" in text  # signed-on-paper date
    with pytest.raises(InvalidInput, match="PDF or an image"):
        build(unsigned_maker, "paper_consent_record", "en", scan=b"not an image")


@pytest.mark.parametrize("lang", LANGS)
def test_a_flipped_byte_in_a_real_form_breaks_the_signature(
    docs: dict[tuple[str, str], bytes], identity: tuple[bytes, bytes], lang: Language
) -> None:
    pdf = docs["consent_form", lang]
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)", pdf)
    assert match is not None
    position = int(match.group(2)) // 2  # well inside the first signed block (page content)
    tampered = bytearray(pdf)
    tampered[position] ^= 0x20
    result = verify_pdf(bytes(tampered), identity[1])
    assert not result.valid
    assert not result.intact


def test_every_label_is_translated_and_every_kind_has_a_title() -> None:
    from typing import get_args

    from app.documents.labels import LABELS
    from app.models import DocumentKind

    for key, (en, zh) in LABELS.items():
        assert en.strip() and zh.strip(), key
        fields = r"\{(\w+)\}"
        assert set(re.findall(fields, en)) == set(re.findall(fields, zh)), key
    for kind in get_args(DocumentKind):
        assert f"title.{kind}" in LABELS and f"kind.{kind}" in LABELS
