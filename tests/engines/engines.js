// The scenarios where browser engines disagree, or changed their minds, about CORS: each one
// fetch (or two) from this page to the API (?api=, Envoy with cors-wasm; ?other= is the same
// Envoy on another origin), run one after the other; then every verdict and the user agent
// are POSTed to /results on this page's own server. The policies that produce each situation
// are in tests/engines.rs; paths under /raw/ match none, and the server writes the CORS
// headers asked for in their query itself.
"use strict";

const params = new URLSearchParams(location.search);
const API = params.get("api");
const OTHER = params.get("other");
const CUSTOM = { "x-custom": "1" };

// What the page could read: "blocked", or "readable", with the response's origin as the
// server saw it (`origin`) and whether the page could read its header x-custom (`header`).
async function read(url, init) {
  try {
    const response = await fetch(url, init);
    const body = await response.json();
    const header = response.headers.get("x-custom") === null ? "hidden" : "readable";
    return { verdict: "readable", status: response.status, ...body, header };
  } catch (error) {
    return { verdict: "blocked", error: String(error) };
  }
}

// The same fetch from a sandboxed iframe (no allow-same-origin): its origin is opaque, "null".
function readFromSandbox(url) {
  return new Promise((resolve) => {
    const frame = document.createElement("iframe");
    frame.sandbox = "allow-scripts";
    frame.srcdoc = `<script>
      fetch(${JSON.stringify(url)})
        .then((r) => r.json())
        .then((body) => parent.postMessage({ verdict: "readable", origin: body.origin }, "*"))
        .catch((e) => parent.postMessage({ verdict: "blocked", error: String(e) }, "*"));
    <\/script>`;
    window.addEventListener("message", (event) => {
      if (event.source === frame.contentWindow) resolve(event.data);
    });
    document.body.append(frame);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A readable verdict that says whether x-custom was readable, or which Origin the server saw.
const header = (r) => (r.verdict === "readable" ? { ...r, verdict: `x-custom ${r.header}` } : r);
const origin = (r) => (r.verdict === "readable" ? { ...r, verdict: `readable, Origin: ${r.origin}` } : r);

const SCENARIOS = {
  // Allow-Headers: * for x-custom (cors-wasm's `*` answers with the requested names, so the
  // server sends this answer itself).
  "allow-headers-star": () => read(`${API}/raw/s?acao=origin&acah=*`, { headers: CUSTOM }),
  // Allow-Headers: * never covers Authorization (Fetch standard); cors-wasm refuses to let it,
  // so the server answers the preflight itself.
  "allow-headers-star-authorization": async () => {
    const r = await read(`${API}/raw/a?acao=origin&acah=*`, { headers: { authorization: "Bearer x" } });
    return r.verdict === "readable" ? { ...r, verdict: `readable, Authorization sent: ${r.authorization}` } : r;
  },
  // cors-wasm's `allow_headers: ["*"]` refuses such a preflight itself.
  "allow-headers-star-authorization-cors-wasm": () =>
    read(`${API}/star/a`, { headers: { authorization: "Bearer x" } }),
  // With credentials, `*` is a header named "*", not a wildcard.
  "allow-headers-star-credentialed": () =>
    read(`${API}/raw/b?acao=origin&acac=true&acah=*`, { headers: CUSTOM, credentials: "include" }),
  // cors-wasm sends Expose-Headers: * (its policy may, without credentials).
  "expose-headers-star": async () => header(await read(`${API}/expose/a`)),
  // With credentials `*` exposes a header named "*"; cors-wasm refuses that policy, the server
  // sends it.
  "expose-headers-star-credentialed": async () =>
    header(await read(`${API}/raw/c?acao=origin&acac=true&aceh=*`, { credentials: "include" })),
  // cors-wasm omits Allow-Methods when only simple methods are allowed: a preflighted GET.
  "no-allow-methods-simple-method": () => read(`${API}/simple/a`, { headers: CUSTOM }),
  // The same answer for a PUT, which only Allow-Methods can allow.
  "no-allow-methods-put": () =>
    read(`${API}/raw/d?acao=origin&acah=x-custom`, { method: "PUT", headers: CUSTOM }),
  // fetch() upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT: "patch" stays "patch",
  // and the Fetch standard compares it with Allow-Methods byte for byte.
  "lower-case-patch": () =>
    read(`${API}/raw/p?acao=origin&acam=PATCH`, { method: "patch" }),
  // The Fetch standard lets the methods it normalizes match Allow-Methods only byte for byte:
  // PUT against "put".
  "allow-methods-lower-case-put": () =>
    read(`${API}/raw/q?acao=origin&acah=x-custom&acam=put`, { method: "PUT", headers: CUSTOM }),
  // The answers below allow the origin and nothing else: readable only if sent without a
  // preflight. A single byte range is a CORS-safelisted header since 2022 (Fetch standard) ...
  "range-header-without-preflight": () =>
    read(`${API}/raw/r?acao=origin`, { headers: { range: "bytes=0-" } }),
  // ... and Accept over 128 bytes is not.
  "long-accept-header": () =>
    read(`${API}/raw/l?acao=origin`, { headers: { accept: "a".repeat(129) } }),
  // A preflighted GET answered 307 (with the CORS headers) to another path of the same origin.
  "redirect-after-preflight": async () =>
    origin(await read(`${API}/redirect/go?to=${encodeURIComponent(`${API}/redirect/target`)}`, { headers: CUSTOM })),
  // The same, redirected to another origin: the Fetch standard then sends Origin: null.
  "redirect-after-preflight-to-another-origin": async () =>
    origin(await read(`${API}/redirect/go?to=${encodeURIComponent(`${OTHER}/redirect/target`)}`, { headers: CUSTOM })),
  // A simple GET from a sandboxed iframe, to a policy that allows the origin "null".
  "null-origin-sandboxed-iframe": async () => origin(await readFromSandbox(`${API}/null/a`)),
  // max_age: 1, and the same preflighted GET 1.5 s apart: the test counts the preflights
  // cors-wasm answered.
  "preflight-cached-past-max-age": async () => {
    const first = await read(`${API}/maxage/a`, { headers: CUSTOM });
    await sleep(1500);
    const second = await read(`${API}/maxage/a`, { headers: CUSTOM });
    return { verdict: `${first.verdict}, then ${second.verdict}` };
  },
};

async function runAll() {
  const results = {};
  for (const [id, scenario] of Object.entries(SCENARIOS)) results[id] = await scenario();
  document.getElementById("results").textContent = JSON.stringify(results, null, 2);
  await fetch("/results", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userAgent: navigator.userAgent, results }),
  });
}

runAll();
