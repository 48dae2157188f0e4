"""Every daily summary states the audit chain's head, so the chain can be checked against a
document that left the system by e-mail."""

import json
import subprocess

import pytest

from core.audit.models import AuditChainHead, AuditEntry
from core.audit.services import audit_chain_verify, audit_seal
from core.tests.tampering import tamper
from reports.tests.test_daily_summary import period as period  # noqa: F401  (a fixture)
from reports.tests.test_daily_summary import produce


@pytest.mark.django_db
def test_the_pdf_and_json_state_the_chain_head_when_they_were_built(period, tmp_path):
    audit_seal()
    head = AuditChainHead.objects.get(pk=1)
    revision = produce()
    anchor = revision.audit_anchor
    assert (anchor["seq"], anchor["mac"]) == (head.last_seq, head.last_mac)
    assert anchor["key_id"] == AuditEntry.objects.get(seq=head.last_seq).key_id
    for level in ("internal", "releasable"):
        data = json.loads(bytes(revision.artefacts.get(level=level, format="json").data))
        assert data["audit_anchor"] == anchor
        pdf = tmp_path / f"{level}.pdf"
        pdf.write_bytes(bytes(revision.artefacts.get(level=level, format="pdf").data))
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
        assert f"{anchor['seq']}:{anchor['mac']}" in text.replace("\n", "").replace(" ", "")
    # The head moves with every write; that alone never makes a new revision.
    draft = period["draft"]  # drafts are not in the summary
    draft.description = "Still writing it."
    draft.save()
    audit_seal()
    assert AuditChainHead.objects.get(pk=1).last_seq > anchor["seq"]
    assert produce() is None
    assert audit_chain_verify().anchors_checked >= 1


@pytest.mark.django_db
def test_a_chain_cut_back_behind_a_summary_is_named_by_that_summary(period):
    audit_seal()
    revision = produce()
    anchor = revision.audit_anchor
    keep = AuditEntry.objects.get(seq=anchor["seq"] - 3)
    tamper("DELETE FROM core_auditentry WHERE seq > %s", [keep.seq])
    tamper("UPDATE core_auditchainhead SET last_seq = %s, last_mac = %s", [keep.seq, keep.mac])
    report = audit_chain_verify()
    assert not report.ok
    assert "Daily Report 320/2026, revision 1 (its audit anchor)" in report.problem
    assert f"records #{anchor['seq']} but the chain ends at #{keep.seq}" in report.problem


@pytest.mark.django_db
def test_the_summary_page_shows_the_anchor_to_read_off(period, users):
    from django.test import Client
    from django.urls import reverse

    audit_seal()
    anchor = produce().audit_anchor
    client = Client()
    client.force_login(users["headquarters"])
    page = client.get(reverse("summary-detail", args=[2026, 320])).content.decode()
    assert f"{anchor['seq']}:{anchor['mac']}" in page and 'data-testid="audit-anchor"' in page
