// The guide desk: issue a normal or VIP ticket for a customer, and see the queue of each service.
// Signs in with a guide's (or a technician's) token.
document.addEventListener("DOMContentLoaded", function () {
  var $ = function (x) { return document.getElementById(x); };
  var services = [];

  function draw() {
    var table = $("queues"); table.textContent = "";
    services.forEach(function (s) {
      function issueButton(priority, key) {
        return Hall.el("button", {"data-priority": priority, "data-service": s.id, text: Hall.t(key),
                                  "class": priority === "vip" ? "" : "secondary",
                                  onclick: function () { issue(s.id, priority); }});
      }
      table.appendChild(Hall.el("tr", {}, [
        Hall.el("td", {text: (Hall.lang() === "en" ? s.name_en : s.name) + " (" + s.prefix + ")"}),
        Hall.el("td", {text: Hall.t("kiosk.waiting", {n: s.waiting})}),
        Hall.el("td", {text: Hall.waitText(s.estimated_wait_s)}),
        Hall.el("td", {}, [issueButton("normal", "guide.issue_normal"), document.createTextNode(" "),
                           issueButton("vip", "guide.issue_vip")])]));
    });
  }

  function load() {
    return Hall.api("GET", "/services").then(function (r) { services = r.body.services; draw(); }, function () {});
  }

  function issue(service, priority) {
    $("error").textContent = "";
    Hall.api("POST", "/tickets", {service: service, priority: priority}, "guide").then(function (r) {
      $("issued").hidden = false;
      $("issued").textContent = Hall.t("guide.issued", {number: r.body.number});
      load();
    }, function (err) { $("error").textContent = Hall.explain(err); });
  }

  function start() {
    $("signin").hidden = true; $("desk").hidden = false; $("signout").hidden = false;
    Hall.onLang(draw);
    Hall.follow(["issued", "called", "transferred", "served", "no_show", "expired", "void", "paused", "resumed",
                 "day_started"], load, load);
    load();
  }

  $("signout").addEventListener("click", function () { Hall.signOut("guide"); });
  Hall.signIn($("signin"), "guide", function () { return Hall.api("GET", "/counters", null, "guide"); }, start);
});
