// Shared by every hall screen: the language switch, texts from the catalogue, the API with a stored token,
// a sign-in form, and following the live event stream. Pages use the /api/v1 API only.
(function () {
  "use strict";
  var LANGS = ["zh-CN", "en"];
  var lang = localStorage.getItem("hall.lang") || "zh-CN";
  if (LANGS.indexOf(lang) < 0) lang = "zh-CN";
  var listeners = [];

  function t(key, vars) {
    var entry = window.HALL_MESSAGES[key];
    var text = entry ? entry[LANGS.indexOf(lang)] : key;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(vars[k])); });
    return text;
  }

  function applyTexts(root) {
    document.documentElement.lang = lang;
    (root || document).querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.dataset.t); });
  }

  function setLang(next, remember) {
    lang = next;
    if (remember !== false) localStorage.setItem("hall.lang", lang);
    applyTexts();
    listeners.forEach(function (fn) { fn(lang); });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "onclick") node.addEventListener("click", attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function tokenKey(scope) { return "hall.token." + scope; }

  // Call the API; resolves with {status, body} (body: parsed JSON, or the text of another type, e.g. TOML);
  // rejects with {code, message, ...} for an error answer.
  function api(method, path, body, scope, contentType) {
    var headers = {};
    var token = scope ? sessionStorage.getItem(tokenKey(scope)) : null;
    if (token) headers["Authorization"] = "Bearer " + token;
    var payload;
    if (body !== undefined && body !== null) {
      headers["Content-Type"] = contentType || "application/json";
      payload = contentType ? body : JSON.stringify(body);
    }
    return fetch("/api/v1" + path, {method: method, headers: headers, body: payload}).then(function (resp) {
      if (resp.status === 204) return {status: 204, body: null};
      var isJson = (resp.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return (isJson ? resp.json() : resp.text()).then(function (data) {
        if (!resp.ok) {
          if (!isJson) data = null;
          var err = (data && data.error) || {code: "http_error", message: String(resp.status)};
          err.status = resp.status;
          if (resp.status === 401 && scope) sessionStorage.removeItem(tokenKey(scope));
          throw err;
        }
        return {status: resp.status, body: data};
      });
    }, function () { throw {code: "network", message: "network"}; });
  }

  // A polite sentence for an error answer.
  function explain(err) {
    var key = "err." + err.code;
    if (window.HALL_MESSAGES[key]) return t(key, {date: err.valid_until || err.valid_from || ""});
    return t("err.generic", {message: err.message || err.code});
  }

  // Show the sign-in form in `box` until a token works for `check` (a function calling the API).
  function signIn(box, scope, check, onReady) {
    function tryToken() {
      check().then(onReady, function (err) {
        box.hidden = false;
        box.querySelector(".signin-error").textContent = err.code === "token_required" ? "" : explain(err);
      });
    }
    box.querySelector("form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = box.querySelector("input");
      sessionStorage.setItem(tokenKey(scope), input.value.trim());
      input.value = "";
      tryToken();
    });
    tryToken();
  }

  function signOut(scope) { sessionStorage.removeItem(tokenKey(scope)); location.reload(); }

  // Follow the event stream; onEvent(type, data) for each event, onResync() after a reconnect or resync.
  function follow(types, onEvent, onResync, onState) {
    // Only the types the page follows: the server then wakes this page's stream for nothing else.
    var source = new EventSource("/api/v1/events?types=" + types.join(","));
    var dropped = false;
    types.forEach(function (type) {
      source.addEventListener(type, function (msg) { onEvent(type, JSON.parse(msg.data)); });
    });
    source.addEventListener("resync", function () { onResync(); });
    source.onopen = function () { if (onState) onState(true); if (dropped) { dropped = false; onResync(); } };
    source.onerror = function () { dropped = true; if (onState) onState(false); };
    return source;
  }

  // A time as the hall reads it: in the hall's time zone (the page's data-tz), whatever zone this PC is set to.
  function hallTime(date, options) {
    var opts = Object.assign({}, options, {timeZone: document.body.dataset.tz || undefined});
    try { return date.toLocaleString(lang, opts); } catch (e) { delete opts.timeZone; return date.toLocaleString(lang, opts); }
  }

  // Whole minutes for people, as on the printed ticket: never "0 minutes" while someone is ahead.
  function minutes(seconds) { return seconds ? Math.max(1, Math.round(seconds / 60)) : 0; }

  // "about 5 min", or "no wait" when nobody is ahead.
  function waitText(seconds) { return seconds ? t("kiosk.wait", {m: minutes(seconds)}) : t("kiosk.no_wait"); }

  document.addEventListener("DOMContentLoaded", function () {
    applyTexts();
    document.querySelectorAll(".lang-switch").forEach(function (b) {
      b.addEventListener("click", function () { setLang(lang === "zh-CN" ? "en" : "zh-CN"); });
    });
  });

  window.Hall = {t: t, applyTexts: applyTexts, el: el, api: api, explain: explain, signIn: signIn,
                 signOut: signOut, follow: follow, minutes: minutes, waitText: waitText, hallTime: hallTime,
                 lang: function () { return lang; }, setLang: setLang, onLang: function (fn) { listeners.push(fn); }};
})();
