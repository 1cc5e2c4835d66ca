// The farm's live view: the board grid, the waiting list and a job's log, kept current from
// the event feed (Server-Sent Events read with fetch, so the key goes in a header).
"use strict";

const KEY_STORE = "fpga-cloud-api-key";
const boards = new Map(); // fpga_id -> the board as GET /fpga shows it
let key = sessionStorage.getItem(KEY_STORE) || "";
let shownJob = null; // {fpga_id, job_id, abort}
let refreshTimer = null;

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const headers = { "X-API-Key": key, ...(options.headers || {}) };
  const resp = await fetch(path, { ...options, headers });
  if (resp.status === 401) {
    forget("The key was refused; enter another.");
    throw new Error("unauthorized");
  }
  return resp;
}

function forget(message) {
  sessionStorage.removeItem(KEY_STORE);
  key = "";
  $("farm").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  setStatus("not connected", false);
}

function setStatus(text, live) {
  $("status").textContent = text;
  $("status").classList.toggle("live", live);
}

function leaseLeft(session) {
  if (!session) return "";
  const seconds = Math.max(0, Math.round((Date.parse(session.expires_at) - Date.now()) / 1000));
  const m = Math.floor(seconds / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min left` : `${m} min ${seconds % 60} s left`;
}

function tile(board) {
  const el = document.createElement("div");
  el.className = "tile";
  el.id = `board-${board.fpga_id}`;
  el.dataset.state = board.state;
  el.dataset.health = board.health || "good";
  const lines = [
    ["id", `#${board.fpga_id}`],
    ["state", board.state],
    ["meta health", `${board.health || "good"} · ${board.driver}`],
  ];
  if (board.session) {
    lines.push(["meta owner", `owner ${board.session.owner}`]);
    lines.push(["meta lease", leaseLeft(board.session)]);
  } else if (board.current_job_id) {
    lines.push(["meta job", `job ${board.current_job_id.slice(0, 8)}`]);
  }
  for (const [cls, text] of lines) {
    const div = document.createElement("div");
    div.className = cls;
    div.textContent = text;
    el.appendChild(div);
  }
  if (board.current_job_id) {
    el.classList.add("clickable");
    el.title = "Show this job's log";
    el.addEventListener("click", () => showJob(board.fpga_id, board.current_job_id));
  }
  return el;
}

function render() {
  const grid = $("grid");
  const ids = [...boards.keys()].sort((a, b) => a - b);
  grid.replaceChildren(...ids.map((id) => tile(boards.get(id))));
  const busy = ids.filter((id) => boards.get(id).state !== "idle").length;
  $("board-count").textContent = `${ids.length} boards, ${busy} busy`;
}

async function loadBoards() {
  const list = await (await api("/fpga")).json();
  boards.clear();
  for (const board of list) boards.set(board.fpga_id, board);
  render();
}

async function loadBoard(id) {
  const resp = await api(`/fpga/${id}`);
  if (resp.ok) {
    boards.set(id, await resp.json());
    render();
  }
}

async function loadWaiting() {
  const list = await (await api("/jobs")).json();
  $("waiting-count").textContent = list.length ? `${list.length} waiting` : "empty";
  $("waiting").replaceChildren(
    ...list.map((w) => {
      const li = document.createElement("li");
      li.textContent = `job ${w.job_id.slice(0, 8)} · key ${w.owner}` +
        (w.driver ? ` · ${w.driver}` : "");
      return li;
    }),
  );
}

async function loadJobStatus() {
  const { fpga_id: fpgaId, job_id: jobId } = shownJob;
  const resp = await api(`/fpga/${fpgaId}/jobs/${jobId}`);
  if (resp.ok) {
    const job = await resp.json();
    $("job-status").textContent = `${job.status} · ${job.stage}`;
  }
  return resp.ok;
}

async function showJob(fpgaId, jobId) {
  if (shownJob) shownJob.abort.abort();
  const abort = new AbortController();
  shownJob = { fpga_id: fpgaId, job_id: jobId, abort };
  $("job").hidden = false;
  $("job-id").textContent = jobId.slice(0, 8);
  $("job-board").textContent = `#${fpgaId}`;
  $("log").textContent = "";
  if (!(await loadJobStatus())) {
    $("job-status").textContent = "not yours";
    $("log").textContent = "Only the job's owner (or an admin) may read its log.";
    return;
  }
  const resp = await api(`/fpga/${fpgaId}/jobs/${jobId}/logs?follow=true`, {
    signal: abort.signal,
  });
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      $("log").textContent += decoder.decode(value, { stream: true });
      $("log").scrollTop = $("log").scrollHeight;
    }
  } catch (err) {
    if (err.name !== "AbortError") throw err;
  }
}

function onEvent(envelope) {
  const id = envelope.fpga_id;
  if (boards.has(id)) loadBoard(id);
  loadWaiting();
  if (shownJob && envelope.job_id === shownJob.job_id) loadJobStatus();
}

// The event feed, resumed from the last sequence seen after a dropped connection.
async function follow() {
  let last = null;
  for (;;) {
    try {
      const query = last === null ? "" : `?after=${last}`;
      const resp = await api(`/events${query}`, { headers: { Accept: "text/event-stream" } });
      if (!resp.ok) throw new Error(`feed answered ${resp.status}`);
      setStatus("live", true);
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: "));
          const idLine = block.split("\n").find((l) => l.startsWith("id: "));
          if (idLine) last = Number(idLine.slice(4));
          if (data.length) onEvent(JSON.parse(data.map((l) => l.slice(6)).join("\n")));
        }
      }
    } catch (err) {
      if (!key) return;
    }
    setStatus("reconnecting…", false);
    await new Promise((r) => setTimeout(r, 1000));
    if (!key) return;
  }
}

async function start() {
  $("login").hidden = true;
  $("farm").hidden = false;
  $("forget").hidden = false;
  setStatus("connecting…", false);
  try {
    await loadBoards();
    await loadWaiting();
  } catch (err) {
    return;
  }
  follow();
  clearInterval(refreshTimer);
  // Leases count down, and the waiting list changes without a board event.
  refreshTimer = setInterval(() => {
    if (!key) return;
    render();
    loadWaiting().catch(() => {});
  }, 2000);
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  key = $("key").value.trim();
  sessionStorage.setItem(KEY_STORE, key);
  $("key").value = "";
  start();
});
$("forget").addEventListener("click", () => forget(""));

if (key) start();
else forget("");
