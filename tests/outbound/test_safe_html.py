"""What of an agent's HTML reaches the customer."""

from __future__ import annotations

from gateway.outbound.safe_html import safe_html


def test_scripts_handlers_frames_and_forms_go_and_formatting_stays() -> None:
    html = ('<html><head><style>p { color: navy }</style></head><body>'
            '<p style="color:red" onclick="steal()">Hi Anne,<script>alert(1)</script></p>'
            '<font face="Arial" color="blue">Try this</font> <a href="https://help.example/reset">reset</a> '
            '<a href="javascript:alert(1)">x</a><iframe src="https://evil.example/">framed</iframe>'
            '<form action="https://evil.example/"><input name="password"></form>'
            '<table cellpadding="4"><tr><td colspan="2" bgcolor="#eee">cell</td></tr></table></body></html>')
    cleaned = safe_html(html)
    for gone in ("script", "alert", "onclick", "steal", "iframe", "framed", "<form", "<input", "javascript:"):
        assert gone not in cleaned, gone
    for kept in ('<p style="color:red">', "p { color: navy }", 'face="Arial"', 'color="blue"',
                 'href="https://help.example/reset"', 'colspan="2"', 'bgcolor="#eee"', 'cellpadding="4"'):
        assert kept in cleaned, kept


def test_images_stay_but_tracking_pixels_go() -> None:
    html = ('<p><img src="cid:screenshot@x" width="600" alt="screenshot">'
            '<img src="https://logo.example/logo.png" alt="logo">'
            '<img src="https://track.example/open.gif?id=1" width="1" height="1">'
            '<img src="https://track.example/open.gif?id=2" style="width:1px;height:1px;border:0"></p>')
    cleaned = safe_html(html)
    assert "cid:screenshot@x" in cleaned and "logo.example" in cleaned and "track.example" not in cleaned


def test_the_documents_title_is_gone_and_hidden_parts_stay_hidden() -> None:
    html = ("<html><head><title>Re: [#K7Q2M9XA] [PARTNER] Printer offline</title></head><body>"
            '<p>Hi Anne,</p><div hidden>draft</div><a href="data:text/html,<b>x</b>">open</a>'
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline"></body></html>')
    cleaned = safe_html(html)
    assert "PARTNER" not in cleaned and "K7Q2M9XA" not in cleaned and cleaned.startswith("<p>Hi Anne,</p>")
    assert "<div hidden" in cleaned and "data:text/html" not in cleaned and "data:image/png" in cleaned
