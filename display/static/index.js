// The start page: a link to each screen of the hall.
document.addEventListener("DOMContentLoaded", function () {
  var links = [["/kiosk", "kiosk.title"], ["/counter/1", "counter.title"], ["/guide", "guide.title"],
               ["/display", "display.last_calls"], ["/admin", "admin.title"], ["/sim", "sim.title"]];
  var list = document.getElementById("links");
  function draw() {
    list.textContent = "";
    links.forEach(function (l) {
      list.appendChild(Hall.el("li", {}, [Hall.el("a", {href: l[0], text: Hall.t(l[1]) + "  (" + l[0] + ")"})]));
    });
  }
  Hall.onLang(draw);
  draw();
});
