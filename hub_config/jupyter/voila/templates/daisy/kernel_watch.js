/* Daisy: tell the user in plain words when the app's Python kernel is lost.
 *
 * A Voila page is a view of one kernel. When that kernel dies (most often: out of memory) the
 * server restarts it empty, and when it is shut down (idle culling, server restart) it is gone;
 * either way the widgets on the page no longer answer. Voila itself says nothing, so the page
 * would look alive but do nothing. This script watches the page's kernel connection and shows a
 * banner (class "daisy-kernel-lost", role "alert") with a "Reload the app" button.
 *
 * It listens to the kernel's status messages on the page's own websocket (both the JSON and
 * the binary "v1.kernel.websocket.jupyter.org" framings): a "restarting" or "dead" status, or
 * the kernel's own "shutdown_reply" broadcast on iopub, mean lost. When the socket closes it asks the server whether the kernel still exists (404: gone).
 * No request leaves the page's server.
 */
(function () {
  "use strict";
  var NativeWebSocket = window.WebSocket;
  if (!NativeWebSocket || window.__daisyKernelWatch) { return; }
  window.__daisyKernelWatch = true;

  var MESSAGES = {
    restarted: "The app's Python kernel stopped and was restarted empty (most often because it ran out of " +
               "memory: try a smaller slice range or fewer observations). This page is no longer connected " +
               "to it. Files you already saved are kept.",
    stopped: "The app's Python kernel has stopped (it was idle too long, was shut down, or the server " +
             "restarted). This page is no longer connected to it. Files you already saved are kept."
  };

  function showBanner(reason) {
    if (document.querySelector(".daisy-kernel-lost")) { return; }
    var box = document.createElement("div");
    box.className = "daisy-kernel-lost";
    box.setAttribute("role", "alert");
    box.setAttribute("data-reason", reason);
    box.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;padding:10px 16px;" +
      "background:#fdecea;color:#611a15;border-bottom:2px solid #d32f2f;font:14px sans-serif;";
    var text = document.createElement("span");
    text.textContent = MESSAGES[reason] + " ";
    var button = document.createElement("button");
    button.className = "daisy-kernel-reload";
    button.textContent = "Reload the app";
    button.style.cssText = "margin-left:8px;padding:2px 10px;";
    button.addEventListener("click", function () { window.location.reload(); });
    box.appendChild(text);
    box.appendChild(button);
    document.body.appendChild(box);
  }

  function utf8(bytes) { return new TextDecoder("utf-8").decode(bytes); }

  /* header and content of one websocket frame, or null */
  function decode(data) {
    try {
      if (typeof data === "string") {
        var m = JSON.parse(data);
        return { type: m.header && m.header.msg_type, content: m.content || {} };
      }
      if (data instanceof ArrayBuffer) {
        /* v1 framing: uint64 n, n uint64 offsets, then channel, header, parent, metadata, content, buffers */
        var view = new DataView(data);
        var n = view.getUint32(0, true);
        if (n < 6 || 8 * (n + 1) > data.byteLength) { return null; }
        var off = [];
        for (var i = 0; i < n; i++) { off.push(view.getUint32(8 + 8 * i, true)); }
        var part = function (k) { return new Uint8Array(data, off[k], off[k + 1] - off[k]); };
        var header = JSON.parse(utf8(part(1)));
        var content = JSON.parse(utf8(part(4)));
        return { type: header.msg_type, content: content };
      }
    } catch (e) { /* not a message we can read: ignore */ }
    return null;
  }

  function kernelUrl(wsUrl) {
    var m = /^(wss?:\/\/[^/]+)?(.*\/api\/kernels\/[^/?]+)\/channels/.exec(wsUrl);
    return m ? m[2] : null;
  }

  /* leaving the page: Voila shuts the page's kernel down itself, that is no loss to report */
  var leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pagehide", function () { leaving = true; });

  function checkStillThere(url) {
    if (!url || leaving) { return; }
    /* the user server wants the xsrf token on scripted requests (else: 403, as if logged out) */
    var xsrf = (document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/) || [])[1];
    var headers = xsrf ? { "X-XSRFToken": decodeURIComponent(xsrf) } : {};
    fetch(url + "?" + Date.now(), { credentials: "same-origin", headers: headers }).then(function (r) {
      if (r.status === 404) { showBanner("stopped"); return null; }
      return r.ok ? r.json() : null;
    }).then(function (model) {
      if (model && model.execution_state === "dead") { showBanner("stopped"); }
    }).catch(function () { /* server unreachable: the hub page will say so on reload */ });
  }

  function WatchedWebSocket(url, protocols) {
    var ws = protocols === undefined ? new NativeWebSocket(url) : new NativeWebSocket(url, protocols);
    var kurl = kernelUrl(String(url));
    if (kurl) {
      ws.addEventListener("message", function (ev) {
        var m = decode(ev.data);
        if (m && m.type === "status") {
          var state = m.content.execution_state;
          if (state === "restarting" || state === "autorestarting") { showBanner("restarted"); }
          else if (state === "dead") { showBanner("stopped"); }
        } else if (m && m.type === "shutdown_reply" && !leaving) {
          /* the kernel announces its own shutdown on iopub to every client (idle culling, a shutdown request) */
          showBanner(m.content.restart ? "restarted" : "stopped");
        }
      });
      ws.addEventListener("close", function () {
        /* the front-end may reconnect on its own; look a moment later whether the kernel is still there */
        setTimeout(function () { checkStillThere(kurl); }, 1500);
      });
    }
    return ws;
  }
  WatchedWebSocket.prototype = NativeWebSocket.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { WatchedWebSocket[k] = NativeWebSocket[k]; });
  window.WebSocket = WatchedWebSocket;
})();
