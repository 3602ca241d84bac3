// The dfs name node status page: polls /api/status every 2 s and renders it.
// Plain browser JavaScript with no dependencies (the page's CSP allows only this origin's files);
// everything is written with textContent, never innerHTML, so names from the cluster cannot inject markup.
'use strict';

(function () {
  const REFRESH_MS = 2000;

  const $ = (selector, root) => (root || document).querySelector(selector);

  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
  }

  function age(ms) {
    if (ms < 1000) return 'just now';
    const s = Math.round(ms / 1000);
    if (s < 120) return s + ' s ago';
    const m = Math.round(s / 60);
    if (m < 120) return m + ' min ago';
    return Math.round(m / 60) + ' h ago';
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour12: false });
  }

  function setField(root, name, text) {
    const el = $('[data-field="' + name + '"]', root);
    if (el) el.textContent = text;
  }

  function renderSummary(s) {
    const root = $('#summary');
    setField(root, 'used', bytes(s.used));
    setField(root, 'capacity', bytes(s.capacity));
    setField(root, 'available', bytes(s.available));
    const usage = $('#cluster-usage');
    usage.value = s.capacity > 0 ? s.used / s.capacity : 0;
    usage.title = s.capacity > 0 ? ((100 * s.used) / s.capacity).toFixed(1) + '% used' : 'no capacity';
    for (const name of ['files', 'directories', 'chunks', 'underReplicated', 'missing', 'liveNodes', 'deadNodes']) {
      setField(root, name, s[name].toLocaleString());
    }
    setField(root, 'replication', String(s.replication));
    setField(root, 'safeMode', s.safeMode ? 'ON' : 'off');
    setField(root, 'secured', s.secured ? 'secured' : 'open');
    for (const card of root.querySelectorAll('[data-alert-field]')) {
      card.dataset.alert = String(s[card.dataset.alertField] > 0);
    }
  }

  function renderNodes(nodes) {
    const body = $('#nodes tbody');
    const template = $('#node-row');
    const rows = nodes.map((n) => {
      const row = template.content.firstElementChild.cloneNode(true);
      row.dataset.nodeId = n.id;
      row.dataset.state = n.state;
      setField(row, 'id', n.id);
      setField(row, 'address', n.address);
      const badge = $('[data-field="state"]', row);
      badge.textContent = n.state;
      badge.dataset.state = n.state;
      const meter = $('meter', row);
      meter.value = n.capacity > 0 ? n.used / n.capacity : 0;
      const pct = n.capacity > 0 ? ((100 * n.used) / n.capacity).toFixed(1) + '%' : '–';
      meter.title = pct;
      setField(row, 'disk', bytes(n.used) + ' / ' + bytes(n.capacity) + ' (' + pct + ')');
      setField(row, 'chunks', n.chunks.toLocaleString());
      setField(row, 'heartbeat', age(n.lastHeartbeatAgeMs));
      const labels = $('[data-field="labels"]', row);
      for (const l of n.labels) {
        const chip = document.createElement('span');
        chip.className = 'label-chip';
        chip.textContent = l;
        labels.append(chip);
      }
      return row;
    });
    body.replaceChildren(...rows);
    $('#no-nodes').hidden = nodes.length > 0;
  }

  function renderEvents(events) {
    const list = $('#events');
    const items = events.map((e) => {
      const li = document.createElement('li');
      li.dataset.seq = String(e.seq);
      const time = document.createElement('time');
      time.dateTime = new Date(e.timeMs).toISOString();
      time.textContent = clock(e.timeMs);
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.dataset.kind = e.kind;
      kind.textContent = e.kind.replace(/-/g, ' ');
      const message = document.createElement('span');
      message.textContent = e.message;
      li.append(time, kind, message);
      return li;
    });
    list.replaceChildren(...items);
    $('#no-events').hidden = events.length > 0;
  }

  function setConnection(state, text) {
    const el = $('#connection');
    el.dataset.state = state;
    el.textContent = text;
  }

  async function refresh() {
    try {
      const res = await fetch('/api/status', { cache: 'no-store', headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const status = await res.json();
      $('#cluster-id').textContent = status.clusterId;
      renderSummary(status.summary);
      renderNodes(status.nodes);
      renderEvents(status.events);
      $('#updated').textContent = clock(status.generatedMs);
      document.body.dataset.generated = String(status.generatedMs);
      setConnection('ok', 'live');
    } catch (err) {
      setConnection('error', 'name node unreachable (' + err.message + ')');
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  refresh();
})();
