// A counter's station: the current ticket, the actions, and the waiting list in calling order.
// Signs in with the counter's token (or a technician's); Space = next, R = recall.
document.addEventListener("DOMContentLoaded", function () {
  var id = document.body.dataset.counter, base = "/counters/" + id, state = null, services = {}, lastQueue = [];
  var $ = function (x) { return document.getElementById(x); };

  function call(method, path, body) { return Hall.api(method, path, body, "counter"); }

  function mark(priority) {
    return priority === "normal" ? null :
      Hall.el("span", {"class": "mark mark-" + priority, text: Hall.t("prio." + priority)});
  }

  function drawCounter(c) {
    state = c;
    $("counter-name").textContent = Hall.lang() === "en" ? c.name_en : c.name;
    var cur = c.current;
    $("current").textContent = c.paused && !cur ? Hall.t("counter.paused") : (cur ? cur.number : Hall.t("counter.none"));
    var info = $("current-info"); info.textContent = "";
    if (cur) {
      var m = mark(cur.priority); if (m) info.appendChild(m);
      if (cur.recalls) info.appendChild(document.createTextNode(" " + Hall.t("counter.recalls", {n: cur.recalls})));
    }
    ["recall", "no-show", "finish", "transfer"].forEach(function (b) { $(b).disabled = !cur; });
    $("next").disabled = c.paused;
    $("pause").hidden = c.paused; $("resume").hidden = !c.paused;
  }

  function serviceName(sid) {
    var s = services[sid];
    return s ? (Hall.lang() === "en" ? s.name_en : s.name) : sid;
  }

  function drawQueue(tickets) {
    lastQueue = tickets;
    var table = $("queue"); table.textContent = "";
    if (!tickets.length) { table.appendChild(Hall.el("tr", {}, [Hall.el("td", {text: Hall.t("counter.nobody")})])); }
    tickets.forEach(function (tk, i) {
      var who = Hall.el("td", {}, [document.createTextNode(tk.number), mark(tk.priority),
        tk.only_this_counter ? Hall.el("span", {"class": "mark", text: Hall.t("prio.only_here")}) : null]);
      var btn = Hall.el("button", {"class": "secondary", text: Hall.t("counter.call"),
                                   onclick: function () { act("call", {ticket: tk.id}); }});
      btn.disabled = state && state.paused;
      table.appendChild(Hall.el("tr", {"data-ticket": tk.id},
        [Hall.el("td", {text: String(i + 1)}), who, Hall.el("td", {text: serviceName(tk.service)}), Hall.el("td", {}, [btn])]));
    });
  }

  function refresh() {
    return call("GET", base).then(function (r) {
      drawCounter(r.body);
      return call("GET", base + "/queue");
    }).then(function (r) { drawQueue(r.body.tickets); }, function (err) { $("error").textContent = Hall.explain(err); });
  }

  function act(action, body) {
    $("error").textContent = "";
    return call("POST", base + "/" + action, body).then(refresh, function (err) {
      $("error").textContent = Hall.explain(err);
      if (err.status === 401) location.reload();
    });
  }

  function fillTransfer() {
    Hall.api("GET", "/services").then(function (r) {
      var sel = $("transfer-service"); sel.textContent = "";
      r.body.services.forEach(function (s) {
        services[s.id] = s;
        sel.appendChild(Hall.el("option", {value: s.id, text: Hall.lang() === "en" ? s.name_en : s.name}));
      });
      drawQueue(lastQueue);
    });
    Hall.api("GET", "/display").then(function (r) {
      var sel = $("transfer-counter"); sel.textContent = "";
      sel.appendChild(Hall.el("option", {value: "", text: Hall.t("counter.any_counter")}));
      r.body.counters.forEach(function (c) {
        sel.appendChild(Hall.el("option", {value: c.id, text: Hall.lang() === "en" ? c.name_en : c.name}));
      });
    });
  }

  function start() {
    $("signin").hidden = true; $("station").hidden = false; $("signout").hidden = false;
    fillTransfer();
    ["next", "recall", "no-show", "finish", "pause", "resume"].forEach(function (a) {
      $(a).addEventListener("click", function () { act(a); });
    });
    $("transfer").addEventListener("click", function () {
      var body = {service: $("transfer-service").value};
      if ($("transfer-counter").value) body.counter = Number($("transfer-counter").value);
      act("transfer", body);
    });
    document.addEventListener("keydown", function (ev) {
      if (/INPUT|SELECT|TEXTAREA|BUTTON/.test(ev.target.tagName) && ev.key !== "Escape") {
        if (ev.target.tagName !== "BUTTON") return;
      }
      if (ev.key === " " || ev.code === "Space") { ev.preventDefault(); if (!$("next").disabled) act("next"); }
      else if (ev.key === "r" || ev.key === "R") { ev.preventDefault(); if (!$("recall").disabled) act("recall"); }
    });
    Hall.onLang(function () { refresh(); fillTransfer(); });
    Hall.follow(["issued", "called", "recalled", "transferred", "served", "no_show", "expired", "void", "paused",
                 "resumed", "day_started"], refresh, refresh);
    refresh();
  }

  $("signout").addEventListener("click", function () { Hall.signOut("counter"); });
  Hall.signIn($("signin"), "counter", function () { return call("GET", base); }, start);
});
