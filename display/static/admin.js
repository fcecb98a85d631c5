// The technician console: live device states with test buttons, the config editor (TOML), the Starlight roster
// import, and the hall's tokens.
// Signs in with a technician's token.
document.addEventListener("DOMContentLoaded", function () {
  var $ = function (x) { return document.getElementById(x); };
  function call(method, path, body, type) { return Hall.api(method, path, body, "technician", type); }

  function deviceRow(d) {
    var status = [d.online ? Hall.t("admin.online") : Hall.t("admin.offline")];
    if (d.paper) status.push(Hall.t("admin.paper", {paper: d.paper}));
    if (d.faults && d.faults.length) status.push(d.faults.join(", "));
    var test = Hall.el("button", {"class": "secondary", text: Hall.t("admin.test"), onclick: function () {
      call("POST", "/devices/" + encodeURIComponent(d.name) + "/test").then(loadDevices, function (err) {
        alertRow(d.name, Hall.explain(err)); loadDevices();
      });
    }});
    return Hall.el("tr", {"data-device": d.name}, [
      Hall.el("td", {text: d.name}), Hall.el("td", {text: d.kind + " / " + d.type}),
      Hall.el("td", {"class": d.online ? "" : "error", text: status.join(" · ")}),
      Hall.el("td", {"class": "error", text: d.last_error || ""}), Hall.el("td", {}, [test])]);
  }

  function alertRow(name, text) { $("config-result").textContent = name + ": " + text; }

  function loadDevices() {
    return call("GET", "/devices").then(function (r) {
      var table = $("devices"); table.textContent = "";
      r.body.devices.forEach(function (d) { table.appendChild(deviceRow(d)); });
    }, function () {});
  }

  function loadConfig() {
    call("GET", "/config?format=toml").then(function (r) { $("config").value = r.body; });
  }

  function saveConfig() {
    var out = $("config-result"), text = $("config").value;
    call("PUT", "/config", text, "application/toml").then(function () {
      out.className = ""; out.textContent = Hall.t("admin.config_saved"); loadDevices();
    }, function (err) {
      out.className = "error";
      out.textContent = (err.path ? err.path + ": " : "") + (err.message || err.code) + " [" + err.code + "]";
    });
  }

  function importRoster() {
    call("PUT", "/roster/starlight", $("roster").value, "text/csv").then(function (r) {
      $("roster-report").className = "";
      $("roster-report").textContent = Hall.t("admin.roster_report", r.body);
      var list = $("roster-rejections"); list.textContent = "";
      r.body.rejections.forEach(function (x) {
        list.appendChild(Hall.el("li", {text: Hall.t("admin.row", {row: x.row}) + " " + (x.agent_code || "") +
                                              ": " + (x.reason || x.code) + " [" + x.code + "]"}));
      });
      if (r.body.rejections_omitted) {
        list.appendChild(Hall.el("li", {text: Hall.t("admin.rows_omitted", {count: r.body.rejections_omitted})}));
      }
    }, function (err) { $("roster-report").className = "error"; $("roster-report").textContent = Hall.explain(err); });
  }

  function tokenRow(entry) {
    var revoke = Hall.el("button", {"class": "secondary", text: Hall.t("admin.token_revoke"), onclick: function () {
      call("DELETE", "/tokens/" + entry.id).then(function () {
        showToken(Hall.t("admin.token_revoked", {id: entry.id}), ""); loadTokens();
      }, function (err) { showToken(Hall.explain(err) + " [" + err.code + "]", "error"); });
    }});
    return Hall.el("tr", {"data-token": String(entry.id)}, [
      Hall.el("td", {text: "#" + entry.id}), Hall.el("td", {text: Hall.t("role." + entry.role)}),
      Hall.el("td", {text: entry.counter === null ? "" : String(entry.counter)}),
      Hall.el("td", {text: entry.label || ""}),
      Hall.el("td", {text: Hall.hallTime(new Date(entry.created_at * 1000))}), Hall.el("td", {}, [revoke])]);
  }

  function loadTokens() {
    return call("GET", "/tokens").then(function (r) {
      var table = $("tokens"); table.textContent = "";
      r.body.tokens.forEach(function (entry) { table.appendChild(tokenRow(entry)); });
    }, function () {});
  }

  function showToken(text, className) {
    $("token-result").className = className; $("token-result").textContent = text;
  }

  function createToken(ev) {
    ev.preventDefault();
    var body = {role: $("token-role").value}, label = $("token-label").value.trim();
    if (body.role === "counter") body.counter = parseInt($("token-counter").value, 10);
    if (label) body.label = label;
    $("token-new").hidden = true;
    call("POST", "/tokens", body).then(function (r) {
      showToken("", ""); $("token-new-value").textContent = r.body.token; $("token-new").hidden = false;
      $("token-label").value = ""; loadTokens();
    }, function (err) { showToken(Hall.explain(err) + " [" + err.code + "]", "error"); });
  }

  function start() {
    $("signin").hidden = true; $("console").hidden = false; $("signout").hidden = false;
    $("config-load").addEventListener("click", loadConfig);
    $("config-save").addEventListener("click", saveConfig);
    $("roster-import").addEventListener("click", importRoster);
    $("token-form").addEventListener("submit", createToken);
    $("token-role").addEventListener("change", function () {
      $("token-counter-label").hidden = this.value !== "counter";
    });
    $("roster-file").addEventListener("change", function () {
      var file = this.files[0];
      if (file) file.text().then(function (text) { $("roster").value = text; });
    });
    Hall.onLang(function () { loadDevices(); loadTokens(); });
    loadDevices(); loadConfig(); loadTokens();
    setInterval(loadDevices, 2000);  // device states have no event stream: read them every 2 s
  }

  $("signout").addEventListener("click", function () { Hall.signOut("technician"); });
  Hall.signIn($("signin"), "technician", function () { return call("GET", "/devices"); }, start);
});
