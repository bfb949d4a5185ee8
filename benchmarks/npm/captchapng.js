// Seeded captchapng images (PNG, as the library serves them), for benchmarks/real_sets.py.
//   node benchmarks/npm/captchapng.js OUT_FOLDER COUNT SEED
// Writes OUT_FOLDER/00000.png ... and OUT_FOLDER/labels.csv (filename,label). captchapng draws from Math.random
// (the fonts, the places), replaced here by a seeded generator before it loads, so a seed gives the same images
// again. Its README's example as a site would use it: 80x30, a 4-digit number from 1000 to 9999 (the code drawn
// the same way), grey ink (80, 80, 80) on a transparent background; each digit in one of its built-in fonts, bold
// or 1-px thin, moved up, down, left and right at random.
const fs = require("fs");
const path = require("path");
const seedrandom = require("seedrandom");

const [out, count, seed] = process.argv.slice(2);
if (!out || !count) {
  console.error("usage: node captchapng.js OUT_FOLDER COUNT [SEED]");
  process.exit(2);
}
Math.random = seedrandom(String(seed || 0));
const Captchapng = require("captchapng");

fs.mkdirSync(out, { recursive: true });
const rows = ["filename,label"];
for (let i = 0; i < Number(count); i++) {
  const code = parseInt(Math.random() * 9000 + 1000);
  const p = new Captchapng(80, 30, code);
  p.color(0, 0, 0, 0); // background: transparent
  p.color(80, 80, 80, 255); // ink
  const name = `${String(i).padStart(5, "0")}.png`;
  fs.writeFileSync(path.join(out, name), Buffer.from(p.getBase64(), "base64"));
  rows.push(`${name},${code}`);
}
fs.writeFileSync(path.join(out, "labels.csv"), rows.join("\n") + "\n");
