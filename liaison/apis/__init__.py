"""The liaison API, mounted at /api/liaison/ (liaison.api_urls). Same need-to-know rules as
the pages (liaison.selectors): views check the access level, read through a selector or call
one service, and log every read of a contact's details.

- `contacts`: contacts, a contact, the counts per sector;
- `log`: the communication log, follow-up actions, hotline activation counts;
- `serializers`: what each of them reads and answers;
- `base`: never cached, refused unless the selectors' predicate lets the caller in.
"""
