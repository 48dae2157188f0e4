/*
 * Sending the outbox: "a report typed offline must never be lost or duplicated".
 *
 * - A report leaves the outbox (state "delivered") only once the server's answer echoes its
 *   UUID; an attachment's blob is dropped only once the answer echoes its sha256. Anything
 *   else (no answer, a cut connection, a 5xx, an answer without the echo) leaves it queued,
 *   and the resend is safe: the server files a UUID once (201, then 200 for the same content)
 *   and stores a file once per (report, sha256).
 * - A 4xx is the monitor's to fix: the report goes to "attention" with the field errors, and
 *   stays editable. A 409 (the UUID is stored with other content) keeps both versions for the
 *   monitor to choose. 401/403 means the session expired: nothing moves, the app asks to log
 *   in again.
 * - Network errors back off exponentially (capped at 5 minutes); a 5xx backs off the one item.
 * - A report returned by a duty officer is amended through the outbox like a new one: PATCH
 *   with If-Match (the version the monitor saw) and their answer as the reason, then POST
 *   submit. A 412 is either this tablet's own earlier PATCH whose answer was lost (the server
 *   holds exactly what was sent: carry on with the submit) or a change made elsewhere (shown
 *   to the monitor, who chooses; nothing is overwritten).
 * - While online it also fetches what the tablet keeps for offline use besides its outbox:
 *   the monitor's own reports that review returned or rejected, and the patrols they may link.
 * - Runs on app start, when the browser comes online, every 30 s and when asked; one tab at a
 *   time (Web Locks, or a lease in IndexedDB where those are missing).
 */
(function (global) {
  "use strict";

  var DB = global.TabletDB;
  var LOCK_NAME = "missionapp-tablet-sync";
  var PERIOD_MS = 30000;
  var BACKOFF_BASE_MS = 2000;
  var BACKOFF_CAP_MS = 5 * 60 * 1000;
  var LEASE_MS = 60000;
  // The monitor's returned/rejected reports and the patrol list are fetched at most this often
  // (and on every forced round: start, back online, "Send now").
  var REFRESH_MS = 120000;
  var KEEP_REJECTED_DAYS = 30;
  var TAB_ID = (global.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random());

  var api = null;
  var toFields = null;
  var lastRefreshAt = 0;
  var listeners = [];
  var channel = ("BroadcastChannel" in global) ? new BroadcastChannel("missionapp-tablet") : null;
  var timer = null;
  var running = false;
  var again = false;
  var againForce = false;
  var networkFailures = 0;
  var stopped = false;
  var status = { connection: "checking", me: null, detail: "", lastSyncAt: null, nextSyncAt: null, sending: false };

  /* The wait before retry number `attempts` (1, 2, …): 2 s doubling each time, with ±20 %
   * jitter so that tablets coming back into coverage together do not retry in step, and never
   * more than 5 minutes (the cap applies after the jitter). */
  function backoff(attempts, random) {
    var delay = BACKOFF_BASE_MS * Math.pow(2, Math.min(30, Math.max(0, (attempts || 1) - 1)));
    var jitter = 0.8 + (random === undefined ? Math.random() : random) * 0.4;
    return Math.min(BACKOFF_CAP_MS, Math.round(delay * jitter));
  }

  function emit(kind) {
    listeners.forEach(function (listener) {
      try { listener(kind, status); } catch (error) { console.error(error); }
    });
  }

  function changed() {
    if (stopped) return;
    emit("data");
    if (channel) channel.postMessage({ type: "changed" });
  }

  function setStatus(changes) {
    Object.assign(status, changes);
    emit("status");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function readJson(response) {
    try { return await response.json(); } catch (error) { return null; }
  }

  /* Who is logged in, and whether the server can be reached at all. */
  async function probe() {
    if (navigator.onLine === false) return { connection: "offline" };
    var response;
    try {
      response = await fetch(api.me, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (error) {
      return { connection: "offline" };
    }
    var cached = response.headers.get("X-Tablet-Cache") === "hit";
    if (response.status === 401 || response.status === 403) {
      var body = await readJson(response);
      return { connection: "login", detail: (body && body.detail) || "" };
    }
    if (!response.ok) return { connection: cached ? "offline" : "server-error" };
    var me = await readJson(response);
    return { connection: cached ? "offline" : "online", me: me };
  }

  function request(method, url, body, extraHeaders) {
    var headers = Object.assign({ Accept: "application/json", "X-CSRFToken": csrfToken() }, extraHeaders || {});
    var init = { method: method, credentials: "same-origin", headers: headers, cache: "no-store" };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init);
  }

  function outcomeOf(response) {
    if (response.status === 401 || response.status === 403) return "auth";
    if (response.status >= 500 || response.status === 429 || response.status === 408) return "server";
    return "client";
  }

  // --- One report -------------------------------------------------------------------------

  async function sendReport(report) {
    var revision = report.revision;
    var claimed = await DB.updateReport(report.uuid, function (r) {
      if (r.state !== "waiting" && r.state !== "sending") return undefined;
      r.state = "sending";
      r.lastAttemptAt = new Date().toISOString();
      return r;
    });
    // Taken back to edit (or deleted) since the round started: not this round's to send.
    if (!claimed || claimed.state !== "sending" || claimed.revision !== revision || !claimed.payload) {
      return "skipped";
    }
    report = claimed;
    changed();
    if (report.amend) return sendAmendment(report, revision);

    var response;
    try {
      response = await request("POST", api.reports, report.payload);
    } catch (error) {
      await requeue(report.uuid, "No connection: will send again.", false);
      return "network";
    }
    var body = await readJson(response);

    if (response.ok && body && body.uuid === report.uuid) {
      await DB.updateReport(report.uuid, function (r) {
        if (r.revision !== revision) {
          // Edited while it was on its way: what the server has is the older content. The
          // next send carries the new one, which the server answers with a 409 to resolve.
          r.state = "waiting";
          r.sentRevision = revision;
          return r;
        }
        r.state = "delivered";
        r.deliveredAt = new Date().toISOString();
        r.server = serverSummary(body, response);
        r.errors = null;
        r.detail = "";
        r.conflict = null;
        return r;
      });
      changed();
      return "ok";
    }
    if (response.ok) {
      // 2xx without our UUID (a proxy's page, a captive portal): not proof of delivery.
      await requeue(report.uuid, "The server's answer did not confirm this report: will send again.", true);
      return "server";
    }
    var outcome = outcomeOf(response);
    if (outcome === "auth") {
      await requeue(report.uuid, "", false, true);
      return "auth";
    }
    if (outcome === "server") {
      await requeue(report.uuid, "The server could not take it now (" + response.status + "): will send again.", true);
      return "server";
    }
    var errors = (body && body.errors) || {};
    var detail = (body && body.detail) || ("The server refused the report (" + response.status + ").");
    var conflict = null;
    if (response.status === 409) {
      conflict = { errors: errors, detail: detail, server: null, etag: null };
      Object.assign(conflict, await fetchServerVersion(report.uuid));
    }
    await DB.updateReport(report.uuid, function (r) {
      r.state = "attention";
      r.errors = response.status === 409 ? null : errors;
      r.detail = detail;
      r.conflict = conflict;
      r.status = response.status;
      return r;
    });
    changed();
    return "client";
  }

  // --- An amendment of a returned report ------------------------------------------------------

  // The fields a monitor writes, as the API names them (what an amendment may change).
  var COMPARED = ["observed_at", "time_precision", "observed_until", "location", "location_precision",
    "observer_position", "direction_degrees", "estimated_distance_m", "observation_means", "category",
    "severity", "description", "explosions", "shots", "bursts", "weapons", "alleged_actor", "alleged_by",
    "civilians_killed", "civilians_injured", "military_killed", "military_injured", "casualty_source",
    "damage", "patrol"];

  function isPoint(value) { return !!value && value.type === "Point"; }

  /* Whether two values of a field mean the same (the tablet's payload against the server's JSON). */
  function sameValue(name, a, b) {
    var emptyA = a === null || a === undefined || a === "";
    var emptyB = b === null || b === undefined || b === "";
    if (emptyA || emptyB) return emptyA && emptyB;
    if (isPoint(a) || isPoint(b)) {
      return isPoint(a) && isPoint(b) && Math.abs(a.coordinates[0] - b.coordinates[0]) < 1e-6 &&
        Math.abs(a.coordinates[1] - b.coordinates[1]) < 1e-6;
    }
    if (name === "observed_at" || name === "observed_until") {
      // The form holds minutes: a time the monitor did not touch is the same time.
      return Math.floor(new Date(a).getTime() / 60000) === Math.floor(new Date(b).getTime() / 60000);
    }
    return String(a) === String(b);
  }

  /* The fields of `mine` that differ from `theirs` (only those `mine` names). */
  function differences(mine, theirs) {
    return COMPARED.filter(function (name) {
      return name in mine && !sameValue(name, mine[name], (theirs || {})[name]);
    });
  }

  /* Does the server hold exactly the base the monitor saw with their changes applied? */
  function holdsAmendment(server, base, changes) {
    return COMPARED.every(function (name) {
      var expected = name in changes ? changes[name] : (base || {})[name];
      return sameValue(name, expected, server[name]);
    });
  }

  async function sendAmendment(report, revision) {
    var uuid = report.uuid;
    var amend = report.amend;
    var response, answer;
    if (!amend.patched) {
      var body = Object.assign({}, amend.changes, { reason: amend.reason });
      try {
        response = await request("PATCH", api.reports + uuid + "/", body, { "If-Match": '"' + amend.ifMatch + '"' });
      } catch (error) {
        await requeue(uuid, "No connection: will send again.", false);
        return "network";
      }
      answer = await readJson(response);
      var applied = response.ok && answer && answer.uuid === uuid;
      if (!applied && response.status === 412) {
        var fresh = await fetchServerVersion(uuid);
        if (!fresh.server) {
          await requeue(uuid, "The server's version could not be read: will send again.", true);
          return "server";
        }
        if (holdsAmendment(fresh.server, report.base, amend.changes)) {
          // This tablet's own PATCH went through before; only its answer was lost.
          applied = true;
          answer = fresh.server;
        } else {
          await amendmentConflict(uuid, fresh, answer);
          return "client";
        }
      }
      if (!applied) return amendmentRefused(uuid, response, answer, "amendment");
      await DB.updateReport(uuid, function (r) {
        r.amend.patched = true;
        r.baseVersion = answer.version;
        r.base = answer;
        return r;
      });
      changed();
    }

    try {
      response = await request("POST", api.reports + uuid + "/submit/");
    } catch (error) {
      await requeue(uuid, "Amended; no connection to resubmit it: will send again.", false);
      return "network";
    }
    answer = await readJson(response);
    if (!(response.ok && answer && answer.uuid === uuid)) {
      return amendmentRefused(uuid, response, answer, "resubmission");
    }
    await DB.updateReport(uuid, function (r) {
      r.state = r.revision !== revision ? "returned" : "delivered";
      r.deliveredAt = new Date().toISOString();
      r.server = serverSummary(answer, response);
      r.base = answer;
      r.baseVersion = answer.version;
      r.amend = null;
      r.review = null;
      r.errors = null;
      r.detail = "";
      r.conflict = null;
      return r;
    });
    changed();
    return "ok";
  }

  async function amendmentRefused(uuid, response, answer, what) {
    var outcome = response.ok ? "server" : outcomeOf(response);
    if (outcome === "auth") {
      await requeue(uuid, "", false, true);
      return "auth";
    }
    if (outcome === "server") {
      await requeue(uuid, "The server could not take the " + what + " now (" + response.status + "): will send again.", true);
      return "server";
    }
    await DB.updateReport(uuid, function (r) {
      r.state = "attention";
      r.errors = (answer && answer.errors) || {};
      r.detail = (answer && answer.detail) || ("The server refused the " + what + " (" + response.status + ").");
      r.conflict = null;
      r.status = response.status;
      return r;
    });
    changed();
    return "client";
  }

  /* 412 and the server holds something else: show both, overwrite nothing. */
  async function amendmentConflict(uuid, fresh, answer) {
    await DB.updateReport(uuid, function (r) {
      var names = differences(r.payload, fresh.server);
      differences(r.base || {}, fresh.server).forEach(function (name) {
        if (names.indexOf(name) === -1) names.push(name);
      });
      var errors = {};
      names.forEach(function (name) { errors[name] = ["Changed on the server since you opened the report."]; });
      r.state = "attention";
      r.status = 412;
      r.errors = null;
      r.detail = (answer && answer.detail) || "The report changed on the server since you opened it.";
      r.conflict = { kind: "amendment", errors: errors, detail: r.detail, server: fresh.server, etag: fresh.etag };
      return r;
    });
    changed();
  }

  // --- What the tablet keeps besides its outbox ---------------------------------------------

  async function getJson(url) {
    var response = await request("GET", url);
    if (!response.ok) throw new Error(String(response.status));
    var body = await readJson(response);
    if (!body) throw new Error("not JSON");
    return body;
  }

  function reviewOf(server) {
    return { status: server.status, questions: server.review_questions || "",
             reason: server.rejection_reason || "", reviewedAt: server.reviewed_at,
             version: server.version };
  }

  /* The monitor's own returned and rejected reports (nobody else's: `mine=true`). */
  async function refreshReviewed(owner) {
    var query = "?mine=true&page_size=100&status=";
    var lists = await Promise.all([getJson(api.reports + query + "returned"), getJson(api.reports + query + "rejected")]);
    var cutoff = Date.now() - KEEP_REJECTED_DAYS * 86400000;
    var found = lists[0].results.concat(lists[1].results.filter(function (s) {
      return !s.reviewed_at || new Date(s.reviewed_at).getTime() > cutoff;
    }));
    var seen = {};
    var touched = false;
    for (var i = 0; i < found.length; i++) {
      var server = found[i];
      if (server.author !== owner) continue; // never anyone else's, whatever the server sent
      seen[server.uuid] = true;
      var updated = await DB.updateReport(server.uuid, function (r) {
        if (r.owner !== owner) return undefined;
        var amending = r.amend || (r.conflict && r.conflict.kind === "amendment");
        var unsent = ["draft", "waiting", "sending", "attention"].indexOf(r.state) !== -1;
        if (amending || (unsent && !r.review)) return undefined; // the monitor's work in hand
        var edited = r.state === "returned" && r.revision !== r.serverRevision;
        var review = reviewOf(server);
        if (edited) {
          if (JSON.stringify(r.review) === JSON.stringify(review)) return undefined;
          r.review = review; // their edits stay; an outdated base shows as a 412 when sent
          return r;
        }
        if (r.state === server.status && r.baseVersion === server.version) return undefined;
        return Object.assign(r, fromServer(server, r.revision || 1));
      });
      if (!updated) {
        var existing = await DB.getReport(server.uuid);
        if (!existing) {
          await DB.putReport(Object.assign({
            uuid: server.uuid, owner: owner, origin: "review", createdAt: server.received_at,
            attempts: 0, nextAttemptAt: 0, payload: null
          }, fromServer(server, 1)));
          touched = true;
        }
      } else {
        touched = true;
      }
    }
    // Reviewed again, resubmitted elsewhere or too old: no longer the tablet's to show.
    var local = await DB.allReports();
    for (var j = 0; j < local.length; j++) {
      var r = local[j];
      if (r.owner !== owner || seen[r.uuid]) continue;
      if (r.state === "rejected" || (r.state === "returned" && r.revision === r.serverRevision)) {
        if (r.origin === "review") {
          await DB.deleteReport(r.uuid);
        } else {
          await DB.updateReport(r.uuid, function (x) { x.state = "delivered"; x.review = null; return x; });
        }
        touched = true;
      }
    }
    return touched;
  }

  function fromServer(server, revision) {
    var next = revision + 1;
    return {
      state: server.status === "rejected" ? "rejected" : "returned",
      fields: toFields(server), base: server, baseVersion: server.version, review: reviewOf(server),
      server: { status: server.status, version: server.version, sector: server.sector,
                location_phrase: server.location_phrase, received_at: server.received_at,
                reference: server.reference, across_line: server.across_line },
      revision: next, serverRevision: next, updatedAt: new Date().toISOString(),
      errors: null, detail: "", conflict: null, amend: null
    };
  }

  /* The patrols the monitor may link to a report, for the picker offline. */
  async function refreshPatrols(owner) {
    if (!api.patrols) return false;
    var body = await getJson(api.patrols);
    var before = await DB.getMeta("patrols");
    var record = { key: "patrols", owner: owner, patrols: body.patrols || [], fetchedAt: body.fetched_at };
    if (before && before.owner === owner && JSON.stringify(before.patrols) === JSON.stringify(record.patrols)) {
      return false;
    }
    await DB.putMeta(record);
    return true;
  }

  async function refresh(owner, force) {
    if (!force && Date.now() - lastRefreshAt < REFRESH_MS) return;
    try {
      var changedReviewed = await refreshReviewed(owner);
      var changedPatrols = await refreshPatrols(owner);
      lastRefreshAt = Date.now();
      if (changedReviewed || changedPatrols) changed();
    } catch (error) {
      // Kept as they were; the next round tries again.
      console.warn("could not refresh returned reports or patrols", error);
    }
  }

  async function requeue(uuid, detail, itemBackoff, keepAttempts) {
    await DB.updateReport(uuid, function (r) {
      if (r.state !== "sending") return undefined;
      r.state = "waiting";
      if (!keepAttempts) r.attempts = (r.attempts || 0) + 1;
      r.retryNote = detail;
      r.nextAttemptAt = itemBackoff ? Date.now() + backoff(r.attempts || 1) : 0;
      return r;
    });
    changed();
  }

  function serverSummary(body, response) {
    return {
      status: body.status, version: body.version, sector: body.sector,
      location_phrase: body.location_phrase, received_at: body.received_at,
      reference: body.reference, across_line: body.across_line,
      etag: response.headers.get("ETag")
    };
  }

  async function fetchServerVersion(uuid) {
    try {
      var response = await request("GET", api.reports + uuid + "/");
      if (!response.ok) return {};
      return { server: await readJson(response), etag: response.headers.get("ETag") };
    } catch (error) {
      return {};
    }
  }

  // --- One attachment ---------------------------------------------------------------------

  async function sendAttachment(attachment) {
    if (!attachment.blob) return "ok";
    var form = new FormData();
    form.append("file", attachment.blob, attachment.name || (attachment.sha256 + ".jpg"));
    form.append("sha256", attachment.sha256);
    var response;
    try {
      response = await request("POST", api.reports + attachment.report + "/attachments/", form);
    } catch (error) {
      await DB.updateAttachment(attachment.id, function (a) {
        a.attempts = (a.attempts || 0) + 1;
        return a;
      });
      return "network";
    }
    var body = await readJson(response);
    if (response.ok && body && body.sha256 === attachment.sha256 &&
        (body.report === undefined || body.report === attachment.report)) {
      await DB.updateAttachment(attachment.id, function (a) {
        a.state = "delivered";
        a.blob = null; // the server has it: the tablet keeps no copy of the photo
        a.deliveredAt = new Date().toISOString();
        a.detail = "";
        return a;
      });
      changed();
      return "ok";
    }
    var outcome = response.ok ? "server" : outcomeOf(response);
    if (outcome === "auth") return "auth";
    await DB.updateAttachment(attachment.id, function (a) {
      a.attempts = (a.attempts || 0) + 1;
      if (outcome === "server") {
        a.nextAttemptAt = Date.now() + backoff(a.attempts);
      } else {
        a.state = "attention";
        var errors = (body && body.errors) || {};
        a.detail = (errors.file && errors.file.join(" ")) || (body && body.detail) ||
          ("The server refused this photo (" + response.status + ").");
      }
      return a;
    });
    changed();
    return outcome;
  }

  // --- A round ----------------------------------------------------------------------------

  async function round(force) {
    var found = await probe();
    if (found.connection !== "online") {
      if (found.connection === "offline" || found.connection === "server-error") networkFailures += 1;
      setStatus({ connection: found.connection === "server-error" ? "offline" : found.connection,
                  detail: found.detail || "", me: found.me || status.me });
      return found.connection === "login" ? "auth" : "network";
    }
    networkFailures = 0;
    setStatus({ connection: "online", detail: "", me: found.me });
    var owner = found.me.username;
    var now = Date.now();

    var reports = (await DB.allReports())
      .filter(function (r) { return r.owner === owner; })
      .sort(function (a, b) { return (a.queuedAt || a.createdAt || "").localeCompare(b.queuedAt || b.createdAt || ""); });
    for (var i = 0; i < reports.length; i++) {
      var report = reports[i];
      if (report.state !== "waiting" && report.state !== "sending") continue;
      if (!force && report.nextAttemptAt && report.nextAttemptAt > now) continue;
      await renewLease();
      var result = await sendReport(report);
      if (result === "network" || result === "auth") return finish(result);
    }

    // Photos go once their report is on the server (the endpoint hangs them on its UUID).
    var delivered = {};
    (await DB.allReports()).forEach(function (r) {
      if (r.owner === owner && (r.state === "delivered" || r.base)) delivered[r.uuid] = true;
    });
    var attachments = (await DB.allAttachments()).filter(function (a) {
      return delivered[a.report] && a.state === "waiting" && a.blob &&
        (force || !a.nextAttemptAt || a.nextAttemptAt <= now);
    });
    for (var j = 0; j < attachments.length; j++) {
      await renewLease();
      var sent = await sendAttachment(attachments[j]);
      if (sent === "network" || sent === "auth") return finish(sent);
    }
    await refresh(owner, force);
    return "ok";
  }

  function finish(result) {
    if (result === "network") {
      networkFailures += 1;
      setStatus({ connection: "offline" });
    } else if (result === "auth") {
      setStatus({ connection: "login" });
    }
    return result;
  }

  var leaseHeld = false;
  async function renewLease() {
    if (leaseHeld) await DB.takeLease(LOCK_NAME, TAB_ID, LEASE_MS);
  }

  /* Run `work` while holding the sync lock; resolve "busy" when another tab holds it. */
  function withLock(work) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request(LOCK_NAME, { ifAvailable: true }, function (lock) {
        return lock ? work() : "busy";
      });
    }
    return DB.takeLease(LOCK_NAME, TAB_ID, LEASE_MS).then(async function (taken) {
      if (!taken) return "busy";
      leaseHeld = true;
      try {
        return await work();
      } finally {
        leaseHeld = false;
        await DB.releaseLease(LOCK_NAME, TAB_ID);
      }
    });
  }

  async function nextDue() {
    var soonest = Date.now() + PERIOD_MS;
    var reports = await DB.allReports();
    reports.forEach(function (r) {
      if ((r.state === "waiting" || r.state === "sending") && r.nextAttemptAt) {
        soonest = Math.min(soonest, r.nextAttemptAt);
      }
    });
    return Math.max(1000, soonest - Date.now());
  }

  function schedule(ms) {
    clearTimeout(timer);
    status.nextSyncAt = Date.now() + ms;
    timer = setTimeout(function () { syncNow(); }, ms);
  }

  /* Send what is waiting. `force` ignores the back-off (the monitor pressed "Send now"). */
  async function syncNow(options) {
    if (stopped) return "stopped";
    var force = !!(options && options.force);
    if (running) { again = true; againForce = againForce || force; return "running"; }
    running = true;
    setStatus({ sending: true });
    var result;
    try {
      if (navigator.onLine === false) {
        result = "network";
        setStatus({ connection: "offline" });
      } else {
        result = await withLock(function () { return round(force); });
      }
    } catch (error) {
      console.error(error);
      result = "error";
    } finally {
      running = false;
      setStatus({ sending: false, lastSyncAt: Date.now() });
    }
    if (result === "network") {
      schedule(backoff(networkFailures));
    } else {
      schedule(await nextDue());
    }
    changed();
    if (again) {
      var forceAgain = againForce;
      again = false;
      againForce = false;
      setTimeout(function () { syncNow({ force: forceAgain }); }, 0);
    }
    return result;
  }

  // --- Resolving a conflict ---------------------------------------------------------------

  /* The server's version stays; the tablet's copy becomes it (its photos still go). */
  async function keepServerVersion(uuid) {
    var report = await DB.getReport(uuid);
    var conflict = report && report.conflict;
    if (!conflict || !conflict.server) {
      Object.assign(conflict || {}, await fetchServerVersion(uuid));
      if (!conflict || !conflict.server) throw new Error("The server's version cannot be fetched now: try again when online.");
    }
    if (conflict.kind === "amendment") {
      // Back to what the server holds: still returned (with its questions), or no longer.
      await DB.updateReport(uuid, function (r) {
        Object.assign(r, fromServer(conflict.server, r.revision || 1));
        r.answer = "";
        if (conflict.server.status !== "returned" && conflict.server.status !== "rejected") {
          r.state = "delivered";
          r.deliveredAt = new Date().toISOString();
          r.review = null;
        }
        return r;
      });
      changed();
      syncNow();
      return;
    }
    await DB.updateReport(uuid, function (r) {
      r.fields = toFields(conflict.server);
      r.state = "delivered";
      r.deliveredAt = new Date().toISOString();
      r.server = { status: conflict.server.status, version: conflict.server.version,
                   sector: conflict.server.sector, location_phrase: conflict.server.location_phrase,
                   received_at: conflict.server.received_at, reference: conflict.server.reference,
                   across_line: conflict.server.across_line, etag: conflict.etag };
      r.conflict = null;
      r.errors = null;
      r.detail = "";
      r.revision = (r.revision || 0) + 1;
      return r;
    });
    changed();
    syncNow();
  }

  /* The tablet's version replaces the server's as an amendment (If-Match: the server keeps
   * the previous content in the report's history). */
  async function sendAsAmendment(uuid) {
    var report = await DB.getReport(uuid);
    if (report.conflict && report.conflict.kind === "amendment") return amendAgain(uuid);
    var fresh = await fetchServerVersion(uuid);
    if (!fresh.etag) throw new Error("The server's version cannot be fetched now: try again when online.");
    var body = Object.assign({}, report.payload);
    delete body.uuid;
    delete body.status;
    var response;
    try {
      response = await request("PATCH", api.reports + uuid + "/", body, { "If-Match": fresh.etag });
    } catch (error) {
      throw new Error("No connection: try again when online.");
    }
    var answer = await readJson(response);
    if (response.ok && answer && answer.uuid === uuid) {
      await DB.updateReport(uuid, function (r) {
        r.state = "delivered";
        r.deliveredAt = new Date().toISOString();
        r.server = serverSummary(answer, response);
        r.conflict = null;
        r.errors = null;
        r.detail = "";
        return r;
      });
      changed();
      syncNow();
      return;
    }
    await DB.updateReport(uuid, function (r) {
      r.errors = (answer && answer.errors) || r.errors;
      r.detail = (answer && answer.detail) || ("The server refused the amendment (" + response.status + ").");
      return r;
    });
    changed();
    throw new Error((answer && answer.detail) || ("The server refused the amendment (" + response.status + ")."));
  }

  /* After a 412, the monitor keeps their version: it goes again through the outbox, now on
   * top of the version they were just shown (offline too; exactly once like any amendment). */
  async function amendAgain(uuid) {
    await DB.updateReport(uuid, function (r) {
      var server = r.conflict.server;
      var changes = {};
      differences(r.payload, server).forEach(function (name) { changes[name] = r.payload[name]; });
      r.base = server;
      r.baseVersion = server.version;
      r.amend = { ifMatch: server.version, reason: r.amend ? r.amend.reason : "", changes: changes, patched: false };
      r.state = "waiting";
      r.conflict = null;
      r.errors = null;
      r.detail = "";
      r.attempts = 0;
      r.nextAttemptAt = 0;
      return r;
    });
    changed();
    syncNow({ force: true });
  }

  /* An attachment the server refused: send it again (after the monitor fixed things). */
  async function retryAttachment(id) {
    await DB.updateAttachment(id, function (a) {
      a.state = "waiting";
      a.detail = "";
      a.nextAttemptAt = 0;
      return a;
    });
    changed();
    syncNow({ force: true });
  }

  /* Logging out: no more rounds, no more news to the page. */
  function stop() {
    stopped = true;
    clearTimeout(timer);
    listeners = [];
  }

  function start(options) {
    api = options.api;
    toFields = options.toFields;
    global.addEventListener("online", function () {
      networkFailures = 0;
      syncNow({ force: true });
    });
    global.addEventListener("offline", function () {
      setStatus({ connection: "offline" });
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") syncNow();
    });
    if (channel) {
      channel.onmessage = function (event) {
        if (event.data && event.data.type === "changed") emit("data");
      };
    }
    return syncNow({ force: true });
  }

  global.TabletSync = {
    start: start,
    stop: stop,
    syncNow: syncNow,
    status: function () { return status; },
    probe: probe,
    onChange: function (listener) { listeners.push(listener); },
    keepServerVersion: keepServerVersion,
    sendAsAmendment: sendAsAmendment,
    retryAttachment: retryAttachment,
    changed: changed,
    backoff: backoff,
    differences: differences,
    BACKOFF_CAP_MS: BACKOFF_CAP_MS
  };
})(window);
