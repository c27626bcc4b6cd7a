import { assertEquals } from "../helpers/assert.ts";
import { fixChunk } from "../../scripts/bundle.ts";

Deno.test("bundle: chunk imports are read when import() runs, not preloaded at start", () => {
  const text = `import "./chunk-HELP.js";\nimport "./chunk-CODE.js";\n` +
    `const q = await import("./stream_service-AB12.js");\n` +
    `const v8 = await import("node:v8");\nconst s = "import(\\"./x.js\\")";\n`;
  const r = fixChunk(text, new Set(["chunk-HELP.js"]));
  assertEquals(
    r.text,
    `import "./chunk-CODE.js";\n` +
      `const q = await import(String("./stream_service-AB12.js"));\n` +
      `const v8 = await import("node:v8");\nconst s = "import(\\"./x.js\\")";\n`,
  );
  assertEquals([r.dropped, r.deferred], [1, 1]);
});
