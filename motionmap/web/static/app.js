// motionmap demo page: vanilla JS, no libraries, talks only to the server that served it (see server.py's API table).
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  source: null,      // clip JSON of the source animation
  target: null,      // clip JSON of the target (one frame)
  result: null,      // clip JSON of the result
  images: {},        // clip id -> loaded strip Image
  srcUpload: null,   // upload JSON of the source file
  tgtUpload: null,
  t: 0,              // current frame
  playing: true,
  timer: null,
  busy: 0,
  loads: { source: 0, target: 0 },  // request counters: only the latest load of each role may update the page
};

// ------------------------------------------------------------------------------------------------ helpers

function showError(message) {
  const box = $("error");
  if (!message) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = message;
  box.hidden = false;
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error("cannot reach the motionmap demo server; is it still running?");
  }
  const type = response.headers.get("Content-Type") || "";
  const body = type.startsWith("application/json") ? await response.json() : null;
  if (!response.ok) {
    throw new Error((body && body.error) || `request failed (HTTP ${response.status})`);
  }
  return body;
}

function postJSON(path, obj) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(obj) });
}

async function uploadFile(file) {
  const limit = state.info.limits.max_upload_mb * 1024 * 1024;
  if (file.size > limit) {
    throw new Error(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB is over this demo's limit of ` +
      `${state.info.limits.max_upload_mb} MB; use a smaller file, or restart the demo with a larger --max-upload-mb`);
  }
  return api("/api/upload?name=" + encodeURIComponent(file.name),
    { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: file });
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("could not load a preview image from the server"));
    img.src = url;
  });
}

async function withBusy(statusId, text, fn) {
  state.busy += 1;
  document.body.dataset.busy = "1";
  if (statusId) $(statusId).textContent = text;
  try {
    showError(null);
    return await fn();
  } catch (e) {
    showError(e.message);
    if (statusId) $(statusId).textContent = "⚠ " + e.message;
    return null;
  } finally {
    state.busy -= 1;
    if (state.busy === 0) delete document.body.dataset.busy;
  }
}

function fillSelect(select, items, selected) {
  select.textContent = "";
  for (const item of items) {
    const opt = document.createElement("option");
    opt.value = typeof item === "string" ? item : item.value;
    opt.textContent = typeof item === "string" ? item : item.label;
    if (opt.value === selected) opt.selected = true;
    select.appendChild(opt);
  }
}

function mode(name) {
  return document.querySelector(`input[name="${name}"]:checked`).value;
}

function setMode(name, value) {
  document.querySelector(`input[name="${name}"][value="${value}"]`).checked = true;
  syncModes();
}

function syncModes() {
  $("src-example").hidden = mode("src-mode") !== "example";
  $("src-upload").hidden = mode("src-mode") !== "upload";
  $("tgt-example").hidden = mode("tgt-mode") !== "example";
  $("tgt-upload").hidden = mode("tgt-mode") !== "upload";
  $("all-target-row").hidden = mode("all-mode") !== "sheet";
  $("all-facings").hidden = mode("all-mode") !== "facings";
}

// ------------------------------------------------------------------------------------------------ drawing

function zoom() { return parseInt($("zoom").value, 10); }

function drawClip(canvasId, clip, t) {
  const canvas = $(canvasId);
  const ctx = canvas.getContext("2d");
  if (!clip || !state.images[clip.clip]) {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  const z = zoom();
  const w = clip.width, h = clip.height;
  if (canvas.width !== w * z || canvas.height !== h * z) {
    canvas.width = w * z;
    canvas.height = h * z;
  }
  ctx.imageSmoothingEnabled = false;  // nearest neighbour: pixel art stays crisp
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const frame = Math.min(t, clip.frames - 1);
  ctx.drawImage(state.images[clip.clip], frame * w, 0, w, h, 0, 0, w * z, h * z);
}

function frameCount() {
  return state.source ? state.source.frames : 0;
}

function render() {
  const n = frameCount();
  if (n) state.t = ((state.t % n) + n) % n;
  drawClip("src-canvas", state.source, state.t);
  drawClip("tgt-canvas", state.target, 0);
  drawClip("res-canvas", state.result, state.t);
  $("frame-label").textContent = n ? `frame ${state.t + 1} / ${n}` : "frame – / –";
  $("play").textContent = state.playing ? "Pause" : "Play";
}

function schedule() {
  clearTimeout(state.timer);
  if (!state.playing || !state.source) return;
  const durations = state.source.durations_ms;
  const d = Math.max(20, durations[state.t % durations.length] || 100);  // the source's own speed
  state.timer = setTimeout(() => { state.t += 1; render(); schedule(); }, d);
}

function step(delta) {
  state.playing = false;
  clearTimeout(state.timer);
  state.t += delta;
  render();
}

async function setClip(which, clip) {
  state.images[clip.clip] = await loadImage(clip.strip);
  state[which] = clip;
}

async function fetchLatestClip(which, spec, isLatest) {
  // The clip for `spec`, set as state[which]; null when a newer load of the same role started meanwhile.
  const clip = await postJSON("/api/clip", spec);
  if (!isLatest()) return null;
  await setClip(which, clip);
  return isLatest() ? clip : null;
}

function startLoad(which) {
  // Pickers can change again while a load is in flight, and responses may arrive out of order: each load takes a
  // ticket, and a load whose ticket is no longer the latest drops its result instead of overwriting a newer one.
  state.loads[which] += 1;
  const ticket = state.loads[which];
  return () => ticket === state.loads[which];
}

// ------------------------------------------------------------------------------------------------ source and target

function sourcePose() {
  // What the target's pose should follow: the source's animation and facing, when known.
  if (mode("src-mode") === "example") return { animation: $("src-action").value, facing: $("src-facing").value };
  if (state.srcUpload && state.srcUpload.kind === "sheet") {
    return { animation: $("src-animation").value || null, facing: $("src-sheet-facing").value || null };
  }
  return { animation: null, facing: null };
}

function fillSheetPickers(prefix, layout) {
  const anims = layout.animations;
  const current = $(prefix + "-animation").value;
  fillSelect($(prefix + "-animation"), anims.map((a) => ({ value: a.name, label: `${a.name} (${a.frames})` })),
    anims.some((a) => a.name === current) ? current : (anims.find((a) => a.name === "walk") || anims[0]).name);
  syncSheetFacings(prefix, layout);
}

function syncSheetFacings(prefix, layout) {
  const anim = layout.animations.find((a) => a.name === $(prefix + "-animation").value);
  const facings = anim ? anim.facings : [];
  const select = $(prefix + "-sheet-facing");
  const current = select.value;
  fillSelect(select, facings, facings.includes(current) ? current : (facings.includes("down") ? "down" : facings[0]));
  select.disabled = facings.length === 0;
}

async function loadSource() {
  const isLatest = startLoad("source");
  await withBusy("src-status", "Loading…", async () => {
    let spec;
    if (mode("src-mode") === "example") {
      spec = { role: "source", example: { character: $("src-character").value, action: $("src-action").value,
        facing: $("src-facing").value } };
    } else {
      const up = state.srcUpload;
      if (!up) { $("src-status").textContent = "Choose a file."; return; }
      spec = { role: "source", upload: up.upload };
      if (up.kind === "sheet") {
        if (up.needs_frame_size && !$("src-frame-size").value.trim()) {
          $("src-status").textContent = `${up.name}: a ${up.width}×${up.height} sheet; type its frame size (e.g. 64x64).`;
          return;
        }
        spec.animation = $("src-animation").value || null;
        spec.facing = $("src-sheet-facing").value || null;
        spec.frame_size = $("src-frame-size").value.trim() || null;
      }
    }
    const clip = await fetchLatestClip("source", spec, isLatest);
    if (!clip) return;
    state.result = null;
    clearDownloads();
    $("res-status").textContent = "Not run yet.";
    $("src-status").textContent = `${clip.name}: ${clip.frames} frames, ${clip.width}×${clip.height}`;
    state.t = 0;
    render();
    schedule();
  });
  if (isLatest()) await loadTarget();
}

async function loadTarget() {
  const isLatest = startLoad("target");
  await withBusy("tgt-status", "Loading…", async () => {
    const pose = sourcePose();
    let spec;
    if (mode("tgt-mode") === "example") {
      spec = { role: "target", example: { character: $("tgt-character").value,
        action: mode("src-mode") === "example" ? $("src-action").value : "walk",
        facing: pose.facing || (mode("src-mode") === "example" ? $("src-facing").value : "down") } };
    } else {
      const up = state.tgtUpload;
      if (!up) { $("tgt-status").textContent = "Choose a file."; return; }
      spec = { role: "target", upload: up.upload, animation: pose.animation, facing: pose.facing,
        frame_size: $("tgt-frame-size").value.trim() || null };
    }
    const clip = await fetchLatestClip("target", spec, isLatest);
    if (!clip) return;
    state.result = null;
    clearDownloads();
    $("tgt-status").textContent = `${clip.name}: ${clip.width}×${clip.height}`;
    render();
  });
}

async function onSourceFile(file) {
  if (!file) return;
  setMode("src-mode", "upload");
  const up = await withBusy("src-status", `Uploading ${file.name}…`, () => uploadFile(file));
  if (!up) return;
  state.srcUpload = up;
  $("src-sheet").hidden = up.kind !== "sheet";
  $("src-frame-size-row").hidden = !up.needs_frame_size;
  if (up.kind === "sheet") {
    if (up.layout) fillSheetPickers("src", up.layout);
    else { fillSelect($("src-animation"), []); fillSelect($("src-sheet-facing"), []); }
  }
  await loadSource();
}

async function onSourceFrameSize() {
  const up = state.srcUpload;
  if (!up || !up.needs_frame_size) return;
  // A grid sheet: its rows are named row0, row1, ... once the frame size is known.
  const size = $("src-frame-size").value.trim().toLowerCase().split("x").map((v) => parseInt(v, 10));
  if (size.length < 1 || !(size[0] > 0)) return;
  const fw = size[0], fh = size[1] || size[0];
  const rows = Math.floor(up.height / fh);
  const anims = Array.from({ length: rows }, (_, i) => ({ name: `row${i}`, facings: [], frames: Math.floor(up.width / fw) }));
  fillSheetPickers("src", { animations: anims });
  await loadSource();
}

async function onTargetFile(file) {
  if (!file) return;
  setMode("tgt-mode", "upload");
  const up = await withBusy("tgt-status", `Uploading ${file.name}…`, () => uploadFile(file));
  if (!up) return;
  state.tgtUpload = up;
  $("tgt-frame-size-row").hidden = !up.needs_frame_size;
  await loadTarget();
}

// ------------------------------------------------------------------------------------------------ transfer

function clearDownloads() {
  for (const id of ["dl-gif", "dl-sheet", "dl-zip"]) {
    const a = $(id);
    a.removeAttribute("href");
    a.classList.add("disabled");
    a.setAttribute("aria-disabled", "true");
  }
  delete $("result-panel").dataset.ready;
}

function setDownloads(clip) {
  const names = { gif: "dl-gif", sheet: "dl-sheet", zip: "dl-zip" };
  for (const [fmt, id] of Object.entries(names)) {
    const a = $(id);
    if (clip.downloads[fmt]) {
      a.href = clip.downloads[fmt];
      a.classList.remove("disabled");
      a.removeAttribute("aria-disabled");
    }
  }
  $("result-panel").dataset.ready = "1";
}

function paletteWords(palette) {
  return palette === "off" ? "palette lock off (soft colours and alpha)" : "palette lock on (the target's colours, hard alpha)";
}

async function runTransfer() {
  if (!state.source || !state.target) { showError("Pick a source animation and a target character first."); return; }
  $("run").disabled = true;
  await withBusy("res-status", "Transferring…", async () => {
    const palette = $("palette-lock").checked ? "target" : "off";
    const clip = await postJSON("/api/transfer", { source: state.source.clip, target: state.target.clip, palette });
    await setClip("result", clip);
    setDownloads(clip);
    $("res-status").textContent = `${clip.frames} frames, ${clip.width}×${clip.height}, in ${clip.seconds} s · ` +
      paletteWords(clip.palette);
    state.t = 0;
    state.playing = true;
    render();
    schedule();
  });
  $("run").disabled = false;
}

// ------------------------------------------------------------------------------------------------ --all

async function runAll() {
  const src = $("all-source").files[0];
  if (!src) { showError("Choose the source LPC sheet for the whole-sheet transfer."); return; }
  $("all-run").disabled = true;
  $("all-result-box").hidden = true;
  delete $("all-panel").dataset.ready;
  const job = await withBusy("all-status", "Uploading…", async () => {
    const spec = { source: (await uploadFile(src)).upload, palette: $("all-palette-lock").checked ? "target" : "off" };
    if (mode("all-mode") === "sheet") {
      const tgt = $("all-target").files[0];
      if (!tgt) throw new Error("Choose the target LPC sheet, or switch to one image per facing.");
      spec.target = (await uploadFile(tgt)).upload;
    } else {
      spec.targets = {};
      for (const facing of state.info.facings) {
        const f = $("all-" + facing).files[0];
        if (!f) throw new Error(`Choose the target image for facing "${facing}".`);
        spec.targets[facing] = (await uploadFile(f)).upload;
      }
    }
    return postJSON("/api/jobs", spec);
  });
  if (job) await pollJob(job.job);
  $("all-run").disabled = false;
}

async function pollJob(id) {
  for (;;) {
    const job = await withBusy(null, "", () => api("/api/jobs/" + id));
    if (!job) { $("all-status").textContent = "⚠ lost track of the job"; return; }
    $("all-progress").max = job.total;
    $("all-progress").value = job.done;
    if (job.state === "error") {
      showError(job.error);
      $("all-status").textContent = "⚠ " + job.error;
      return;
    }
    if (job.state === "done") {
      const base = "/api/clips/" + job.clip;
      $("all-result").src = base + "/strip.png";
      $("all-dl-sheet").href = base + "/download?format=sheet";
      $("all-dl-zip").href = base + "/download?format=zip";
      $("all-result-box").hidden = false;
      $("all-status").textContent = `Done: ${job.total} rows in ${job.seconds} s · ${paletteWords(job.palette)}.`;
      $("all-panel").dataset.ready = "1";
      return;
    }
    $("all-status").textContent = job.state === "queued" ? "Waiting for the model…" : `Row ${job.done} / ${job.total}…`;
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ------------------------------------------------------------------------------------------------ wiring

function wireDrop(zoneId, inputId, handler) {
  const zone = $(zoneId);
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) handler(e.dataTransfer.files[0]);
  });
  $(inputId).addEventListener("change", (e) => handler(e.target.files[0]));
}

async function init() {
  state.info = await withBusy(null, "", () => api("/api/info"));
  if (!state.info) return;
  const ex = state.info.examples;
  $("model-info").textContent = `Model: ${state.info.checkpoint}. Limits: ${state.info.limits.max_upload_mb} MB per ` +
    `file, ${state.info.limits.max_frames} frames.`;
  const characters = ex.characters.map((c) => ({ value: c.id, label: c.name }));
  fillSelect($("src-character"), characters, ex.characters[0].id);
  fillSelect($("tgt-character"), characters, ex.characters[Math.min(1, ex.characters.length - 1)].id);
  fillSelect($("src-action"), ex.actions.map((a) => ({ value: a.name, label: `${a.name} (${a.frames})` })), "walk");
  fillSelect($("src-facing"), ex.facings, "left");

  document.querySelectorAll('input[type="radio"]').forEach((r) => r.addEventListener("change", () => {
    syncModes();
    if (r.name === "src-mode") loadSource();
    if (r.name === "tgt-mode") loadTarget();
  }));
  for (const id of ["src-character", "src-action", "src-facing"]) $(id).addEventListener("change", loadSource);
  $("tgt-character").addEventListener("change", loadTarget);
  $("src-animation").addEventListener("change", () => {
    if (state.srcUpload && state.srcUpload.layout) syncSheetFacings("src", state.srcUpload.layout);
    loadSource();
  });
  $("src-sheet-facing").addEventListener("change", loadSource);
  $("src-frame-size").addEventListener("change", onSourceFrameSize);
  $("tgt-frame-size").addEventListener("change", loadTarget);
  wireDrop("src-drop", "src-file", onSourceFile);
  wireDrop("tgt-drop", "tgt-file", onTargetFile);
  $("run").addEventListener("click", runTransfer);
  $("all-run").addEventListener("click", runAll);
  $("play").addEventListener("click", () => { state.playing = !state.playing; render(); schedule(); });
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  $("zoom").addEventListener("change", render);
  $("checker").addEventListener("change", () => document.body.classList.toggle("no-checker", !$("checker").checked));
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.key === " ") { e.preventDefault(); $("play").click(); }
    if (e.key === "ArrowLeft") step(-1);
    if (e.key === "ArrowRight") step(1);
  });
  syncModes();
  await loadSource();
  document.body.dataset.ready = "1";
}

init();
