// The ticket status page (the printed QR code's target): number, state, people ahead and wait, live.
// It reads the ticket every 5 s rather than holding an event stream: every customer's phone may open this page,
// and the open streams are limited (--max-streams, kept for the hall's screens).
document.addEventListener("DOMContentLoaded", function () {
  var $ = function (x) { return document.getElementById(x); };
  var POLL_MS = 5000, id = document.body.dataset.ticket, ticket = null, timer = null;
  $("hall-name").textContent = document.body.dataset.hall;

  function draw() {
    if (!ticket) return;
    $("number").textContent = ticket.number;
    var counter = Hall.lang() === "en" ? ticket.counter_name_en : ticket.counter_name;
    $("state").textContent = Hall.t("status." + ticket.status, {counter: counter || ""});
    var waiting = ticket.status === "waiting";
    $("ahead").textContent = waiting ? Hall.t("status.ahead", {n: ticket.ahead}) : "";
    $("wait").textContent = waiting ? Hall.t("status.wait", {m: Hall.minutes(ticket.estimated_wait_s)}) : "";
  }

  function load() {
    return Hall.api("GET", "/tickets/" + id).then(function (r) {
      ticket = r.body; draw();
      var live = ticket.status === "waiting" || ticket.status === "called";
      if (!live && timer) { clearInterval(timer); timer = null; }
    }, function () {});
  }

  Hall.onLang(draw);
  timer = setInterval(load, POLL_MS);
  load();
});
