/**
 * A tiny local web server for the tcp-proxy example: answers every request with a greeting
 * that names the path. Usage: `deno run --allow-net hello_server.ts [port]` (default 27480).
 * @module
 */
const port = Number(Deno.args[0] ?? 27480);
Deno.serve({ hostname: "127.0.0.1", port }, (req) => {
  const path = new URL(req.url).pathname;
  return new Response(`hello from the web node (you asked for ${path})\n`);
});
