"""axe-core (Deque's accessibility rules engine, from npm: `make vendor-axe`) run on a page
Playwright has open; the violations as a readable message.

The script is injected with the page's Content-Security-Policy in force (script-src 'self',
style-src 'self'): Playwright's `evaluate` runs through the DevTools protocol, which the CSP
does not govern, whereas `add_script_tag(content=...)` adds an inline <script> the CSP blocks
(it needs a context with bypass_csp=True, and then inline styles the CSP would refuse apply
too, so the page checked is not the page people get)."""

from __future__ import annotations

from pathlib import Path

AXE_DIR = Path(__file__).parent / "vendor" / "axe"
AXE_SOURCE = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and Deque's best practices
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

_RUN = """async tags => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                             resultTypes: ["violations"]});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
    }));
}"""


async def violations(page) -> list[dict]:
    """axe's violations on the page as it is now, [] when there are none."""
    if not await page.evaluate("() => typeof axe !== 'undefined'"):
        await page.evaluate(AXE_SOURCE)
    return await page.evaluate(_RUN, TAGS)


def describe(where: str, found: list[dict]) -> str:
    """One paragraph per violation: its rule id, what it asks, and each offending node."""
    lines = [f"{where}: {len(found)} accessibility violation(s)"]
    for v in found:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    - {node['target']}")
            lines.extend(f"        {line}" for line in node["summary"].splitlines() if line)
    return "\n".join(lines)
