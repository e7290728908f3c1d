/* Inbox helpers that must not wait for the server:
 * - 24-hour window countdowns: every element with data-ct-expires (epoch ms) shows the time
 *   left ("closes in 3 h 12 min" / chip "3 h 12 min") and "Window closed" at expiry.
 * - Composer: live character count as the customer sees characters (graphemes: an emoji
 *   counts as one), Enter sends, Shift+Enter makes a new line, the textarea grows with text.
 * The server stays the authority: it recounts on send and locks the composer at expiry.
 */
(function () {
  if (window.ctInbox) return;
  var LIMIT = 4096;
  var segmenter = (typeof Intl !== "undefined" && Intl.Segmenter)
    ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

  function graphemes(text) {
    if (!text) return 0;
    if (!segmenter) return Array.from(text).length;
    var n = 0;
    for (var it = segmenter.segment(text)[Symbol.iterator](), s = it.next(); !s.done; s = it.next()) n++;
    return n;
  }

  function duration(ms) {
    var minutes = Math.max(0, Math.floor(ms / 60000));
    var h = Math.floor(minutes / 60), m = minutes % 60;
    if (h && m) return h + " h " + m + " min";
    if (h) return h + " h";
    return m ? m + " min" : null;
  }

  function windowText(expires, style) {
    var left = expires - Date.now();
    var d = duration(left);
    if (style === "short") {
      if (left <= 0) return "Closed";
      return d || "< 1 min";
    }
    if (left <= 0) return "Window closed";
    return "closes in " + (d || "less than a minute");
  }

  function tick() {
    var els = document.querySelectorAll("[data-ct-expires]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var expires = Number(el.getAttribute("data-ct-expires"));
      if (!expires) continue;
      var text = windowText(expires, el.getAttribute("data-ct-style"));
      if (el.textContent !== text) el.textContent = text;
    }
  }

  function fmt(n) { return n.toLocaleString("en-US"); }

  function textarea() { return document.getElementById("composer-text"); }

  function updateCount(el) {
    el = el || textarea();
    var out = document.getElementById("composer-count");
    if (!el || !out) return;
    var n = graphemes(el.value);
    var text = fmt(n) + " / " + fmt(LIMIT);
    if (out.textContent !== text) out.textContent = text;
    out.classList.toggle("ct-count-over", n > LIMIT);
    out.classList.toggle("ct-count-near", n > LIMIT - 200 && n <= LIMIT);
  }

  // Tell React's onChange (the server's SMS segment counter) about a value set from here:
  // React ignores an input event whose value matches the one it last saw.
  function notifyReact(el) {
    if (el._valueTracker) el._valueTracker.setValue(el.value ? "" : "\u0000");
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function autosize(el) {
    el = el || textarea();
    if (!el) return;
    el.style.height = "auto";
    el.style.height = Math.min(el.scrollHeight + 2, 200) + "px";
  }

  function scrollThread() {
    var log = document.getElementById("thread");
    if (log) log.scrollTop = log.scrollHeight;
  }

  document.addEventListener("input", function (e) {
    if (e.target && e.target.id === "composer-text") {
      updateCount(e.target);
      autosize(e.target);
    }
  });

  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (!el || el.id !== "composer-text") return;
    if (e.key !== "Enter" || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.isComposing || e.keyCode === 229) return; // IME composition
    e.preventDefault();
    if (el.form && typeof el.form.requestSubmit === "function") el.form.requestSubmit();
  });

  var scheduled = false;
  var observer = new MutationObserver(function () {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () {
      scheduled = false;
      tick();
      var el = textarea();
      if (el) updateCount(el);
    });
  });

  function start() {
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    tick();
    setInterval(tick, 5000);
  }

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);

  window.ctInbox = {
    tick: tick,
    graphemes: graphemes,
    opened: function () {
      tick();
      updateCount();
      setTimeout(scrollThread, 0);
      setTimeout(scrollThread, 150);
    },
    clearComposer: function () {
      var el = textarea();
      if (!el) return;
      el.value = "";
      notifyReact(el);
      updateCount(el);
      autosize(el);
      el.focus();
      setTimeout(scrollThread, 100);
    },
    channelChanged: function () {
      // the count element swapped (characters on WhatsApp, segments on SMS): recount, and
      // hand the draft to the server's segment counter through React's onChange
      var el = textarea();
      if (!el) return;
      updateCount(el);
      if (el.value) notifyReact(el);
    },
    restoreComposer: function (text) {
      var el = textarea();
      if (!el) return;
      if (!el.value) { el.value = text; notifyReact(el); }
      updateCount(el);
      autosize(el);
      el.focus();
    },
  };
})();
