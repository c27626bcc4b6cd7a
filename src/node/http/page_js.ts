/**
 * The live mesh page's script, embedded so that it survives `deno compile`. It listens to
 * `/events` (server-sent events carrying the JSON snapshot), renders the tables with DOM text
 * nodes (never HTML from data) and a circle-layout SVG graph, and announces joins and leaves
 * in a polite live region for screen readers.
 * @module
 */

/** The script served at `/app.js`. */
export const PAGE_JS = String.raw`"use strict";
(function () {
  var SVGNS = "http://www.w3.org/2000/svg";
  var prevNodes = null;
  function $(id) { return document.getElementById(id); }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function fill(id, rows, emptyText, cols) {
    var tbody = $(id).tBodies[0];
    var trs = rows.map(function (r) {
      var tr = document.createElement("tr");
      if (r.key) tr.dataset.key = r.key;
      r.cells.forEach(function (c) { cell(tr, c[0], c[1]); });
      return tr;
    });
    if (trs.length === 0) {
      var tr = document.createElement("tr");
      var td = cell(tr, emptyText, "empty");
      td.colSpan = cols;
      trs.push(tr);
    }
    tbody.replaceChildren.apply(tbody, trs);
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function drawGraph(s) {
    var g = $("graph");
    var title = g.querySelector("title");
    var ids = s.nodes.map(function (n) { return n.id; });
    var self = ids.indexOf(s.nodeId);
    if (self > 0) { ids.splice(self, 1); ids.unshift(s.nodeId); }
    var pos = {};
    var cx = 300, cy = 260, r = ids.length > 1 ? 200 : 0;
    ids.forEach(function (id, i) {
      var a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(ids.length, 1);
      pos[id] = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
    });
    var onRoute = {};
    s.routes.forEach(function (rt) { onRoute[[s.nodeId, rt.via].sort().join(" ")] = true; });
    var parts = [title];
    s.links.forEach(function (l) {
      var p = pos[l.a], q = pos[l.b];
      if (!p || !q) return;
      var cls = onRoute[[l.a, l.b].sort().join(" ")] ? "edge route" : "edge";
      parts.push(svg("line", { x1: p[0], y1: p[1], x2: q[0], y2: q[1], "class": cls }));
      parts.push(svg("text", { x: (p[0] + q[0]) / 2, y: (p[1] + q[1]) / 2 - 4, "class": "cost",
        "aria-hidden": "true" }, String(l.cost)));
    });
    var reach = reachableIds(s);
    ids.forEach(function (id) {
      var p = pos[id];
      var cls = id === s.nodeId ? "node self" : reach.indexOf(id) < 0 ? "node gone" : "node";
      var grp = svg("g", { "class": cls, "data-node": id });
      grp.appendChild(svg("circle", { cx: p[0], cy: p[1], r: 20 }));
      grp.appendChild(svg("text", { x: p[0], y: p[1] + 38 },
        reach.indexOf(id) < 0 ? id + " (unreachable)" : id));
      parts.push(grp);
    });
    title.textContent = "Mesh graph of " + ids.length + " nodes and " + s.links.length +
      " links as seen from " + s.nodeId + "; the same information is in the tables.";
    g.replaceChildren.apply(g, parts);
  }
  function reachableIds(s) {
    var ids = [s.nodeId];
    s.routes.forEach(function (r) { ids.push(r.node); });
    return ids;
  }
  function announce(s) {
    var now = s.nodes.map(function (n) { return n.id; });
    var reach = reachableIds(s);
    if (prevNodes) {
      var msg = [];
      var joined = now.filter(function (n) { return prevNodes.ids.indexOf(n) < 0; });
      var left = prevNodes.ids.filter(function (n) { return now.indexOf(n) < 0; });
      var lost = prevNodes.reach.filter(function (n) {
        return reach.indexOf(n) < 0 && now.indexOf(n) >= 0;
      });
      var back = reach.filter(function (n) {
        return prevNodes.reach.indexOf(n) < 0 && prevNodes.ids.indexOf(n) >= 0;
      });
      if (joined.length) msg.push("joined: " + joined.join(", "));
      if (left.length) msg.push("left: " + left.join(", "));
      if (lost.length) msg.push("unreachable: " + lost.join(", "));
      if (back.length) msg.push("reachable again: " + back.join(", "));
      if (msg.length) {
        $("changes").textContent = new Date().toLocaleTimeString() + " — " + msg.join("; ");
      }
    }
    prevNodes = { ids: now, reach: reach };
  }
  function render(s) {
    $("self").textContent = s.nodeId;
    document.title = "receptor mesh: " + s.nodeId;
    $("node-count").textContent = String(s.nodes.length);
    $("link-count").textContent = String(s.links.length);
    $("unit-count").textContent = String(s.unitsTotal);
    var via = {};
    s.routes.forEach(function (r) { via[r.node] = r.via; });
    fill("nodes", s.nodes.map(function (n) {
      var hop = n.id === s.nodeId ? "(this node)" : (via[n.id] || "no route (unreachable)");
      var svc = n.services.map(function (x) {
        return x.service + (x.type ? " (" + x.type + ")" : "") + (x.tls ? " TLS" : "");
      }).join(", ");
      var wt = n.workTypes.map(function (w) { return w.workType + (w.secure ? " (signed)" : ""); });
      return { key: n.id, cells: [[n.id], [hop], [svc || "—"], [wt.join(", ") || "—"]] };
    }), "no nodes", 4);
    fill("links", s.links.map(function (l) {
      return { key: l.a + " " + l.b, cells: [[l.a + " — " + l.b], [String(l.cost), "num"]] };
    }), "no links", 2);
    fill("peers", s.peers.map(function (p) {
      var rtt = p.rttMs === null ? "—" : p.rttMs.toFixed(2) + " ms";
      return { key: p.node, cells: [[p.node], [String(p.cost), "num"], [rtt, "num"]] };
    }), "no neighbours", 3);
    fill("units", s.units.map(function (u) {
      return { key: u.id, cells: [[u.id], [u.workType], [u.state, "state-" + u.state], [u.detail]] };
    }), "no work units", 4);
    drawGraph(s);
    announce(s);
  }
  function status(text, cls) {
    var c = $("conn");
    c.textContent = text;
    c.className = cls;
  }
  var es = new EventSource("/events");
  es.addEventListener("mesh", function (ev) {
    status("live — updated " + new Date().toLocaleTimeString(), "live");
    render(JSON.parse(ev.data));
  });
  es.onerror = function () { status("disconnected from the node — retrying", "down"); };
})();
`;
