/* The admin console: one script, no build step, calling only the public API.
 *
 * Rules kept throughout: tokens live in sessionStorage (never in a URL); every string that
 * comes from the API is put on the page as text (text nodes, textContent), never parsed as HTML; no inline
 * script or style (the page's Content-Security-Policy forbids both).
 */
"use strict";

(function () {
  const STORE_KEY = "game-console.session";
  const API = location.pathname.replace(/\/console\/?$/, "");
  const DAY_MS = 86400000;
  const state = {
    session: null, // {id_token, refresh_token, username}
    config: null, // the whole game config (GET /admin/config)
    charts: {}, // uPlot instances by name, exposed for inspection
    chartData: {}, // the arrays each chart was drawn from
    player: null, // the player shown on the Players page
    board: { cursors: [], current: null, next: null }, // cursors: the pages before this one
    audit: { next: null },
  };

  // ---------------------------------------------------------------- small DOM helpers

  const $ = (id) => document.getElementById(id);

  /** An element with text children only: strings become text nodes, never markup. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fillRows(table, rows) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows);
    if (!rows.length) {
      const cols = table.tHead ? table.tHead.rows[0].cells.length : 1;
      body.append(el("tr", {}, el("td", { colspan: cols, className: "hint" }, "Nothing here.")));
    }
  }

  function cell(value, className) {
    return el("td", { className }, value === undefined || value === null ? "" : value);
  }

  function showStatus(message, isError) {
    const box = $("status");
    box.textContent = message;
    box.classList.toggle("error", Boolean(isError));
    box.hidden = !message;
  }

  function when(iso) {
    return iso ? String(iso).replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
  }

  function reasonHeader(reason) {
    return reason && reason.trim() ? { "X-Audit-Reason": encodeURIComponent(reason.trim()) } : {};
  }

  // ---------------------------------------------------------------- session and API calls

  function loadSession() {
    try {
      state.session = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    } catch (e) {
      state.session = null;
    }
  }

  function saveSession(session) {
    state.session = session;
    if (session) sessionStorage.setItem(STORE_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(STORE_KEY);
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || "HTTP " + status);
      this.status = status;
      this.code = body && body.code;
      this.details = body && body.details;
    }
  }

  async function rawCall(method, path, body, headers) {
    const init = { method, headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (state.session) init.headers.Authorization = "Bearer " + state.session.id_token;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(API + path, init);
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = { error: text };
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  /** Call the API; an expired token is refreshed once, then the call is repeated. */
  async function api(method, path, body, headers) {
    try {
      return await rawCall(method, path, body, headers);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && state.session && state.session.refresh_token) {
        const fresh = await rawCall("POST", "/auth/refresh", { refresh_token: state.session.refresh_token }).catch(() => null);
        if (fresh) {
          saveSession(Object.assign({}, state.session, { id_token: fresh.id_token }));
          return rawCall(method, path, body, headers);
        }
        signOut("Your session has ended; sign in again.");
      }
      throw err;
    }
  }

  /** Run an action, showing its error (message and code) instead of failing silently. */
  async function guarded(action, success) {
    try {
      const result = await action();
      if (success) showStatus(success, false);
      return result;
    } catch (err) {
      const code = err.code ? " (" + err.code + ")" : "";
      showStatus((err.message || String(err)) + code, true);
      return undefined;
    }
  }

  // ---------------------------------------------------------------- sign-in and navigation

  async function signIn(event) {
    event.preventDefault();
    const username = $("signin-username").value.trim();
    const password = $("signin-password").value;
    await guarded(async () => {
      const tokens = await rawCall("POST", "/auth/login", { username, password });
      saveSession({ id_token: tokens.id_token, refresh_token: tokens.refresh_token, username });
      try {
        state.config = (await api("GET", "/admin/config")).config;
      } catch (err) {
        saveSession(null);
        if (err.status === 403) throw new Error("This account is not in the admins group.");
        throw err;
      }
      $("signin-password").value = "";
      showStatus("", false);
      enterConsole();
    });
  }

  function signOut(message) {
    saveSession(null);
    state.config = null;
    $("nav").hidden = true;
    $("signout").hidden = true;
    $("whoami").textContent = "";
    showPage("signin");
    if (message) showStatus(message, false);
  }

  function showPage(name) {
    for (const page of document.querySelectorAll("main > .page")) page.hidden = page.id !== "page-" + name;
    for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.page === name);
    document.body.dataset.page = name;
  }

  const loaders = {
    dashboard: loadDashboard,
    players: async () => {},
    leaderboards: loadBoards,
    matchmaking: loadMatchmaking,
    notifications: async () => {},
    audit: () => loadAudit(false),
    config: loadConfig,
    api: loadApiReference,
  };

  async function route() {
    if (!state.session) return showPage("signin");
    const name = (location.hash || "#dashboard").slice(1);
    const page = loaders[name] ? name : "dashboard";
    showPage(page);
    document.body.dataset.loaded = "";
    await guarded(() => loaders[page]());
    document.body.dataset.loaded = page;
  }

  async function enterConsole() {
    $("nav").hidden = false;
    $("signout").hidden = false;
    $("whoami").textContent = state.session.username;
    if (!state.config) {
      const ok = await guarded(async () => {
        state.config = (await api("GET", "/admin/config")).config;
        return true;
      });
      if (!ok) return signOut("Sign in again.");
    }
    fillPlayerForms();
    await route();
  }

  // ---------------------------------------------------------------- dashboard

  function isoDay(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function defaultRange() {
    const now = Date.now();
    $("range-to").value = isoDay(now);
    $("range-from").value = isoDay(now - 29 * DAY_MS);
  }

  const PALETTE = ["#2458d6", "#d6452b", "#2a9d5b", "#8a4bd6", "#d69a2b", "#2bb3d6", "#6b7385", "#d62b8a", "#5b6b2a"];

  function drawChart(name, days, series) {
    const box = $("chart-" + name);
    if (state.charts[name]) state.charts[name].destroy();
    box.replaceChildren();
    const xs = days.map((d) => Date.parse(d + "T00:00:00Z") / 1000);
    const data = [xs, ...series.map((s) => s.values)];
    state.chartData[name] = { days, series: Object.fromEntries(series.map((s) => [s.label, s.values])) };
    const opts = {
      width: Math.max(320, box.clientWidth || 560),
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true } },
      series: [
        { label: "Day" },
        ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true })),
      ],
      axes: [
        {
          space: 48,
          incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400],
          values: (u, splits) => splits.map((ts) => new Date(ts * 1000).toISOString().slice(5, 10)),
        },
        { size: 50 },
      ],
    };
    state.charts[name] = new uPlot(opts, data, box);
  }

  async function loadDashboard() {
    if (!$("range-from").value) defaultRange();
    const from = $("range-from").value;
    const to = $("range-to").value;
    const [summary, mm] = await Promise.all([
      api("GET", "/admin/analytics/summary?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to)),
      api("GET", "/admin/matchmaking"),
    ]);
    const days = summary.days.map((d) => d.day);
    const pick = (key) => summary.days.map((d) => d[key]);
    const pct = (key) => summary.days.map((d) => (d[key] === null ? null : Math.round(d[key] * 1000) / 10));
    drawChart("players", days, [
      { label: "Active players", values: pick("active_players") },
      { label: "New players", values: pick("new_players") },
    ]);
    drawChart("sessions", days, [{ label: "Sessions", values: pick("sessions") }]);
    drawChart("retention", days, [
      { label: "D1 retention %", values: pct("d1_retention") },
      { label: "D7 retention %", values: pct("d7_retention") },
    ]);
    const types = new Set();
    for (const d of summary.days) for (const t of Object.keys(d.events_by_type || {})) types.add(t);
    const typeList = [...types].sort();
    drawChart(
      "events",
      days,
      typeList.length
        ? typeList.map((t) => ({ label: t, values: summary.days.map((d) => (d.events_by_type || {})[t] || 0) }))
        : [{ label: "Events", values: pick("events") }]
    );
    $("total-sessions").textContent = String(summary.totals.sessions ?? 0);
    $("total-new").textContent = String(summary.totals.new_players ?? 0);
    $("live-matches").textContent = mm.matches_last_hour + (mm.matches_last_hour_capped ? "+" : "");
    let waiting = 0;
    const rows = [];
    for (const q of mm.queues) {
      for (const r of q.regions) {
        waiting += r.waiting;
        rows.push(el("tr", {}, cell(q.queue), cell(r.region), cell(r.waiting + (r.capped ? "+" : ""), "num")));
      }
    }
    $("live-waiting").textContent = String(waiting);
    fillRows($("live-queues"), rows);
  }

  // ---------------------------------------------------------------- players

  function fillPlayerForms() {
    const statSelect = $("pd-stat-name");
    statSelect.replaceChildren(
      ...Object.entries(state.config.stats || {}).map(([id, def]) =>
        el("option", { value: id }, id + " (" + def.aggregation + ", " + def.writer + ")")
      )
    );
    const grantSelect = $("pd-grant-id");
    grantSelect.replaceChildren(
      ...Object.entries(state.config.achievements || {}).map(([id, def]) => el("option", { value: id }, def.title || id))
    );
  }

  async function searchPlayers(event) {
    event.preventDefault();
    const q = $("player-q").value.trim();
    await guarded(async () => {
      const result = await api("GET", "/admin/players?q=" + encodeURIComponent(q));
      $("player-matched").textContent =
        result.matched_by === "none" ? "No player found." : result.players.length + " found by " + result.matched_by + ".";
      fillRows(
        $("player-results"),
        result.players.map((p) =>
          el(
            "tr",
            { dataset: { playerId: p.player_id } },
            cell(p.display_name, "player-name"),
            cell(p.player_id, "mono"),
            cell(p.email || ""),
            cell(p.is_guest ? "yes" : "no"),
            cell(when(p.created_at)),
            el("td", {}, el("button", { type: "button", className: "small", onclick: () => openPlayer(p.player_id) }, "Open"))
          )
        )
      );
      if (result.players.length === 1) await openPlayer(result.players[0].player_id);
    });
  }

  async function openPlayer(playerId) {
    const id = encodeURIComponent(playerId);
    const [profile, account, stats, achievements, saves, inbox, audit] = await Promise.all([
      api("GET", "/admin/players/" + id),
      api("GET", "/admin/players/" + id + "/status"),
      api("GET", "/admin/players/" + id + "/stats"),
      api("GET", "/admin/players/" + id + "/achievements"),
      api("GET", "/admin/players/" + id + "/saves?limit=100"),
      api("GET", "/admin/players/" + id + "/notifications?limit=50"),
      api("GET", "/admin/audit?limit=20&target=" + id),
    ]);
    state.player = profile;
    $("player-detail").hidden = false;
    $("pd-name").textContent = profile.display_name;
    const props = [
      ["Player id", profile.player_id],
      ["Display name", profile.display_name],
      ["Email", profile.email || "—"],
      ["Guest", profile.is_guest ? "yes" : "no"],
      ["Created", when(profile.created_at)],
      ["Last seen", when(profile.last_seen_at) || "—"],
    ];
    if (account.status !== "active") {
      props.push(["Status reason", account.reason || ""]);
      props.push(["Status since", when(account.changed_at)]);
    }
    $("pd-profile").replaceChildren(...props.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    const status = account.status;
    $("pd-status").textContent = status;
    $("pd-status").className = status === "banned" ? "badge banned" : "badge";
    const defs = state.config.stats || {};
    fillRows(
      $("pd-stats"),
      Object.entries(stats.stats).map(([name, value]) =>
        el("tr", {}, cell(name), cell(value, "num"), cell((defs[name] || {}).writer || ""))
      )
    );
    fillRows(
      $("pd-achievements"),
      achievements.achievements.map((a) =>
        el(
          "tr",
          {},
          cell(a.title || a.id),
          cell(a.target ? a.progress + " / " + a.target : a.progress ?? ""),
          cell(a.unlocked ? when(a.unlocked_at) || "yes" : "no")
        )
      )
    );
    $("pd-save-content").hidden = true;
    fillRows(
      $("pd-saves"),
      saves.slots.map((s) =>
        el(
          "tr",
          {},
          cell(s.slot, "mono"),
          cell(s.version, "num"),
          cell(s.size, "num"),
          cell(when(s.updated_at)),
          el("td", {}, el("button", { type: "button", className: "small", onclick: () => showSave(playerId, s.slot) }, "Content"))
        )
      )
    );
    fillRows(
      $("pd-inbox"),
      inbox.notifications.map((n) =>
        el("tr", {}, cell(n.title), cell(n.kind + (n.broadcast ? " (broadcast)" : "")), cell(when(n.created_at)), cell(n.read ? "yes" : "no"))
      )
    );
    fillRows($("pd-audit"), audit.entries.map((e) => auditRow(e, true)));
  }

  async function showSave(playerId, slot) {
    await guarded(async () => {
      const view = await api("GET", "/admin/players/" + encodeURIComponent(playerId) + "/saves/" + encodeURIComponent(slot));
      const box = $("pd-save-content");
      box.textContent =
        view.storage === "s3"
          ? "Stored in S3; download link (valid until " + when(view.download_expires_at) + "):\n" + view.download_url
          : JSON.stringify(view.data, null, 2);
      box.hidden = false;
    });
  }

  function playerAction(fn, message) {
    return async (event) => {
      event.preventDefault();
      if (!state.player) return;
      const id = state.player.player_id;
      const done = await guarded(() => fn(id), message);
      if (done !== undefined) await guarded(() => openPlayer(id));
    };
  }

  const setStat = playerAction(
    (id) =>
      api("POST", "/admin/players/" + encodeURIComponent(id) + "/stats", {
        updates: { [$("pd-stat-name").value]: Number($("pd-stat-value").value) },
      }),
    "Stat updated."
  );
  const grant = playerAction(
    (id) => api("POST", "/admin/achievements/" + encodeURIComponent($("pd-grant-id").value) + "/grant", { player_id: id }),
    "Achievement granted."
  );
  const notifyPlayer = playerAction(
    (id) =>
      api("POST", "/admin/notifications", {
        player_id: id,
        title: $("pd-notify-title").value,
        body: $("pd-notify-body").value,
      }),
    "Notification sent."
  );
  const ban = playerAction(
    (id) => api("POST", "/admin/players/" + encodeURIComponent(id) + "/ban", { reason: $("pd-ban-reason").value }),
    "Player banned."
  );
  const unban = playerAction(
    (id) => api("POST", "/admin/players/" + encodeURIComponent(id) + "/unban", { reason: $("pd-ban-reason").value }),
    "Player unbanned."
  );

  async function deletePlayer(event) {
    event.preventDefault();
    if (!state.player || !$("pd-delete-confirm").checked) return;
    const id = state.player.player_id;
    const done = await guarded(
      () => api("DELETE", "/admin/players/" + encodeURIComponent(id), { reason: $("pd-delete-reason").value }),
      "Account deleted."
    );
    if (done !== undefined) {
      state.player = null;
      $("player-detail").hidden = true;
      $("pd-delete-confirm").checked = false;
    }
  }

  // ---------------------------------------------------------------- leaderboards

  async function loadBoards() {
    const boards = (await api("GET", "/leaderboards")).leaderboards;
    const select = $("board-id");
    const current = select.value;
    select.replaceChildren(...boards.map((b) => el("option", { value: b.id }, (b.title || b.id) + " (" + b.reset + ")")));
    if (current && boards.some((b) => b.id === current)) select.value = current;
    await loadPeriods();
    await showBoard(null);
  }

  async function loadPeriods() {
    const board = $("board-id").value;
    const select = $("board-period");
    const options = [el("option", { value: "" }, "current")];
    if (board) {
      const page = await api("GET", "/leaderboards/" + encodeURIComponent(board) + "/periods?limit=50");
      for (const p of page.periods) options.push(el("option", { value: p.period }, p.period + " (closed)"));
    }
    select.replaceChildren(...options);
  }

  async function showBoard(cursor) {
    const board = $("board-id").value;
    if (!board) return;
    const params = new URLSearchParams({ limit: $("board-limit").value });
    if ($("board-period").value) params.set("period", $("board-period").value);
    if (cursor) params.set("cursor", cursor);
    const page = await api("GET", "/leaderboards/" + encodeURIComponent(board) + "?" + params);
    if (!cursor) state.board.cursors = [];
    state.board.current = cursor;
    state.board.next = page.next_cursor;
    $("board-next").disabled = !page.next_cursor;
    $("board-prev").disabled = !cursor;
    $("board-summary").textContent = page.total_entries + " entries in period " + page.period + ".";
    const firstRank = page.entries.length ? page.entries[0].rank : 0;
    $("board-entries").dataset.view = [board, page.period, params.get("limit"), firstRank].join("|");
    fillRows(
      $("board-entries"),
      page.entries.map((e) =>
        el(
          "tr",
          { dataset: { playerId: e.player_id } },
          cell(e.rank, "num rank"),
          cell(e.display_name, "player-name"),
          cell(e.player_id, "mono"),
          cell(e.score, "num"),
          cell(when(e.reached_at)),
          el(
            "td",
            {},
            el("button", { type: "button", className: "small secondary", onclick: () => removeEntry(board, page.period, e) }, "Remove")
          )
        )
      )
    );
  }

  async function removeEntry(board, period, entry) {
    const params = $("board-period").value ? "?period=" + encodeURIComponent(period) : "";
    const done = await guarded(
      () =>
        api("DELETE", "/admin/leaderboards/" + encodeURIComponent(board) + "/entries/" + encodeURIComponent(entry.player_id) + params, {
          reason: $("board-remove-reason").value || null,
        }),
      "Entry of " + entry.display_name + " removed."
    );
    if (done !== undefined) await guarded(() => showBoard(null));
  }

  async function lookupRanks(event) {
    event.preventDefault();
    const board = $("board-id").value;
    const params = new URLSearchParams({ ids: $("rank-ids").value.replace(/\s+/g, "") });
    if ($("board-period").value) params.set("period", $("board-period").value);
    await guarded(async () => {
      const found = await api("GET", "/leaderboards/" + encodeURIComponent(board) + "/players?" + params);
      fillRows(
        $("rank-results"),
        found.entries.map((e) => el("tr", {}, cell(e.rank, "num"), cell(e.display_name), cell(e.player_id, "mono"), cell(e.score, "num")))
      );
    });
  }

  // ---------------------------------------------------------------- matchmaking

  function describeRules(rules) {
    const parts = [rules.teams + " teams of " + rules.team_size];
    if (rules.max_party_size) parts.push("parties up to " + rules.max_party_size);
    if (rules.skill_stat) parts.push("skill: " + rules.skill_stat);
    if (rules.window) parts.push("window " + rules.window.initial + " +" + rules.window.growth_per_second + "/s up to " + rules.window.max);
    if (rules.ticket_timeout_seconds) parts.push("timeout " + rules.ticket_timeout_seconds + " s");
    if (rules.description) parts.push(rules.description);
    return parts.join("; ");
  }

  async function loadMatchmaking() {
    const mm = await api("GET", "/admin/matchmaking");
    $("mm-last-hour").textContent = mm.matches_last_hour + (mm.matches_last_hour_capped ? "+" : "");
    fillRows(
      $("mm-queues"),
      mm.queues.map((q) =>
        el(
          "tr",
          {},
          cell(q.queue),
          cell(describeRules(q.rules)),
          cell(q.regions.map((r) => r.region + ": " + r.waiting + (r.capped ? "+" : "")).join(", "))
        )
      )
    );
    fillRows(
      $("mm-matches"),
      mm.recent_matches.map((m) =>
        el("tr", {}, cell(m.match_id, "mono"), cell(m.queue), cell(m.region), cell(m.teams.map((t) => t.length).join(" v ")), cell(when(m.created_at)))
      )
    );
  }

  // ---------------------------------------------------------------- notifications

  async function sendNotification(event) {
    event.preventDefault();
    const broadcast = $("notify-broadcast").checked;
    const body = {
      title: $("notify-title").value,
      body: $("notify-body").value,
      kind: $("notify-kind").value || "admin",
    };
    if (broadcast) body.broadcast = true;
    else body.player_id = $("notify-player").value.trim();
    const days = $("notify-expiry").value;
    if (days) body.expires_in_days = Number(days);
    const result = await guarded(
      () => api("POST", "/admin/notifications", body, reasonHeader($("notify-reason").value)),
      broadcast ? "Broadcast sent." : "Notification sent."
    );
    if (result) {
      $("notify-result").textContent = (result.duplicate ? "Already sent (duplicate)." : "Sent, id ") + (result.id || "");
    }
  }

  // ---------------------------------------------------------------- audit log

  function auditRow(e, compact) {
    const who = cell(e.actor || e.actor_id);
    const what = cell(e.method + " " + e.action);
    if (compact) return el("tr", {}, cell(when(e.at)), who, what, cell(e.reason || ""));
    return el("tr", {}, cell(when(e.at)), who, what, cell(e.target, "mono"), cell(e.reason || ""), cell(e.details, "mono"));
  }

  async function loadAudit(more) {
    const params = new URLSearchParams({ limit: "50" });
    const target = $("audit-target").value.trim();
    if (target) params.set("target", target);
    if (more && state.audit.next) params.set("cursor", state.audit.next);
    const page = await api("GET", "/admin/audit?" + params);
    state.audit.next = page.next_cursor;
    $("audit-next").disabled = !page.next_cursor;
    const rows = page.entries.map(auditRow);
    if (more) $("audit-entries").tBodies[0].append(...rows);
    else fillRows($("audit-entries"), rows);
  }

  // ---------------------------------------------------------------- config and API reference

  async function loadConfig() {
    state.config = (await api("GET", "/admin/config")).config;
    $("config-json").textContent = JSON.stringify(state.config, null, 2);
  }

  function schemaOf(content) {
    const first = Object.entries(content || {})[0];
    return first ? { type: first[0], schema: first[1].schema } : null;
  }

  function schemaName(found) {
    if (!found) return "";
    if (found.type !== "application/json") return found.type;
    const schema = found.schema;
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    return schema.type || "";
  }

  async function loadApiReference() {
    const doc = await rawCall("GET", "/openapi.json");
    const byTag = new Map();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const tag = (op.tags || ["misc"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push({ path, method, op });
      }
    }
    const blocks = [];
    blocks.push(el("p", {}, doc.info.title + " " + doc.info.version + ". " + (doc.info.description || "")));
    for (const tag of [...byTag.keys()].sort()) {
      blocks.push(el("h2", {}, tag));
      for (const { path, method, op } of byTag.get(tag)) {
        const params = (op.parameters || []).map((p) => p.name + " (" + p.in + (p.required ? ", required" : "") + ")");
        const body = op.requestBody ? schemaName(schemaOf(op.requestBody.content)) : "";
        const ok = Object.entries(op.responses).find(([code]) => code < "400");
        const okSchema = ok ? schemaName(schemaOf(ok[1].content)) : "";
        const errors = Object.keys(op.responses).filter((code) => code >= "400");
        blocks.push(
          el(
            "div",
            { className: "api-op" },
            el("span", { className: "method" }, method.toUpperCase()),
            el("span", { className: "path" }, path),
            " — ",
            op.summary || "",
            op.security && op.security.length ? el("span", { className: "badge" }, "token") : el("span", { className: "badge" }, "public"),
            el(
              "div",
              { className: "meta" },
              [
                params.length ? "parameters: " + params.join(", ") : "",
                body ? "body: " + body : "",
                ok ? "answers " + ok[0] + (okSchema ? " " + okSchema : "") : "",
                errors.length ? "errors: " + errors.join(", ") : "",
              ]
                .filter(Boolean)
                .join(" · ")
            )
          )
        );
      }
    }
    $("api-doc").replaceChildren(...blocks);
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", () => signOut("Signed out."));
    window.addEventListener("hashchange", () => {
      showStatus("", false);
      route();
    });
    $("range-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      document.body.dataset.loaded = "";
      await guarded(loadDashboard);
      document.body.dataset.loaded = "dashboard";
    });
    $("player-search").addEventListener("submit", searchPlayers);
    $("pd-stat-form").addEventListener("submit", setStat);
    $("pd-grant-form").addEventListener("submit", grant);
    $("pd-notify-form").addEventListener("submit", notifyPlayer);
    $("pd-ban-form").addEventListener("submit", ban);
    $("pd-unban").addEventListener("click", (event) => {
      if ($("pd-ban-form").reportValidity()) unban(event);
    });
    $("pd-delete-form").addEventListener("submit", deletePlayer);
    $("board-form").addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(() => showBoard(null));
    });
    $("board-id").addEventListener("change", () => guarded(async () => {
      await loadPeriods();
      await showBoard(null);
    }));
    $("board-first").addEventListener("click", () => guarded(() => showBoard(null)));
    $("board-next").addEventListener("click", () =>
      guarded(async () => {
        const from = state.board.current;
        await showBoard(state.board.next);
        state.board.cursors.push(from);
      })
    );
    $("board-prev").addEventListener("click", () => {
      const back = state.board.cursors.pop();
      const stack = state.board.cursors.slice();
      guarded(async () => {
        await showBoard(back || null);
        state.board.cursors = stack;
      });
    });
    $("rank-form").addEventListener("submit", lookupRanks);
    $("notify-form").addEventListener("submit", sendNotification);
    $("audit-form").addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(() => loadAudit(false));
    });
    $("audit-next").addEventListener("click", () => guarded(() => loadAudit(true)));
    $("api-link").setAttribute("href", API + "/openapi.json");
  }

  window.GameConsole = { state };

  wire();
  loadSession();
  if (state.session) enterConsole();
  else showPage("signin");
})();
