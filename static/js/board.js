// The board page listens on /ws/board/ (opened by htmx's ws extension, which also reconnects) and
// reloads its post list as soon as anything changes, instead of waiting for the next poll. The
// frames are JSON, not HTML, so nothing is swapped from them.
(() => {
  "use strict";
  document.body.addEventListener("htmx:wsBeforeMessage", (evt) => {
    if (!evt.target.closest || !evt.target.closest("[data-board-live]")) return;
    evt.preventDefault();
    let msg;
    try {
      msg = JSON.parse(evt.detail.message);
    } catch {
      return;
    }
    if (String(msg.type).startsWith("board")) htmx.trigger(document.body, "board-changed", { kind: msg.type });
  });
})();
