"""User text in the parts of the app that read Markdown, shown exactly as it was typed.

st.markdown, captions, subheaders, alerts (st.error, st.info…) and the labels of buttons,
expanders and radio options all read Markdown (GitHub's, with autolinks), and Streamlit adds
its own directives to it (:red[…], :material/icon:, $…$ for LaTeX). A program named
"**Team** <b>A</b> [x](https://evil.example)" must show those characters, not bold text and a
link, so every name, note and message that a user (or an imported file) wrote goes through
`md` first.
"""

from __future__ import annotations

import re

# Backslash-escaped wherever they are (CommonMark lets any ASCII punctuation be escaped):
# \ ` * [ ] < > & ~ $ | @ start code, emphasis, links, images, HTML, entities, strikethrough,
# maths, tables and e-mail autolinks; "_" only where it could start or end emphasis (not in
# active_to); ":" before a letter or "/" (a directive, :material/…:, http://); the "." of
# "www." (an autolink). Ordinary text ("item H2: rating 6 is out of range 1..5") is unchanged.
_INLINE = re.compile(r"[\\`*\[\]<>&~$|@]|:(?=[^\W\d_]|/)|_(?![^\W_])|(?<![^\W_])_|(?<=www)\.", re.IGNORECASE)
_BLOCK_START = re.compile(r"^([#=+-]|\d{1,9}(?=[.)]))")  # a heading, a list, a rule or an underline


def md(text: object) -> str:
    """`text` as Markdown that renders as the text itself, line breaks kept."""
    if text is None:
        return ""
    lines = []
    for line in _INLINE.sub(lambda m: "\\" + m.group(), str(text)).splitlines():
        rest = line.lstrip(" \t")
        indent = "\u00a0" * len(line[: len(line) - len(rest)].expandtabs(4))  # 4 spaces: a code block
        start = _BLOCK_START.match(rest)
        if start and start.group().isdigit():  # "1." or "1)": escape the mark after the number
            rest = f"{start.group()}\\{rest[start.end() :]}"
        elif start:
            rest = f"\\{rest}"
        lines.append(indent + rest)
    return "  \n".join(lines)
