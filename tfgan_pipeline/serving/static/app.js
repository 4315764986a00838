// The try-it page. It talks only TF Serving's REST API:
//   GET  /v1/models/{name}                         which version is AVAILABLE
//   GET  /v1/models/{name}/versions/{v}/metadata   the signature defs (what the model takes)
//   POST /v1/models/{name}/versions/{v}:predict    row format, {"b64": ...} for bytes
// so it works in front of a real TensorFlow Serving as well (same origin, e.g. behind a
// reverse proxy; ?server=URL points it at another origin that allows CORS).
// Requests name the version they read from the status, so the page always knows which
// version answered; it re-reads the status every few seconds to follow a hot swap.
"use strict";

const params = new URLSearchParams(location.search);
const SERVER = (params.get("server") || "").replace(/\/$/, "");
const $ = (id) => document.getElementById(id);
const state = { name: null, version: null, sigs: null, kind: null };
window.tfgan = state;  // for tests and the console: lastRequest, lastResponse, ...

// ------------------------------------------------------------------ REST
async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(SERVER + path, init);
  let json;
  try { json = await response.json(); } catch (e) { json = { error: `HTTP ${response.status}` }; }
  return { ok: response.ok, status: response.status, json };
}

function modelPath(version) {
  return `/v1/models/${encodeURIComponent(state.name)}` + (version ? `/versions/${version}` : "");
}

async function availableVersion(name) {
  const r = await call("GET", `/v1/models/${encodeURIComponent(name)}`);
  if (!r.ok) throw new Error(r.json.error || `status ${r.status}`);
  const live = r.json.model_version_status.filter((s) => s.state === "AVAILABLE");
  if (!live.length) {
    const why = r.json.model_version_status.map(
      (s) => `version ${s.version}: ${s.state} ${s.status.error_code} ${s.status.error_message}`);
    throw new Error(`no AVAILABLE version of ${name}\n${why.join("\n")}`);
  }
  return live.map((s) => s.version).sort((a, b) => Number(b) - Number(a))[0];
}

async function predict(body) {
  state.lastRequest = body;
  state.requests = (state.requests || []).slice(-19).concat([body]);
  const started = performance.now();
  let r = await call("POST", `${modelPath(state.version)}:predict`, body);
  if (r.status === 404) {  // the version was swapped out: follow the new one once
    await refreshModel(true);
    r = await call("POST", `${modelPath(state.version)}:predict`, body);
  }
  const ms = Math.round(performance.now() - started);
  state.lastResponse = r.json;
  if (!r.ok) throw new Error(r.json.error || `HTTP ${r.status}`);
  const sig = body.signature_name || "serving_default";
  $("answer").innerHTML = `Answered by <strong>${escapeHtml(state.name)}</strong> version ` +
    `<strong id="answer-version">${state.version}</strong> (signature ${escapeHtml(sig)}) in ${ms} ms`;
  $("answer").dataset.version = state.version;
  return r.json;
}

// --------------------------------------------------------------- helpers
function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" })[c]);
}
function showError(e) {
  $("error").hidden = false;
  $("error").textContent = String(e && e.message ? e.message : e);
  document.body.dataset.state = "error";
}
function clearError() { $("error").hidden = true; $("error").textContent = ""; }
async function busy(fn) {
  clearError();
  document.body.dataset.state = "busy";
  try { await fn(); document.body.dataset.state = "done"; } catch (e) { showError(e); }
}
function bytesToB64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
function dims(info) {
  return info.tensor_shape.unknown_rank ? null : info.tensor_shape.dim.map((d) => Number(d.size));
}

// ------------------------------------------------------ model discovery
async function refreshModel(force) {
  const version = await availableVersion(state.name);
  if (!force && version === state.version) return false;
  const r = await call("GET", `${modelPath(version)}/metadata`);
  if (!r.ok) throw new Error(r.json.error);
  const sigs = r.json.metadata.signature_def.signature_def;
  delete sigs.__saved_model_init_op;
  const changed = state.version !== null && state.version !== version;
  state.version = version;
  state.sigs = sigs;
  $("model-info").textContent = `${state.name}: version ${version} is AVAILABLE; signatures: ` +
    Object.keys(sigs).sort().join(", ") + (changed ? " (a new version was swapped in)" : "");
  return true;
}

function translationSignatures(sigs) {
  // One string input and a *_bytes string output: an image-to-image direction.
  const names = Object.keys(sigs).filter((n) => {
    const ins = Object.values(sigs[n].inputs), outs = Object.entries(sigs[n].outputs);
    return ins.length === 1 && ins[0].dtype === "DT_STRING" &&
      outs.some(([k, v]) => v.dtype === "DT_STRING" && k.endsWith("_bytes"));
  });
  return names.sort((a, b) => (a === "serving_default" ? -1 : b === "serving_default" ? 1 :
    a.localeCompare(b)));
}

function modelImageSize(sigs) {
  for (const sig of Object.values(sigs)) {
    for (const info of Object.values(sig.inputs)) {
      const d = dims(info);
      if (info.dtype === "DT_FLOAT" && d && d.length === 4 && d[1] > 0 && d[1] === d[2]) return d[1];
    }
  }
  return 256;
}

async function loadModel(name) {
  state.name = name;
  state.version = null;
  history.replaceState(null, "", `?${new URLSearchParams({ ...Object.fromEntries(params),
    model: name })}`);
  await refreshModel(true);
  const directions = translationSignatures(state.sigs);
  const main = state.sigs.serving_default;
  $("translate-panel").hidden = $("latent-panel").hidden = true;
  if (directions.length) {
    state.kind = "translation";
    setupTranslation(directions);
  } else if (main && main.inputs.z && main.inputs.z.dtype === "DT_FLOAT") {
    state.kind = "latent";
    await setupLatent(main);
  } else {
    throw new Error("this page knows image-to-image models (a string input and a *_bytes " +
      "output) and latent models (serving_default takes z); this model's signatures are " +
      JSON.stringify(Object.keys(state.sigs)));
  }
}

// ------------------------------------------------------------ translation
const MAP_PALETTE = [  // colours measured on the maps dataset's map halves
  ["land", "#ece4dc"], ["road", "#fcfcfc"], ["water", "#b4d4fc"], ["park", "#ccdcac"],
  ["block", "#e4e4dc"], ["highway", "#f8d878"],
];
const tr = { directions: [], index: 0, color: MAP_PALETTE[1][1], lastBytes: null };

function setupTranslation(directions) {
  tr.directions = directions;
  tr.index = 0;
  $("translate-panel").hidden = false;
  $("swap-direction").hidden = directions.length < 2;
  showDirection();
  const size = modelImageSize(state.sigs);
  const canvas = $("draw-canvas");
  if (canvas.width !== size) {
    canvas.width = canvas.height = size;
    fillCanvas(MAP_PALETTE[0][1]);
  }
}

function showDirection() {
  $("direction-label").textContent = `Direction: signature "${tr.directions[tr.index]}"`;
}

async function translate(bytes) {
  tr.lastBytes = bytes;
  const sig = tr.directions[tr.index];
  const body = { instances: [{ b64: bytesToB64(bytes) }] };
  if (sig !== "serving_default") body.signature_name = sig;
  const answer = await predict(body);
  let out = answer.predictions[0];
  if (!out.b64) {  // several outputs: take the first *_bytes one
    const key = Object.keys(out).sort().find((k) => k.endsWith("_bytes"));
    out = out[key];
  }
  const url = `data:image/png;base64,${out.b64}`;
  const img = $("result");
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error("the answer is not a displayable image"));
    img.src = url;
  });
  img.hidden = false;
  img.dataset.version = state.version;
  $("download").href = url;
  $("download").hidden = false;
}

async function readFile(file) {
  return new Uint8Array(await file.arrayBuffer());
}

async function onUpload(file) {
  if (!file) return;
  await busy(async () => {
    const bytes = await readFile(file);
    const preview = $("source-preview");
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    await translate(bytes);
  });
}

function fillCanvas(color) {
  const ctx = $("draw-canvas").getContext("2d");
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
}

function setupDrawing() {
  const palette = $("palette");
  for (const [label, color] of MAP_PALETTE) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "swatch" + (color === tr.color ? " active" : "");
    b.innerHTML = `<i style="background:${color}"></i>${label}`;
    b.onclick = () => {
      tr.color = color;
      palette.querySelectorAll(".swatch").forEach((s) => s.classList.remove("active"));
      b.classList.add("active");
    };
    palette.appendChild(b);
  }
  const canvas = $("draw-canvas");
  fillCanvas(MAP_PALETTE[0][1]);
  let last = null;
  const pos = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => { last = pos(e); canvas.setPointerCapture(e.pointerId); stroke(last, last); });
  canvas.addEventListener("pointermove", (e) => { if (last) { const p = pos(e); stroke(last, p); last = p; } });
  const end = () => { if (last) { last = null; translateDrawing(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  function stroke(a, b) {
    const ctx = canvas.getContext("2d");
    ctx.strokeStyle = tr.color;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.lineWidth = Number($("brush").value) * canvas.width / 256;
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
  }
  $("fill").onclick = () => { fillCanvas(tr.color); translateDrawing(); };
  $("translate-drawing").onclick = translateDrawing;
}

function translateDrawing() {
  return busy(async () => {
    const blob = await new Promise((resolve) => $("draw-canvas").toBlob(resolve, "image/png"));
    await translate(new Uint8Array(await blob.arrayBuffer()));
  });
}

// ----------------------------------------------------------------- latent
const lt = { dim: 0, seed: 0, z: null, label: 0, numClasses: null, conditional: false,
             infogan: false, cats: [10], cont: 2, codes: null };

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// z for a seed: standard normals from mulberry32 via Box-Muller (the page's own stream;
// the model's "sample" signature draws GANBase.generate's noise instead).
function normals(seed, n) {
  const rand = mulberry32(seed), out = new Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out.map((x) => Math.round(x * 1e4) / 1e4);
}

function noiseDim() {
  return lt.infogan ? lt.dim - lt.cats.reduce((a, b) => a + b, 0) - lt.cont : lt.dim;
}

// The full z: noise from the seed, then (InfoGAN) one-hot categorical and continuous codes.
function latentFor(seed, codes) {
  const noise = normals(seed, noiseDim());
  if (!lt.infogan) return noise;
  codes = codes || lt.codes;
  const parts = [...noise];
  lt.cats.forEach((k, i) => { for (let j = 0; j < k; j++) parts.push(j === codes.cat[i] ? 1 : 0); });
  for (let j = 0; j < lt.cont; j++) parts.push(codes.cont[j]);
  return parts;
}

function instancesFor(zs) {
  if (!lt.conditional) return zs;
  return zs.map((z) => ({ z, label: lt.label }));
}

async function generate(zs) {
  const answer = await predict({ instances: instancesFor(zs) });
  return answer.predictions.map((p) => (Array.isArray(p) ? p : p.images));
}

function drawImage(canvas, image) {  // image: [H][W][C] floats in [-1, 1]
  const h = image.length, w = image[0].length, c = image[0][0].length;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d"), data = ctx.createImageData(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const px = image[y][x], o = 4 * (y * w + x);
    for (let k = 0; k < 3; k++) {
      const v = px[c === 1 ? 0 : k];
      data.data[o + k] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
    }
    data.data[o + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

async function probeNumClasses() {
  // The signature does not carry num_classes; the conditional export's range check names
  // it ("label must be < num_classes=N"), so one out-of-range request tells.
  const r = await call("POST", `${modelPath(state.version)}:predict`,
    { instances: [{ z: new Array(lt.dim).fill(0), label: 2147483647 }] });
  const m = !r.ok && /num_classes=(\d+)/.exec(r.json.error || "");
  return m ? Number(m[1]) : null;
}

async function setupLatent(main) {
  const zdims = dims(main.inputs.z);
  lt.dim = zdims[1];
  lt.conditional = Boolean(main.inputs.label);
  lt.infogan = !lt.conditional && !state.sigs.sample && Object.keys(main.inputs).length === 1;
  $("infogan-layout").hidden = !lt.infogan;
  $("infogan-on").checked = lt.infogan;
  readLayout();
  $("class-picker-label").hidden = !lt.conditional;
  if (lt.conditional) {
    lt.numClasses = await probeNumClasses();
    const picker = $("class-picker");
    picker.innerHTML = "";
    picker.hidden = lt.numClasses === null;
    $("class-number").hidden = lt.numClasses !== null;
    for (let k = 0; k < (lt.numClasses || 0); k++) picker.add(new Option(String(k), String(k)));
  }
  $("latent-panel").hidden = false;
  lt.seed = Number($("seed").value);
  await renderGrid();
  await selectSeed(lt.seed);
}

function readLayout() {
  const cats = $("cat-dims").value.split(/[ ,]+/).filter(Boolean).map(Number);
  const cont = Number($("cont-dim").value);
  const on = $("infogan-on").checked && !lt.conditional;
  if (on && (cats.some((k) => !(k > 0)) || !(cont >= 0) ||
             cats.reduce((a, b) => a + b, 0) + cont >= lt.dim)) {
    throw new Error(`the code layout ${cats} + ${cont} does not fit z of size ${lt.dim}`);
  }
  lt.infogan = on;
  lt.cats = cats; lt.cont = cont;
  lt.codes = { cat: cats.map(() => 0), cont: new Array(cont).fill(0) };
  buildCodeControls();
}

async function renderGrid() {
  const seeds = Array.from({ length: 16 }, (_, i) => lt.seed + i);
  const images = await generate(seeds.map((s) => latentFor(s)));
  const grid = $("grid");
  grid.innerHTML = "";
  seeds.forEach((s, i) => {
    const c = document.createElement("canvas");
    c.title = `seed ${s}`;
    c.dataset.seed = s;
    c.classList.toggle("selected", s === lt.editSeed);
    drawImage(c, images[i]);
    c.onclick = () => busy(() => selectSeed(s));
    grid.appendChild(c);
  });
}

async function selectSeed(seed) {
  lt.z = latentFor(seed);
  $("edit-seed").textContent = `(seed ${seed})`;
  document.querySelectorAll("#grid canvas").forEach(
    (c) => c.classList.toggle("selected", Number(c.dataset.seed) === seed));
  lt.editSeed = seed;
  buildSliders();
  await renderEdit();
}

function buildSliders() {
  const box = $("sliders");
  box.innerHTML = "";
  for (let i = 0; i < noiseDim(); i++) {
    const label = document.createElement("label");
    label.innerHTML = `z[${i}] <input type="range" min="-3" max="3" step="0.05" value="${lt.z[i]}">`;
    const input = label.querySelector("input");
    input.oninput = () => { lt.z[i] = Number(input.value); scheduleEdit(); };
    box.appendChild(label);
  }
}

function buildCodeControls() {
  const box = $("codes");
  box.innerHTML = "";
  if (!lt.infogan) return;
  lt.cats.forEach((k, i) => {
    const label = document.createElement("label");
    label.innerHTML = `categorical code ${i} <select></select>`;
    const select = label.querySelector("select");
    for (let j = 0; j < k; j++) select.add(new Option(String(j), String(j)));
    select.onchange = () => { lt.codes.cat[i] = Number(select.value); applyCodes(); };
    box.appendChild(label);
  });
  for (let j = 0; j < lt.cont; j++) {
    const label = document.createElement("label");
    label.innerHTML = `continuous code ${j} <input type="range" min="-2" max="2" step="0.05" value="0">`;
    const input = label.querySelector("input");
    input.oninput = () => { lt.codes.cont[j] = Number(input.value); applyCodes(); };
    box.appendChild(label);
  }
}

function applyCodes() {  // keep the edited noise, replace the code part of z
  if (lt.z) {
    const noise = lt.z.slice(0, noiseDim());
    lt.z = [...noise, ...latentFor(0).slice(noiseDim())];
  }
  scheduleEdit(true);
}

let editTimer = null, gridAfter = false;
function scheduleEdit(grid) {
  gridAfter = gridAfter || Boolean(grid);
  clearTimeout(editTimer);
  editTimer = setTimeout(() => busy(async () => {
    await renderEdit();
    if (gridAfter) { gridAfter = false; await renderGrid(); }
  }), 120);
}

async function renderEdit() {
  const [image] = await generate([lt.z]);
  drawImage($("edit-canvas"), image);
}

function slerp(a, b, t) {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  const na = Math.hypot(...a), nb = Math.hypot(...b);
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / (na * nb || 1))));
  if (omega < 1e-6) return a.map((x, i) => (1 - t) * x + t * b[i]);
  const s = Math.sin(omega);
  return a.map((x, i) => (Math.sin((1 - t) * omega) / s) * x + (Math.sin(t * omega) / s) * b[i]);
}

async function interpolate() {
  const a = latentFor(Number($("interp-a").value)), b = latentFor(Number($("interp-b").value));
  const steps = Math.max(2, Math.min(32, Number($("interp-steps").value)));
  const useSlerp = $("interp-slerp").checked;
  const n = noiseDim();
  const zs = Array.from({ length: steps }, (_, i) => {
    const t = i / (steps - 1);
    const noise = useSlerp ? slerp(a.slice(0, n), b.slice(0, n), t)
      : a.slice(0, n).map((x, j) => (1 - t) * x + t * b[j]);
    return [...noise, ...a.slice(n)];  // codes stay those of the editor
  });
  const images = await generate(zs);
  const row = $("interp-row");
  row.innerHTML = "";
  images.forEach((img, i) => {
    const c = document.createElement("canvas");
    c.title = `t = ${(i / (steps - 1)).toFixed(2)}`;
    drawImage(c, img);
    row.appendChild(c);
  });
}

// ------------------------------------------------------------------- wiring
function wire() {
  const names = (document.querySelector('meta[name="tfgan-models"]').content || "")
    .split(",").filter(Boolean);
  for (const n of names) $("model-names").appendChild(new Option(n, n));
  $("model-form").onsubmit = (e) => {
    e.preventDefault();
    busy(() => loadModel($("model-name").value.trim()));
  };
  document.querySelectorAll(".tab").forEach((tab) => {
    tab.onclick = () => {
      document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
      $("tab-upload").hidden = tab.dataset.tab !== "upload";
      $("tab-draw").hidden = tab.dataset.tab !== "draw";
    };
  });
  $("upload").onchange = (e) => onUpload(e.target.files[0]);
  const drop = $("drop-zone");
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove("over"); onUpload(e.dataTransfer.files[0]); };
  $("swap-direction").onclick = () => {
    tr.index = (tr.index + 1) % tr.directions.length;
    showDirection();
    if (tr.lastBytes) busy(() => translate(tr.lastBytes));
  };
  setupDrawing();
  $("seed").onchange = () => busy(async () => { lt.seed = Number($("seed").value); await renderGrid(); });
  $("new-seeds").onclick = () => busy(async () => {
    lt.seed = Math.floor(Math.random() * 1e6);
    $("seed").value = lt.seed;
    await renderGrid();
    await selectSeed(lt.seed);
  });
  $("class-picker").onchange = $("class-number").onchange = (e) => busy(async () => {
    lt.label = Number(e.target.value);
    await renderGrid();
    await renderEdit();
  });
  for (const id of ["cat-dims", "cont-dim", "infogan-on"]) {
    $(id).onchange = () => busy(async () => {
      readLayout();
      await renderGrid();
      await selectSeed(lt.editSeed || lt.seed);
    });
  }
  $("interpolate").onclick = () => busy(interpolate);
  // Follow hot swaps: re-read the status every 3 s; a new version reloads the signatures.
  setInterval(async () => {
    if (!state.name || document.body.dataset.state === "busy") return;
    try { await refreshModel(false); } catch (e) { /* shown on the next request */ }
  }, 3000);
  const initial = params.get("model") || names[0];
  if (initial) {
    $("model-name").value = initial;
    busy(() => loadModel(initial));
  } else {
    document.body.dataset.state = "idle";
  }
}

wire();
