/*
 * The tablet app: the outbox, the report form, the map picker, GPS and photos.
 *
 * Everything the monitor types is written to IndexedDB (db.js) as they type, and "saved" is
 * shown only once the write has committed. Submitting puts the report in the outbox; sync.js
 * sends it when it can and says what became of it.
 */
(function () {
  "use strict";

  var CONFIG = JSON.parse(document.getElementById("tablet-config").textContent);
  var TZ = CONFIG.timeZone;
  var DB = window.TabletDB;
  var Sync = window.TabletSync;
  var AUTOSAVE_MS = 400;
  var KEEP_DELIVERED_DAYS = 14;
  var CLOCK_SKEW_MS = 5 * 60 * 1000;

  var STATE_LABELS = {
    draft: "Draft",
    waiting: "Waiting to send",
    sending: "Sending…",
    delivered: "Delivered",
    // On the server, its photos still arriving: "Delivered" only once every part of every
    // photo has (the server's answer to the last part says so).
    uploading: "Sent",
    attention: "Needs attention",
    returned: "Returned to you",
    rejected: "Rejected"
  };
  var FIELD_LABELS = {
    category: "Category", severity: "Severity", description: "Description",
    observation_means: "How it was observed", observed_at: "Observed at",
    time_precision: "Time precision", observed_until: "Until", location: "Incident location",
    location_precision: "Location precision", observer_position: "Observer position",
    direction_degrees: "Direction", estimated_distance_m: "Estimated distance",
    explosions: "Explosions", shots: "Shots", bursts: "Bursts", weapons: "Weapons",
    alleged_actor: "Alleged actor", alleged_by: "Alleged by",
    civilians_killed: "Civilians killed", civilians_injured: "Civilians injured",
    military_killed: "Military killed", military_injured: "Military injured",
    casualty_source: "Casualty figures", damage: "Damage", patrol: "Patrol", status: "Status",
    uuid: "Report identifier", attachments: "Photos"
  };
  var TEXT_FIELDS = ["category", "severity", "description", "observation_means", "observed_at",
    "time_precision", "observed_until", "location_lat", "location_lon", "location_precision",
    "observer_lat", "observer_lon", "direction_degrees", "estimated_distance_m", "explosions",
    "shots", "bursts", "weapons", "alleged_actor", "alleged_by", "civilians_killed",
    "civilians_injured", "military_killed", "military_injured", "casualty_source", "damage",
    "patrol"];
  var NULLABLE_COUNTS = ["direction_degrees", "estimated_distance_m", "explosions", "shots", "bursts"];
  var CASUALTIES = ["civilians_killed", "civilians_injured", "military_killed", "military_injured"];

  var $ = function (id) { return document.getElementById(id); };
  var form = $("report-form");
  var layout = $("layout");
  var current = null;        // the report open in the form (its IndexedDB record)
  var currentSaved = false;  // whether that record is in IndexedDB yet
  var readOnly = false;
  var autosaveTimer = null;
  var objectUrls = [];
  var patrolList = [];       // the patrols the monitor may link, as last fetched (IndexedDB)

  // --- Small helpers ----------------------------------------------------------------------

  function optionLabel(kind, value) {
    var found = (CONFIG.options[kind] || []).filter(function (o) { return o.value === value; })[0];
    return found ? found.label : value;
  }

  function newUuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (key.indexOf("data-") === 0 || key.indexOf("aria-") === 0) node.setAttribute(key, attrs[key]);
      else node[key] = attrs[key];
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  var toastTimer = null;
  function toast(message, kind) {
    var box = $("toast");
    box.textContent = message;
    box.dataset.kind = kind || "info";
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  // --- Times: the mission works in Asia/Yerevan, whatever the tablet's own zone ------------

  var partsFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23"
  });
  var displayFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: TZ, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
  });

  function zoneParts(date) {
    var out = {};
    partsFormat.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }

  function offsetMinutes(date) {
    var p = zoneParts(date);
    var asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
  }

  function toInputValue(date) {
    var p = zoneParts(date);
    return p.year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute;
  }

  /* "2026-03-12T14:05" in Yerevan → "2026-03-12T14:05:00+04:00" */
  function inputToIso(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
    if (!m) return null;
    var wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    var offset = offsetMinutes(new Date(wall));
    var again = offsetMinutes(new Date(wall - offset * 60000));
    if (again !== offset) offset = again;
    var sign = offset < 0 ? "-" : "+";
    var abs = Math.abs(offset);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return m[1] + "-" + m[2] + "-" + m[3] + "T" + m[4] + ":" + m[5] + ":00" + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  function isoToInput(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    return isNaN(date.getTime()) ? "" : toInputValue(date);
  }

  function displayTime(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    return isNaN(date.getTime()) ? iso : displayFormat.format(date);
  }

  // --- The record of a report ---------------------------------------------------------------

  function blankFields() {
    var fields = {};
    TEXT_FIELDS.forEach(function (name) { fields[name] = ""; });
    fields.observed_at = toInputValue(new Date());
    fields.time_precision = "exact";
    fields.location_precision = "approximate";
    fields.observation_means = "seen";
    return fields;
  }

  function currentUsername() {
    var me = Sync.status().me;
    return (me && me.username) || CONFIG.username;
  }

  function newRecord() {
    var now = new Date().toISOString();
    return {
      // Whoever the server says is logged in: the cached shell may be another monitor's.
      uuid: newUuid(), owner: currentUsername(), state: "draft", fields: blankFields(),
      payload: null, revision: 1, createdAt: now, updatedAt: now, attempts: 0,
      nextAttemptAt: 0, errors: null, detail: "", conflict: null, server: null
    };
  }

  function readForm() {
    var fields = {};
    TEXT_FIELDS.forEach(function (name) {
      var control = form.elements[name];
      fields[name] = control ? String(control.value || "").trim() : "";
    });
    return fields;
  }

  function fillForm(fields) {
    TEXT_FIELDS.forEach(function (name) {
      var control = form.elements[name];
      if (!control) return;
      var value = fields[name] === undefined || fields[name] === null ? "" : String(fields[name]);
      if (control instanceof RadioNodeList) {
        Array.prototype.forEach.call(control, function (radio) { radio.checked = radio.value === value; });
      } else {
        control.value = value;
      }
    });
    showBetween();
  }

  function number(value) {
    if (value === "" || value === null || value === undefined) return null;
    var n = Number(value);
    return isFinite(n) ? n : NaN;
  }

  function point(lat, lon) {
    var la = number(lat);
    var lo = number(lon);
    if (la === null || lo === null || isNaN(la) || isNaN(lo)) return null;
    return { type: "Point", coordinates: [Math.round(lo * 1e6) / 1e6, Math.round(la * 1e6) / 1e6] };
  }

  /* What the monitor must fix before the report can go, by field (the server's own shape). */
  function validate(fields) {
    var errors = {};
    function add(name, message) { (errors[name] = errors[name] || []).push(message); }
    if (!fields.category) add("category", "Choose a category.");
    if (!fields.severity) add("severity", "Choose a severity from 1 to 5.");
    if (!fields.description) add("description", "Describe what was seen or heard.");
    var at = inputToIso(fields.observed_at);
    if (!at) add("observed_at", "Give the date and time of the observation.");
    else if (new Date(at).getTime() > Date.now() + CLOCK_SKEW_MS) add("observed_at", "The observation time cannot be in the future.");
    if (fields.time_precision === "between") {
      var until = inputToIso(fields.observed_until);
      if (!until) add("observed_until", "Give the end of the time window.");
      else if (at && new Date(until) <= new Date(at)) add("observed_until", "The end must be after the start.");
    }
    var la = number(fields.location_lat);
    var lo = number(fields.location_lon);
    if (la === null || lo === null) add("location", "Place the incident on the map, use GPS or type its latitude and longitude.");
    else if (isNaN(la) || isNaN(lo) || Math.abs(la) > 90 || Math.abs(lo) > 180) add("location", "Latitude goes from -90 to 90 and longitude from -180 to 180.");
    var ola = number(fields.observer_lat);
    var olo = number(fields.observer_lon);
    if ((ola === null) !== (olo === null)) add("observer_position", "Give both the latitude and the longitude, or neither.");
    else if (ola !== null && (isNaN(ola) || isNaN(olo) || Math.abs(ola) > 90 || Math.abs(olo) > 180)) add("observer_position", "Latitude goes from -90 to 90 and longitude from -180 to 180.");
    if (!errors.location && !errors.observer_position) {
      var verdict = placementVerdict(fields);
      if (verdict && verdict.errors) {
        Object.keys(verdict.errors).forEach(function (name) { add(name, verdict.errors[name]); });
      }
    }
    var direction = number(fields.direction_degrees);
    if (direction !== null && !(Number.isInteger(direction) && direction >= 0 && direction <= 359)) add("direction_degrees", "A whole number of degrees from 0 to 359.");
    NULLABLE_COUNTS.concat(CASUALTIES, ["patrol"]).forEach(function (name) {
      if (name === "direction_degrees") return;
      var n = number(fields[name]);
      if (n !== null && !(Number.isInteger(n) && n >= 0)) add(name, "A whole number, 0 or more.");
    });
    return errors;
  }

  /* The exact body POSTed, made once when the monitor submits: every resend is identical. */
  function buildPayload(uuid, fields) {
    var between = fields.time_precision === "between";
    var payload = {
      uuid: uuid,
      status: "submitted",
      observed_at: inputToIso(fields.observed_at),
      time_precision: fields.time_precision || "exact",
      observed_until: between ? inputToIso(fields.observed_until) : null,
      location: point(fields.location_lat, fields.location_lon),
      location_precision: fields.location_precision || "approximate",
      observer_position: point(fields.observer_lat, fields.observer_lon),
      observation_means: fields.observation_means || "seen",
      category: fields.category,
      severity: Number(fields.severity),
      description: fields.description,
      weapons: fields.weapons,
      alleged_actor: fields.alleged_actor,
      alleged_by: fields.alleged_by,
      casualty_source: fields.casualty_source,
      damage: fields.damage,
      patrol: number(fields.patrol)
    };
    NULLABLE_COUNTS.forEach(function (name) { payload[name] = number(fields[name]); });
    CASUALTIES.forEach(function (name) { payload[name] = number(fields[name]) || 0; });
    return payload;
  }

  /* The server's report as form fields (keeping the server's version after a conflict). */
  function fieldsFromServer(report) {
    var fields = blankFields();
    TEXT_FIELDS.forEach(function (name) {
      if (report[name] !== undefined && report[name] !== null) fields[name] = String(report[name]);
    });
    fields.observed_at = isoToInput(report.observed_at);
    fields.observed_until = isoToInput(report.observed_until);
    if (report.location) {
      fields.location_lon = String(report.location.coordinates[0]);
      fields.location_lat = String(report.location.coordinates[1]);
    }
    fields.observer_lat = report.observer_position ? String(report.observer_position.coordinates[1]) : "";
    fields.observer_lon = report.observer_position ? String(report.observer_position.coordinates[0]) : "";
    fields.patrol = report.patrol ? String(report.patrol) : "";
    return fields;
  }

  // --- Saving -----------------------------------------------------------------------------

  function editable(record) {
    return record && (record.state === "draft" || record.state === "attention" || record.state === "returned");
  }

  /* A report a duty officer returned: amended and resubmitted, not filed anew. */
  function isAmendment(record) {
    return !!(record && record.review && record.review.status === "returned");
  }

  function readAnswer() {
    return String(form.elements.amend_reason.value || "").trim();
  }

  /* Write what the form holds; resolves once IndexedDB has committed it. */
  async function saveForm() {
    clearTimeout(autosaveTimer);
    if (!current || !editable(current)) return current;
    var fields = readForm();
    var answer = readAnswer();
    if (!currentSaved) {
      current.fields = fields;
      current.updatedAt = new Date().toISOString();
      await DB.putReport(current);
      currentSaved = true;
      Sync.changed();
      return current;
    }
    var saved = await DB.updateReport(current.uuid, function (r) {
      if (!editable(r)) return undefined; // sent meanwhile (another tab): not overwritten
      if (JSON.stringify(r.fields) === JSON.stringify(fields) && (r.answer || "") === answer) return undefined;
      r.fields = fields;
      if (isAmendment(r)) r.answer = answer;
      r.revision = (r.revision || 0) + 1;
      r.updatedAt = new Date().toISOString();
      return r;
    });
    if (saved) current = saved;
    Sync.changed();
    return current;
  }

  function scheduleAutosave() {
    if (readOnly) return;
    $("saved-note").textContent = "Saving…";
    clearTimeout(autosaveTimer);
    autosaveTimer = setTimeout(function () {
      saveForm().then(function () {
        $("saved-note").textContent = "Saved on this tablet at " + displayTime(new Date().toISOString()) + ".";
      }, function (error) {
        $("saved-note").textContent = "Could not save on this tablet: " + error.message;
      });
    }, AUTOSAVE_MS);
  }

  async function submitReport(event) {
    event.preventDefault();
    if (!current || readOnly) return;
    await saveForm();
    var fields = readForm();
    var errors = validate(fields);
    var amending = isAmendment(current);
    var answer = readAnswer();
    if (amending && !answer) {
      errors.amend_reason = ["Answer the duty officer's questions: what you changed, or why nothing needs changing."];
    }
    if (Object.keys(errors).length) {
      showErrors(errors, amending
        ? "Check the fields marked in red. Your changes are kept on this tablet."
        : "Check the fields marked in red. The report is kept on this tablet as a draft.");
      return;
    }
    var payload = buildPayload(current.uuid, fields);
    var queued = await DB.updateReport(current.uuid, function (r) {
      if (!editable(r)) return undefined;
      if (amending) {
        // Only what the monitor changed goes, on top of the version they saw (If-Match).
        var changes = {};
        Sync.differences(payload, r.base).forEach(function (name) { changes[name] = payload[name]; });
        r.amend = { ifMatch: r.baseVersion, reason: answer, changes: changes, patched: false };
        r.answer = answer;
      }
      r.fields = fields;
      r.payload = payload;
      r.state = "waiting";
      r.queuedAt = r.queuedAt || new Date().toISOString();
      r.revision = (r.revision || 0) + 1;
      r.errors = null;
      r.detail = "";
      r.conflict = null;
      r.attempts = 0;
      r.nextAttemptAt = 0;
      return r;
    });
    if (!queued || queued.state !== "waiting") {
      toast("This report changed in another window: it was not submitted again.", "error");
      return;
    }
    // Only now, with the write committed, is the monitor told it is saved.
    toast(Sync.status().connection === "online"
      ? "Report saved on this tablet. Sending it now."
      : amending ? "Report saved on this tablet. It will be resubmitted when there is a connection."
      : "Report saved on this tablet. It will be sent when there is a connection.", "success");
    closeEditor();
    Sync.changed();
    Sync.syncNow({ force: true });
  }

  // --- Errors next to their fields --------------------------------------------------------

  function clearErrors() {
    form.querySelectorAll(".field__errors").forEach(function (list) { list.textContent = ""; });
    form.querySelectorAll(".field--error").forEach(function (node) { node.classList.remove("field--error"); });
    form.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    $("form-alert").hidden = true;
  }

  function showErrors(errors, summary) {
    clearErrors();
    var first = null;
    Object.keys(errors || {}).forEach(function (key) {
      var name = key.split(".")[0];
      var list = $("err-" + name);
      var messages = [].concat(errors[key]);
      if (!list) {
        list = $("err-non_field_errors");
        messages = messages.map(function (m) { return (FIELD_LABELS[name] || name) + ": " + m; });
      }
      messages.forEach(function (message) { list.appendChild(el("li", { text: message })); });
      var holder = form.querySelector('[data-field="' + name + '"]');
      if (holder) {
        holder.classList.add("field--error");
        holder.querySelectorAll("input, select, textarea").forEach(function (c) { c.setAttribute("aria-invalid", "true"); });
        if (!first) first = holder;
      }
    });
    if (summary) {
      $("form-alert").textContent = summary;
      $("form-alert").hidden = false;
    }
    if (first) first.scrollIntoView({ block: "center" });
  }

  // --- The editor -------------------------------------------------------------------------

  function showView(view) {
    layout.dataset.view = view;
  }

  async function openReport(uuid) {
    if (current) await saveForm();
    var record = await DB.getReport(uuid);
    if (!record) return;
    current = record;
    currentSaved = true;
    renderEditor(true);
  }

  async function startReport() {
    if (current) await saveForm();
    current = newRecord();
    currentSaved = false;
    renderEditor(true);
    form.elements.category.focus({ preventScroll: true });
  }

  function closeEditor() {
    current = null;
    currentSaved = false;
    form.hidden = true;
    $("editor-placeholder").hidden = false;
    showView("outbox");
    renderOutbox();
  }

  function setReadOnly(value) {
    readOnly = value;
    form.querySelectorAll("fieldset.group").forEach(function (group) {
      group.disabled = value && !group.contains($("f-photo"));
    });
    $("f-patrol").disabled = value;
    $("f-amend_reason").disabled = value;
    $("save-draft").hidden = value;
    $("submit-report").hidden = value;
    $("delete-draft").hidden = value || !(current && current.state === "draft" && currentSaved);
    if (incident) incident.dragging && incident.dragging[value ? "disable" : "enable"]();
    if (observer) observer.dragging && observer.dragging[value ? "disable" : "enable"]();
  }

  /* Show `current`; `refill` puts its fields in the form (not while the monitor types). */
  function renderEditor(refill) {
    var record = current;
    $("editor-placeholder").hidden = true;
    form.hidden = false;
    showView("report");
    $("editor-title").textContent = record.fields.category
      ? optionLabel("category", record.fields.category)
      : (currentSaved ? "Report" : "New report");
    $("report-reference").textContent = referenceOf(record);
    form.dataset.uuid = record.uuid;
    form.dataset.state = record.state;
    var badge = $("report-state");
    badge.textContent = STATE_LABELS[record.state];
    badge.dataset.state = record.state;
    if (refill) {
      form.elements.map_mode[0].checked = true; // a tap places the incident first
      renderPatrolOptions(record.fields.patrol);
      fillForm(record.fields);
      form.elements.amend_reason.value = record.answer || "";
      $("saved-note").textContent = currentSaved ? "Saved on this tablet." : "";
      ensureMap();
      syncMarkers(true);
    }
    var note = $("readonly-note");
    note.hidden = true;
    note.textContent = "";
    if (record.state === "waiting") {
      note.hidden = false;
      note.textContent = "This report is in the outbox, waiting for a connection. ";
      note.appendChild(el("button", { type: "button", className: "button", id: "take-back", text: "Change it before it goes" }));
    } else if (record.state === "sending") {
      note.hidden = false;
      note.textContent = "This report is being sent. Wait a moment.";
    } else if (record.state === "rejected") {
      note.hidden = false;
      note.textContent = "Rejected by the duty officer: it cannot be changed. File a new report if there is more to say.";
    } else if (record.state === "delivered") {
      note.hidden = false;
      note.textContent = "The report is on the server" +
        (record.server && record.server.location_phrase ? " (" + record.server.location_phrase + ")" : "") +
        ". You can still add photos.";
    }
    setReadOnly(!editable(record));
    renderReview(record);
    renderConflict(record);
    if (record.state === "attention" && !record.conflict) {
      var hasFieldErrors = Object.keys(record.errors || {}).length > 0;
      showErrors(record.errors || {}, "The server did not accept this report" +
        (hasFieldErrors ? ": correct the fields marked in red" : ": " + (record.detail || "no reason given").replace(/\.$/, "")) +
        ", then submit it again. It is kept on this tablet meanwhile.");
    } else if (refill || record.state !== "attention") {
      clearErrors();
    }
    renderPhotos();
  }

  /* What review said: the questions to answer (returned) or the reason (rejected). */
  function renderReview(record) {
    $("submit-report").textContent = isAmendment(record) ? "Resubmit report" : "Submit report";
    $("save-draft").textContent = isAmendment(record) ? "Save changes" : "Save draft";
    var box = $("review");
    var review = record.review;
    var shownStates = ["returned", "waiting", "sending", "attention", "rejected"];
    box.hidden = !review || shownStates.indexOf(record.state) === -1;
    if (box.hidden) return;
    var rejected = review.status === "rejected";
    box.dataset.status = review.status;
    $("review-title").textContent = rejected ? "Rejected by the duty officer" : "Returned to you with questions";
    $("review-label").textContent = rejected ? "Reason" : "The duty officer asks";
    $("review-text").textContent = rejected ? review.reason : review.questions;
    $("review-when").textContent = review.reviewedAt ? "On " + displayTime(review.reviewedAt) + " (Yerevan time)" : "";
    $("field-amend_reason").hidden = rejected;
  }

  function renderConflict(record) {
    var box = $("conflict");
    var conflict = record.state === "attention" && record.conflict;
    box.hidden = !conflict;
    if (!conflict) return;
    $("conflict-detail").textContent = conflict.kind === "amendment"
      ? "The report changed on the server after you opened it (it is now at version " + (conflict.server ? conflict.server.version : "?") +
        "). Nothing was overwritten: choose which version stands."
      : "This report was already received with different content (perhaps sent before a change made on this tablet). Choose which version stands.";
    var rows = $("conflict-rows");
    rows.textContent = "";
    var server = conflict.server || {};
    var mine = record.payload || {};
    Object.keys(conflict.errors || {}).forEach(function (name) {
      rows.appendChild(el("tr", {}, [
        el("th", { scope: "row", text: FIELD_LABELS[name] || name }),
        el("td", { text: conflict.server ? shown(name, server[name]) : "(not fetched yet)" }),
        el("td", { text: shown(name, mine[name]) })
      ]));
    });
  }

  function shown(name, value) {
    if (value === null || value === undefined || value === "") return "—";
    if (value && value.type === "Point") return value.coordinates[1].toFixed(5) + " N, " + value.coordinates[0].toFixed(5) + " E";
    if (name === "observed_at" || name === "observed_until") return displayTime(value) + " (Yerevan)";
    if (CONFIG.options[name]) return optionLabel(name, value);
    return String(value);
  }

  async function takeBack() {
    var record = await DB.updateReport(current.uuid, function (r) {
      if (r.state !== "waiting") return undefined;
      // An amendment goes back to "returned": still the server's report, not a new draft.
      r.state = r.amend ? "returned" : "draft";
      r.amend = null;
      r.revision = (r.revision || 0) + 1;
      return r;
    });
    if (record.state !== "draft" && record.state !== "returned") {
      toast("It is being sent right now: try again in a moment.", "error");
    } else {
      toast("Taken out of the outbox: submit it again when your changes are done.");
    }
    current = record;
    renderEditor(false);
    Sync.changed();
  }

  // --- Patrol picker: the list fetched while online, offered offline ----------------------------

  var patrolDate = new Intl.DateTimeFormat("en-GB", {
    timeZone: TZ, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
  });

  function patrolLabel(p) {
    return patrolDate.format(new Date(p.planned_departure)) + " · " + p.purpose + " · " + p.team_leader +
      " (" + p.status_label + ")";
  }

  async function loadPatrols() {
    var stored = await DB.getMeta("patrols");
    var list = stored && stored.owner === currentUsername() ? stored.patrols : [];
    var same = JSON.stringify(list) === JSON.stringify(patrolList);
    patrolList = list;
    var select = $("f-patrol");
    $("patrol-note").textContent = stored && stored.fetchedAt
      ? patrolList.length + (patrolList.length === 1 ? " patrol" : " patrols") + " of your base around now (list of " +
        displayTime(stored.fetchedAt) + ", Yerevan time)."
      : "The list of patrols comes with the first connection.";
    if (!same && current && !form.hidden) renderPatrolOptions(select.value);
  }

  /* The select's options, keeping `value` (a patrol no longer listed stays chosen). */
  function renderPatrolOptions(value) {
    var select = $("f-patrol");
    value = value === undefined || value === null ? "" : String(value);
    select.textContent = "";
    select.appendChild(el("option", { value: "", text: "No patrol" }));
    var listed = false;
    patrolList.forEach(function (p) {
      if (String(p.id) === value) listed = true;
      select.appendChild(el("option", { value: String(p.id), text: patrolLabel(p) }));
    });
    if (value && !listed) select.appendChild(el("option", { value: value, text: "Patrol no. " + value }));
    select.value = value;
  }

  // --- Photos -----------------------------------------------------------------------------

  async function sha256Hex(buffer) {
    var digest = await crypto.subtle.digest("SHA-256", buffer);
    return Array.prototype.map.call(new Uint8Array(digest), function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  async function addPhotos(files) {
    if (!current || !files.length) return;
    if (!currentSaved) await saveForm();
    // The photos belong to the report open now; the editor may move on while they are read.
    var report = current;
    if (!report) return;
    // Asked for each addition: the originals are kept only for the photos added with it on.
    var keepOriginal = $("f-photo-original").checked;
    var settings = CONFIG.photos || { longEdge: 1600, quality: 0.8 };
    for (var i = 0; i < files.length; i++) {
      var file = files[i];
      // Downsized (or the original without its position) before anything is stored: what
      // the outbox holds is what goes over the link (photos.js, the README's photo policy).
      var prepared = await window.TabletPhotos.prepare(file, keepOriginal, settings);
      var hash = await sha256Hex(await prepared.blob.arrayBuffer());
      await DB.putAttachment({
        id: report.uuid + ":" + hash, report: report.uuid, sha256: hash, name: prepared.name,
        type: prepared.type, size: prepared.blob.size, blob: prepared.blob, state: "waiting",
        original: prepared.original, sourceSize: file.size, sent: 0,
        sourceSha256: await sha256Hex(await file.arrayBuffer()), addedAt: new Date().toISOString()
      });
    }
    $("f-photo").value = "";
    $("f-photo-original").checked = false;
    toast(files.length === 1 ? "Photo saved on this tablet." : files.length + " photos saved on this tablet.", "success");
    if (current === report) renderPhotos();
    Sync.changed();
    if (report.state === "delivered") Sync.syncNow({ force: true });
  }

  function kb(bytes) { return Math.max(1, Math.round((bytes || 0) / 1024)) + " KB"; }

  /* How far a photo is on its way: "Sending 256 of 1,024 KB" and a <progress> to match. */
  function photoProgress(a, className) {
    var bar = el("progress", { className: className });
    bar.max = a.size || 1;
    bar.value = a.state === "delivered" ? bar.max : Math.min(a.sent || 0, bar.max);
    bar.setAttribute("aria-label", "Sent " + kb(bar.value) + " of " + kb(a.size));
    bar.setAttribute("data-sha256", a.sha256);
    return bar;
  }

  async function renderPhotos() {
    var list = $("photos");
    var uuid = current && current.uuid;
    var attachments = uuid ? await DB.attachmentsOf(uuid) : [];
    if (!current || current.uuid !== uuid) return;
    if (current.state === "delivered") {
      // Like its card: "Delivered" only once every photo has arrived too.
      var shown = attachments.some(function (a) { return a.state !== "delivered"; }) ? "uploading" : "delivered";
      $("report-state").textContent = STATE_LABELS[shown];
      $("report-state").dataset.state = shown;
    }
    objectUrls.forEach(function (url) { URL.revokeObjectURL(url); });
    objectUrls = [];
    list.textContent = "";
    attachments.forEach(function (a) {
      var thumb;
      if (a.blob) {
        var url = URL.createObjectURL(a.blob);
        objectUrls.push(url);
        thumb = el("img", { src: url, alt: "Photo " + (a.name || ""), className: "photo__thumb" });
      } else {
        thumb = el("div", { className: "photo__thumb photo__thumb--sent", text: "✓" });
      }
      var state = a.state === "delivered" ? "Sent" : a.state === "attention" ? "Refused: " + (a.detail || "") :
        a.sent ? "Sending " + kb(a.sent) + " of " + kb(a.size) : "Waiting to send " + kb(a.size);
      var kind = a.original ? " · original (no GPS)" : (a.sourceSize && a.sourceSize !== a.size ? " · downsized from " + kb(a.sourceSize) : "");
      var actions = [];
      if (a.state !== "delivered") {
        actions.push(el("button", { type: "button", className: "button button--small", text: "Remove", "data-remove": a.id }));
      }
      if (a.state === "attention") {
        actions.push(el("button", { type: "button", className: "button button--small", text: "Try again", "data-retry": a.id }));
      }
      list.appendChild(el("li", { className: "photo", "data-state": a.state, "data-sha256": a.sha256,
                                  "data-source-sha256": a.sourceSha256 || a.sha256 }, [
        thumb,
        el("div", { className: "photo__meta" }, [
          el("span", { className: "photo__name", text: a.name || a.sha256.slice(0, 12) }),
          el("span", { className: "photo__state", text: state + (a.state === "delivered" ? " · " + kb(a.size) : "") + kind }),
          photoProgress(a, "photo__progress")
        ]),
        el("div", { className: "photo__actions" }, actions)
      ]));
    });
  }

  // --- Map picker -------------------------------------------------------------------------

  var map = null;
  var incident = null;
  var observer = null;
  var sightLine = null;
  var myPosition = null;     // the device's own position on the map (a dot and its accuracy)
  var layersState = "idle";
  // The cached geography the offline checks use (provinces and border), once read.
  var geography = null;
  var geographyLoading = null;
  var BASE_ZOOM = 11;

  function loadGeography() {
    if (geography) return Promise.resolve(geography);
    if (!geographyLoading) {
      geographyLoading = Promise.all([fetchLayer(CONFIG.api.provinces), fetchLayer(CONFIG.api.border)])
        .then(function (layers) {
          geography = { provinces: layers[0], border: layers[1] };
          return geography;
        }, function (error) { geographyLoading = null; throw error; });
    }
    return geographyLoading;
  }

  function openingView() {
    var base = CONFIG.homeBase;
    return base ? { center: [base.lat, base.lon], zoom: BASE_ZOOM } : { center: CONFIG.mapCenter, zoom: CONFIG.mapZoom };
  }

  function ensureMap() {
    if (map) {
      setTimeout(function () { map.invalidateSize(); }, 0);
      if (layersState === "failed") loadLayers();
      return;
    }
    if (!window.L) {
      mapNote("The map cannot be shown: type the coordinates or use GPS.");
      return;
    }
    var view = openingView();
    map = L.map("map", {
      center: view.center, zoom: view.zoom, minZoom: 6, maxZoom: 17, zoomSnap: 0.5
    });
    if (window.MissionBasemap) window.MissionBasemap.addTo(map);
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("Natural Earth; GeoNames (CC BY 4.0)");
    // The container changes size with the layout (list and editor side by side or not, the
    // keyboard, rotation): Leaflet must know, or a tap lands far from where the finger was.
    if (window.ResizeObserver) {
      new ResizeObserver(function () { map.invalidateSize({ pan: false }); }).observe(map.getContainer());
    }
    map.on("click", function (event) {
      if (readOnly) return;
      var mode = form.elements.map_mode.value;
      setPoint(mode, event.latlng);
    });
    addMyPositionControl();
    // Settlement names from zoom 9: below it they overlap (the bases' names stay).
    var showNames = function () { map.getContainer().dataset.names = map.getZoom() >= 9 ? "shown" : "hidden"; };
    map.on("zoomend", showNames);
    showNames();
    loadLayers();
  }

  function mapNote(message) {
    $("map-note").hidden = !message;
    $("map-note").textContent = message || "";
  }

  async function fetchLayer(url) {
    var response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  // Names as nodes, never strings: Leaflet parses a string tooltip as HTML.
  function label(text, className) {
    return el("span", { text: text, className: className });
  }

  async function loadLayers() {
    if (!map || layersState === "loading" || layersState === "loaded") return;
    layersState = "loading";
    $("map").dataset.layersState = layersState;
    try {
      var layers = await Promise.all([loadGeography(), fetchLayer(CONFIG.api.settlements), fetchLayer(CONFIG.api.bases)]);
      var provincesLayer = L.geoJSON(layers[0].provinces, {
        interactive: false,
        style: function (feature) {
          var sector = feature.properties && feature.properties.is_sector;
          return { color: sector ? "#b7791f" : "#8b929c", weight: 1.5, fillColor: sector ? "#f4d58d" : "#c8ccd2", fillOpacity: sector ? 0.45 : 0.3 };
        },
        onEachFeature: function (feature, layer) {
          if (feature.properties && feature.properties.name) {
            layer.bindTooltip(label(feature.properties.name), { permanent: true, direction: "center", className: "province-label" });
          }
        }
      }).addTo(map);
      // Over the mission's base layer (core/basemap.js) the fills would hide it: lighter.
      var lighten = function () { provincesLayer.setStyle({ fillOpacity: 0.12 }); };
      if ($("map").getAttribute("data-basemap") === "loaded") lighten();
      map.on("basemap:added", lighten);
      L.geoJSON(layers[0].border, {
        interactive: false,
        style: function (feature) {
          var international = !feature.properties || feature.properties.is_international !== false;
          return { color: "#c0141b", weight: international ? 3.5 : 2, dashArray: international ? null : "6 5" };
        }
      }).addTo(map);
      var bases = {};
      (layers[2].features || []).forEach(function (f) { bases[f.properties.name] = true; });
      L.geoJSON(layers[1], {
        interactive: false,
        filter: function (feature) { return !bases[feature.properties.name]; },
        pointToLayer: function (feature, latlng) {
          var across = feature.properties.country && feature.properties.country !== "Armenia";
          return L.circleMarker(latlng, { radius: 4, weight: 1, color: "#fff", fillColor: across ? "#6b4f2a" : "#2f3640", fillOpacity: 1, interactive: false })
            .bindTooltip(label(feature.properties.name + (across ? " (" + feature.properties.country + ")" : "")),
                         { permanent: true, direction: "right", offset: [4, 0], className: "settlement-label" + (across ? " settlement-label--across" : "") });
        }
      }).addTo(map);
      L.geoJSON(layers[2], {
        interactive: false,
        pointToLayer: function (feature, latlng) {
          return L.marker(latlng, { icon: L.divIcon({ className: "base-icon", iconSize: [18, 18], html: el("span") }), interactive: false, keyboard: false })
            .bindTooltip(label(feature.properties.name + " base"), { permanent: true, direction: "right", offset: [8, 0], className: "base-label" });
        }
      }).addTo(map);
      layersState = "loaded";
      mapNote("");
      checkReady();
      renderPlacement();
    } catch (error) {
      layersState = "failed";
      mapNote("The map layers are not on this tablet yet (they are saved on the first online visit). Use GPS or type the coordinates.");
    }
    $("map").dataset.layersState = layersState;
  }

  // --- My position ------------------------------------------------------------------------

  function showMyPosition(coords) {
    var latlng = L.latLng(coords.latitude, coords.longitude);
    if (!myPosition) {
      myPosition = {
        accuracy: L.circle(latlng, { radius: coords.accuracy, color: "#0b5cad", weight: 1, fillOpacity: 0.12, interactive: false }).addTo(map),
        dot: L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: "#0b5cad", fillOpacity: 1, interactive: false }).addTo(map)
      };
    } else {
      myPosition.accuracy.setLatLng(latlng).setRadius(coords.accuracy);
      myPosition.dot.setLatLng(latlng);
    }
    $("map").dataset.myPosition = latlng.lat.toFixed(5) + "," + latlng.lng.toFixed(5);
    return latlng;
  }

  function addMyPositionControl() {
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var button = el("button", { type: "button", className: "map-button", id: "my-position", text: "◎ My position" });
      button.setAttribute("aria-label", "Show my position on the map");
      L.DomEvent.disableClickPropagation(button);
      button.addEventListener("click", function () {
        var status = $("gps-status");
        if (!navigator.geolocation) { status.textContent = "This tablet gives no position here."; return; }
        status.textContent = "Getting a GPS fix…";
        navigator.geolocation.getCurrentPosition(function (position) {
          var latlng = showMyPosition(position.coords);
          map.setView(latlng, Math.max(map.getZoom(), 13), { animate: false });
          status.textContent = "You are here (accurate to about " + Math.round(position.coords.accuracy) + " m). Tap “Use GPS for my position” to make it the observer's.";
        }, function (error) {
          status.textContent = "No position: " + (error.code === 1 ? "GPS access was refused" : "no GPS fix") + ".";
        }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
      });
      return button;
    };
    control.addTo(map);
  }

  // Large targets for a finger in a glove: 44 px, the tip at the bottom centre.
  function pinIcon(kind) {
    return L.divIcon({ className: "pin pin--" + kind, iconSize: [44, 44], iconAnchor: [22, 44], html: el("span") });
  }

  function setPoint(kind, latlng) {
    var lat = Math.round(latlng.lat * 1e6) / 1e6;
    var lon = Math.round(latlng.lng * 1e6) / 1e6;
    if (kind === "location") {
      form.elements.location_lat.value = lat;
      form.elements.location_lon.value = lon;
    } else {
      form.elements.observer_lat.value = lat;
      form.elements.observer_lon.value = lon;
    }
    syncMarkers(false);
    scheduleAutosave();
  }

  function latLngOf(latName, lonName) {
    var la = number(form.elements[latName].value);
    var lo = number(form.elements[lonName].value);
    if (la === null || lo === null || isNaN(la) || isNaN(lo) || Math.abs(la) > 90 || Math.abs(lo) > 180) return null;
    return L.latLng(la, lo);
  }

  function placeMarker(existing, kind, latlng) {
    if (!latlng) {
      if (existing) map.removeLayer(existing);
      return null;
    }
    if (existing) {
      existing.setLatLng(latlng);
      return existing;
    }
    var marker = L.marker(latlng, { icon: pinIcon(kind), draggable: !readOnly, keyboard: false,
                                    title: kind === "incident" ? "Incident" : "Observer" });
    marker.on("dragend", function () {
      setPoint(kind === "incident" ? "location" : "observer_position", marker.getLatLng());
    });
    return marker.addTo(map);
  }

  function syncMarkers(recenter) {
    if (!map) { renderPlacement(); return; }
    var a = latLngOf("location_lat", "location_lon");
    var b = latLngOf("observer_lat", "observer_lon");
    incident = placeMarker(incident, "incident", a);
    observer = placeMarker(observer, "observer", b);
    if (sightLine) { map.removeLayer(sightLine); sightLine = null; }
    if (a && b) sightLine = L.polyline([b, a], { color: "#12263f", weight: 2, dashArray: "4 6", interactive: false }).addTo(map);
    if (recenter) {
      if (a && b) map.fitBounds(L.latLngBounds([a, b]).pad(0.5), { maxZoom: 13, animate: false });
      else if (a || b) map.setView(a || b, Math.max(map.getZoom(), 11), { animate: false });
      else { var view = openingView(); map.setView(view.center, view.zoom, { animate: false }); }
    }
    renderPlacement();
  }

  function pointOf(latName, lonName) {
    var la = number(form.elements[latName].value);
    var lo = number(form.elements[lonName].value);
    if (la === null || lo === null || isNaN(la) || isNaN(lo) || Math.abs(la) > 90 || Math.abs(lo) > 180) return null;
    return [lo, la];
  }

  /* The observer's rule on the cached geography (placement.js): null while it is not here. */
  function placementVerdict(fields) {
    if (!geography || !window.TabletPlacement) return null;
    var la = number(fields.location_lat), lo = number(fields.location_lon);
    if (la === null || lo === null || isNaN(la) || isNaN(lo) || Math.abs(la) > 90 || Math.abs(lo) > 180) return null;
    var ola = number(fields.observer_lat), olo = number(fields.observer_lon);
    var observerPoint = ola === null || olo === null || isNaN(ola) || isNaN(olo) || Math.abs(ola) > 90 || Math.abs(olo) > 180 ? null : [olo, ola];
    return window.TabletPlacement.verdict({
      location: [lo, la], observer: observerPoint, provinces: geography.provinces, border: geography.border,
      maxBeyondKm: CONFIG.placement.maxBeyondKm, toleranceKm: CONFIG.placement.toleranceKm,
      farthestKm: CONFIG.placement.farthestKm
    });
  }

  var COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];

  /* Under the map, as the monitor places the pins: across the line or not, and why not. */
  function renderPlacement() {
    var note = $("placement-note");
    var verdict = placementVerdict(readForm());
    note.hidden = !verdict;
    note.className = "placement-note";
    delete note.dataset.acrossLine;
    if (!verdict) { note.textContent = ""; return; }
    if (verdict.errors) {
      note.classList.add("placement-note--refused");
      note.textContent = Object.keys(verdict.errors).map(function (k) { return verdict.errors[k]; }).join(" ");
      return;
    }
    note.dataset.acrossLine = String(verdict.acrossLine);
    var sight = verdict.bearing === null ? "" :
      " " + (verdict.distanceM / 1000).toFixed(1) + " km " + COMPASS[Math.round(verdict.bearing / 45) % 8] +
      " (" + verdict.bearing + "°) of your position.";
    if (verdict.acrossLine) {
      note.classList.add("placement-note--across");
      note.textContent = "Across the line: the incident lies beyond the border, in your sector " + verdict.sector + "." + sight;
    } else {
      note.textContent = "In " + verdict.sector + "." + sight;
    }
  }

  /* Where the incident lies from the observer, a bearing and a distance: no tap needed. */
  function placeFromDirection() {
    var from = pointOf("observer_lat", "observer_lon");
    var bearing = number(form.elements.direction_degrees.value);
    var metres = number(form.elements.estimated_distance_m.value);
    if (!from || bearing === null || metres === null || isNaN(bearing) || isNaN(metres) || metres <= 0) {
      $("gps-status").textContent = "Give the observer position, the direction and the distance first.";
      return;
    }
    var to = window.TabletPlacement.destination(from, bearing, metres);
    form.elements.location_lat.value = to[1];
    form.elements.location_lon.value = to[0];
    syncMarkers(true);
    scheduleAutosave();
    $("gps-status").textContent = "Incident placed " + metres + " m at " + bearing + "° from the observer.";
  }

  function fillDirection() {
    var a = window.L && latLngOf("location_lat", "location_lon");
    var b = window.L && latLngOf("observer_lat", "observer_lon");
    if (!a || !b) {
      $("gps-status").textContent = "Place both the observer and the incident first.";
      return;
    }
    var rad = Math.PI / 180;
    var y = Math.sin((a.lng - b.lng) * rad) * Math.cos(a.lat * rad);
    var x = Math.cos(b.lat * rad) * Math.sin(a.lat * rad) - Math.sin(b.lat * rad) * Math.cos(a.lat * rad) * Math.cos((a.lng - b.lng) * rad);
    form.elements.direction_degrees.value = Math.round((Math.atan2(y, x) / rad + 360) % 360) % 360;
    form.elements.estimated_distance_m.value = Math.round(b.distanceTo(a));
    scheduleAutosave();
  }

  // --- GPS --------------------------------------------------------------------------------

  function useGps(kind) {
    var status = $("gps-status");
    if (!navigator.geolocation) {
      status.textContent = "This tablet has no GPS access here: tap the map or type the coordinates.";
      return;
    }
    status.textContent = "Getting a GPS fix…";
    navigator.geolocation.getCurrentPosition(function (position) {
      var c = position.coords;
      if (window.L && map) setPoint(kind, L.latLng(c.latitude, c.longitude));
      else {
        form.elements[kind === "location" ? "location_lat" : "observer_lat"].value = c.latitude.toFixed(6);
        form.elements[kind === "location" ? "location_lon" : "observer_lon"].value = c.longitude.toFixed(6);
        scheduleAutosave();
      }
      if (kind === "location" && c.accuracy <= 50) form.elements.location_precision.value = "exact";
      if (map) map.setView([c.latitude, c.longitude], Math.max(map.getZoom(), 13));
      status.textContent = "GPS position set (accurate to about " + Math.round(c.accuracy) + " m).";
    }, function (error) {
      var reason = error.code === 1 ? "GPS access was refused" : error.code === 3 ? "no GPS fix in time" : "no GPS fix";
      status.textContent = "No position: " + reason + ". Tap the map to place it, or type the coordinates.";
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  // --- The outbox -------------------------------------------------------------------------

  /* The short reference the server gives (KAP-2026-0142); until then, what the report is. */
  function referenceOf(record) {
    if (record.server && record.server.reference) return record.server.reference;
    return record.state === "draft" ? "Draft on this tablet: numbered when it reaches the server"
      : "Not numbered yet: numbered when it reaches the server";
  }

  function placeOf(record) {
    if (record.server && record.server.location_phrase) return record.server.location_phrase;
    var la = number(record.fields.location_lat);
    var lo = number(record.fields.location_lon);
    return la !== null && lo !== null && !isNaN(la) && !isNaN(lo) ? la.toFixed(4) + " N, " + lo.toFixed(4) + " E" : "No location yet";
  }

  var GROUPS = [
    { key: "returned", title: "Returned to you", states: ["returned"] },
    { key: "attention", title: "Needs attention", states: ["attention"] },
    { key: "outbox", title: "Waiting to send", states: ["waiting", "sending"] },
    { key: "uploading", title: "On the server, photos still sending", states: ["uploading"] },
    { key: "draft", title: "Drafts (not submitted)", states: ["draft"] },
    { key: "rejected", title: "Rejected", states: ["rejected"] },
    { key: "delivered", title: "Delivered", states: ["delivered"] }
  ];

  function firstError(record) {
    var keys = Object.keys(record.errors || {});
    if (!keys.length) return record.detail || "Refused by the server";
    var name = keys[0].split(".")[0];
    return (FIELD_LABELS[name] || name) + ": " + [].concat(record.errors[keys[0]])[0];
  }

  async function renderOutbox() {
    var reports = await DB.allReports();
    var attachments = await DB.allAttachments();
    var photos = {};
    attachments.forEach(function (a) {
      var p = photos[a.report] = photos[a.report] || { total: 0, sent: 0, refused: 0, all: [] };
      p.total += 1;
      p.all.push(a);
      if (a.state === "delivered") p.sent += 1;
      if (a.state === "attention") p.refused += 1;
    });
    var pending = 0;
    reports.forEach(function (r) {
      var p = photos[r.uuid];
      if (r.state === "waiting" || r.state === "sending" || r.state === "attention") pending += 1;
      else if (r.state === "delivered" && p && p.sent < p.total) pending += 1;
    });
    $("outbox-pending").textContent = pending;
    $("outbox-pending-label").textContent = pending === 1 ? "report to send" : "reports to send";
    document.body.dataset.pending = pending;

    var container = $("outbox-groups");
    container.textContent = "";
    $("outbox-empty").hidden = reports.length > 0;
    function shownState(r) {
      var p = photos[r.uuid];
      return r.state === "delivered" && p && p.sent < p.total ? "uploading" : r.state;
    }
    GROUPS.forEach(function (group) {
      var items = reports.filter(function (r) { return group.states.indexOf(shownState(r)) !== -1; });
      if (!items.length) return;
      items.sort(function (a, b) {
        var key = group.key === "delivered" ? "deliveredAt" : "createdAt";
        return group.key === "outbox" ? (a.queuedAt || "").localeCompare(b.queuedAt || "") : (b[key] || "").localeCompare(a[key] || "");
      });
      var list = el("ul", { className: "outbox__list" });
      items.forEach(function (r) {
        var p = photos[r.uuid];
        var shown = shownState(r);
        var photoText = !p ? "" : shown === "uploading" ? "Sent · photos " + p.sent + " of " + p.total + " uploaded" :
          p.total + (p.total === 1 ? " photo" : " photos");
        var bars = null;
        if (p && (shown === "uploading" || (r.state === "sending" || r.state === "waiting"))) {
          bars = el("span", { className: "item__photos" }, p.all.map(function (a) { return photoProgress(a, "item__progress"); }));
        }
        var problem = r.state === "attention" ? (r.conflict ? "Differs from the server's version" : firstError(r)) :
          (p && p.refused ? p.refused + " photo refused" : (r.state === "waiting" && r.attempts ? "Tried " + r.attempts + "×, will retry" : ""));
        if (r.owner && r.owner !== currentUsername() && r.state !== "delivered") {
          problem = "Filed by " + r.owner + ": only they can send it (log in as " + r.owner + ")";
        }
        var said = null;
        if (r.review && (r.state === "returned" || r.state === "rejected")) {
          said = el("span", { className: "item__review", "data-testid": "review-summary",
            text: r.state === "rejected" ? "Reason: " + r.review.reason : "Questions: " + r.review.questions });
        }
        var button = el("button", { type: "button", className: "item", "data-uuid": r.uuid, "data-state": shown,
                                    "aria-current": current && current.uuid === r.uuid ? "true" : "false" }, [
          el("span", { className: "item__top" }, [
            el("span", { className: "item__title", text: r.fields.category ? optionLabel("category", r.fields.category) : "Untitled report" }),
            el("span", { className: "state", "data-state": shown, text: STATE_LABELS[shown] })
          ]),
          el("span", { className: "item__ref", "data-testid": "item-reference",
                       text: (r.server && r.server.reference ? r.server.reference : "Not numbered yet") +
                             (r.fields.severity ? " · " + optionLabel("severity", Number(r.fields.severity)) : "") }),
          r.fields.description ? el("span", { className: "item__description", text: r.fields.description }) : null,
          el("span", { className: "item__meta", text: (r.fields.observed_at ? displayTime(inputToIso(r.fields.observed_at)) + " (Yerevan) · " : "") + placeOf(r) }),
          photoText ? el("span", { className: "item__meta", "data-testid": "photo-summary", text: photoText }) : null,
          bars,
          said,
          problem ? el("span", { className: "item__problem", text: problem }) : null
        ]);
        list.appendChild(el("li", {}, [button]));
      });
      container.appendChild(el("section", { className: "outbox__group", "data-group": group.key }, [
        el("h2", { text: group.title + " (" + items.length + ")" }), list
      ]));
    });
  }

  async function refreshCurrent() {
    if (!current || !currentSaved) return;
    var shown = current;
    var record = await DB.getReport(shown.uuid);
    // The monitor may have closed or switched reports while it was read: leave that alone.
    if (current !== shown) return;
    if (!record) { closeEditor(); return; }
    var changedState = record.state !== current.state || JSON.stringify(record.conflict) !== JSON.stringify(current.conflict);
    // Sent back by review (or taken back to the server's version): show what the server holds.
    var fromServer = changedState && (record.state === "returned" || record.state === "rejected") &&
      !editable(current);
    current = record;
    if (changedState) renderEditor(fromServer);
    renderPhotos();
  }

  async function pruneDelivered() {
    var cutoff = Date.now() - KEEP_DELIVERED_DAYS * 86400000;
    var reports = await DB.allReports();
    for (var i = 0; i < reports.length; i++) {
      var r = reports[i];
      if (r.state !== "delivered" || !r.deliveredAt || new Date(r.deliveredAt).getTime() > cutoff) continue;
      var pendingPhotos = (await DB.attachmentsOf(r.uuid)).some(function (a) { return a.state !== "delivered"; });
      if (!pendingPhotos) await DB.deleteReport(r.uuid);
    }
  }

  // --- Connection and offline readiness ---------------------------------------------------

  function renderStatus(status) {
    var box = $("connection");
    var text = {
      checking: "Checking connection…",
      online: status.sending ? "Online · sending…" : "Online",
      offline: "Offline · reports are kept on this tablet",
      login: "Session expired · log in again to send"
    }[status.connection] || status.connection;
    box.textContent = text;
    box.dataset.state = status.connection;
    $("login-banner").hidden = status.connection !== "login";
    if (status.me && status.me.username) {
      $("user-name").textContent = (status.me.full_name || status.me.username) + (status.me.forward_base ? " · " + status.me.forward_base : "");
    }
  }

  var readyTimer = null;
  async function checkReady() {
    if (document.body.classList.contains("leaving") || document.body.classList.contains("erased")) return;
    var box = $("offline-ready");
    clearTimeout(readyTimer);
    if (!("serviceWorker" in navigator) || !window.caches) {
      box.textContent = "This browser cannot keep the app for offline use.";
      box.dataset.ready = "false";
      return;
    }
    var registration = await navigator.serviceWorker.getRegistration(CONFIG.scope);
    var active = !!(registration && registration.active && navigator.serviceWorker.controller);
    var any = { ignoreVary: true };
    var shell = await caches.match(CONFIG.scope, any);
    var layerUrls = [CONFIG.api.provinces, CONFIG.api.border, CONFIG.api.settlements, CONFIG.api.bases];
    var cached = function () {
      return Promise.all(layerUrls.map(function (url) { return caches.match(url, any); }))
        .then(function (found) { return found.every(Boolean); });
    };
    var layersCached = await cached();
    if (active && !layersCached && Sync.status().connection === "online") {
      // Fetched again through the worker, which keeps them.
      await Promise.all(layerUrls.map(fetchLayer)).catch(function () {});
      layersCached = await cached();
    }
    if (layersCached) loadGeography().catch(function () {});
    var ready = !!(active && shell && layersCached);
    box.dataset.ready = String(ready);
    box.textContent = ready ? "✓ Ready to work offline" : "Not ready for offline use yet: stay online a moment";
    if (!ready) readyTimer = setTimeout(checkReady, 3000);
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return checkReady();
    try {
      await navigator.serviceWorker.register(CONFIG.swUrl, { scope: CONFIG.scope, updateViaCache: "none" });
    } catch (error) {
      console.warn("service worker not registered", error);
    }
    navigator.serviceWorker.addEventListener("controllerchange", checkReady);
    checkReady();
  }

  // --- Logging out ------------------------------------------------------------------------

  async function undeliveredCounts() {
    var reports = (await DB.allReports()).filter(function (r) {
      // A rejected report, or a returned one left as it came, is the server's copy.
      var serverCopy = r.state === "rejected" || (r.state === "returned" && r.revision === r.serverRevision);
      return r.state !== "delivered" && !serverCopy;
    });
    var photos = (await DB.allAttachments()).filter(function (a) { return a.state !== "delivered"; });
    return { reports: reports.length, photos: photos.length };
  }

  async function logOut() {
    if (current) await saveForm();
    var counts = await undeliveredCounts();
    var warning = $("logout-warning");
    if (counts.reports || counts.photos) {
      warning.hidden = false;
      warning.textContent = "Not yet on the server: " + counts.reports + (counts.reports === 1 ? " report" : " reports") +
        " and " + counts.photos + (counts.photos === 1 ? " photo" : " photos") +
        ". Logging out now loses them for good. Send them first (connect and press “Send now”).";
    } else {
      warning.hidden = true;
    }
    var dialog = $("logout-dialog");
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "confirm") return;
      await eraseAndLeave();
    });
  }

  async function eraseAndLeave() {
    document.body.classList.add("leaving");
    Sync.stop();
    clearTimeout(readyTimer);
    clearTimeout(autosaveTimer);
    current = null;
    try { await DB.destroy(); } catch (error) { console.error(error); }
    if (window.caches) {
      var names = await caches.keys();
      await Promise.all(names.map(function (name) { return caches.delete(name); }));
    }
    if (navigator.serviceWorker) {
      var registrations = await navigator.serviceWorker.getRegistrations();
      await Promise.all(registrations.map(function (r) { return r.unregister(); }));
    }
    try {
      var token = (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
      await fetch(CONFIG.logoutUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": decodeURIComponent(token) } });
      window.location.assign(CONFIG.loginUrl);
    } catch (error) {
      document.body.classList.remove("leaving");
      document.body.classList.add("erased");
      $("erased").hidden = false;
    }
  }

  // --- Wiring -----------------------------------------------------------------------------

  function showBetween() {
    var between = form.elements.time_precision.value === "between";
    $("field-observed_until").hidden = !between;
  }

  function bind() {
    $("new-report").addEventListener("click", startReport);
    $("back-to-outbox").addEventListener("click", async function () { await saveForm(); closeEditor(); });
    $("send-now").addEventListener("click", function () { Sync.syncNow({ force: true }); });
    $("logout").addEventListener("click", logOut);
    form.addEventListener("submit", submitReport);
    form.addEventListener("input", function (event) {
      if (event.target.name === "map_mode" || event.target.type === "file") return;
      if (/^(location|observer)_(lat|lon)$/.test(event.target.name)) syncMarkers(false);
      if (event.target.name === "time_precision") showBetween();
      scheduleAutosave();
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "time_precision") showBetween();
    });
    $("save-draft").addEventListener("click", async function () {
      try {
        await saveForm();
        toast("Draft saved on this tablet.", "success");
        $("saved-note").textContent = "Saved on this tablet at " + displayTime(new Date().toISOString()) + ".";
        renderEditor(false);
      } catch (error) {
        toast("Could not save on this tablet: " + error.message, "error");
      }
    });
    $("delete-draft").addEventListener("click", function () {
      var dialog = $("delete-dialog");
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener("close", async function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue !== "confirm" || !current || current.state !== "draft") return;
        await DB.deleteReport(current.uuid);
        closeEditor();
        Sync.changed();
        toast("Draft deleted.");
      });
    });
    $("readonly-note").addEventListener("click", function (event) {
      if (event.target.id === "take-back") takeBack();
    });
    $("f-photo").addEventListener("change", function (event) {
      addPhotos(Array.prototype.slice.call(event.target.files || [])).catch(function (error) {
        toast("The photo could not be saved on this tablet: " + error.message, "error");
      });
    });
    $("photos").addEventListener("click", async function (event) {
      var remove = event.target.getAttribute("data-remove");
      var retry = event.target.getAttribute("data-retry");
      if (remove) {
        await DB.deleteAttachment(remove);
        renderPhotos();
        Sync.changed();
      } else if (retry) {
        await Sync.retryAttachment(retry);
      }
    });
    $("gps-location").addEventListener("click", function () { useGps("location"); });
    $("gps-observer").addEventListener("click", function () { useGps("observer_position"); });
    $("fill-direction").addEventListener("click", fillDirection);
    $("place-from-direction").addEventListener("click", placeFromDirection);
    $("keep-server").addEventListener("click", async function () {
      try {
        await Sync.keepServerVersion(current.uuid);
        current = await DB.getReport(current.uuid);
        renderEditor(true);
        toast("The server's version is kept.", "success");
      } catch (error) { toast(error.message, "error"); }
    });
    $("send-amendment").addEventListener("click", async function () {
      try {
        await Sync.sendAsAmendment(current.uuid);
        current = await DB.getReport(current.uuid);
        renderEditor(false);
        toast("Your version was sent as an amendment.", "success");
      } catch (error) { toast(error.message, "error"); refreshCurrent(); }
    });
    $("outbox-groups").addEventListener("click", function (event) {
      var item = event.target.closest(".item");
      if (item) openReport(item.dataset.uuid);
    });
    // Nothing typed is lost when the tablet sleeps or the tab closes.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") saveForm();
    });
    window.addEventListener("pagehide", function () { saveForm(); });
  }

  async function main() {
    bind();
    Sync.onChange(function (kind, status) {
      if (kind === "status") renderStatus(status);
      else { renderOutbox(); refreshCurrent(); loadPatrols(); }
    });
    if (navigator.storage && navigator.storage.persist) {
      // Ask the browser not to evict the outbox when the tablet runs short of space.
      navigator.storage.persist().catch(function () {});
    }
    await pruneDelivered();
    await renderOutbox();
    await loadPatrols();
    registerWorker();
    Sync.start({ api: CONFIG.api, toFields: fieldsFromServer, photos: CONFIG.photos });
    document.body.dataset.appReady = "true";
  }

  main().catch(function (error) {
    console.error(error);
    toast("The app could not start: " + error.message, "error");
  });
})();
