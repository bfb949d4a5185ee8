// Seeded trek-captcha images (GIF, as the library serves them), for benchmarks/real_sets.py.
//   node benchmarks/npm/trek_captcha.js OUT_FOLDER COUNT SEED
// Writes OUT_FOLDER/00000.gif ... and OUT_FOLDER/labels.csv (filename,label). trek-captcha draws from
// crypto.randomBytes (the text, the skew, the white dots) and Math.random (the colour); both are replaced by
// one seeded generator before it loads, so a seed gives the same images again. Its defaults as a site would use
// them: 5 lowercase letters in one colour on white, skewed, a wavy 2-px line of the same colour across the whole
// image, 100 white dots punched into the ink. Its font draws "e" and "g" as "a", and its token says "a" for them.
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const seedrandom = require("seedrandom");

const [out, count, seed] = process.argv.slice(2);
if (!out || !count) {
  console.error("usage: node trek_captcha.js OUT_FOLDER COUNT [SEED]");
  process.exit(2);
}
const rng = seedrandom(String(seed || 0));
Math.random = rng;
crypto.randomBytes = (n, cb) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  if (cb) return void cb(null, b);
  return b;
};
const captcha = require("trek-captcha");

fs.mkdirSync(out, { recursive: true });
(async () => {
  const rows = ["filename,label"];
  for (let i = 0; i < Number(count); i++) {
    const { token, buffer } = await captcha();
    const name = `${String(i).padStart(5, "0")}.gif`;
    fs.writeFileSync(path.join(out, name), buffer);
    rows.push(`${name},${token}`);
  }
  fs.writeFileSync(path.join(out, "labels.csv"), rows.join("\n") + "\n");
})();
