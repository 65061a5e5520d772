// The demo's scenarios: each is one fetch from this page to the API through Envoy.
// `?run=all` runs them all on load, one after the other; with `&report=1` the page then POSTs
// every result and the browser's user agent, as JSON, to /results on its own server (the
// browser tests read it there; a same-origin request, so CORS has no say in it). `?api=URL`
// overrides config.js.
"use strict";

const params = new URLSearchParams(location.search);
const API = (params.get("api") || window.DEMO_API || "http://localhost:8080").replace(/\/$/, "");
const ALLOWED = `http://localhost:${location.port || 80}`;
const JSON_POST = {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ hello: "world" }),
};

const SCENARIOS = [
  {
    id: "simple-get",
    title: "Simple GET",
    text: "GET /api/ping. A simple request: no preflight; the browser sends it and then decides " +
      "whether the page may read the answer. Of the API's headers, x-request-id is exposed, " +
      "x-backend is not.",
    path: "/api/ping",
  },
  {
    id: "json-post",
    title: "JSON POST (preflighted)",
    text: "POST /api/echo with content-type: application/json, which is not a simple request: " +
      "the browser first sends OPTIONS, which cors-wasm answers in Envoy (it never reaches the API).",
    path: "/api/echo",
    init: JSON_POST,
  },
  {
    id: "json-post-again",
    title: "The same JSON POST again",
    text: "Within max_age (600 s) the browser reuses the preflight's answer: Envoy's log shows " +
      "no second OPTIONS.",
    path: "/api/echo",
    init: JSON_POST,
  },
  {
    id: "credentialed",
    title: "Credentialed call",
    text: "GET /api/me with credentials: 'include' and the cookie demo_session (set by this page). " +
      "The /api/ policy allows credentials; the API answers 401 without the cookie.",
    path: "/api/me",
    init: { credentials: "include" },
    before: () => { document.cookie = "demo_session=s3cr3t; path=/; SameSite=Lax"; },
  },
  {
    id: "public-get",
    title: "Public GET",
    text: "GET /public/ping: the public policy allows any origin (Access-Control-Allow-Origin: *).",
    path: "/public/ping",
  },
  {
    id: "public-credentialed",
    title: "Credentials where the policy does not allow them",
    text: "The same GET /public/ping with credentials: 'include'. A browser never lets a " +
      "credentialed request read a '*' answer: blocked.",
    why: "Access-Control-Allow-Origin is '*', and the request carried credentials.",
    path: "/public/ping",
    init: { credentials: "include" },
  },
  {
    id: "custom-header",
    title: "A custom header",
    text: "GET /api/ping with x-demo: hello. Not a simple header, so preflighted; the policy allows it.",
    path: "/api/ping",
    init: { headers: { "x-demo": "hello" } },
  },
  {
    id: "disallowed-header",
    title: "A header the policy does not allow",
    text: "GET /api/ping with x-secret: 1. The preflight is answered 403, so the browser never " +
      "sends the GET.",
    why: "the preflight asked for x-secret, which is not in allow_headers: Envoy answered it 403.",
    path: "/api/ping",
    init: { headers: { "x-secret": "1" } },
  },
  {
    id: "disallowed-method",
    title: "A disallowed method",
    text: "DELETE /api/items/1. The policy allows PUT beyond the simple methods, not DELETE: the " +
      "preflight is answered 403 and the DELETE never reaches the API.",
    why: "the preflight asked for DELETE, which is not in allow_methods: Envoy answered it 403.",
    path: "/api/items/1",
    init: { method: "DELETE" },
  },
  {
    id: "unauthorized",
    title: "A 401 from the API",
    text: "GET /api/private always answers 401. It carries the CORS headers too, so the page " +
      "can read the error and react to it.",
    path: "/api/private",
  },
];

const results = {};

// One fetch; `?scenario=` in the URL names it in Envoy's and the API's logs.
async function call(scenario) {
  if (scenario.before) scenario.before();
  const url = `${API}${scenario.path}?scenario=${scenario.id.replace(/-again$/, "")}`;
  try {
    const response = await fetch(url, scenario.init || {});
    const body = await response.text();
    const headers = {};
    for (const name of ["x-request-id", "x-backend"]) headers[name] = response.headers.get(name);
    return { outcome: "readable", status: response.status, body: body.trim(), headers };
  } catch (error) {
    return { outcome: "blocked", error: String(error) };
  }
}

function describe(scenario, result) {
  if (result.outcome === "blocked") {
    const why = scenario.path.startsWith("/api/") && location.origin !== ALLOWED
      ? `this page's origin, ${location.origin}, is not in the /api/ policy's allow_origins.`
      : scenario.why || "see the console.";
    return `Blocked by the browser: ${result.error}\nWhy: ${why}\n(The console has the browser's own words.)`;
  }
  const headers = Object.entries(result.headers)
    .map(([name, value]) => `${name}: ${value === null ? "(not readable)" : value}`)
    .join("\n");
  return `Readable: HTTP ${result.status}\n${result.body}\n${headers}`;
}

async function run(scenario) {
  const card = document.getElementById(scenario.id);
  card.className = "scenario";
  card.querySelector(".result").textContent = "...";
  const result = await call(scenario);
  results[scenario.id] = result;
  card.className = `scenario ${result.outcome}`;
  card.querySelector(".result").textContent = describe(scenario, result);
  return result;
}

async function runAll() {
  for (const scenario of SCENARIOS) await run(scenario);
  if (params.get("report") === "1") {
    await fetch("/results", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userAgent: navigator.userAgent, results }),
    });
  }
}

function render() {
  document.getElementById("origin").textContent = location.origin;
  document.getElementById("api").textContent = API;
  document.getElementById("allowed").textContent = ALLOWED;
  const other = location.hostname === "localhost"
    ? `http://127.0.0.1:${location.port}/`
    : `http://localhost:${location.port}/`;
  const link = document.getElementById("other");
  link.href = other + location.search;
  link.textContent = `The same page from ${new URL(other).origin}`;
  const list = document.getElementById("scenarios");
  for (const scenario of SCENARIOS) {
    const card = document.createElement("div");
    card.id = scenario.id;
    card.className = "scenario";
    const title = document.createElement("h2");
    title.textContent = scenario.title;
    const text = document.createElement("p");
    text.textContent = scenario.text;
    const button = document.createElement("button");
    button.textContent = "Call API";
    button.addEventListener("click", () => run(scenario));
    const result = document.createElement("pre");
    result.className = "result";
    card.append(title, text, button, result);
    list.append(card);
  }
  document.getElementById("run-all").addEventListener("click", runAll);
}

render();
if (params.get("run") === "all") runAll();
