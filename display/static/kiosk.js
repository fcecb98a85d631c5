// The touch kiosk: a big button per service; Starlight agents type or scan their code first.
// Shows the ticket's number, or a polite message for a refusal, and returns to the start by itself.
document.addEventListener("DOMContentLoaded", function () {
  var RETURN_AFTER_MS = 15000, AGENT_IDLE_MS = 60000;
  var services = [], timer = null;
  var sections = ["start", "agent", "result", "message"];

  function show(name, backAfter) {
    sections.forEach(function (s) { document.getElementById(s).hidden = s !== name; });
    clearTimeout(timer);
    if (backAfter) timer = setTimeout(function () { show("start"); }, backAfter);
    if (name === "agent") document.getElementById("agent-code").focus();
  }

  function serviceButton(svc, onPress) {
    var name = Hall.lang() === "en" ? svc.name_en : svc.name;
    var info = Hall.t("kiosk.waiting", {n: svc.waiting}) + " · " +
               Hall.waitText(svc.estimated_wait_s);
    var b = Hall.el("button", {"class": "service-button", "data-service": svc.id, onclick: onPress},
                    [document.createTextNode(name), Hall.el("small", {text: info})]);
    return b;
  }

  function draw() {
    var box = document.getElementById("services"), agentBox = document.getElementById("agent-services");
    box.textContent = ""; agentBox.textContent = "";
    services.forEach(function (svc) {
      box.appendChild(serviceButton(svc, function () { issue(svc.id, null); }));
      agentBox.appendChild(serviceButton(svc, function () {
        issue(svc.id, document.getElementById("agent-code").value.trim());
      }));
    });
    document.getElementById("closed").hidden = services.length > 0;
  }

  function load() {
    return Hall.api("GET", "/services").then(function (r) { services = r.body.services; draw(); }, function () {});
  }

  function issue(service, agentCode) {
    var body = {service: service};
    if (agentCode !== null) { body.priority = "starlight"; body.agent_code = agentCode; }
    document.querySelectorAll(".service-button").forEach(function (b) { b.disabled = true; });
    Hall.api("POST", "/tickets", body).then(function (r) {
      document.getElementById("number").textContent = r.body.number;
      document.getElementById("ahead").textContent = Hall.t("kiosk.ahead", {n: r.body.ahead});
      show("result", RETURN_AFTER_MS);
    }, function (err) {
      document.getElementById("message-text").textContent = Hall.explain(err);
      show("message", RETURN_AFTER_MS);
    }).then(function () {
      document.getElementById("agent-code").value = "";
      document.querySelectorAll(".service-button").forEach(function (b) { b.disabled = false; });
      load();
    });
  }

  document.getElementById("starlight").addEventListener("click", function () { show("agent", AGENT_IDLE_MS); });
  // A barcode reader types the code and Enter: keep the code and let the agent choose the service.
  document.getElementById("agent-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
  document.querySelectorAll(".back").forEach(function (b) { b.addEventListener("click", function () { show("start"); }); });
  Hall.onLang(draw);
  Hall.follow(["issued", "called", "served", "no_show", "transferred", "paused", "resumed", "day_started"],
              load, load);
  setInterval(load, 30000);
  load();
});
