(function () {
  'use strict';
  // Timeline filters: every row is in the page; filtering only hides rows.
  var table = document.getElementById('timeline-table');
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var form = document.getElementById('filters');
  var src = document.getElementById('f-src');
  var user = document.getElementById('f-user');
  var ip = document.getElementById('f-ip');
  var op = document.getElementById('f-op');
  var hl = document.getElementById('f-hl');
  var shown = document.getElementById('f-shown');
  var empty = document.getElementById('f-empty');

  function norm(s) { return (s || '').trim().toLowerCase(); }

  function apply() {
    var s = src.value, u = norm(user.value), i = norm(ip.value), o = norm(op.value), h = hl.checked, n = 0;
    for (var k = 0; k < rows.length; k++) {
      var d = rows[k].dataset;
      var ok = (!s || d.c === s) &&
        (!u || d.u.toLowerCase().indexOf(u) >= 0) &&
        (!i || d.ip.toLowerCase().indexOf(i) === 0) &&
        (!o || d.op.toLowerCase().indexOf(o) >= 0) &&
        (!h || d.hl === '1');
      rows[k].hidden = !ok;
      if (ok) { n++; }
    }
    if (shown) { shown.textContent = n.toLocaleString('en-US'); }
    if (empty) { empty.hidden = n > 0; }
  }

  function reset() {
    src.value = ''; user.value = ''; ip.value = ''; op.value = ''; hl.checked = false;
    apply();
  }

  form.addEventListener('submit', function (e) { e.preventDefault(); });
  [src, user, ip, op, hl].forEach(function (el) {
    el.addEventListener('input', apply);
    el.addEventListener('change', apply);
  });
  document.getElementById('f-reset').addEventListener('click', reset);

  // An IP in the "who and where" tables filters the timeline by it.
  Array.prototype.forEach.call(document.querySelectorAll('a.ipf'), function (a) {
    a.addEventListener('click', function () { ip.value = a.getAttribute('data-ip'); apply(); });
  });
  // A link to a timeline row that the filters hide clears the filters.
  Array.prototype.forEach.call(document.querySelectorAll('a[href^="#r"]'), function (a) {
    a.addEventListener('click', function () {
      var row = document.getElementById(a.getAttribute('href').slice(1));
      if (row && row.hidden) { reset(); }
    });
  });
  apply();
}());
