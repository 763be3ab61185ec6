// The browser test of `serve`'s page: a real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core, which downloads nothing) draws digits on the canvas with mouse
// events, waits for the page to answer, and checks the digit shown, the ten bars, the 28×28
// preview and the hidden layers; then a drawing sent back as a chosen file must read the same.
// In teach mode it draws a 7 and clicks "7": the count on the page and the files in the teach
// folder (a temporary one) must show it. A run added to the artifacts folder while the page is
// open must appear in the run picker without a reload.
//
// Environment: SERVE_BIN (the serve binary), MODEL (a trained run), OUT_DIR (screenshots go here), SCREENSHOT (optional: also save the page with the last digit
// there, as the README's picture), CHROMIUM (default /usr/bin/chromium).

import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const serveBin = env("SERVE_BIN");
const model = env("MODEL");
// The server's folders of its own: the runs it lists (the model is the default one; a copy of
// it is added while the page is open) and the teach folder.
const scratch = mkdtempSync(join(tmpdir(), "digits-browser-"));
const artifacts = join(scratch, "artifacts");
const teachDir = join(scratch, "mine");
mkdirSync(artifacts);
const outDir = env("OUT_DIR", join(tmpdir(), "digits-browser"));
const screenshot = process.env.SCREENSHOT;
const executablePath = env("CHROMIUM", "/usr/bin/chromium");

// Strokes in the canvas's own 280×280 pixels, each a list of points, as a person would draw.
const ellipse = (cx, cy, rx, ry, n) =>
  Array.from({ length: n + 1 }, (_, k) => {
    const t = -Math.PI / 2 + (2 * Math.PI * k) / n;
    return [cx + rx * Math.cos(t), cy + ry * Math.sin(t)];
  });
const DIGITS = [
  { digit: 1, strokes: [[[150, 45], [145, 100], [140, 160], [136, 235]]] },
  { digit: 7, strokes: [[[75, 60], [140, 58], [205, 60], [175, 120], [145, 180], [125, 235]]] },
  { digit: 0, strokes: [ellipse(140, 140, 62, 92, 36)] },
];

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(
      serveBin,
      ["--model", model, "--artifacts", artifacts, "--teach-dir", teachDir, "--addr", "127.0.0.1:0"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let said = "";
    const timer = setTimeout(() => reject(new Error(`serve said no address in 60 s: ${said}`)), 60_000);
    child.stdout.on("data", (chunk) => {
      said += chunk;
      const m = said.match(/open (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before it listened: ${said}`));
    });
  });
}

async function draw(page, strokes) {
  const box = await page.locator("#canvas").boundingBox();
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  for (const stroke of strokes) {
    const [x0, y0] = at(stroke[0]);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const point of stroke.slice(1)) {
      const [x, y] = at(point);
      await page.mouse.move(x, y, { steps: 5 });
    }
    await page.mouse.up();
  }
}

async function answered(page, before) {
  await page.waitForFunction(
    (n) => document.body.dataset.state === "ready" && Number(document.body.dataset.answers) > n,
    before,
    { timeout: 20_000 },
  );
  // The bars slide to their new lengths in 0.15 s.
  await page.waitForTimeout(250);
}

/// What the page shows: the digit, the bars, and how much ink the preview and hidden layers hold.
function shown(page) {
  return page.evaluate(() => {
    const preview = document.getElementById("preview");
    const data = preview.getContext("2d").getImageData(0, 0, 28, 28).data;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] > 40) lit += 1;
    const bars = [...document.querySelectorAll("#bars .row")].map((row) => ({
      digit: Number(row.dataset.digit),
      width: parseFloat(row.querySelector(".bar").style.width) || 0,
      value: row.querySelector(".value").textContent,
      top: row.classList.contains("top"),
    }));
    return {
      prediction: document.getElementById("prediction").textContent.trim(),
      kind: document.getElementById("kind").textContent,
      bars,
      lit,
      layers: document.querySelectorAll("#hidden canvas").length,
      status: document.getElementById("status").textContent,
    };
  });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const started = Date.now();
mkdirSync(outDir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "digits-chromium-"));
const { child, url } = await startServer();
let browser;
let failed = false;
try {
  // A fresh profile of its own, removed afterwards.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1000, height: 860 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("request", (r) => {
    if (!/^(blob|data):/.test(r.url()) && !r.url().startsWith(url)) problems.push(`the page asked for ${r.url()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll("#run option").length > 0);

  for (const { digit, strokes } of DIGITS) {
    await page.click("#clear");
    const before = Number(await page.evaluate(() => document.body.dataset.answers));
    await draw(page, strokes);
    await answered(page, before);
    const s = await shown(page);
    await page.screenshot({ path: join(outDir, `digit-${digit}.png`), fullPage: true });
    console.log(`drew ${digit}: the page says ${s.prediction} (${s.bars.map((b) => b.value).join(" ")})`);
    check(s.prediction === String(digit), `drew ${digit}, the page says ${s.prediction}`);
    check(s.bars.length === 10, `${s.bars.length} bars`);
    check(s.bars.filter((b) => b.top).map((b) => b.digit).join() === String(digit), "the top bar is the digit's");
    check(s.bars[digit].width > 0 && s.bars.every((b) => b.value !== ""), "the bars are filled");
    check(/sigmoid|softmax/.test(s.kind), `the bars say what they are: ${s.kind}`);
    check(s.lit >= 20, `the 28×28 preview shows the digit (${s.lit} pixels lit)`);
    check(s.layers >= 1, "the hidden layers are drawn");
  }

  // The last drawing, sent as a chosen picture file, reads the same.
  const png = await page.evaluate(() => document.getElementById("canvas").toDataURL("image/png"));
  const lastDigit = DIGITS[DIGITS.length - 1].digit;
  await page.click("#clear");
  check((await shown(page)).prediction === "–", "Clear clears the answer");
  const before = Number(await page.evaluate(() => document.body.dataset.answers));
  await page.setInputFiles("#file", {
    name: "digit.png",
    mimeType: "image/png",
    buffer: Buffer.from(png.split(",")[1], "base64"),
  });
  await answered(page, before);
  const fromFile = await shown(page);
  check(fromFile.prediction === String(lastDigit), `the file reads ${fromFile.prediction}, not ${lastDigit}`);
  console.log(`chose the drawing of ${lastDigit} as a file: the page says ${fromFile.prediction}`);

  // Teach mode: draw a 7, click "7"; the page counts it and the teach folder holds it.
  await page.click("#clear");
  await page.check("#teach-mode");
  await page.waitForSelector("#teach:not([hidden])");
  const count7 = '#digits button[data-digit="7"] .count';
  await page.waitForFunction((sel) => document.querySelector(sel).textContent === "0 drawn", count7);
  check(await page.isDisabled('#digits button[data-digit="7"]'), "nothing drawn: the digit buttons wait");
  const asked = Number(await page.evaluate(() => document.body.dataset.answers));
  await draw(page, DIGITS[1].strokes);
  await answered(page, asked);
  await page.click('#digits button[data-digit="7"]');
  await page.waitForFunction(() => document.body.dataset.taught === "1", null, { timeout: 20_000 });
  const taught = await page.evaluate((sel) => ({
    count: document.querySelector(sel).textContent,
    status: document.getElementById("status").textContent,
    next: document.getElementById("teach-next").textContent,
    prediction: document.getElementById("prediction").textContent.trim(),
  }), count7);
  await page.screenshot({ path: join(outDir, "teach.png"), fullPage: true });
  console.log(`taught a 7: "${taught.status}"; button 7: ${taught.count}`);
  check(taught.count === "1 drawn", `the 7 button says ${taught.count}`);
  check(taught.status.includes("saved as a 7"), `the page says ${taught.status}`);
  check(taught.next.includes("still missing: 0, 1, 2, 3, 4, 5, 6, 8 and 9"), `next: ${taught.next}`);
  check(taught.prediction === "–", "the canvas is cleared for the next drawing");
  for (const file of ["train/7/0001.png", "originals/7/0001.png"]) {
    check(existsSync(join(teachDir, file)), `${file} is not in the teach folder`);
  }
  await page.uncheck("#teach-mode");

  // A run trained while the page is open is offered once the picker is opened again.
  cpSync(model, join(artifacts, "mine"), { recursive: true });
  await page.focus("#run");
  await page.waitForFunction(
    () => [...document.querySelectorAll("#run option")].some((o) => o.value === "mine"),
    null,
    { timeout: 10_000 },
  );
  console.log("a run added meanwhile (mine) is offered");

  // The page for the README: the 7 drawn, on a phone-sized and a desktop page alike.
  if (screenshot) {
    await page.click("#clear");
    const n = Number(await page.evaluate(() => document.body.dataset.answers));
    await draw(page, DIGITS[1].strokes);
    await answered(page, n);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`saved ${screenshot}`);
  }
  // Phone-sized, teach mode's digit buttons included.
  await page.check("#teach-mode");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(outDir, "phone.png"), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `on a phone-sized screen the page is ${overflow} px too wide`);

  check(problems.length === 0, problems.join("\n"));
  console.log(`browser test passed in ${((Date.now() - started) / 1000).toFixed(1)} s (screenshots in ${outDir})`);
} catch (e) {
  failed = true;
  console.error(`browser test FAILED: ${e.message}`);
} finally {
  if (browser) await browser.close();
  child.kill("SIGINT");
  rmSync(profile, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
