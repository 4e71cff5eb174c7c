"""Text the console does not control: a long URL or unbroken token in a claim keeps
pages within the screen, and a link is made only of a web address.

A server of its own (the module's), so that these claims leave the example's pages
as the other browser tests expect them."""

from __future__ import annotations

from tests.browser.conftest import Page
from tests.live_server import Client

URL = "https://example.org/" + "/".join(f"section-{i}-of-a-long-path" for i in range(6))
TOKEN = "x" * 400
CLAIM = {
    "id": "long-text",
    "text": f"A report at {URL} said {TOKEN}.",
    "attributions": [
        {"source": "reuters", "url": "javascript:alert(1)", "quote": "a quote"},
        {"source": "ap", "url": URL},
    ],
}


def test_long_words_wrap_and_only_web_addresses_are_links(
    phone: Page, desktop: Page, server: Client
) -> None:
    assert server("POST", "/v1/claims", {"claims": [CLAIM]}).status == 200
    for browser_page, width in ((phone, 390), (desktop, None)):
        for path in ("/", "/claims/long-text", "/sources/reuters"):
            page = browser_page.open(path)
            viewport = width or page.evaluate("window.innerWidth")
            scrolled = page.evaluate("document.documentElement.scrollWidth")
            assert scrolled <= viewport, (path, scrolled, viewport)
    # ...without breaking a short word to make room: "open" stays one line, "STATUS" too.
    page = desktop.open("/")
    for selector in ("table.claims .status", "table.claims thead th"):
        lines = page.eval_on_selector_all(
            selector,
            """cells => cells.map(cell => {
                // One line box per word at most: a word broken in two takes two.
                const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                let lines = 0;
                for (let node; (node = walker.nextNode()); ) {
                    const range = document.createRange();
                    range.selectNodeContents(node);
                    lines += range.getClientRects().length;
                }
                const words = cell.innerText.trim().split(/\\s+/).length;
                return [cell.innerText, lines <= words];
            })""",
        )
        assert lines and all(fits for _, fits in lines), lines
    page = desktop.open("/claims/long-text")
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert URL in hrefs
    assert not [h for h in hrefs if h.lower().startswith("javascript:")]
    assert "javascript:alert(1)" in page.locator("main").inner_text()  # shown, as text
