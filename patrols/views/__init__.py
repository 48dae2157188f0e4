"""Patrol pages (mounted by patrols.urls). The acknowledgement page is public: a party's
officer opens the link from the notification message, with no account here; the signed token
is the authorisation.

Every other page needs a login and a mission role. A view checks who may do what (the
predicates of patrols.selectors, which the services apply again), reads the form, then calls
one patrol service (or reads through patrols.selectors); a service's ValidationError names the
fields, and its messages are shown next to them (core.pages.apply_service_errors), with
everything typed still in the form. A refused action answers 403 (Django logs it as
"Forbidden").

- plans.py: the plan list, the plan form, the plan page and the actions taken from it;
- review.py: the coordinator's approval queue, review, approval and return;
- notifications.py: the public acknowledgement page and what liaison officers record;
- calendar.py: the week calendar;
- shared.py: what they share (the plan a user may open, badges, the map's data).
"""
