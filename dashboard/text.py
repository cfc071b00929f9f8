"""User text shown as text, never as Markdown or HTML.

Streamlit renders the text of errors, captions, titles and labels as Markdown, and Plotly renders a
subset of HTML (links included) in titles and legends. Values that come from a URL, a file name, a
run name or an error message quoting them go through `literal` (Markdown) or `plot_text` (Plotly)
first, so `![x](http://host/px.png)` shows those characters instead of fetching an image.
"""

from __future__ import annotations

import html
import re
import string
import textwrap

# CommonMark lets a backslash escape any ASCII punctuation character: escaped, none of them starts a
# link, an image, emphasis, code, a heading, an HTML tag or entity, math ($) or a directive (:red[..]).
_PUNCTUATION = re.compile(f"([{re.escape(string.punctuation)}])")
# GFM also turns bare URLs and e-mail addresses into links, looking at the text after escapes are
# resolved: an invisible zero-width space after "http", "www" and "@" keeps them plain text.
ZERO_WIDTH_SPACE = "\u200b"
_AUTOLINK = re.compile(r"(?i)((?:https?|ftp|www)(?=\\[:.])|\\@(?=\w))")


def literal(text: object) -> str:
    """`text` for a Markdown element (st.error, st.caption, st.write, titles, labels): shown as typed
    (with a zero-width space where a bare URL or e-mail address would have become a link)."""
    return _AUTOLINK.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, _PUNCTUATION.sub(r"\\\1", str(text)))


def plot_text(text: object) -> str:
    """`text` for a Plotly title, legend entry or label: its <, > and & shown, not interpreted."""
    return html.escape(str(text), quote=False)


def plot_lines(text: object, width: int) -> str:
    """`plot_text` in lines of at most `width` characters (broken at spaces where it can), joined by
    Plotly's <br>: a title that a narrow chart would cut off at its right edge."""
    return "<br>".join(plot_text(line) for line in textwrap.wrap(str(text), width) or [""])
