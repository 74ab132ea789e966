// Warns before the idle timeout signs the user out, and lets them stay signed in.
// Everything works without this script; it only adds the warning.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var box = document.getElementById("idle-warning");
  if (!idle || !box) { return; }
  var warnBefore = Math.min(120, Math.floor(idle / 4));
  var left = box.querySelector("[data-idle-left]");
  var timer = null;
  var deadline = 0;

  function tick() {
    var seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    if (seconds <= 0) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      return;
    }
    if (seconds <= warnBefore) {
      left.textContent = seconds >= 60 ? Math.ceil(seconds / 60) + " minute(s)" : seconds + " seconds";
      box.hidden = false;
    }
    timer = window.setTimeout(tick, 1000);
  }

  function restart() {
    deadline = Date.now() + idle * 1000;
    box.hidden = true;
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(tick, 1000);
  }

  box.querySelector("[data-stay]").addEventListener("click", function () {
    fetch("/api/me", { credentials: "same-origin" }).then(function (r) {
      if (r.ok) { restart(); } else { window.location.assign("/login"); }
    });
  });
  document.body.addEventListener("htmx:afterRequest", restart);
  restart();
})();
