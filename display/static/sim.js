// The simulator: the virtual printer's last ticket, the virtual LED displays, dispenser keys, fault switches.
// Uses the device API only; a device kind or field it does not know is shown as its raw state.
document.addEventListener("DOMContentLoaded", function () {
  var $ = function (x) { return document.getElementById(x); };
  var PRINTER_FAULTS = ["paper_out", "paper_near_end", "offline", "cover_open", "fail_during_print"];
  function call(method, path, body) { return Hall.api(method, path, body, "technician"); }

  function simulate(name, action) {
    $("error").textContent = "";
    return call("POST", "/devices/" + encodeURIComponent(name) + "/simulate", action).then(load, function (err) {
      $("error").textContent = name + ": " + Hall.explain(err);
    });
  }

  function toggle(label, checked, onChange, key) {
    var box = Hall.el("input", {type: "checkbox", "data-switch": key});
    box.checked = checked;
    box.addEventListener("change", function () { onChange(box.checked); });
    return Hall.el("label", {"class": "switch"}, [box, document.createTextNode(" " + label)]);
  }

  function printerParts(d) {
    var faults = d.faults || [];
    var switches = PRINTER_FAULTS.map(function (f) {
      return toggle(f, faults.indexOf(f) >= 0, function (on) { simulate(d.name, {fault: f, on: on}); }, f);
    });
    switches.push(Hall.el("button", {"class": "secondary", text: Hall.t("sim.clear"),
                                     onclick: function () { simulate(d.name, {clear: true}); }}));
    return [Hall.el("p", {text: Hall.t("admin.paper", {paper: d.paper || "?"}) + " · " + (d.printed || 0)}),
            Hall.el("div", {}, switches), Hall.el("h3", {text: Hall.t("sim.printed")}),
            Hall.el("pre", {"class": "printout", text: d.last_printed || Hall.t("sim.nothing")})];
  }

  function displayParts(d) {
    var shown = (d.virtual && Array.isArray(d.virtual.shows)) ? d.virtual.shows : d.lines;  // what a virtual bus display decoded
    var lines = shown.length ? shown.join("\n") : "";
    return [Hall.el("div", {"class": "led" + (d.online ? "" : " off"), text: lines}),
            toggle(Hall.t("sim.unplugged"), !d.online, function (on) { simulate(d.name, {unplugged: on}); }, "unplugged")];
  }

  function dispenserParts(d) {
    var keys = d.buttons.map(function (service, i) {
      return Hall.el("button", {"data-key": i + 1, text: Hall.t("sim.press", {n: i + 1}) + " · " + service,
                                onclick: function () { simulate(d.name, {press: i + 1}); }});
    });
    var last = d.last_result ? (d.last_result.ok ? d.last_result.ticket.number : Hall.explain(d.last_result.error)) : "";
    return [Hall.el("div", {"class": "actions"}, keys), Hall.el("p", {text: last})];
  }

  function card(d) {
    var parts;
    if (d.kind === "printer" && "last_printed" in d) parts = printerParts(d);
    else if (Array.isArray(d.lines)) parts = displayParts(d);
    else if (Array.isArray(d.buttons)) parts = dispenserParts(d);
    else parts = [Hall.el("pre", {text: JSON.stringify(d, null, 1)})];  // a kind this page does not know
    var head = Hall.el("h2", {text: d.name + " (" + d.kind + ")"});
    return Hall.el("div", {"class": "card", "data-device": d.name}, [head].concat(parts));
  }

  function load() {
    return call("GET", "/devices").then(function (r) {
      var box = $("devices"); box.textContent = "";
      r.body.devices.filter(function (d) { return d.type !== "real"; }).forEach(function (d) {
        box.appendChild(card(d));
      });
    }, function (err) { $("error").textContent = Hall.explain(err); });
  }

  function start() {
    $("signin").hidden = true; $("devices").hidden = false; $("signout").hidden = false;
    Hall.onLang(load);
    load();
    setInterval(load, 1000);
  }

  $("signout").addEventListener("click", function () { Hall.signOut("technician"); });
  Hall.signIn($("signin"), "technician", function () { return call("GET", "/devices"); }, start);
});
