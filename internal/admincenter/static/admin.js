// Gatehouse admin center script. The pages work without it; it adds what
// the classic Exchange admin center does in the browser:
//   - selection in the mailbox list (click, Ctrl+click, Shift+click, check
//     boxes, arrow keys), the details pane following the selection, and
//     Enter to open Edit;
//   - Ctrl+F6 / Ctrl+Shift+F6 to move between the regions of the page, and
//     "/" to jump to the search box;
//   - pending Enable/Disable in the User Mailbox dialog and its console
//     tree without a round trip;
//   - Esc to close a dialog, and focus kept inside it.
// It is loaded from /admin/static (the Content-Security-Policy allows no
// inline script) and never throws on a page that lacks one of these parts.
(function () {
  'use strict';

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  var focusable = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), ' +
    'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }

  function typing(el) {
    if (!el) { return false; }
    var t = el.tagName;
    if (t === 'INPUT') { return !/^(checkbox|radio|button|submit|reset)$/i.test(el.type); }
    return t === 'TEXTAREA' || t === 'SELECT' || el.isContentEditable;
  }

  // Regions, in the order of the Exchange admin center: feature pane,
  // tabs, toolbar, list view, details pane.
  function regions() { return $$('[data-region]').filter(visible); }

  function focusRegion(r) {
    var target = null;
    switch (r.getAttribute('data-region')) {
      case 'list':
        target = $('tbody tr[tabindex="0"]', r) || $('tbody tr[data-id]', r) || $(focusable, r);
        break;
      case 'details':
        target = r;
        break;
      case 'features':
      case 'tabs':
        target = $('[aria-current="page"]', r) || $(focusable, r);
        break;
      default:
        target = $(focusable, r);
    }
    if (!target) {
      if (!r.hasAttribute('tabindex')) { r.setAttribute('tabindex', '-1'); }
      target = r;
    }
    target.focus();
  }

  function cycleRegions(back) {
    var rs = regions();
    if (!rs.length) { return; }
    var cur = -1;
    rs.forEach(function (r, i) { if (r.contains(document.activeElement)) { cur = i; } });
    var next;
    if (cur < 0) { next = back ? rs.length - 1 : 0; } else { next = (cur + (back ? rs.length - 1 : 1)) % rs.length; }
    focusRegion(rs[next]);
  }

  // The dialog of a dialog page, if this is one.
  var dialog = $('[data-dialog]');

  document.addEventListener('keydown', function (e) {
    if (e.key === 'F6' && e.ctrlKey) {
      e.preventDefault();
      cycleRegions(e.shiftKey);
      return;
    }
    if (e.key === '?' && !e.ctrlKey && !e.altKey && !e.metaKey && !typing(document.activeElement)) {
      // "?" shows the keyboard shortcuts, as the README and the help say.
      var help = $('a[data-shortcuts]');
      if (help) {
        e.preventDefault();
        help.click();
      }
      return;
    }
    if (e.key === ' ' && !e.ctrlKey && !e.altKey && !e.metaKey && document.activeElement &&
        document.activeElement.matches('a[href]')) {
      // Space activates a link as it does a button (Enable, Disable, Cancel),
      // instead of scrolling the page.
      e.preventDefault();
      document.activeElement.click();
      return;
    }
    if (e.key === '/' && !e.ctrlKey && !e.altKey && !e.metaKey && !typing(document.activeElement)) {
      var search = $('#search');
      if (search) {
        e.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    if (e.key === 'Escape' && dialog) {
      var dismiss = $('[data-dismiss]', dialog);
      if (dismiss) {
        e.preventDefault();
        dismiss.click();
      }
      return;
    }
    if (e.key === 'Tab' && dialog) {
      // Keep the focus inside the dialog.
      var items = $$(focusable, dialog).filter(visible);
      if (!items.length) { return; }
      var first = items[0], last = items[items.length - 1];
      if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        first.focus();
      }
    }
  });

  // Toolbars: the arrow keys move between their buttons too.
  $$('[role="toolbar"]').forEach(function (bar) {
    bar.addEventListener('keydown', function (e) {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') { return; }
      if (typing(e.target)) { return; }
      var items = $$('.tb', bar).filter(function (b) { return !b.disabled && visible(b); });
      var i = items.indexOf(e.target);
      if (i < 0) { return; }
      e.preventDefault();
      items[(i + (e.key === 'ArrowRight' ? 1 : items.length - 1)) % items.length].focus();
    });
  });

  // The mailbox list.
  var grid = $('#mailbox-list');
  var form = $('#listform');
  var details = $('#details');
  if (grid && form && details) { initList(); }

  function initList() {
    var anchor = null;
    var timer = null;
    var seq = 0;
    var count = $('[data-selected-count]');
    var editButton = $('#tb-edit');
    var deleteButton = $('#tb-delete');
    var passwordButton = $('#tb-password');
    var refresh = $('#tb-refresh');
    var checkPage = $('#check-page');
    var bar = $('#select-all-bar');
    var total = bar ? parseInt(bar.getAttribute('data-total'), 10) || 0 : 0;

    // "Select all N mailboxes that match", as Gmail and the EAC offer it:
    // once every row of the page is selected, the bar above the list offers
    // the whole search; the selection is then the search itself (all=1),
    // which the server evaluates again when the edit runs.
    function allMode() { return !!$('input[data-all]', form); }
    function exitAll() {
      var input = $('input[data-all]', form);
      if (input) { input.parentNode.removeChild(input); }
    }
    function barLink(text, href, id) {
      var a = document.createElement('a');
      a.href = href;
      a.id = id;
      a.textContent = text;
      return a;
    }
    function fmt(n) { return n.toLocaleString('en-US'); }
    function updateBar() {
      if (!bar) { return; }
      var rs = rows(), n = selected().length;
      var pageAll = rs.length > 0 && n === rs.length;
      if (checkPage) {
        checkPage.checked = pageAll;
        checkPage.indeterminate = n > 0 && !pageAll;
      }
      bar.textContent = '';
      var span = document.createElement('span');
      span.id = 'select-all-text';
      if (allMode()) {
        span.textContent = 'All ' + fmt(total) + ' mailboxes that match are selected.';
        bar.appendChild(span);
        bar.appendChild(document.createTextNode(' '));
        bar.appendChild(barLink('Clear selection', bar.getAttribute('data-none-url'), 'select-none'));
        bar.hidden = false;
      } else if (pageAll && total > rs.length) {
        span.textContent = 'All ' + fmt(rs.length) + ' mailboxes on this page are selected.';
        bar.appendChild(span);
        bar.appendChild(document.createTextNode(' '));
        bar.appendChild(barLink('Select all ' + fmt(total) + ' mailboxes that match', bar.getAttribute('data-all-url'), 'select-all'));
        bar.hidden = false;
      } else {
        bar.hidden = true;
      }
    }

    function rows() { return $$('tbody tr[data-id]', grid); }
    function box(row) { return $('input[type="checkbox"]', row); }
    function isSelected(row) { return row.getAttribute('aria-selected') === 'true'; }
    function selected() { return rows().filter(isSelected); }

    function mark(row, on) {
      row.setAttribute('aria-selected', on ? 'true' : 'false');
      var b = box(row);
      if (b) { b.checked = on; }
    }

    function setActive(row, focus) {
      rows().forEach(function (r) { r.tabIndex = -1; });
      row.tabIndex = 0;
      if (focus) { row.focus(); }
    }

    function toolbarState() {
      var n = selected().length;
      if (count) { count.textContent = allMode() ? fmt(total) : String(n); }
      updateBar();
      if (editButton) { editButton.disabled = n !== 1; }
      [deleteButton, passwordButton].forEach(function (b) {
        if (b && !b.hasAttribute('data-denied')) { b.disabled = n !== 1; }
      });
    }

    function query() {
      return new URLSearchParams(new FormData(form)).toString();
    }

    // The details pane shows the latest selection only. When the selection
    // changes, what the pane showed (a mailbox and its Edit link) is taken
    // away at once, the request for the old selection is aborted, and an
    // answer is shown only if it is for the selection as it is now: a slow
    // answer for an earlier selection never paints over a later one.
    var pending = null;
    function loadDetails() {
      clearTimeout(timer);
      if (pending) { pending.abort(); pending = null; }
      var mine = ++seq;
      var names = selected().map(function (r) {
        var n = $('td.name', r);
        return n ? n.textContent : '';
      });
      details.setAttribute('aria-busy', 'true');
      details.textContent = '';
      var wait = document.createElement('p');
      wait.className = 'empty';
      wait.textContent = names.length === 0 ? 'Select a mailbox to see its details here.' :
        names.length === 1 ? 'Loading the details of ' + names[0] + '\u2026' :
        'Loading Bulk Edit for ' + names.length + ' mailboxes\u2026';
      details.appendChild(wait);
      timer = setTimeout(function () {
        var q = query();
        history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
        if (refresh) { refresh.href = location.pathname + (q ? '?' + q : ''); }
        var ctl = typeof AbortController === 'function' ? new AbortController() : null;
        pending = ctl;
        var current = function () { return mine === seq && q === query(); };
        fetch(form.getAttribute('data-details') + '?' + q, {
          credentials: 'same-origin',
          headers: { 'X-Requested-With': 'fetch' },
          signal: ctl ? ctl.signal : undefined
        }).then(function (r) {
          if (!current()) { return null; }
          if (r.status === 401) {
            location.href = r.headers.get('X-Sign-In') || '/admin/signin';
            return null;
          }
          return r.text();
        }).then(function (html) {
          if (html !== null && current()) {
            details.innerHTML = html;
            details.removeAttribute('aria-busy');
            if (pending === ctl) { pending = null; }
          }
        }).catch(function () {
          if (current()) {
            details.textContent = 'The details could not be loaded. Refresh the page.';
            details.removeAttribute('aria-busy');
          }
        });
      }, 100);
    }

    function changed() {
      exitAll();
      toolbarState();
      loadDetails();
    }

    function select(row, mode) {
      var rs = rows();
      if (mode === 'toggle') {
        mark(row, !isSelected(row));
        anchor = row;
      } else if (mode === 'range') {
        var a = rs.indexOf(anchor && rs.indexOf(anchor) >= 0 ? anchor : row), b = rs.indexOf(row);
        var lo = Math.min(a, b), hi = Math.max(a, b);
        rs.forEach(function (r, i) { mark(r, i >= lo && i <= hi); });
      } else {
        rs.forEach(function (r) { mark(r, r === row); });
        anchor = row;
      }
      changed();
    }

    function openEdit(row) {
      if (!isSelected(row) || selected().length !== 1) {
        rows().forEach(function (r) { mark(r, r === row); });
        toolbarState();
      }
      if (editButton) {
        editButton.disabled = false;
        form.requestSubmit(editButton);
      }
    }

    // Start: check boxes are reached through their rows, and one row
    // (the first selected, or the first) takes the focus in the list.
    rows().forEach(function (r) {
      var b = box(r);
      if (b) { b.tabIndex = -1; }
    });
    var start = selected()[0] || rows()[0];
    if (start) {
      setActive(start, false);
      anchor = selected()[0] || null;
    }
    toolbarState();
    if (selected().length && document.activeElement === document.body) {
      // Back from a dialog: the focus returns to the list, on the mailbox.
      start.focus();
    }

    if (checkPage) {
      checkPage.addEventListener('change', function () {
        var on = checkPage.checked;
        rows().forEach(function (r) { mark(r, on); });
        changed();
      });
    }

    grid.addEventListener('click', function (e) {
      var row = e.target.closest('tr[data-id]');
      if (!row) { return; }
      if (e.target.matches('input[type="checkbox"]')) {
        row.setAttribute('aria-selected', e.target.checked ? 'true' : 'false');
        anchor = row;
        setActive(row, false);
        changed();
        return;
      }
      if (e.target.closest('a')) { return; }
      if (e.shiftKey) {
        select(row, 'range');
      } else if (e.ctrlKey || e.metaKey) {
        select(row, 'toggle');
      } else {
        select(row, 'single');
      }
      setActive(row, true);
    });

    grid.addEventListener('dblclick', function (e) {
      var row = e.target.closest('tr[data-id]');
      if (row && !e.target.matches('input')) { openEdit(row); }
    });

    grid.addEventListener('keydown', function (e) {
      var row = e.target.closest('tr[data-id]');
      if (!row || e.target !== row) { return; }
      var rs = rows();
      var i = rs.indexOf(row);
      var next = null;
      switch (e.key) {
        case 'ArrowDown': next = rs[Math.min(i + 1, rs.length - 1)]; break;
        case 'ArrowUp': next = rs[Math.max(i - 1, 0)]; break;
        case 'Home': next = rs[0]; break;
        case 'End': next = rs[rs.length - 1]; break;
        case 'PageDown': next = rs[Math.min(i + 10, rs.length - 1)]; break;
        case 'PageUp': next = rs[Math.max(i - 10, 0)]; break;
        case ' ':
          e.preventDefault();
          select(row, 'toggle');
          return;
        case 'Enter':
          e.preventDefault();
          openEdit(row);
          return;
        case 'Delete':
          if (deleteButton && !deleteButton.disabled) {
            e.preventDefault();
            form.requestSubmit(deleteButton);
          }
          return;
        case 'a':
          if (e.ctrlKey || e.metaKey) {
            e.preventDefault();
            rs.forEach(function (r) { mark(r, true); });
            changed();
          }
          return;
        default:
          return;
      }
      e.preventDefault();
      if (!next) { return; }
      if (e.shiftKey) {
        select(next, 'range');
      } else if (!e.ctrlKey) {
        select(next, 'single');
      }
      setActive(next, true);
    });
  }

  // Menu buttons (the "..." of the Mailboxes toolbar), after the WAI-ARIA
  // menu button pattern: Enter, Space or Down opens the menu on its first
  // item, Up on its last; in the menu the arrows, Home and End move, a
  // letter jumps to the item it starts, Escape closes it and returns to the
  // button, Tab closes it and moves on. Without the script the items are
  // plain links beside the button.
  $$('[data-menu]').forEach(function (wrap) {
    var button = $('[aria-haspopup="menu"]', wrap);
    var list = $('[data-menu-list]', wrap);
    if (!button || !list) { return; }
    var items = $$('[role="menuitem"]', list);
    items.forEach(function (a) { a.tabIndex = -1; });
    list.hidden = true;
    wrap.classList.add('menu-ready');
    function open(at) {
      list.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      var i = at === 'last' ? items.length - 1 : 0;
      if (items[i]) { items[i].focus(); }
    }
    function close(focusButton) {
      list.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      if (focusButton) { button.focus(); }
    }
    button.addEventListener('click', function () {
      if (list.hidden) { open('first'); } else { close(true); }
    });
    button.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown' || e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        e.stopPropagation();
        open('first');
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        e.stopPropagation();
        open('last');
      }
    });
    list.addEventListener('keydown', function (e) {
      var i = items.indexOf(document.activeElement);
      var next = -1;
      switch (e.key) {
        case 'ArrowDown': next = (i + 1) % items.length; break;
        case 'ArrowUp': next = (i + items.length - 1) % items.length; break;
        case 'Home': next = 0; break;
        case 'End': next = items.length - 1; break;
        case 'Escape':
          e.preventDefault();
          e.stopPropagation();
          close(true);
          return;
        case 'Tab':
          close(false);
          return;
        case ' ':
          e.preventDefault();
          e.stopPropagation();
          if (i >= 0) { items[i].click(); }
          return;
        default:
          if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) {
            var k = e.key.toLowerCase();
            for (var j = 1; j <= items.length; j++) {
              var c = items[(i + j) % items.length];
              if (c.textContent.trim().toLowerCase().indexOf(k) === 0) { next = (i + j) % items.length; break; }
            }
          }
          if (next < 0) { return; }
      }
      e.preventDefault();
      e.stopPropagation();
      items[next].focus();
    });
    list.addEventListener('click', function () { close(false); });
    document.addEventListener('mousedown', function (e) {
      if (!list.hidden && !wrap.contains(e.target)) { close(false); }
    });
    wrap.addEventListener('focusout', function (e) {
      if (!list.hidden && e.relatedTarget && !wrap.contains(e.relatedTarget)) { close(false); }
    });
  });

  // A Bulk Edit job's page: the progress follows the job's status, polled
  // twice a second; when the job ends, the page is loaded again with every
  // mailbox's result.
  var job = $('[data-job-status]');
  if (job && job.getAttribute('data-job-state') === 'running') { pollJob(); }

  function pollJob() {
    var url = job.getAttribute('data-job-status');
    var done = $('[data-job-done]', job), totalEl = $('[data-job-total]', job), bar = $('#job-progress');
    function tick() {
      fetch(url, { credentials: 'same-origin', headers: { 'X-Requested-With': 'fetch', 'Accept': 'application/json' } })
        .then(function (r) {
          if (r.status === 401) {
            location.href = r.headers.get('X-Sign-In') || '/admin/signin';
            return null;
          }
          return r.ok ? r.json() : null;
        }).then(function (st) {
          if (!st) { return; }
          if (done) { done.textContent = st.done.toLocaleString('en-US'); }
          if (totalEl && st.total) { totalEl.textContent = st.total.toLocaleString('en-US'); }
          if (bar && st.total) {
            bar.max = st.total;
            bar.value = st.done;
            bar.textContent = Math.floor(st.done * 100 / st.total) + '%';
          }
          if (st.state !== 'running') {
            location.reload();
            return;
          }
          setTimeout(tick, 500);
        }).catch(function () { setTimeout(tick, 2000); });
    }
    setTimeout(tick, 300);
  }

  // The User Mailbox dialog.
  var edit = $('#editform');
  if (edit) { initEdit(); }

  function initEdit() {
    var orig = {
      pop: ($('input[name="orig_pop"]', edit) || {}).value,
      imap: ($('input[name="orig_imap"]', edit) || {}).value,
      smtp: ($('input[name="orig_smtp"]', edit) || {}).value
    };
    var note = $('#pending-note');

    function pendingNote() {
      var changed = ['pop', 'imap', 'smtp'].some(function (p) {
        var input = $('input[data-pending="' + p + '"]', edit);
        return input && input.value !== orig[p];
      });
      if (note) { note.textContent = changed ? 'Not saved yet: choose Save to apply the change, or Cancel to discard it.' : ''; }
    }

    $$('[data-toggle]', edit).forEach(function (link) {
      link.addEventListener('click', function (e) {
        e.preventDefault();
        var p = link.getAttribute('data-toggle');
        var input = $('input[data-pending="' + p + '"]', edit);
        var state = $('[data-state="' + p + '"]', edit);
        if (!input || !state) { return; }
        var on = input.value !== 'true';
        input.value = on ? 'true' : 'false';
        state.textContent = on ? 'Enabled' : 'Disabled';
        link.textContent = on ? 'Disable' : 'Enable';
        pendingNote();
      });
    });

    var tree = $$('[data-section]', edit);
    function show(id, focus) {
      $$('[data-panel]', edit).forEach(function (panel) {
        panel.hidden = panel.getAttribute('data-panel') !== id;
      });
      tree.forEach(function (a) {
        if (a.getAttribute('data-section') === id) { a.setAttribute('aria-current', 'page'); } else { a.removeAttribute('aria-current'); }
      });
      var params = new URLSearchParams(location.search);
      params.set('section', id);
      history.replaceState(null, '', location.pathname + '?' + params.toString());
      if (focus) {
        var heading = $('[data-panel="' + id + '"] h2', edit);
        if (heading) { heading.focus(); }
      }
    }
    tree.forEach(function (a, i) {
      a.addEventListener('click', function (e) {
        e.preventDefault();
        show(a.getAttribute('data-section'), true);
      });
      a.addEventListener('keydown', function (e) {
        var next = null;
        if (e.key === 'ArrowDown') { next = tree[Math.min(i + 1, tree.length - 1)]; }
        if (e.key === 'ArrowUp') { next = tree[Math.max(i - 1, 0)]; }
        if (next) {
          e.preventDefault();
          next.focus();
        }
      });
    });
  }

  // A dialog page takes the focus on the control that asked for it
  // (autofocus: the safe choice, No or Cancel, in a confirmation that
  // destroys something), else on its current section or first control.
  // The browser applies autofocus only after this deferred script has run,
  // so the script must honour it itself: focusing the first control here
  // put Enter on Yes in Delete mailbox.
  if (dialog && (document.activeElement === document.body || !document.activeElement)) {
    var first = $('[autofocus]', dialog) || $('[aria-current="page"]', dialog) || $(focusable, dialog);
    if (first && !first.disabled) { first.focus(); }
  }

  // Recipients > Migration: a chosen CSV file is read into the text area
  // the form sends (the form stays urlencoded, with its CSRF field).
  Array.prototype.forEach.call(document.querySelectorAll('input[type="file"][data-fill]'), function (input) {
    input.addEventListener('change', function () {
      var target = document.getElementById(input.getAttribute('data-fill'));
      var file = input.files && input.files[0];
      if (!target || !file) { return; }
      var reader = new FileReader();
      reader.onload = function () { target.value = reader.result; };
      reader.readAsText(file);
    });
  });
  // A page showing work under way reloads itself while nobody is typing.
  var refresh = document.querySelector('[data-refresh]');
  if (refresh) {
    setTimeout(function () {
      var a = document.activeElement;
      if (!a || a === document.body || a.tagName === 'A' || a.tagName === 'BUTTON') { location.reload(); }
    }, 1000 * Number(refresh.getAttribute('data-refresh')));
  }
}());
