/*
 * A photo as the tablet queues it (the README's photo policy).
 *
 * - By default the photo is downsized before it is stored in the outbox: its long edge to
 *   CONFIG.photos.longEdge pixels (never enlarged), upright as the camera meant it (EXIF
 *   orientation applied by createImageBitmap), re-encoded as JPEG at CONFIG.photos.quality.
 *   Re-encoding through a canvas carries no metadata at all: no EXIF, no GPS.
 * - When the monitor asks to keep the original, the camera's file is kept as it is except for
 *   its position: the EXIF GPS directory is blanked in place (same length) and XMP segments,
 *   which may repeat it, are dropped. The server does exactly the same to what it receives
 *   (reports/services/attachments.py, jpeg_without_location), so the bytes this tablet hashes
 *   are the bytes it stores, and a file from any other client loses its position too.
 */
(function (global) {
  "use strict";

  var GPS_IFD = 0x8825;
  var TYPE_SIZES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
  var XMP_PREFIXES = ["http://ns.adobe.com/xap/1.0/\u0000", "http://ns.adobe.com/xmp/extension/\u0000"];

  function startsWith(bytes, at, text) {
    if (at + text.length > bytes.length) return false;
    for (var i = 0; i < text.length; i++) {
      if (bytes[at + i] !== text.charCodeAt(i)) return false;
    }
    return true;
  }

  /* Zero the GPS directory of the EXIF whose TIFF header is at `tiff` in `seg` (a copy of
   * one APP1 segment): its entries and the values they point to. Throws on a damaged EXIF. */
  function blankGps(seg, tiff) {
    var little = seg[tiff] === 0x49 && seg[tiff + 1] === 0x49;
    var big = seg[tiff] === 0x4d && seg[tiff + 1] === 0x4d;
    if (!little && !big) return;
    function number(at, size) {
      if (at < 0 || at + size > seg.length) throw new RangeError("EXIF out of bounds");
      var value = 0;
      for (var i = 0; i < size; i++) {
        value = value * 256 + seg[little ? at + size - 1 - i : at + i];
      }
      return value;
    }
    function zero(start, end) {
      for (var i = Math.max(0, start); i < Math.min(end, seg.length); i++) seg[i] = 0;
    }
    var ifd0 = tiff + number(tiff + 4, 4);
    var gps = null;
    var count0 = number(ifd0, 2);
    for (var i = 0; i < count0; i++) {
      var entry0 = ifd0 + 2 + 12 * i;
      if (number(entry0, 2) === GPS_IFD) gps = tiff + number(entry0 + 8, 4);
    }
    if (gps === null) return;
    var count = number(gps, 2);
    for (var j = 0; j < count; j++) {
      var entry = gps + 2 + 12 * j;
      var size = (TYPE_SIZES[number(entry + 2, 2)] || 1) * number(entry + 4, 4);
      if (size > 4) {
        var start = tiff + number(entry + 8, 4);
        zero(start, start + size);
      }
      zero(entry, entry + 12);
    }
    zero(gps, gps + 2);
  }

  /* The JPEG's bytes without the camera's position; the picture untouched. */
  function jpegWithoutLocation(bytes) {
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return bytes;
    var parts = [bytes.subarray(0, 2)];
    var at = 2;
    while (at + 4 <= bytes.length && bytes[at] === 0xff) {
      var marker = bytes[at + 1];
      if (marker === 0xda || marker === 0xd9) break; // the picture itself follows
      var length = bytes[at + 2] * 256 + bytes[at + 3];
      var end = Math.min(at + 2 + length, bytes.length);
      var keep = true;
      var seg = bytes.subarray(at, end);
      if (marker === 0xe1 && XMP_PREFIXES.some(function (p) { return startsWith(bytes, at + 4, p); })) {
        keep = false;
      } else if (marker === 0xe1 && startsWith(bytes, at + 4, "Exif\u0000\u0000")) {
        seg = bytes.slice(at, end); // a copy: the caller's bytes stay as they were
        try { blankGps(seg, 10); } catch (error) { keep = false; } // damaged: drop it all
      }
      if (keep) parts.push(seg);
      at = end;
    }
    parts.push(bytes.subarray(at));
    var total = parts.reduce(function (sum, p) { return sum + p.length; }, 0);
    var out = new Uint8Array(total);
    var offset = 0;
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }

  function canvasBlob(canvas, quality) {
    if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality: quality });
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        if (blob) resolve(blob); else reject(new Error("the photo could not be encoded"));
      }, "image/jpeg", quality);
    });
  }

  /* A JPEG of the photo, its long edge at most `longEdge`, upright, without metadata. */
  async function downsized(file, longEdge, quality) {
    var bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    try {
      var scale = Math.min(1, longEdge / Math.max(bitmap.width, bitmap.height));
      var width = Math.max(1, Math.round(bitmap.width * scale));
      var height = Math.max(1, Math.round(bitmap.height * scale));
      var canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(width, height) : document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      var context = canvas.getContext("2d");
      context.imageSmoothingQuality = "high";
      context.drawImage(bitmap, 0, 0, width, height);
      return { blob: await canvasBlob(canvas, quality), width: width, height: height };
    } finally {
      bitmap.close();
    }
  }

  function jpegName(name) {
    var base = (name || "photo").replace(/\.[^.]*$/, "");
    return base + ".jpg";
  }

  /*
   * What to queue for `file`: {blob, type, name, original, width, height}. `keepOriginal`:
   * the monitor asked for the camera's file (its position removed). A file the browser
   * cannot decode as an image is kept as it is: the server says whether it accepts it.
   */
  async function prepare(file, keepOriginal, settings) {
    if (!keepOriginal) {
      try {
        var made = await downsized(file, settings.longEdge, settings.quality);
        return { blob: made.blob, type: "image/jpeg", name: jpegName(file.name), original: false,
                 width: made.width, height: made.height };
      } catch (error) {
        // Not decodable here (an unusual format): fall through and keep the file itself.
      }
    }
    var bytes = new Uint8Array(await file.arrayBuffer());
    var kept = jpegWithoutLocation(bytes);
    return { blob: new Blob([kept], { type: file.type || "application/octet-stream" }),
             type: file.type, name: file.name, original: true };
  }

  global.TabletPhotos = { prepare: prepare, jpegWithoutLocation: jpegWithoutLocation };
})(window);
