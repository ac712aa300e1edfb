// The live map. The page is server-rendered; this script keeps it live from /ws/world/ (opened
// by htmx's ws extension, which also reconnects): a snapshot on connect, then one JSON frame per
// tick. Everything written by agents or the model is put on the page with textContent only.
(() => {
  "use strict";
  const map = document.getElementById("map");
  const snapshotEl = document.getElementById("village-snapshot");
  if (!map || !snapshotEl) return;

  const $ = (id) => document.getElementById(id);
  const initial = JSON.parse(snapshotEl.textContent);
  const state = {
    world: initial.world,
    places: new Map(initial.locations.map((p) => [p.name, p])),
    tick: initial.tick,
    clock: initial.clock,
    live: new Map(initial.agents.map((a) => [a.id, a])),
    past: null, // the tick being viewed with the scrubber, or null when live
  };
  const canvas = $("tiles");
  const scrubber = $("scrubber");
  const agentUrl = (id) => map.dataset.agentUrl.replace(/\/0\/$/, `/${id}/`);
  const atUrl = (tick) => map.dataset.atUrl.replace(/\/0\/$/, `/${tick}/`) + `?world=${map.dataset.world}`;

  // --- drawing --------------------------------------------------------------------------
  function tileSize() {
    const room = (map.parentElement.clientWidth || 800) - 8;
    return Math.max(4, Math.min(28, Math.floor(room / state.world.width)));
  }

  function drawTiles() {
    const t = tileSize();
    map.style.setProperty("--tile", `${t}px`);
    const { width, height, rows, legend, colors } = state.world;
    canvas.width = width * t;
    canvas.height = height * t;
    const ctx = canvas.getContext("2d");
    for (let y = 0; y < height; y++) {
      const row = rows[y];
      for (let x = 0; x < width; x++) {
        ctx.fillStyle = colors[legend[row[x]] || "wall"] || colors.wall;
        ctx.fillRect(x * t, y * t, t, t);
      }
    }
  }

  // Agents inside a place all stand on its anchor tile; spread them over the place's area.
  function displayPositions(agents) {
    const slots = new Map();
    const out = new Map();
    const sorted = [...agents].sort((a, b) => a.id - b.id);
    for (const a of sorted) {
      const place = a.location && state.places.get(a.location);
      if (!place) {
        out.set(a.id, [a.x, a.y]);
        continue;
      }
      const [x0, y0, x1, y1] = place.area;
      const w = x1 - x0 + 1;
      const h = y1 - y0 + 1;
      const k = slots.get(place.name) || 0;
      slots.set(place.name, k + 1);
      out.set(a.id, [x0 + (k % w), y0 + (Math.floor(k / w) % h)]);
    }
    return out;
  }

  function agentElement(a) {
    let el = $(`agent-${a.id}`);
    if (el) return el;
    el = document.createElement("a");
    el.className = "agent";
    el.id = `agent-${a.id}`;
    el.dataset.id = a.id;
    el.href = agentUrl(a.id);
    for (const cls of ["icon", "name", "bubble"]) {
      const span = document.createElement("span");
      span.className = cls;
      if (cls === "bubble") span.hidden = true;
      el.appendChild(span);
    }
    $("agents").appendChild(el);
    return el;
  }

  function render(agents) {
    const shown = displayPositions(agents);
    for (const a of agents) {
      const el = agentElement(a);
      const [dx, dy] = shown.get(a.id);
      el.style.setProperty("--x", dx);
      el.style.setProperty("--y", dy);
      el.dataset.x = a.x;
      el.dataset.y = a.y;
      el.dataset.location = a.location || "";
      el.dataset.category = a.category || "idle";
      el.querySelector(".icon").textContent = a.icon;
      el.querySelector(".name").textContent = a.name;
      el.title = a.activity ? `${a.name}: ${a.activity}` : a.name;
    }
  }

  function renderLive() {
    render([...state.live.values()]);
    $("clock").textContent = state.clock;
  }

  function say(speech) {
    const stepMs = parseFloat(getComputedStyle(map).getPropertyValue("--step")) * 1000 || 2000;
    for (const s of speech) {
      const el = $(`agent-${s.agent}`);
      if (!el) continue;
      const bubble = el.querySelector(".bubble");
      bubble.textContent = s.text;
      bubble.hidden = false;
      el.classList.add("speaking");
      clearTimeout(el.bubbleTimer);
      el.bubbleTimer = setTimeout(() => {
        bubble.hidden = true;
        el.classList.remove("speaking");
      }, Math.max(4000, 2 * stepMs));
    }
  }

  function feed(events, clock) {
    const list = $("feed");
    for (const e of events) {
      const li = document.createElement("li");
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = clock;
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = e.kind;
      li.append(when, " ", kind);
      if (e.name && e.agent) {
        const who = document.createElement("a");
        who.href = agentUrl(e.agent);
        who.textContent = e.name;
        li.append(" ", who);
      }
      if (e.location) li.append(` @ ${e.location}`);
      if (e.text) li.append(` — ${e.text}`);
      list.prepend(li);
    }
    while (list.children.length > 60) list.lastElementChild.remove();
  }

  // --- live frames ------------------------------------------------------------------------
  function onSnapshot(msg) {
    state.world = msg.world;
    state.places = new Map(msg.locations.map((p) => [p.name, p]));
    state.tick = msg.tick;
    state.clock = msg.clock;
    state.live = new Map(msg.agents.map((a) => [a.id, a]));
    setStatus(msg.status);
    if (state.past === null) renderLive();
  }

  function onTick(msg) {
    if (msg.tick <= state.tick) return; // already covered by the snapshot
    state.tick = msg.tick;
    state.clock = msg.clock;
    // Merge each entry into what we know; walkers that only moved come as flat (id, x, y) triples.
    for (const a of msg.agents) state.live.set(a.id, { name: `#${a.id}`, ...state.live.get(a.id), ...a });
    const walkers = msg.walkers || [];
    for (let k = 0; k + 2 < walkers.length; k += 3) {
      const id = walkers[k];
      state.live.set(id, { name: `#${id}`, ...state.live.get(id), x: walkers[k + 1], y: walkers[k + 2] });
    }
    setStatus(msg.status);
    extendScrubber(msg.tick);
    if (state.past === null) {
      renderLive();
      say(msg.speech);
    }
    feed(msg.events, msg.clock);
    map.dataset.tick = msg.tick;
  }

  function setStatus(status) {
    const el = $("status");
    if (el && status) el.textContent = status;
  }

  document.body.addEventListener("htmx:wsBeforeMessage", (evt) => {
    evt.preventDefault(); // JSON frames, not HTML to swap
    let msg;
    try {
      msg = JSON.parse(evt.detail.message);
    } catch {
      return;
    }
    if (msg.type === "snapshot") onSnapshot(msg);
    else if (msg.type === "tick") onTick(msg);
  });
  document.body.addEventListener("htmx:wsOpen", () => {
    $("link-state").textContent = "live";
    map.dataset.connected = "1";
  });
  document.body.addEventListener("htmx:wsClose", () => {
    $("link-state").textContent = "reconnecting…";
    map.dataset.connected = "";
  });
  document.body.addEventListener("htmx:afterSwap", () => {
    const controls = $("controls");
    if (controls) map.style.setProperty("--step", `${controls.dataset.tickSeconds}s`);
  });

  // --- the time scrubber ------------------------------------------------------------------
  function extendScrubber(tick) {
    if (!scrubber) return;
    const perDay = state.world.ticks_per_day || 1;
    scrubber.min = tick - (tick % perDay); // the scrubber covers the current day
    scrubber.max = tick;
    scrubber.disabled = false;
    if (state.past === null) scrubber.value = tick;
  }

  let scrubTimer = null;
  let scrubSeq = 0;
  function goLive() {
    state.past = null;
    $("past-note").hidden = true;
    map.classList.remove("past");
    $("scrub-label").textContent = "live";
    if (scrubber) scrubber.value = scrubber.max;
    renderLive();
  }

  async function showTick(tick) {
    const seq = ++scrubSeq;
    $("scrub-label").textContent = "loading…";
    try {
      const response = await fetch(atUrl(tick), { headers: { Accept: "application/json" } });
      const data = await response.json();
      if (seq !== scrubSeq) return;
      if (!response.ok) {
        $("scrub-label").textContent = data.error || "cannot show that tick";
        return;
      }
      state.past = tick;
      map.classList.add("past");
      $("past-note").hidden = false;
      render(data.agents);
      $("clock").textContent = `${data.clock} (replayed)`;
      $("scrub-label").textContent = `tick ${data.tick} · ${data.clock}`;
    } catch {
      $("scrub-label").textContent = "cannot reach the server";
    }
  }

  if (scrubber) {
    scrubber.addEventListener("input", () => {
      clearTimeout(scrubTimer);
      const tick = Number(scrubber.value);
      scrubTimer = setTimeout(() => (tick >= Number(scrubber.max) ? goLive() : showTick(tick)), 150);
    });
  }
  $("go-live").addEventListener("click", goLive);

  drawTiles();
  renderLive();
  window.addEventListener("resize", drawTiles);
})();
