"""Headers for files whose bytes came from a client (attachments)."""

# Even a file served as a download can be opened in the browser (a PDF viewer, a saved
# link): it must never run script from our origin, whatever its bytes also parse as (a
# PDF/HTML polyglot). `sandbox` gives it a unique origin with no scripts, forms or
# plugins; `default-src 'none'` lets it load nothing. The page-wide policy (django-csp)
# leaves a header already set alone.
UNTRUSTED_FILE_CSP = "sandbox; default-src 'none'"


def untrusted_file_headers(response):
    """Mark a response carrying a client's file: its type is what we found in its content,
    not to be sniffed again; it runs nothing and is not framed or loaded by other sites."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = UNTRUSTED_FILE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
