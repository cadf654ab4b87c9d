// The clerk's desk: live updates (server-sent events), the unread count
// in the title, and the compose form's drag-and-drop upload with a
// progress bar. Everything works without it except those three.
"use strict";

(function () {
  const main = document.getElementById("main");
  const csrf = main ? main.dataset.csrf : "";

  function setUnread(n) {
    const base = document.body.dataset.title || document.title;
    document.title = (n > 0 ? "(" + n + ") " : "") + base;
    document.body.dataset.unread = String(n);
    const b = document.getElementById("unread");
    if (b) { b.textContent = String(n); b.hidden = n === 0; }
  }

  function toast(text) {
    const t = document.getElementById("toast");
    if (!t || !text) return;
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 8000);
  }

  // refresh replaces the page's main part with a fresh copy, unless the
  // clerk is typing in a form there.
  async function refresh() {
    if (document.getElementById("compose") || document.getElementById("declare")) return;
    const resp = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!resp.ok) return;
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    const fresh = doc.getElementById("main");
    if (fresh && main) { main.innerHTML = fresh.innerHTML; }
    document.body.dataset.refreshed = String((+document.body.dataset.refreshed || 0) + 1);
  }

  if (main && window.EventSource) {
    const es = new EventSource("/su-kien");
    es.addEventListener("thay-doi", function (ev) {
      const e = JSON.parse(ev.data);
      setUnread(e.unread);
      if (e.kind !== "mo") { toast(e.text); refresh(); }
    });
    es.addEventListener("open", function () { document.body.dataset.live = "1"; });
  }

  const form = document.getElementById("compose");
  if (!form) return;
  const input = document.getElementById("tep");
  const drop = document.getElementById("drop");
  const chosen = document.getElementById("chosen");
  const bar = document.getElementById("progress");
  const errBox = document.getElementById("send-error");
  let files = [];

  function show() {
    chosen.textContent = "";
    files.forEach(function (f) {
      const li = document.createElement("li");
      li.textContent = f.name + " (" + f.size + " byte)";
      chosen.appendChild(li);
    });
  }
  input.addEventListener("change", function () { files = Array.from(input.files); show(); });
  ["dragenter", "dragover"].forEach(function (n) {
    drop.addEventListener(n, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (n) {
    drop.addEventListener(n, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    files = files.concat(Array.from(e.dataTransfer.files).filter(function (f) { return /\.pdf$/i.test(f.name); }));
    show();
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    errBox.hidden = true;
    const data = new FormData(form);
    data.delete("tep");
    files.forEach(function (f) { data.append("tep", f, f.name); });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("X-Requested-With", "fetch");
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) bar.value = Math.round(ev.loaded * 100 / ev.total);
    });
    xhr.addEventListener("load", function () {
      let a = {};
      try { a = JSON.parse(xhr.responseText); } catch (_) { a = { error: xhr.responseText }; }
      if (xhr.status === 200 && a.redirect) { location.assign(a.redirect); return; }
      bar.hidden = true;
      errBox.textContent = a.error || ("Lỗi " + xhr.status);
      errBox.dataset.status = String(xhr.status);
      errBox.hidden = false;
    });
    xhr.addEventListener("error", function () {
      bar.hidden = true;
      errBox.textContent = "Không kết nối được với ltnode (connection failed).";
      errBox.hidden = false;
    });
    document.getElementById("send").disabled = true;
    xhr.addEventListener("loadend", function () { document.getElementById("send").disabled = false; });
    xhr.send(data);
  });
})();
