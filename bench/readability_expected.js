// Regenerate expected.html the way mozilla/readability's test generator does: jsdom at
// http://fakehost/test/page.html, Readability.parse(), the article content.
const fs = require("fs"), path = require("path");
const { JSDOM } = require("jsdom");
const { Readability } = require("@mozilla/readability");
const src = process.argv[2], out = process.argv[3];
for (const name of fs.readdirSync(src).sort()) {
  const f = path.join(src, name, "source.html");
  if (!fs.existsSync(f)) continue;
  const html = fs.readFileSync(f, "utf8");
  const doc = new JSDOM(html, { url: "http://fakehost/test/page.html" }).window.document;
  const r = new Readability(doc).parse();
  fs.mkdirSync(path.join(out, name), { recursive: true });
  fs.writeFileSync(path.join(out, name, "expected.html"), r ? r.content : "");
  fs.writeFileSync(path.join(out, name, "expected-metadata.generated.json"), JSON.stringify(r ? {title: r.title, byline: r.byline} : {}));
}
