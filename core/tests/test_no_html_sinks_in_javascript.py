"""No script we ship hands text to the browser as HTML (README, "Writing JavaScript").

Scans every JavaScript file under static/ (and any app's static/ folder) and every inline
script in our templates for the sinks that parse a string as markup or code: innerHTML,
outerHTML, insertAdjacentHTML, document.write, jQuery's .html(), createContextualFragment,
srcdoc, eval and friends, Leaflet's bindTooltip/bindPopup/setContent and L.divIcon's html
given anything but a node built by static/core/dom.js (or the tablet app's own el()).
A use not in ALLOWED below fails the test; an allowance must say why it is safe.

Templates are checked for inline event handlers and javascript: URLs too (the
Content-Security-Policy would refuse them, so they would also be broken).
"""

import re
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)

# Sinks that always parse their argument as HTML or code.
ALWAYS = [
    (r"\.innerHTML\b", "innerHTML"),
    (r"\.outerHTML\b", "outerHTML"),
    (r"\binsertAdjacentHTML\s*\(", "insertAdjacentHTML"),
    (r"\bdocument\s*\.\s*write(ln)?\s*\(", "document.write"),
    (r"\.html\s*\(", "jQuery .html()"),
    (r"\bcreateContextualFragment\s*\(", "createContextualFragment"),
    (r"\bsrcdoc\b", "srcdoc"),
    (r"\bDOMParser\b", "DOMParser"),
    (r"(?<![\w.])eval\s*\(", "eval"),
    (r"\bnew\s+Function\s*\(", "new Function"),
    (r"\bset(Timeout|Interval)\s*\(\s*['\"`]", "setTimeout with a string"),
]
# Leaflet calls that parse a string as HTML but insert a node (or a function returning one)
# as it is: the argument must be a call to one of the node builders.
LEAFLET = re.compile(
    r"\b(bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent)\s*\(\s*"
)
DIV_ICON_HTML = re.compile(r"\bhtml\s*:\s*")
# Node builders: static/core/dom.js's MissionDom.el/text (and their local aliases el/text),
# the tablet app's el(), and any function of the same file made of them with no markup in
# a string literal (mission-layers.js popup(), incident-map.js incidentPopup()).
NODE_BUILDERS = ("MissionDom.el", "MissionDom.text", "el", "text")
MARKUP_STRING = re.compile(r"""["'`][^"'`\n]*<[a-zA-Z/!]""")
FUNCTION = re.compile(r"^(?P<indent>[ \t]*)function (?P<name>\w+)\s*\(", re.M)


def local_builders(text):
    """Functions defined in `text` that build nodes with the builders and hold no markup."""
    names = set()
    for match in FUNCTION.finditer(text):
        end = re.compile(rf"^{match.group('indent')}}}", re.M).search(text, match.end())
        body = text[match.end() : end.start() if end else len(text)]
        builds = re.search(r"(?<![\w.])(MissionDom\.)?(el|text)\(", body)
        if builds and not MARKUP_STRING.search(body):
            names.add(match.group("name"))
    return names


# (file, the line's code stripped, why it is safe). Keep it short.
ALLOWED = [
    ("static/core/dom.js", "var REFUSED = /^(on|srcdoc$)/i;",
     "the node builder's list of attributes it refuses to set: a name, not a use"),
]  # fmt: skip
ALLOWED_LINES = {(name, code) for name, code, _ in ALLOWED}

TEMPLATE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)
INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)


def shipped_scripts():
    folders = [BASE_DIR / "static", *BASE_DIR.glob("*/static")]
    return sorted({p for folder in folders for p in folder.rglob("*.js")})


def our_templates():
    folders = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
    return sorted({p for folder in folders for p in folder.rglob("*.html")})


def code_lines(text):
    """(line number, line) with // and /* */ comments blanked, so that prose about a sink
    (like this module's) is not mistaken for one."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    for number, line in enumerate(text.splitlines(), 1):
        yield number, re.sub(r"(^|[^:\\])//.*$", r"\1", line)


def sinks_in(name, text):
    """Every sink use in `text` not in ALLOWED: [(where, what, the code)]."""
    builders = "|".join(re.escape(b) for b in (*NODE_BUILDERS, *sorted(local_builders(text))))
    builds_nodes = re.compile(rf"({builders})\s*\(")
    found = []
    for number, line in code_lines(text):
        uses = [label for pattern, label in ALWAYS if re.search(pattern, line)]
        for match in LEAFLET.finditer(line):
            if not builds_nodes.match(line, match.end()):
                uses.append(f"Leaflet {match.group(1)} with a string")
        if "divIcon" in line or re.match(r"\s*html\s*:", line):
            for match in DIV_ICON_HTML.finditer(line):
                if not builds_nodes.match(line, match.end()):
                    uses.append("L.divIcon html with a string")
        if (name, line.strip()) in ALLOWED_LINES:
            continue
        found += [(f"{name}:{number}", label, line.strip()) for label in uses]
    return found


def test_no_shipped_script_passes_text_to_an_html_sink():
    scripts = shipped_scripts()
    assert len(scripts) >= 8  # the map scripts and the tablet app: the scan saw them
    found = []
    for path in scripts:
        found += sinks_in(str(path.relative_to(BASE_DIR)), path.read_text())
    for path in our_templates():
        for match in INLINE_SCRIPT.finditer(path.read_text()):
            if "src=" not in match.group("attrs"):
                found += sinks_in(str(path.relative_to(BASE_DIR)), match.group("body"))
    assert found == [], "HTML sinks fed from script (use MissionDom.el/text):\n" + "\n".join(
        f"  {where}: {what}: {code}" for where, what, code in found
    )


def test_templates_have_no_inline_handlers_javascript_urls_or_scripts_without_a_nonce():
    found = []
    for path in our_templates():
        text = path.read_text()
        name = str(path.relative_to(BASE_DIR))
        for match in TEMPLATE_HANDLER.finditer(text):
            found.append(f"{name}: inline handler {match.group(0)[-40:]!r}")
        found += [f"{name}: javascript: URL" for _ in JAVASCRIPT_URL.finditer(text)]
        for match in INLINE_SCRIPT.finditer(text):
            attrs = match.group("attrs")
            if "src=" in attrs or "nonce=" in attrs or "application/json" in attrs:
                continue
            found.append(f"{name}: inline <script> without a nonce")
    assert found == []


def test_the_scan_finds_the_sinks_it_is_meant_to_find():
    # The line that let a waypoint name run as script (issue 11), and its kind.
    vulnerable = """
        L.circleMarker([p.lat, p.lon], {}).bindTooltip(p.label, { permanent: true });
        layer.bindPopup('<b>' + esc(name) + '</b>');
        var icon = L.divIcon({ html: "<span>" + position + "</span>" });
        L.divIcon({
          html: '<span style="x">' + count + "</span>"
        });
        body.insertAdjacentHTML("beforeend", html);
        target.innerHTML = legend;
        $(row).html(name);
        document.write(x);
        setTimeout("go()", 10);
        layer.bindPopup(facts(p));
        function facts(p) {
          return '<dl><dt>' + esc(p.name) + '</dt></dl>';
        }
    """
    labels = [what for _, what, _ in sinks_in("example.js", vulnerable)]
    assert labels == [
        "Leaflet bindTooltip with a string",
        "Leaflet bindPopup with a string",
        "L.divIcon html with a string",
        "L.divIcon html with a string",
        "insertAdjacentHTML",
        "innerHTML",
        "jQuery .html()",
        "document.write",
        "setTimeout with a string",
        "Leaflet bindPopup with a string",  # facts() makes markup, not nodes
    ]
    safe = """
        function popup(title) {
          return function () { return el("div", {}, [el("strong", { text: title })]); };
        }
        marker.bindTooltip(MissionDom.text(w.position + ". " + w.name), { direction: "right" });
        layer.bindPopup(popup(p.name, [["Province", p.province]]));
        L.divIcon({ className: "x", html: el("span", { text: position }) });
        // a comment about innerHTML is not a use
        /* nor is bindTooltip(p.label) in a block comment */
        node.textContent = name;
    """
    assert sinks_in("example.js", safe) == []
