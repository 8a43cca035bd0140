// The playground in a real browser: Debian's chromium (headless), driven by
// playwright-core (no browser download). Serves playground/dist on a
// loopback port, then, as a user would:
//  1. opens a link whose fragment holds settings allowing only
//     public.ecr.aws and a Deployment with a docker.io init container, and
//     sees the denial naming spec.template.spec.initContainers[0].image;
//  2. edits the settings to allow docker.io and sees "ok";
//  3. breaks the settings and sees the error at its path and line;
//  4. at a phone's width, the page does not scroll sideways.
// Writes the README's screenshot (docs/playground.png) and reports the time
// from page load to the first verdict (measured, not asserted).
// Usage: node browser.mjs DIST_DIR SCREENSHOT_PATH
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [distArg, screenshot] = process.argv.slice(2);
if (!distArg || !screenshot) {
  console.error("usage: node browser.mjs DIST_DIR SCREENSHOT_PATH");
  process.exit(2);
}

const dist = path.resolve(distArg);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };
const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://localhost");
  const file = path.join(dist, url.pathname === "/" ? "index.html" : path.normalize(url.pathname));
  if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    response.writeHead(404).end("not found");
    return;
  }
  response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
  fs.createReadStream(file).pipe(response);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}/`;

const encode = (text) => Buffer.from(text, "utf8").toString("base64url");
const settings = "registries:\n  allow: [public.ecr.aws]\n";
const manifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: docker.io/library/busybox:1.36
      containers:
        - name: web
          image: public.ecr.aws/nginx/nginx:1.27
`;

let failures = 0;
function check(condition, what, detail = "") {
  console.log(`${condition ? "ok" : "FAILED"}: ${what}${condition ? "" : `\n  ${detail}`}`);
  if (!condition) failures++;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Nothing but the page's own files may be fetched.
  const foreign = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base)) foreign.push(r.url());
  });

  await page.goto(`${base}#s=${encode(settings)}&m=${encode(manifests)}`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30000 });
  const first = page.locator("#verdicts > li").first();
  const text = (await first.textContent()) ?? "";
  check((await first.getAttribute("class")) === "deny", "the Deployment is denied", text);
  check(
    text.includes('spec.template.spec.initContainers[0].image "docker.io/library/busybox:1.36": registry "docker.io" is not allowed (registries.allow: public.ecr.aws)'),
    "the denial names the init container's field, image and rule",
    text,
  );
  const firstVerdictMs = await page.evaluate(() => window.firstVerdictMs);
  console.log(`first verdict ${Math.round(firstVerdictMs)} ms after load (reported, not asserted)`);
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });

  await page.fill("#settings", "registries:\n  allow: [public.ecr.aws, docker.io]\n");
  await page.waitForFunction(() => document.querySelector("#verdicts > li")?.className === "ok", null, { timeout: 5000 });
  check(((await first.textContent()) ?? "").includes("Deployment prod/web"), "allowing docker.io turns it ok");
  const hash = new URL(page.url()).hash;
  check(hash.startsWith(`#s=${encode("registries:\n  allow: [public.ecr.aws, docker.io]\n")}&m=`), "the fragment follows the edit", hash);

  await page.fill("#settings", 'registries:\n  allow:\n    - public.ecr.aws\n    - "bad host/x"\n');
  await page.waitForSelector("#settings-errors li", { timeout: 5000 });
  const error = (await page.locator("#settings-errors li").first().textContent()) ?? "";
  check(error.startsWith("line 4 · registries.allow[1] registries.allow[1]: "), "the settings error stands at its path and line", error);
  check((await page.locator("#verdicts > li").count()) === 0, "no verdicts under invalid settings");

  // A shared link opens with the same inputs and verdicts, with no click.
  const shared = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await shared.goto(page.url());
  await shared.waitForSelector("body[data-ready=true]", { timeout: 30000 });
  check((await shared.inputValue("#settings")).includes('"bad host/x"'), "a copied link restores the settings");
  const overflow = await shared.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, "at a phone's width the page does not scroll sideways", `overflow ${overflow}px`);

  check(errors.length === 0, "no script errors", errors.join("\n"));
  check(foreign.length === 0, "no network access beyond the page's files", foreign.join("\n"));
} finally {
  await browser.close();
  server.close();
}
if (failures) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
