(function () {
  'use strict';
  // The timeline: its rows are data in the page (#tl-data); the script
  // filters them and draws one page of rows at a time, so a timeline of
  // 100,000 events stays quick. Nothing is loaded from anywhere.
  var table = document.getElementById('timeline-table');
  var dataEl = document.getElementById('tl-data');
  if (!table || !dataEl) { return; }
  var D = JSON.parse(dataEl.textContent);
  var rows = D.rows;
  var tbody = table.tBodies[0];
  var $ = function (id) { return document.getElementById(id); };
  var src = $('f-src'), res = $('f-res'), ip = $('f-ip'), app = $('f-app'), user = $('f-user'), op = $('f-op'), hl = $('f-hl'), size = $('f-size');
  var shown = $('f-shown'), empty = $('f-empty'), pos = $('p-pos'), prev = $('p-prev'), next = $('p-next');
  var match = [], page = 0;

  function norm(s) { return (s || '').trim().toLowerCase(); }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function fmt(sec) {
    var d = new Date(sec * 1000);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + '+00:00';
  }
  function fill(s, a) { return s.replace(/%\[(\d)\]s/g, function (_, i) { return a[i - 1]; }); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function filter() {
    var s = src.value, r = res.value, i = norm(ip.value), a = norm(app.value), u = norm(user.value), o = norm(op.value), h = hl.checked;
    match = [];
    for (var k = 0; k < rows.length; k++) {
      var x = rows[k];
      if (s && D.files[x[1]].Class !== s) { continue; }
      if (r && D.results[x[6]] !== r) { continue; }
      if (i && D.ips[x[3]].toLowerCase().indexOf(i) !== 0) { continue; }
      if (a && D.apps[x[7]].toLowerCase().indexOf(a) < 0) { continue; }
      if (u && D.users[x[2]].toLowerCase().indexOf(u) < 0) { continue; }
      if (o && D.ops[x[5]].toLowerCase().indexOf(o) < 0) { continue; }
      if (h && !x[11]) { continue; }
      match.push(k);
    }
  }

  function per() { var n = parseInt(size.value, 10); return n > 0 ? n : Math.max(match.length, 1); }

  function draw() {
    var n = per(), pages = Math.max(1, Math.ceil(match.length / n));
    if (page >= pages) { page = pages - 1; }
    if (page < 0) { page = 0; }
    var frag = document.createDocumentFragment();
    for (var j = page * n; j < Math.min(match.length, (page + 1) * n); j++) {
      var k = match[j], x = rows[k], f = D.files[x[1]];
      var tr = el('tr', 'ev' + (x[11] ? ' hl' : ''));
      tr.id = 't' + k;
      tr.dataset.c = f.Class; tr.dataset.u = D.users[x[2]]; tr.dataset.ip = D.ips[x[3]];
      tr.dataset.op = D.ops[x[5]]; tr.dataset.hl = x[11] ? '1' : '0'; tr.dataset.res = D.results[x[6]];
      tr.appendChild(el('td', 't', fmt(x[0])));
      var c = el('td'); c.appendChild(el('span', 'cls cls-' + f.Class, f.Label)); tr.appendChild(c);
      tr.appendChild(el('td', '', D.users[x[2]]));
      c = el('td', 'mono', D.ips[x[3]]);
      if (D.where[x[4]]) { c.appendChild(el('div', 'small', D.where[x[4]])); }
      tr.appendChild(c);
      c = el('td', '', D.ops[x[5]]);
      for (var b = 0; b < D.flags.length; b++) {
        if (x[11] & (1 << b)) { c.appendChild(document.createTextNode(' ')); c.appendChild(el('span', 'flag f-' + D.flags[b], D.flagLabels[b])); }
      }
      tr.appendChild(c);
      c = el('td');
      if (x[6]) { c.appendChild(el('span', 'res res-' + D.results[x[6]], D.resultLabels[x[6]])); }
      var code = D.codes[x[12]];
      if (code && code !== '0') {
        var cs = el('span', 'mono code', ' ' + code);
        if (D.meanings[x[12]]) { cs.title = D.meanings[x[12]]; }
        c.appendChild(cs);
      }
      tr.appendChild(c);
      tr.appendChild(el('td', 'detail', D.details[x[8]]));
      c = el('td', 'small mono');
      var name = f.Path + (x[9] > 0 ? ':' + x[9] : '');
      if (f.Href) { var a = el('a', '', name); a.href = f.Href; c.appendChild(a); } else { c.appendChild(document.createTextNode(name)); }
      if (x[10]) { c.appendChild(el('div', '', x[10])); }
      tr.appendChild(c);
      frag.appendChild(tr);
    }
    tbody.textContent = '';
    tbody.appendChild(frag);
    if (shown) { shown.textContent = match.length.toLocaleString('en-US'); }
    if (empty) { empty.hidden = match.length > 0; }
    if (pos) { pos.textContent = fill(D.text.page, [String(page + 1), String(pages)]); }
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function apply() { filter(); page = 0; draw(); }
  function reset() {
    src.value = ''; res.value = ''; ip.value = ''; app.value = ''; user.value = ''; op.value = ''; hl.checked = false;
    filter();
  }

  // Shows row k (id t<k>): clears the filters if they hide it, turns to its page.
  function reveal(k) {
    var j = match.indexOf(k);
    if (j < 0) { reset(); j = match.indexOf(k); }
    if (j < 0) { return; }
    page = Math.floor(j / per());
    draw();
    var tr = $('t' + k);
    if (tr) { tr.scrollIntoView({block: 'center'}); tr.classList.add('target'); }
  }

  $('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  [src, res, ip, app, user, op, hl, size].forEach(function (e) {
    e.addEventListener('input', apply);
    e.addEventListener('change', apply);
  });
  $('f-reset').addEventListener('click', function () { reset(); page = 0; draw(); });
  prev.addEventListener('click', function () { page--; draw(); });
  next.addEventListener('click', function () { page++; draw(); });
  // An IP in the indicator and "who and where" tables filters the timeline by it.
  Array.prototype.forEach.call(document.querySelectorAll('a.ipf'), function (a) {
    a.addEventListener('click', function () { ip.value = a.getAttribute('data-ip'); apply(); });
  });
  // Links to timeline rows (#t<n>) from key events, findings and records.
  document.addEventListener('click', function (e) {
    var a = e.target.closest ? e.target.closest('a[href^="#t"]') : null;
    if (!a) { return; }
    var m = /^#t(\d+)$/.exec(a.getAttribute('href'));
    if (!m) { return; }
    e.preventDefault();
    reveal(parseInt(m[1], 10));
    history.replaceState(null, '', a.getAttribute('href'));
  });
  filter();
  draw();
  var h = /^#t(\d+)$/.exec(location.hash);
  if (h) { reveal(parseInt(h[1], 10)); }
}());
