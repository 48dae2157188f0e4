"""The documents the parties receive: the itinerary as PDF (pdf.py), as GPX (gpx.py), and
the e-mail carrying them (message.py), all rendered from the frozen version (itinerary.py).

The three renderers are re-exported: `from patrols.documents import itinerary_pdf`.
"""

from patrols.documents.gpx import itinerary_gpx  # noqa: F401
from patrols.documents.message import itinerary_message  # noqa: F401
from patrols.documents.pdf import itinerary_pdf  # noqa: F401
