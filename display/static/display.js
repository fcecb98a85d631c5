// The hall display: the latest call large, each counter's number, the last calls and a scrolling notice.
// Live through the event stream (EventSource reconnects and resumes by itself); a new call flashes.
document.addEventListener("DOMContentLoaded", function () {
  var $ = function (x) { return document.getElementById(x); };
  var board = null;
  $("hall-name").textContent = document.body.dataset.hall;

  function name(c, zh, en) { return Hall.lang() === "en" ? c[en] : c[zh]; }

  function draw() {
    if (!board) return;
    var latest = board.latest;
    $("latest-number").textContent = latest ? latest.number : "";
    $("latest-where").textContent = latest ?
      Hall.t("display.latest", {number: latest.number, counter: name(latest, "counter_name", "counter_name_en")}) : "";
    var counters = $("counters"); counters.textContent = "";
    board.counters.forEach(function (c) {
      var shown = c.status === "serving" ? c.number : (c.status === "paused" ? Hall.t("counter.paused") : Hall.t("display.idle"));
      counters.appendChild(Hall.el("tr", {"data-counter": c.id},
        [Hall.el("td", {text: name(c, "name", "name_en")}), Hall.el("td", {"class": "number", text: shown})]));
    });
    var calls = $("last-calls"); calls.textContent = "";
    board.last_calls.slice(1, 6).forEach(function (c) {
      calls.appendChild(Hall.el("tr", {}, [Hall.el("td", {text: c.number}),
                                           Hall.el("td", {text: name(c, "counter_name", "counter_name_en")})]));
    });
    $("notice").textContent = Hall.t("display.notice");
  }

  function load(flash) {
    return Hall.api("GET", "/display").then(function (r) {
      board = r.body; draw();
      if (flash) {
        var el = $("latest"); el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash");
      }
    }, function () {});
  }

  // The hall's time (its configured time zone), whatever zone the TV's own computer is set to.
  function tick() {
    $("clock").textContent = Hall.hallTime(new Date(), {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  }

  Hall.onLang(draw);
  Hall.follow(["called", "recalled", "served", "no_show", "transferred", "expired", "void", "paused", "resumed",
               "day_started"],
              function (type) { load(type === "called" || type === "recalled"); },
              function () { load(false); },
              function (ok) { $("clock").classList.toggle("conn-lost", !ok); if (!ok) $("clock").textContent = Hall.t("display.offline"); });
  // The TV has no one to press the language switch: it alternates every 10 seconds.
  setInterval(function () { Hall.setLang(Hall.lang() === "en" ? "zh-CN" : "en", false); }, 10000);
  setInterval(tick, 1000);
  tick();
  load(false);
});
