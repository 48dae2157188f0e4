/*
 * The tablet's own storage: IndexedDB, which survives reloads, closing the browser and a dead
 * battery. Every write resolves only once its transaction has completed with "strict"
 * durability (flushed to disk), so the app says "saved" only about what is really saved.
 *
 * Stores:
 *   reports      key uuid: {uuid, owner, state, fields, payload, revision, createdAt,
 *                updatedAt, attempts, nextAttemptAt, errors, detail, conflict, server, ...}
 *                state: draft | waiting | sending | delivered | attention, and for the
 *                monitor's own reports that review sent back: returned | rejected (with
 *                `review`: the questions or the reason; `base`: the server's copy they amend;
 *                `amend`: {ifMatch, reason, changes, patched} while an amendment is queued)
 *   attachments  key id ("<report uuid>:<sha256>"), index "report": {id, report, sha256,
 *                name, type, size, blob, state: waiting | delivered | attention, detail}
 *                The blob is dropped once the server's answer echoes its sha256.
 *   meta         key "key": small records (the sync lease of tabs without Web Locks; the
 *                patrols the monitor may link, key "patrols").
 */
(function (global) {
  "use strict";

  var NAME = "missionapp-tablet";
  var VERSION = 1;
  var WRITE = { durability: "strict" };
  var opening = null;
  var erased = false;

  function promised(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function open() {
    // Once erased (logging out), this page writes nothing again: a late write from a timer
    // would otherwise create the database anew. Its callers simply never hear back.
    if (erased) return new Promise(function () {});
    if (opening) return opening;
    opening = new Promise(function (resolve, reject) {
      var request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("reports")) {
          var reports = db.createObjectStore("reports", { keyPath: "uuid" });
          reports.createIndex("state", "state");
        }
        if (!db.objectStoreNames.contains("attachments")) {
          var attachments = db.createObjectStore("attachments", { keyPath: "id" });
          attachments.createIndex("report", "report");
        }
        if (!db.objectStoreNames.contains("meta")) {
          db.createObjectStore("meta", { keyPath: "key" });
        }
      };
      request.onsuccess = function () {
        var db = request.result;
        // Another tab deleting the database (logging out) must not be blocked by this one.
        db.onversionchange = function () { db.close(); opening = null; };
        resolve(db);
      };
      request.onerror = function () { opening = null; reject(request.error); };
      request.onblocked = function () { /* an older tab will close on versionchange */ };
    });
    return opening;
  }

  /* Run `work(stores)` in one transaction; resolve with its result once it has committed. */
  async function transaction(names, mode, work) {
    var db = await open();
    return new Promise(function (resolve, reject) {
      var tx = mode === "readwrite" ? db.transaction(names, mode, WRITE) : db.transaction(names, mode);
      var stores = {};
      names.forEach(function (name) { stores[name] = tx.objectStore(name); });
      var result;
      var failed = null;
      Promise.resolve()
        .then(function () { return work(stores, tx); })
        .then(function (value) { result = value; }, function (error) {
          failed = error;
          try { tx.abort(); } catch (e) { /* already finished */ }
        });
      tx.oncomplete = function () { failed ? reject(failed) : resolve(result); };
      tx.onerror = function () { reject(failed || tx.error); };
      tx.onabort = function () { reject(failed || tx.error || new Error("transaction aborted")); };
    });
  }

  var TabletDB = {
    open: open,

    getReport: function (uuid) {
      return transaction(["reports"], "readonly", function (s) { return promised(s.reports.get(uuid)); });
    },

    allReports: function () {
      return transaction(["reports"], "readonly", function (s) { return promised(s.reports.getAll()); });
    },

    putReport: function (report) {
      return transaction(["reports"], "readwrite", function (s) { return promised(s.reports.put(report)); });
    },

    /*
     * Read, change and write one report in a single transaction, so that two tabs (or the
     * form and the sync) never overwrite each other's change. `change(report)` returns the
     * new record, or undefined to leave it as it is.
     */
    updateReport: function (uuid, change) {
      return transaction(["reports"], "readwrite", async function (s) {
        var current = await promised(s.reports.get(uuid));
        if (!current) return null;
        var next = change(current);
        if (!next) return current;
        await promised(s.reports.put(next));
        return next;
      });
    },

    deleteReport: function (uuid) {
      return transaction(["reports", "attachments"], "readwrite", async function (s) {
        var keys = await promised(s.attachments.index("report").getAllKeys(uuid));
        await Promise.all(keys.map(function (key) { return promised(s.attachments.delete(key)); }));
        await promised(s.reports.delete(uuid));
      });
    },

    attachmentsOf: function (uuid) {
      return transaction(["attachments"], "readonly", function (s) {
        return promised(s.attachments.index("report").getAll(uuid));
      });
    },

    allAttachments: function () {
      return transaction(["attachments"], "readonly", function (s) { return promised(s.attachments.getAll()); });
    },

    putAttachment: function (attachment) {
      return transaction(["attachments"], "readwrite", function (s) { return promised(s.attachments.put(attachment)); });
    },

    updateAttachment: function (id, change) {
      return transaction(["attachments"], "readwrite", async function (s) {
        var current = await promised(s.attachments.get(id));
        if (!current) return null;
        var next = change(current);
        if (!next) return current;
        await promised(s.attachments.put(next));
        return next;
      });
    },

    deleteAttachment: function (id) {
      return transaction(["attachments"], "readwrite", function (s) { return promised(s.attachments.delete(id)); });
    },

    getMeta: function (key) {
      return transaction(["meta"], "readonly", function (s) { return promised(s.meta.get(key)); });
    },

    putMeta: function (record) {
      return transaction(["meta"], "readwrite", function (s) { return promised(s.meta.put(record)); });
    },

    /*
     * A lease for browsers without the Web Locks API: one transaction reads and writes it, and
     * IndexedDB runs read-write transactions on one store one after the other, so two tabs
     * cannot both take it. Returns true when `holder` has the lease until now + ms.
     */
    takeLease: function (name, holder, ms) {
      return transaction(["meta"], "readwrite", async function (s) {
        var now = Date.now();
        var lease = await promised(s.meta.get(name));
        if (lease && lease.holder !== holder && lease.until > now) return false;
        await promised(s.meta.put({ key: name, holder: holder, until: now + ms }));
        return true;
      });
    },

    releaseLease: function (name, holder) {
      return transaction(["meta"], "readwrite", async function (s) {
        var lease = await promised(s.meta.get(name));
        if (lease && lease.holder === holder) await promised(s.meta.delete(name));
      });
    },

    /* Delete everything this app stored on the tablet (logging out). */
    destroy: async function () {
      erased = true;
      if (opening) {
        try { (await opening).close(); } catch (e) { /* never opened */ }
        opening = null;
      }
      await new Promise(function (resolve, reject) {
        var request = indexedDB.deleteDatabase(NAME);
        request.onsuccess = function () { resolve(); };
        request.onerror = function () { reject(request.error); };
        request.onblocked = function () { resolve(); /* completes when other tabs close it */ };
      });
    }
  };

  global.TabletDB = TabletDB;
})(window);
