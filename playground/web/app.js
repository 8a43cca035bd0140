// The playground page: two editors, a verdict list, state in the URL
// fragment (#s=<base64url settings>&m=<base64url manifests>[&a=<answers>]).
// All the deciding is done by the policy's code (pkg/, built by
// `make playground`); this script only reads and writes the page.
import init, { check_json } from "./pkg/registry_guard_playground.js";

const started = performance.now();
const $ = (id) => document.getElementById(id);

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - name: migrate
          image: docker.io/library/busybox:1.36
      containers:
        - name: web
          image: public.ecr.aws/nginx/nginx:1.27
`;

const PRESETS = {
  ecr: { settings: "registries:\n  allow: [public.ecr.aws]\n", manifests: DEPLOYMENT, answers: "" },
  latest: {
    settings: "tags:\n  reject: [latest]\n",
    manifests: "apiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: dev}\nspec:\n  containers:\n    - {name: shell, image: busybox}\n    - {name: web, image: \"nginx:1.27\"}\n",
    answers: "",
  },
  pin: {
    settings: "digests:\n  pin: required\n",
    manifests: "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: prod}\nspec:\n  containers:\n    - {name: web, image: \"nginx:1.27\"}\n    - {name: cache, image: \"redis:7\"}\n",
    answers: "nginx:1.27: sha256:9a1ce4c2fd5ec5d1a4f5cc4b3f2b1e4e1a9c0b1d6e7f8a9b0c1d2e3f4a5b6c7d\n",
  },
};

// base64url of UTF-8 text, without padding, and back.
function encode(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function decode(value) {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function readFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const get = (key) => {
    try {
      return params.has(key) ? decode(params.get(key)) : null;
    } catch {
      return null;
    }
  };
  return { settings: get("s"), manifests: get("m"), answers: get("a") };
}

function writeFragment() {
  let hash = `s=${encode($("settings").value)}&m=${encode($("manifests").value)}`;
  if ($("answers").value.trim()) hash += `&a=${encode($("answers").value)}`;
  history.replaceState(null, "", `#${hash}`);
}

function item(className, parts) {
  const li = document.createElement("li");
  if (className) li.className = className;
  for (const part of parts) li.append(part);
  return li;
}
function span(className, text) {
  const s = document.createElement("span");
  s.className = className;
  s.textContent = text;
  return s;
}

function render(report) {
  for (const input of ["settings", "manifests", "answers"]) $(`${input}-errors`).replaceChildren();
  for (const e of report.inputErrors) {
    const where = e.line ? `line ${e.line}` : e.input;
    $(`${e.input}-errors`).append(item("", [span("where", where), " ", e.message]));
  }
  for (const e of report.settingsErrors) {
    const where = [e.line ? `line ${e.line}` : null, e.path || null].filter(Boolean).join(" · ");
    $("settings-errors").append(item("", where ? [span("where", where), " ", e.message] : [e.message]));
  }
  const list = $("verdicts");
  list.replaceChildren();
  for (const v of report.verdicts) {
    const code = document.createElement("code");
    code.textContent = v.line.replace(/^(ok|deny) +/, "");
    const li = item(v.status, [span("status", v.status), code]);
    const sub = document.createElement("ul");
    sub.className = "sub";
    for (const w of v.warnings) sub.append(item("warning", [`warning: ${w}`]));
    if (v.hostCalls.length) {
      sub.append(item("host", ["host lookups cannot run in a browser; answered here:"]));
      for (const call of v.hostCalls) sub.append(item("host", [`  ${call}`]));
    }
    if (v.patch) sub.append(item("patch", [`patch: ${JSON.stringify(v.patch)}`]));
    if (sub.children.length) li.append(sub);
    list.append(li);
  }
  const needsHost = /\b(pin|signatures|imageConfig)\b/.test($("settings").value);
  $("host-note").hidden = !needsHost;
}

function run() {
  const report = JSON.parse(check_json($("settings").value, $("manifests").value, $("answers").value));
  render(report);
  writeFragment();
  return report;
}

let timer = null;
function scheduleRun() {
  clearTimeout(timer);
  timer = setTimeout(run, 120);
}

function load(state) {
  $("settings").value = state.settings ?? "";
  $("manifests").value = state.manifests ?? "";
  $("answers").value = state.answers ?? "";
  if ($("answers").value) $("answers-box").open = true;
}

async function main() {
  await init();
  const fragment = readFragment();
  load(fragment.settings !== null || fragment.manifests !== null ? fragment : PRESETS.ecr);
  run();
  // Reported by the browser test: load to first verdict.
  window.firstVerdictMs = performance.now() - started;
  $("loading").textContent = `Policy loaded; first verdict in ${Math.round(window.firstVerdictMs)} ms.`;
  for (const id of ["settings", "manifests", "answers"]) $(id).addEventListener("input", scheduleRun);
  $("preset").addEventListener("change", (event) => {
    const preset = PRESETS[event.target.value];
    if (preset) {
      load(preset);
      run();
    }
  });
  $("copy").addEventListener("click", async () => {
    writeFragment();
    try {
      await navigator.clipboard.writeText(location.href);
      $("copied").textContent = "Link copied.";
    } catch {
      window.prompt("Copy this link:", location.href);
    }
  });
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  $("loading").textContent = `The policy could not be loaded: ${error}`;
});
