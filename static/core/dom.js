/*
 * Building page content from data without ever parsing it as HTML: the one way the desk
 * pages' scripts put names, messages and counts on a page (README, "Writing JavaScript").
 * A waypoint, zone or report field is typed by a person on the other side of a contested
 * line; as text it can only ever be shown, never run.
 *
 *   MissionDom.el("div", {className: "x", text: name, title: name, style: {width: "3px"}},
 *                 [child nodes or strings])
 *   MissionDom.text(value)   a <span> holding value as text, for Leaflet's bindTooltip and
 *                            bindPopup, which parse a string as HTML but insert a node as is.
 *
 * Styles go through the CSSOM (element.style), which the Content-Security-Policy allows;
 * a style="" attribute in markup would be refused.
 */
(function () {
  "use strict";

  // Attributes that would run or load something: never set from data.
  var REFUSED = /^(on|srcdoc$)/i;
  var URL_ATTRIBUTES = { href: true, src: true, action: true, formaction: true };

  // Our own pages and API only: a path on this origin, or http(s). Anything else
  // (javascript:, data:) is dropped, so a link built from data cannot run script.
  function safeUrl(value) {
    var url = String(value);
    if (/^\/(?!\/)/.test(url) || /^\?/.test(url)) return url;
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  function blank(value) {
    return value === null || value === undefined || value === false;
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (blank(value)) return;
      if (key === "text") {
        node.textContent = String(value);
      } else if (key === "className") {
        node.className = String(value);
      } else if (key === "style") {
        Object.keys(value).forEach(function (name) { node.style.setProperty(name, String(value[name])); });
      } else if (REFUSED.test(key)) {
        throw new Error("MissionDom.el: refusing to set " + key + " from data");
      } else if (URL_ATTRIBUTES[key.toLowerCase()]) {
        var url = safeUrl(value);
        if (url !== null) node.setAttribute(key, url);
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (blank(child)) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function text(value) {
    return el("span", { text: blank(value) ? "" : value });
  }

  window.MissionDom = { el: el, text: text, safeUrl: safeUrl };
})();
