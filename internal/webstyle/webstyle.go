// Package webstyle holds the CSS shared by camload's HTML pages — the
// report (reports/html.go) and the live dashboard (dashboard/page.html) —
// so that they look alike and a change of style is made once.
package webstyle

// Base is the pages' common style sheet: type, facts list, notes, charts
// (inline SVG), tables. Pages append their own rules after it.
const Base = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 12px}h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.warn{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px;margin:12px 0}
.note{background:#ddf4ff;border:1px solid #54aeff;border-radius:6px;padding:8px 12px;margin:12px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;margin-top:16px}
figure{margin:0;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px}
svg.chart{width:100%;height:auto;display:block}
svg .ct{font:600 14px system-ui,sans-serif;fill:#1f2328}svg .tick,svg .leg,svg .na{font:11px system-ui,sans-serif;fill:#57606a}svg .lbl{font:12px system-ui,sans-serif;fill:#57606a}
svg .grid{stroke:#eaeef2}svg .axis{stroke:#8c959f}
table{border-collapse:collapse;background:#fff;margin:8px 0 16px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f6f8fa}
td.fail{color:#cf222e}caption{text-align:left;font-weight:600;padding:4px 0}code{font:12px ui-monospace,monospace;background:#eff1f3;padding:1px 4px;border-radius:4px}
p.intro{color:#57606a;max-width:900px}
`

// Marker is where a page's embedded HTML wants Base inserted.
const Marker = "/* camload:webstyle.Base */"
