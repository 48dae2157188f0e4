"""The page frame: what the header's navigation shows, from each app's own predicates.

Project wiring (it reads every app's selectors, which no app may do of another above it):
base.html and the home page show a link exactly when the page behind it would let the user
in, because both ask the same function."""

from django.utils.functional import SimpleLazyObject


def _navigation(request) -> dict[str, bool]:
    from core import security
    from patrols import selectors as patrols
    from reports import selectors as reports
    from reports.summaries import selectors as summaries

    user = request.user
    return {
        # A login still waiting for its second factor: the header offers only logging out
        # (every other link would lead back to the code page).
        "second_factor_pending": request.session.get(security.SECOND_FACTOR) != security.VERIFIED
        and request.resolver_match is not None
        and request.resolver_match.url_name in ("second-factor", "second-factor-setup"),
        "can_see_plans": patrols.can_see_plans(user),
        "can_create_plans": patrols.patrol_plan_can_create(user),
        "can_approve": patrols.can_approve(user),
        "can_see_incidents": reports.can_see_incidents(user),
        "can_review": reports.can_review(user),
        "can_file": reports.can_file(user),
        "can_read_summaries": summaries.can_read(user),
    }


def navigation(request):
    """`nav.can_*` for base.html's header and the home page's links; evaluated only when a
    page reads them."""
    return {"nav": SimpleLazyObject(lambda: _navigation(request))}
