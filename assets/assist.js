/* The composer's suggestion lists (canned replies after "/", colleagues after "@" in a note):
 * the server renders the list ([data-assist] with [data-assist-option] buttons); here the
 * arrow keys move through it, Enter or Tab chooses (a click on the option, so the server does
 * the work), Escape closes. Enter never sends a lone "/command" before its list has come.
 * The server fills the chosen text in; setDraft / completeMention put it in the textarea.
 */
(function () {
  if (window.ctAssist) return;
  var active = 0;
  var lastKey = "";

  function textarea() { return document.getElementById("composer-text"); }
  function list() { return document.querySelector("[data-assist]"); }
  function options() {
    var l = list();
    return l ? Array.prototype.slice.call(l.querySelectorAll("[data-assist-option]")) : [];
  }

  function mark() {
    var opts = options();
    var key = opts.map(function (o) { return o.textContent; }).join("|");
    if (key !== lastKey) { active = 0; lastKey = key; }
    if (active >= opts.length) active = opts.length - 1;
    if (active < 0) active = 0;
    opts.forEach(function (o, i) {
      var on = i === active;
      if (o.getAttribute("aria-selected") !== (on ? "true" : "false")) {
        o.setAttribute("aria-selected", on ? "true" : "false");
      }
      o.classList.toggle("is-active", on);
    });
  }

  function setValue(el, text) {
    el.value = text;
    if (el._valueTracker) el._valueTracker.setValue(text ? "" : "\u0000");
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.focus();
    el.setSelectionRange(text.length, text.length);
  }

  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (!el || el.id !== "composer-text") return;
    if (e.isComposing || e.keyCode === 229) return;
    var l = list();
    var opts = options();
    if (!l) {
      // "/hou" + Enter before the list came back: wait for it rather than send "/hou"
      if (e.key === "Enter" && !e.shiftKey && /^\/[a-z0-9_-]*$/i.test(el.value.trim())) {
        var composer = document.getElementById("composer");
        if (composer && !composer.classList.contains("ct-composer-note")) {
          e.preventDefault();
          e.stopImmediatePropagation();
        }
      }
      return;
    }
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && opts.length) {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : -1) + opts.length) % opts.length;
      mark();
      var chosen = opts[active];
      if (chosen && chosen.scrollIntoView) chosen.scrollIntoView({ block: "nearest" });
    } else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && opts.length) {
      e.preventDefault();
      e.stopImmediatePropagation();
      opts[Math.min(active, opts.length - 1)].click();
    } else if (e.key === "Escape") {
      e.preventDefault();
      var close = l.querySelector("[data-assist-close]");
      if (close) close.click();
    }
  }, true);

  var scheduled = false;
  new MutationObserver(function () {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () { scheduled = false; mark(); });
  }).observe(document.documentElement, { childList: true, subtree: true });

  window.ctAssist = {
    setDraft: function (text) {
      var el = textarea();
      if (el) setValue(el, text);
    },
    completeMention: function (name) {
      var el = textarea();
      if (!el) return;
      var value = el.value.replace(/(^|\s)@[^\s@]*$/, "$1@" + name + " ");
      if (value === el.value) value = el.value + "@" + name + " ";
      setValue(el, value);
    },
  };
})();
