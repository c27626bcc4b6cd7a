/**
 * The live mesh page (HTML and CSS), embedded so that it survives `deno compile`. Its script
 * is `page_js.ts`. Everything shown as a graph is also in the tables, as real text.
 * @module
 */

/** The page served at `/`. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>receptor mesh</title>
<style>
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fbfbfa; --mut: #5b6470; --line: #9aa4b1;
  --acc: #0b63c5; --ok: #1c7c3a; --bad: #b3261e; --card: #ffffff; --bd: #d9dde3; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #15181c; --mut: #a3acb8;
  --line: #5d6875; --acc: #6cb0ff; --ok: #5fd08a; --bad: #ff8a80; --card: #1d2126; --bd: #323942; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.5rem;
  padding: .8rem 1.2rem; border-bottom: 1px solid var(--bd); }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
#conn { margin: 0; color: var(--mut); }
#conn.live { color: var(--ok); }
#conn.down { color: var(--bad); font-weight: 600; }
main { display: grid; grid-template-columns: minmax(320px, 1.1fr) minmax(320px, 1fr); gap: 1rem;
  padding: 1rem 1.2rem; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
section { background: var(--card); border: 1px solid var(--bd); border-radius: 8px; padding: .8rem; }
#graph-box { grid-row: span 3; align-self: start; }
svg { width: 100%; height: auto; max-height: 70vh; display: block; }
svg .edge { stroke: var(--line); stroke-width: 2; }
svg .edge.route { stroke: var(--acc); stroke-width: 3; }
svg .cost { fill: var(--mut); font-size: 12px; text-anchor: middle; }
svg text { paint-order: stroke; stroke: var(--card); stroke-width: 5px; stroke-linejoin: round; }
svg .node circle { fill: var(--card); stroke: var(--fg); stroke-width: 2; }
svg .node.self circle { fill: var(--acc); stroke: var(--acc); }
svg .node.gone circle { stroke-dasharray: 4 3; opacity: .6; }
svg .node.gone text { fill: var(--bad); }
svg .node text { fill: var(--fg); font-size: 13px; text-anchor: middle; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .25rem .45rem; border-bottom: 1px solid var(--bd); vertical-align: top; }
th { color: var(--mut); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; }
.state-Running, .state-Pending { color: var(--acc); }
.state-Succeeded { color: var(--ok); }
.state-Failed, .state-Canceled { color: var(--bad); }
.empty { color: var(--mut); font-style: italic; }
.legend { margin: .3rem 0 0; color: var(--mut); font-size: .85rem; }
#changes { margin: .4rem 0 0; color: var(--mut); font-size: .9rem; min-height: 1.3em; }
</style>
</head>
<body>
<header>
  <h1>Mesh seen from <span id="self">…</span></h1>
  <p id="conn" role="status" aria-live="polite">connecting…</p>
  <p id="changes" aria-live="polite"></p>
</header>
<main>
  <section id="graph-box" aria-labelledby="graph-h">
    <h2 id="graph-h">Topology (<span id="node-count">0</span> nodes, <span id="link-count">0</span> links)</h2>
    <svg id="graph" viewBox="0 0 600 520" role="img" aria-labelledby="graph-desc">
      <title id="graph-desc">Mesh graph; the same information is in the tables.</title>
    </svg>
    <p class="legend">Blue: links this node routes over. Numbers: link costs. Dashed: a node
      this node knows of but has no route to.</p>
  </section>
  <section aria-labelledby="nodes-h">
    <h2 id="nodes-h">Nodes</h2>
    <table id="nodes"><thead><tr><th scope="col">Node</th><th scope="col">Next hop from here</th>
      <th scope="col">Services</th><th scope="col">Work types</th></tr></thead><tbody></tbody></table>
  </section>
  <section aria-labelledby="links-h">
    <h2 id="links-h">Links</h2>
    <table id="links"><thead><tr><th scope="col">Between</th><th scope="col">Cost</th></tr></thead>
      <tbody></tbody></table>
    <h2 id="peers-h" style="margin-top:.8rem">Neighbours of this node</h2>
    <table id="peers"><thead><tr><th scope="col">Node</th><th scope="col">Cost</th>
      <th scope="col">Ping RTT</th></tr></thead><tbody></tbody></table>
  </section>
  <section aria-labelledby="units-h">
    <h2 id="units-h">Work units on this node (<span id="unit-count">0</span>)</h2>
    <table id="units"><thead><tr><th scope="col">Unit</th><th scope="col">Type</th>
      <th scope="col">State</th><th scope="col">Detail</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;
