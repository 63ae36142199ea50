"""Awkward input must never break a document: quotes, markup characters, RTL marks, CJK,
control characters and very long strings. Example counts are small because PDFs are slow."""

from __future__ import annotations

import dataclasses
import io
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from app.disclosure import render_disclosure
from app.documents import DocumentMaker
from app.models import Language
from tests.core import test_documents_fixtures as fx
from tests.core.pdftools import optional_poppler

AWKWARD = st.one_of(
    st.sampled_from(
        [
            'O\'Brien "Junior" <b>&amp;</b>',
            "\u202eevil\u202c \u200fمحمد\u200f",
            "张伟 (Zhāng Wěi) 「测试」",
            "x" * 3000,
            "长" * 2500,
            "tab\there\nnew line\x00nul\x1b",
            "{name} {org} %s %(x)s",
            " ",
        ]
    ),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=400),
)


@pytest.fixture(scope="module")
def maker() -> DocumentMaker:
    return DocumentMaker(None, clock=lambda: fx.T0)


def _renders(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1
    tool = optional_poppler("pdftotext")  # pypdf above already read it; poppler too if here
    if tool:
        proc = subprocess.run([tool, "-", "-"], input=pdf, capture_output=True, timeout=60)
        assert proc.returncode == 0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=AWKWARD, title=AWKWARD, lang=st.sampled_from(["en", "zh"]))
def test_consent_form_survives_awkward_names(
    maker: DocumentMaker, name: str, title: str, lang: Language
) -> None:
    purpose = dataclasses.replace(fx.purpose(lang), title=title)
    org = fx.org(lang)
    disclosure = render_disclosure(purpose, org, lang)
    consent = fx.consent(lang, text_sha256=disclosure.sha256)
    person = fx.person(lang, name=name)
    pdf = maker.consent_form(
        org=org,
        purpose=purpose,
        person=person,
        consent=consent,
        disclosure=disclosure,
        signature=fx.sample_signature(),
        audit_events=fx.audit_events(2),
    )
    _renders(pdf)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=AWKWARD, org_name=AWKWARD, reason=AWKWARD, lang=st.sampled_from(["en", "zh"]))
def test_receipts_and_reports_survive_awkward_values(
    maker: DocumentMaker, name: str, org_name: str, reason: str, lang: Language
) -> None:
    person = fx.person(lang, name=name)
    org = dataclasses.replace(fx.org(lang), name=org_name)
    result, withdrawn = fx.withdrawal(lang)
    _renders(
        maker.withdrawal_receipt(
            org=org,
            person=person,
            result=result,
            consents=[withdrawn],
            purposes=[fx.purpose(lang)],
            operator=reason,
            reason=reason,
        )
    )
    _renders(maker.erasure_certificate(org=org, person=person, result=fx.erasure(), language=lang))
    _renders(
        maker.access_report(
            org=org,
            person=dataclasses.replace(person, reference=reason),
            consents=[],
            purposes=[],
            documents=[],
            audit_events=[],
            template_count=0,
            operator=reason,
            language=lang,
        )
    )
