// Seeded svg-captcha images rendered to PNG, for benchmarks/real_sets.py.
//   node benchmarks/npm/svg_captcha.js OUT_FOLDER COUNT SEED
// Writes OUT_FOLDER/00000.png ... and OUT_FOLDER/labels.csv (filename,label). svg-captcha draws with
// Math.random, which is replaced by a seeded generator first, so a seed gives the same images again.
// Its defaults as a site would use them: 4 characters of upper and lower case letters and digits,
// each in its own colour, 2 curves of other colours; a light paper colour, as its PNG has none.
const fs = require("fs");
const path = require("path");
const seedrandom = require("seedrandom");

const [out, count, seed] = process.argv.slice(2);
if (!out || !count) {
  console.error("usage: node svg_captcha.js OUT_FOLDER COUNT [SEED]");
  process.exit(2);
}
Math.random = seedrandom(String(seed || 0));
const svgCaptcha = require("svg-captcha");
const { Resvg } = require("@resvg/resvg-js");

const background = "#f4f1e8";
fs.mkdirSync(out, { recursive: true });
const rows = ["filename,label"];
for (let i = 0; i < Number(count); i++) {
  const c = svgCaptcha.create({ size: 4, noise: 2, color: true, background });
  const name = `${String(i).padStart(5, "0")}.png`;
  fs.writeFileSync(path.join(out, name), new Resvg(c.data, { background }).render().asPng());
  rows.push(`${name},${c.text}`);
}
fs.writeFileSync(path.join(out, "labels.csv"), rows.join("\n") + "\n");
