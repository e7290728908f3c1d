// New-message alerts for an inbox tab in the background (ctreflex/components/alerts.py):
// a short tone and a desktop notification, each opt-in and remembered by this browser; and the
// tab's visibility handed to the server, so a message arriving in the open conversation while
// the tab is hidden stays unread (and counts in the title) until the agent comes back.
(function () {
  if (window.ctAlerts) return;
  var KEYS = { sound: "ct-alert-sound", desktop: "ct-alert-desktop" };

  function on(kind) {
    try { return localStorage.getItem(KEYS[kind]) === "on"; } catch (e) { return false; }
  }
  function remember(kind, value) {
    try { localStorage.setItem(KEYS[kind], value ? "on" : "off"); } catch (e) { /* private mode */ }
  }
  function away() { return document.hidden || !document.hasFocus(); }
  function canNotify() { return "Notification" in window; }

  var audio = null;
  function tone() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime;
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(t); osc.stop(t + 0.4);
    } catch (e) { /* no audio here */ }
  }

  function sync() {
    var sound = document.getElementById(KEYS.sound);
    if (sound) sound.checked = on("sound");
    var desktop = document.getElementById(KEYS.desktop);
    var hint = document.getElementById(KEYS.desktop + "-hint");
    if (!desktop) return;
    if (!canNotify()) {
      desktop.checked = false; desktop.disabled = true;
      if (hint) hint.textContent = "This browser cannot show notifications.";
      return;
    }
    desktop.checked = on("desktop") && Notification.permission === "granted";
    if (hint && Notification.permission === "denied")
      hint.textContent = "Blocked in this browser's site settings: allow notifications there.";
  }

  function toggle(kind) {
    var box = document.getElementById(KEYS[kind]);
    var want = box ? box.checked : !on(kind);
    if (kind === "desktop" && want) {
      if (!canNotify()) { remember(kind, false); sync(); return; }
      Promise.resolve(Notification.requestPermission()).then(function (p) {
        remember(kind, p === "granted");
        sync();
      });
      return;
    }
    remember(kind, want);
    if (kind === "sound" && want) tone(); // the click unlocks audio and lets the agent hear it
    sync();
  }

  function newMessages(items) {
    if (!items || !items.length || !away()) return;
    window.ctAlerts.announced += items.length;
    if (on("sound")) tone();
    if (on("desktop") && canNotify() && Notification.permission === "granted") {
      items.slice(0, 3).forEach(function (it) {
        try {
          var n = new Notification(it.title || "New message", { body: it.body || "", tag: "ct-conv-" + it.id });
          n.onclick = function () { window.focus(); window.location.href = "/inbox/" + it.id; n.close(); };
        } catch (e) { /* the browser refused */ }
      });
    }
  }

  // "hidden" (tab in the background), "away" (shown but the window is not focused) or
  // "visible". The server sends new-message alerts only to a tab that is not "visible" (an agent
  // looking at the inbox sees the list change; sending each tab a script per message cost the
  // browsers and the server ~2.7 ms of CPU per tab and message: docs/PERFORMANCE.md).
  function report(value) {
    var el = document.getElementById("ct-tab-visibility");
    if (!el || el.value === value) return;
    var old = el.value;
    el.value = value; // React's tracker sees this set: tell it the old value, or no onChange
    if (el._valueTracker) el._valueTracker.setValue(old);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function reportVisibility() {
    report(document.hidden ? "hidden" : document.hasFocus() ? "visible" : "away");
  }
  document.addEventListener("visibilitychange", reportVisibility);
  window.addEventListener("focus", function () { report(document.hidden ? "hidden" : "visible"); });
  window.addEventListener("blur", function () { report(document.hidden ? "hidden" : "away"); });
  // a page opened in the background gets no blur: look again now and then (a no-op unchanged)
  setInterval(reportVisibility, 5000);
  setTimeout(reportVisibility, 1000);

  window.ctAlerts = { announced: 0, sync: sync, toggle: toggle, newMessages: newMessages,
                      reportVisibility: reportVisibility };
})();
