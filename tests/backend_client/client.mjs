#!/usr/bin/env node
// A test client that calls the pose service the way the Node.js backend does (see
// docs in tests/test_backend_client.py): axios 1.13.2 and form-data 4.0.5 as pinned in
// package-lock.json, Node's default keep-alive http.globalAgent, the backend's bodies, key
// order, timeouts, string-sorted frame files and upload pool. It records what it gets and
// never judges: tests/test_backend_client.py reads the JSON report and asserts.
//
//   node client.mjs --url http://127.0.0.1:5000 --clip runner=DIR --clip reversed=DIR ...
//        --analyze runner,runner,reversed,cut --uploads runner-120,reversed-120
//        --jpeg big.jpg --video clip.mp4 --report out.json
//
// Each DIR holds frame-1.png .. frame-N.png (640x360, frame-K.png = video frame K-1), as the
// backend's ffmpeg step writes them.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import axios from "axios";
import FormData from "form-data";

const HERE = path.dirname(fileURLToPath(import.meta.url));

// --- the transport: Node 20's globalAgent (keepAlive, 5 s free-socket timeout, LIFO) -------
const NODE_MAJOR = Number(process.versions.node.split(".")[0]);
let agentNote = "node default http.globalAgent";
if (NODE_MAJOR < 19 || !http.globalAgent.keepAlive) {
  // Node 18's globalAgent does not keep sockets; the backend's machine runs Node 20, whose
  // globalAgent is exactly this. axios uses http.globalAgent when no agent is configured.
  http.globalAgent = new http.Agent({ keepAlive: true, scheduling: "lifo", timeout: 5000 });
  agentNote = "http.Agent({keepAlive:true, scheduling:'lifo', timeout:5000}) as Node 20's";
}

// --- arguments -----------------------------------------------------------------------------
const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: "http://localhost:5000" },
    clip: { type: "string", multiple: true, default: [] }, // NAME=DIR
    analyze: { type: "string", default: "" }, // clip names, one analyze-4d request each
    uploads: { type: "string", default: "" }, // clip names uploaded at the same time
    "upload-orders": { type: "string", default: "time,sorted" },
    "queue-max": { type: "string", default: "100" }, // backend QUEUE_MAX_SIZE
    "max-concurrent": { type: "string", default: "4" }, // backend MAX_CONCURRENT_PROCESSES
    "spacing-ms": { type: "string", default: "50" },
    jpeg: { type: "string" }, // the multipart refusal's file (> 64 KiB)
    "refusal-rounds": { type: "string", default: "8" },
    "not-found-rounds": { type: "string", default: "3" },
    "idle-ms": { type: "string", default: "5500" }, // comma-separated idle waits
    "follow-clip": { type: "string", default: "" }, // frames for scenario c's JSON requests
    video: { type: "string" }, // the video file for /process_video(_async)
    "async-max-frames": { type: "string", default: "999999" },
    "job-deadline-s": { type: "string", default: "300" },
    "cap-timeout-ms": { type: "string", default: "0" }, // caps the backend's "no timeout" (0)
    scenarios: { type: "string", default: "analyze,upload,refusal,legacy" },
    report: { type: "string", default: "report.json" },
  },
});

const URL_BASE = args.url.replace(/\/+$/, "");
const CLIPS = Object.fromEntries(
  args.clip.map((spec) => {
    const i = spec.indexOf("=");
    return [spec.slice(0, i), spec.slice(i + 1)];
  }),
);
const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);
const T0 = Date.now();
const now = () => Date.now() - T0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const report = {
  node: process.versions.node,
  axios: pkgVersion("axios"),
  form_data: pkgVersion("form-data"),
  agent: agentNote,
  url: URL_BASE,
  args,
  requests: [], // one per /pose/hybrid (and other frame-carrying) request
  health: [],
  legacy: [],
  pool: null,
  notes: [],
};

function pkgVersion(name) {
  try {
    const p = path.join(HERE, "node_modules", name, "package.json");
    return JSON.parse(fs.readFileSync(p, "utf8")).version;
  } catch {
    return null;
  }
}

// --- frames as the backend lists them ------------------------------------------------------
// FrameExtractionService: the .png files sorted by JS's default (string) sort; frameNumber =
// position in that list; frame-K.png holds video frame K-1.
function listFrames(clipName) {
  const dir = CLIPS[clipName];
  if (!dir) throw new Error(`unknown clip ${clipName}`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".png"));
  files.sort(); // JS default sort: UTF-16 code units, i.e. frame-1, frame-10, frame-100, ...
  return files.map((file, position) => ({
    clip: clipName,
    file,
    path: path.join(dir, file),
    position,
    videoFrame: Number(/frame-(\d+)\.png$/.exec(file)[1]) - 1,
  }));
}

const readB64 = (p) => fs.readFileSync(p).toString("base64");

// --- what the backend reads from an answer, recorded as facts --------------------------------
const ANGLES = ["left_knee", "right_knee", "left_hip", "right_hip", "spine"];
const PNG_END = Buffer.from("49454e44ae426082", "hex"); // IEND chunk type + CRC

function typeOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function visualizationFacts(v) {
  if (typeof v !== "string") return { present: v !== undefined, prefix_ok: false, complete: false };
  const prefix = "data:image/png;base64,";
  const prefixOk = v.startsWith(prefix);
  let complete = false;
  if (prefixOk) {
    const bytes = Buffer.from(v.slice(prefix.length), "base64");
    complete =
      bytes.length > 8 &&
      bytes.subarray(0, 8).equals(Buffer.from("89504e470d0a1a0a", "hex")) &&
      bytes.subarray(bytes.length - 8).equals(PNG_END);
  }
  return { present: true, prefix_ok: prefixOk, complete, length: v.length };
}

function answerFacts(data) {
  if (typeOf(data) !== "object") return { json_object: false, type: typeOf(data) };
  const kps = Array.isArray(data.keypoints) ? data.keypoints : null;
  const shapes = new Set();
  for (const k of kps || []) {
    shapes.add(
      ["name", "x", "y", "z", "confidence"].map((f) => `${f}:${k ? typeOf(k[f]) : "?"}`).join(","),
    );
  }
  const angles = data.joint_angles_3d;
  const cam = data.camera_params;
  const temporal = typeOf(data.temporal) === "object" ? data.temporal : null;
  return {
    json_object: true,
    keys: Object.keys(data),
    frame_number: data.frame_number,
    has_3d: data.has_3d,
    keypoint_count: data.keypoint_count,
    keypoints_type: typeOf(data.keypoints),
    keypoints_length: kps ? kps.length : null,
    keypoint_shapes: [...shapes],
    processing_time_ms: typeOf(data.processing_time_ms),
    frame_width: data.frame_width,
    frame_height: data.frame_height,
    model_version: typeOf(data.model_version),
    session_id: data.session_id ?? null,
    temporal: temporal && {
      session_id: temporal.session_id ?? null,
      session_rule: temporal.session_rule ?? null,
      source: temporal.source ?? null,
      flags: temporal.flags ?? null,
    },
    error: data.error ?? null,
    error_code: data.error_code ?? null,
    visualization: visualizationFacts(data.visualization),
    joint_angles_3d_type: typeOf(angles),
    joint_angles_3d: Object.fromEntries(
      ANGLES.map((a) => [a, typeOf(angles) === "object" && a in angles ? typeOf(angles[a]) : "absent"]),
    ),
    camera_params_present: "camera_params" in data,
    camera_params_type: typeOf(cam),
    camera_params: typeOf(cam) === "object" ? Object.fromEntries(Object.entries(cam).map(([k, v]) => [k, typeOf(v)])) : null,
  };
}

function errorFacts(err) {
  return {
    status: err.response ? err.response.status : null,
    error_code: err.code ?? null,
    error_message: String(err.message || err),
  };
}

function socketFacts(req) {
  if (!req) return {};
  return { socket_reused: Boolean(req.reusedSocket), local_port: req.socket?.localPort ?? null };
}

// --- the backend's calls --------------------------------------------------------------------
// detectPoseHybrid / PoseServiceHttpWrapper.getPoseInfo: compact JSON, keys in this order,
// Content-Type set explicitly, 120 s per request, no retry.
async function postHybrid(frame, frameNumber, visualize, base64 = null) {
  const body = { image_base64: base64 ?? readB64(frame.path), frame_number: frameNumber, visualize };
  const started = now();
  const rec = {
    frame_number_sent: frameNumber,
    visualize,
    started_ms: started,
  };
  try {
    const res = await axios.post(`${URL_BASE}/pose/hybrid`, body, {
      headers: { "Content-Type": "application/json" },
      timeout: 120000,
    });
    Object.assign(rec, {
      status: res.status,
      error_code: null,
      content_type: res.headers["content-type"] ?? null,
      connection: res.headers.connection ?? null,
      answer: answerFacts(res.data),
      ...socketFacts(res.request),
    });
  } catch (err) {
    Object.assign(rec, errorFacts(err), socketFacts(err.request));
    if (err.response) {
      rec.content_type = err.response.headers["content-type"] ?? null;
      rec.answer = answerFacts(err.response.data);
    }
  }
  rec.elapsed_ms = now() - started;
  return rec;
}

function frameRecord(scenario, video, frame, extra = {}) {
  return {
    scenario,
    video,
    clip: frame.clip,
    file: frame.file,
    position: frame.position,
    video_frame: frame.videoFrame,
    ...extra,
  };
}

// checkPoseServiceHealth / getPoseServiceStatus: GET /health, 5 s.
async function health(label) {
  const started = now();
  const rec = { label, started_ms: started };
  try {
    const res = await axios.get(`${URL_BASE}/health`, { timeout: 5000 });
    const d = res.data;
    Object.assign(rec, {
      status: res.status,
      body_status: d?.status ?? null,
      ready: d?.ready ?? null,
      models: d?.models ?? null,
      ...socketFacts(res.request),
    });
  } catch (err) {
    Object.assign(rec, errorFacts(err));
  }
  rec.elapsed_ms = now() - started;
  report.health.push(rec);
  return rec;
}

// a. POST /api/video/analyze-4d: the health gate, then positions 0-4, strictly one after the
// other, visualize:true; a fresh extraction each time (the videoId is Date.now()).
async function analyze4d(names) {
  let n = 0;
  for (const name of names) {
    n += 1;
    const video = `analyze-${n}-${name}`;
    const gate = await health(video);
    // checkPoseServiceHealth: true only for a 2xx whose status is ready or healthy; false ->
    // the route answers 503 and sends no frame
    if (!(gate.status >= 200 && gate.status < 300 && ["ready", "healthy"].includes(gate.body_status))) {
      report.notes.push(`${video}: health gate closed (${JSON.stringify(gate)}), no frame sent`);
      continue;
    }
    const frames = listFrames(name).slice(0, 5);
    for (const frame of frames) {
      const rec = await postHybrid(frame, frame.position, true);
      report.requests.push(frameRecord("analyze-4d", video, frame, rec));
    }
  }
}

// b. The upload route's pool (ProcessPoolManager + PoseServiceHttpWrapper): one pool shared by
// every upload; at most MAX active, a FIFO queue of QUEUE_MAX, rejection beyond; each request,
// once running, sleeps until SPACING ms after the last recorded start (one static time shared
// by all wrappers, not reserving a slot), then posts.
class Pool {
  constructor(maxActive, queueMax, spacingMs) {
    Object.assign(this, { maxActive, queueMax, spacingMs });
    this.active = 0;
    this.queue = [];
    this.lastStart = 0;
    this.stats = { submitted: 0, rejected: 0, max_active: 0, max_queued: 0, starts_ms: [] };
  }

  submit(task) {
    this.stats.submitted += 1;
    return new Promise((resolve, reject) => {
      const job = { task, resolve, reject };
      if (this.active < this.maxActive) this.run(job);
      else if (this.queue.length < this.queueMax) {
        this.queue.push(job);
        this.stats.max_queued = Math.max(this.stats.max_queued, this.queue.length);
      } else {
        this.stats.rejected += 1;
        reject(new Error(`Queue full (max ${this.queueMax} requests)`));
      }
    });
  }

  async run(job) {
    this.active += 1;
    this.stats.max_active = Math.max(this.stats.max_active, this.active);
    try {
      job.resolve(await this.spaced(job.task));
    } catch (err) {
      job.reject(err);
    } finally {
      this.active -= 1;
      const next = this.queue.shift();
      if (next) this.run(next);
    }
  }

  async spaced(task) {
    const wait = this.lastStart + this.spacingMs - Date.now();
    if (wait > 0) await sleep(wait);
    this.lastStart = Date.now();
    this.stats.starts_ms.push(now());
    return task();
  }
}

async function upload(pool, name, order, video) {
  // the route prepares every frame ({frameNumber: position, imageBase64}), then submits all
  let frames = listFrames(name);
  if (order === "time") {
    frames = [...frames].sort((a, b) => a.videoFrame - b.videoFrame).map((f, i) => ({ ...f, position: i }));
  }
  const prepared = frames.map((f) => ({ frame: f, base64: readB64(f.path) }));
  const submitted_ms = now();
  const results = prepared.map(({ frame, base64 }) =>
    pool
      .submit(() => postHybrid(frame, frame.position, false, base64))
      .catch((err) => ({
        frame_number_sent: frame.position,
        visualize: false,
        status: null,
        error_code: "QUEUE_FULL",
        error_message: String(err.message || err),
      }))
      .then((rec) => frameRecord("upload", video, frame, { order, submitted_ms, ...rec })),
  );
  return Promise.all(results);
}

async function uploads(names, orders, pool) {
  for (const order of orders) {
    // the uploads arrive together: each submits all its frames; they share the one pool
    const runs = names.map((name, i) => upload(pool, name, order, `upload-${order}-${i + 1}-${name}`));
    for (const recs of await Promise.all(runs)) report.requests.push(...recs);
  }
}

// c. Refusals on a kept-alive socket, each followed at once by a JSON frame on the same agent.
function multipartFrame(jpegPath, frameNumber) {
  // the proxy: form-data with the upload's temp file, part type forced to image/jpeg,
  // frameNumber as a string when truthy; axios computes Content-Length (form.getLength)
  const form = new FormData();
  form.append("frame", fs.createReadStream(jpegPath), { filename: "frame.jpg", contentType: "image/jpeg" });
  const fn = String(frameNumber);
  if (fn) form.append("frameNumber", fn);
  return form;
}

async function refusal(opts) {
  const frames = listFrames(opts.followClip).sort((a, b) => a.videoFrame - b.videoFrame);
  let next = 0;
  const video = `follow-ups-${opts.followClip}`;
  const follow = async (kind, round, extra = {}) => {
    const frame = { ...frames[next % frames.length], position: next };
    next += 1;
    const rec = await postHybrid(frame, frame.position, false);
    report.requests.push(frameRecord("refusal", video, frame, { kind, round, ...extra, ...rec }));
  };
  const refusalRecord = (kind, round, started, fields) => {
    report.requests.push({
      scenario: "refusal",
      video: null,
      kind,
      round,
      started_ms: started,
      elapsed_ms: now() - started,
      ...fields,
    });
  };

  // a first JSON frame opens the kept-alive socket the refusals then use
  await follow("warm", 0);
  for (let round = 1; round <= opts.refusalRounds; round += 1) {
    const started = now();
    const form = multipartFrame(opts.jpeg, round);
    let fields;
    try {
      const res = await axios.post(`${URL_BASE}/pose/hybrid`, form, { headers: form.getHeaders(), timeout: 30000 });
      fields = { status: res.status, error_code: null, connection: res.headers.connection ?? null, ...socketFacts(res.request) };
    } catch (err) {
      fields = { ...errorFacts(err), connection: err.response?.headers?.connection ?? null, ...socketFacts(err.request) };
    }
    refusalRecord("multipart", round, started, { request_bytes: fs.statSync(opts.jpeg).size, ...fields });
    await follow("after-multipart", round);
  }
  const bigBody = { image_base64: readB64(frames[0].path), frame_number: 0, visualize: false };
  for (let round = 1; round <= opts.notFoundRounds; round += 1) {
    const started = now();
    let fields;
    try {
      const res = await axios.post(`${URL_BASE}/pose/unknown-route`, bigBody, {
        headers: { "Content-Type": "application/json" },
        timeout: 120000,
      });
      fields = { status: res.status, error_code: null, ...socketFacts(res.request) };
    } catch (err) {
      fields = { ...errorFacts(err), connection: err.response?.headers?.connection ?? null, ...socketFacts(err.request) };
    }
    refusalRecord("not-found", round, started, { request_bytes: JSON.stringify(bigBody).length, ...fields });
    await follow("after-not-found", round);
  }
  let round = 0;
  for (const idle of opts.idleMs) {
    round += 1;
    await follow("before-idle", round, { idle_ms: idle });
    await sleep(idle);
    await follow("after-idle", round, { idle_ms: idle });
  }
}

// d. The legacy routes the backend calls.
function shape(v, depth = 4) {
  const t = typeOf(v);
  if (t === "object" && depth > 0) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x, depth - 1)]));
  if (t === "array") return { array: v.length, first: v.length && depth > 0 ? shape(v[0], depth - 1) : null };
  return t;
}

function scalarFields(d) {
  if (typeOf(d) !== "object") return null;
  return Object.fromEntries(Object.entries(d).filter(([, v]) => ["string", "number", "boolean", "null"].includes(typeOf(v))));
}

async function legacyCall(route, fn) {
  const started = now();
  const rec = { route, started_ms: started };
  try {
    const res = await fn();
    const buf = Buffer.isBuffer(res.data) ? res.data : null;
    Object.assign(rec, {
      status: res.status,
      error_code: null,
      content_type: res.headers["content-type"] ?? null,
      body_bytes: buf ? buf.length : null,
      jpeg: buf ? buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff : null,
      shape: buf ? null : shape(res.data),
      fields: buf ? null : scalarFields(res.data),
      data: buf ? null : res.data,
    });
  } catch (err) {
    Object.assign(rec, errorFacts(err));
    if (err.response) {
      const d = err.response.data;
      rec.content_type = err.response.headers["content-type"] ?? null;
      rec.shape = Buffer.isBuffer(d) ? "buffer" : shape(d);
      rec.fields = Buffer.isBuffer(d) ? null : scalarFields(d);
    }
  }
  rec.elapsed_ms = now() - started;
  report.legacy.push(rec);
  return rec;
}

function trimData(rec) {
  // keep the report small: big arrays only by their shape
  if (rec && rec.data !== undefined) delete rec.data;
}

async function legacy(opts) {
  const capped = (ms) => (opts.capMs > 0 && (ms === 0 || ms > opts.capMs) ? opts.capMs : ms);
  const w = await legacyCall("GET /warmup", () => axios.get(`${URL_BASE}/warmup`, { timeout: capped(120000) }));
  trimData(w);
  const r = await legacyCall("POST /reload", () => axios.post(`${URL_BASE}/reload`, {}, { timeout: capped(10000) }));
  trimData(r);
  const video = opts.video;
  const pv = await legacyCall("POST /process_video", () => {
    const form = new FormData();
    form.append("video", fs.createReadStream(video), { filename: path.basename(video), contentType: "video/mp4" });
    form.append("max_frames", "10");
    form.append("output_format", "file_path");
    return axios.post(`${URL_BASE}/process_video`, form, {
      headers: form.getHeaders(),
      timeout: capped(0),
      maxContentLength: Infinity,
      maxBodyLength: Infinity,
    });
  });
  trimData(pv);
  const pa = await legacyCall("POST /process_video_async", () => {
    const form = new FormData();
    form.append("video", fs.createReadStream(video), { filename: path.basename(video), contentType: "video/mp4" });
    form.append("max_frames", opts.asyncMaxFrames);
    return axios.post(`${URL_BASE}/process_video_async`, form, { headers: form.getHeaders(), timeout: capped(30000) });
  });
  const jobId = pa.status >= 200 && pa.status < 300 ? pa.fields?.job_id : undefined;
  trimData(pa);
  if (typeof jobId !== "string" || !jobId) {
    for (const route of ["GET /job_status/<id>", "GET /frame/<job>/<i>"]) {
      report.legacy.push({ route, status: null, error_code: "SKIPPED", error_message: "no job_id from /process_video_async" });
    }
    return;
  }
  const deadline = Date.now() + opts.jobDeadlineS * 1000;
  let last;
  const statuses = [];
  for (;;) {
    last = await legacyCall("GET /job_status/<id>", () =>
      axios.get(`${URL_BASE}/job_status/${encodeURIComponent(jobId)}`, { timeout: capped(10000) }),
    );
    const st = last.fields?.status;
    statuses.push(last.status === 200 ? st : last.status ?? last.error_code);
    const done = last.status !== 200 || st === "complete" || st === "error" || Date.now() > deadline;
    if (!done) {
      // only the last poll keeps its place in the report
      report.legacy.pop();
      await sleep(1000);
      continue;
    }
    last.polls = statuses.length;
    last.poll_statuses = [...new Set(statuses)];
    last.job_id = jobId;
    trimData(last);
    break;
  }
  const f = await legacyCall("GET /frame/<job>/<i>", () =>
    axios.get(`${URL_BASE}/frame/${encodeURIComponent(jobId)}/0`, { responseType: "arraybuffer", timeout: capped(30000) }),
  );
  if (f.data === undefined && f.content_type && !String(f.content_type).startsWith("image/")) {
    f.note = "not an image";
  }
  trimData(f);
}

// --- main -------------------------------------------------------------------------------------
async function main() {
  const scenarios = new Set(list(args.scenarios));
  await health("start");
  if (scenarios.has("analyze")) await analyze4d(list(args.analyze));
  if (scenarios.has("upload")) {
    const pool = new Pool(Number(args["max-concurrent"]), Number(args["queue-max"]), Number(args["spacing-ms"]));
    await uploads(list(args.uploads), list(args["upload-orders"]), pool);
    report.pool = { max_active: pool.maxActive, queue_max: pool.queueMax, spacing_ms: pool.spacingMs, ...pool.stats };
  }
  if (scenarios.has("refusal")) {
    await refusal({
      jpeg: args.jpeg,
      followClip: args["follow-clip"] || list(args.analyze)[0] || Object.keys(CLIPS)[0],
      refusalRounds: Number(args["refusal-rounds"]),
      notFoundRounds: Number(args["not-found-rounds"]),
      idleMs: list(args["idle-ms"]).map(Number),
    });
  }
  if (scenarios.has("legacy")) {
    await legacy({
      video: args.video,
      asyncMaxFrames: args["async-max-frames"],
      jobDeadlineS: Number(args["job-deadline-s"]),
      capMs: Number(args["cap-timeout-ms"]),
    });
  }
  await health("end");
  report.elapsed_ms = now();
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  // a crash of the client itself (not an answer of the service): still write what we have
  report.client_error = String(err?.stack || err);
  exitCode = 2;
}
fs.writeFileSync(args.report, JSON.stringify(report, null, 1));
process.exit(exitCode);
