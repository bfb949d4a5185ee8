// Seeded node-captcha-generator images, for benchmarks/real_sets.py.
//   node benchmarks/npm/node_captcha_generator.js OUT_FOLDER COUNT SEED
// Writes OUT_FOLDER/00000.bmp ... and OUT_FOLDER/labels.csv (filename,label). node-captcha-generator (pure
// JavaScript over jimp) draws five MNIST handwritten digits side by side, light on black, each scaled and turned at
// random, from Math.random, replaced here by a seeded generator before it loads, so a seed gives the same images
// again. 225x100 (its README's example is 450x200); written as BMP, as its own save() and toBase64() write them.
const fs = require("fs");
const path = require("path");
const seedrandom = require("seedrandom");

const [out, count, seed] = process.argv.slice(2);
if (!out || !count) {
  console.error("usage: node node_captcha_generator.js OUT_FOLDER COUNT [SEED]");
  process.exit(2);
}
Math.random = seedrandom(String(seed || 0));
const Captcha = require("node-captcha-generator");

fs.mkdirSync(out, { recursive: true });
const rows = ["filename,label"];
(async () => {
  for (let i = 0; i < Number(count); i++) {
    const c = new Captcha({ length: 5, size: { width: 225, height: 100 } });
    const name = `${String(i).padStart(5, "0")}.bmp`;
    await new Promise((resolve, reject) =>
      c.captcha.getBuffer("image/bmp", (err, buf) => (err ? reject(err) : resolve(fs.writeFileSync(path.join(out, name), buf)))));
    rows.push(`${name},${c.value}`);
  }
  fs.writeFileSync(path.join(out, "labels.csv"), rows.join("\n") + "\n");
})();
