"""The inspector's pages: my assigned inspections, the form that records a result and its findings, and
rectification. Only an inspector assigned to the inspection may record it: the service decides."""

from __future__ import annotations

from datetime import UTC, datetime, time

from starlette.datastructures import FormData
from starlette.responses import Response

from console.clients import call, if_offered
from console.i18n import CHINA
from console.web import BadForm, Page, page_route, redirect
from integrity.inspections.v1 import inspections_pb2 as I
from shared.auth import Role

INSPECTOR = (Role.INSPECTOR,)
FINDING_ROWS = 3


async def my_inspections(page: Page) -> Response:
    listed = await if_offered(
        page.services.inspections,
        "ListInspections",
        I,
        "ListInspectionsRequest",
        page.token,
        filter=f'inspector = "{page.principal.subject}"',
        page_size=200,
    )
    return page.render("inspector/list.html", inspections=None if listed is None else listed.inspections)


async def open_inspection(page: Page) -> Response:
    """The inspection a person typed or scanned, e.g. from the plan's printed list."""
    wanted = page.request.query_params.get("id", "").strip().removeprefix("inspections/")
    if not wanted or not wanted.replace("-", "").isalnum():
        raise BadForm("inspector.bad_id", wanted)
    return redirect(f"/inspector/inspections/{wanted}")


async def inspection_form(page: Page) -> Response:
    name = f"inspections/{page.request.path_params['inspection_id']}"
    found = await if_offered(
        page.services.inspections, "GetInspection", I, "GetInspectionRequest", page.token, name=name
    )
    return page.render(
        "inspector/form.html",
        name=name,
        inspection=None if found is None else found.inspection,
        rows=range(FINDING_ROWS),
    )


def findings_of(form: FormData) -> I.Findings:
    findings = I.Findings(
        inspection_refused=form.get("refused") == "true",
        capability_declaration=I.DeclarationCheck.Value(
            str(form.get("declaration") or "DECLARATION_CHECK_UNSPECIFIED")
        ),
    )
    for row in range(FINDING_ROWS):
        instrument = str(form.get(f"instrument_{row}", "")).strip()
        if instrument:
            findings.instruments.add(
                instrument=instrument,
                verification_status=I.VerificationStatus.Value(
                    str(form.get(f"instrument_status_{row}") or "VERIFICATION_STATUS_VALID")
                ),
                tampering_found=form.get(f"instrument_tampering_{row}") == "true",
            )
        product = str(form.get(f"product_{row}", "")).strip()
        if product:
            try:
                findings.net_content.add(
                    product=product,
                    batches_sampled=int(str(form.get(f"sampled_{row}") or 0)),
                    batches_short=int(str(form.get(f"short_{row}") or 0)),
                    largest_shortfall_percent=float(str(form.get(f"shortfall_{row}") or 0)),
                )
            except ValueError:
                raise BadForm("inspector.bad_number", product) from None
    return findings


async def complete(page: Page) -> Response:
    inspection_id = page.request.path_params["inspection_id"]
    form = await page.request.form()
    outcome = str(form.get("outcome", ""))
    if outcome not in I.InspectionOutcome.DESCRIPTOR.values_by_name:
        raise BadForm("inspector.pick_outcome", "outcome")
    request = I.CompleteInspectionRequest(
        name=f"inspections/{inspection_id}",
        outcome=I.InspectionOutcome.Value(outcome),
        findings=findings_of(form),
        penalty_reference=str(form.get("penalty_reference", "")).strip(),
    )
    if deadline := str(form.get("deadline", "")).strip():
        try:
            day = datetime.strptime(deadline, "%Y-%m-%d").date()
        except ValueError:
            raise BadForm("form.bad_date", deadline) from None
        request.rectification_deadline.FromDatetime(
            datetime.combine(day, time(23, 59, 59), CHINA).astimezone(UTC)
        )
    done = await call(page.services.inspections.CompleteInspection, request, page.token)
    return page.render("inspector/done.html", inspection=done.inspection)


async def rectified(page: Page) -> Response:
    name = f"inspections/{page.request.path_params['inspection_id']}"
    done = await call(
        page.services.inspections.CompleteRectification, I.CompleteRectificationRequest(name=name), page.token
    )
    return page.render("inspector/done.html", inspection=done.inspection)


ROUTES = [
    page_route("/inspector", my_inspections, INSPECTOR),
    page_route("/inspector/open", open_inspection, INSPECTOR),
    page_route("/inspector/inspections/{inspection_id}", inspection_form, INSPECTOR),
    page_route("/inspector/inspections/{inspection_id}/complete", complete, INSPECTOR, methods=("POST",)),
    page_route("/inspector/inspections/{inspection_id}/rectified", rectified, INSPECTOR, methods=("POST",)),
]
