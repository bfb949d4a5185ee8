// Seeded ppfun-captcha images rendered to PNG, for benchmarks/real_sets.py.
//   node benchmarks/npm/ppfun_captcha.js OUT_FOLDER COUNT SEED
// Writes OUT_FOLDER/00000.png ... and OUT_FOLDER/labels.csv (filename,label). ppfun-captcha (the captcha of
// pixelplanet.fun, a fork of svg-captcha hardened against its known crack) draws with Math.random, which is
// replaced by a seeded generator first, so a seed gives the same images again. Its defaults: 500x300, 4
// characters of upper and lower case letters and digits, outlined in black, all joined into one path by random
// connecting lines, with the path's nodes moved and some of its lines and curves cut; its SVG has no paper, so
// it is rendered on white.
const fs = require("fs");
const path = require("path");
const seedrandom = require("seedrandom");

const [out, count, seed] = process.argv.slice(2);
if (!out || !count) {
  console.error("usage: node ppfun_captcha.js OUT_FOLDER COUNT [SEED]");
  process.exit(2);
}
Math.random = seedrandom(String(seed || 0));
const ppfunCaptcha = require("ppfun-captcha");
const { Resvg } = require("@resvg/resvg-js");

const background = "#ffffff";
fs.mkdirSync(out, { recursive: true });
const rows = ["filename,label"];
for (let i = 0; i < Number(count); i++) {
  const c = ppfunCaptcha.create();
  const name = `${String(i).padStart(5, "0")}.png`;
  fs.writeFileSync(path.join(out, name), new Resvg(c.data, { background }).render().asPng());
  rows.push(`${name},${c.text}`);
}
fs.writeFileSync(path.join(out, "labels.csv"), rows.join("\n") + "\n");
