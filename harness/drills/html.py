"""report.html: the drill's report.md as one self-contained page, for a
risk team to open or mail as it is: the same text and tables (rendered from
report.md itself, so the two never say different things) with every plot
inlined as a data URI, no file beside it needed and nothing fetched."""
import base64
import html
import re
from pathlib import Path

import markdown as md

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 1em 0; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""

_IMG = re.compile(r'<img alt="([^"]*)" src="([^"]+\.png)"\s*/?>')


def _inline(folder: Path, body: str) -> str:
    def data_uri(m):
        alt, src = m.group(1), m.group(2)
        png = (folder / src).read_bytes()
        return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
    return _IMG.sub(data_uri, body)


def write_html(md_path: Path, out: Path, title: str) -> Path:
    """Render `md_path` (report.md, its plots beside it) to `out`."""
    md_path = Path(md_path)
    body = md.markdown(md_path.read_text(), extensions=["tables"])
    page = (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{_inline(md_path.parent, body)}\n</body></html>\n")
    Path(out).write_text(page)
    return Path(out)
