"""The customer-phone page: a WhatsApp-like chat driven by the control API (no build step)."""

from __future__ import annotations

import json

_CSS = """
*{box-sizing:border-box}body{margin:0;font-family:system-ui,-apple-system,Segoe UI,Roboto,
sans-serif;background:#d1d7db;display:flex;justify-content:center;padding:16px}
.phone{width:420px;max-width:100%;height:calc(100vh - 32px);min-height:560px;background:#efeae2;
border-radius:28px;border:10px solid #111;display:flex;flex-direction:column;overflow:hidden;
box-shadow:0 10px 40px rgba(0,0,0,.3)}
header{background:#008069;color:#fff;padding:8px 10px;display:flex;flex-direction:column;gap:6px}
header .row{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
header select,header input{font-size:13px;padding:3px 4px;border-radius:6px;border:0;
max-width:100%}
header label{font-size:12px}
.title{font-weight:600;font-size:15px}.sub{font-size:12px;opacity:.9}
#log{flex:1;overflow-y:auto;padding:10px 12px;display:flex;flex-direction:column;gap:6px}
.msg{max-width:82%;padding:6px 8px 4px;border-radius:8px;font-size:14px;line-height:1.35;
box-shadow:0 1px .5px rgba(0,0,0,.13);position:relative;word-wrap:break-word;
white-space:pre-wrap}
.in{align-self:flex-end;background:#d9fdd3}.out{align-self:flex-start;background:#fff}
.meta{font-size:11px;color:#667781;text-align:right;margin-top:2px;white-space:nowrap}
.ticks.read{color:#53bdeb}.failed{color:#d9534f}
.tpl-header{font-weight:700;margin-bottom:4px}.tpl-footer{font-size:12px;color:#667781;
margin-top:4px}
.tpl-buttons{display:flex;flex-direction:column;margin:6px -8px -4px;border-top:1px solid #e9edef}
.tpl-buttons button,.tpl-buttons a{background:none;border:0;border-bottom:1px solid #e9edef;
color:#027eb5;padding:8px;font-size:14px;cursor:pointer;text-align:center;text-decoration:none}
.quote{border-left:4px solid #06cf9c;background:rgba(0,0,0,.05);padding:3px 6px;
border-radius:4px;font-size:12px;margin-bottom:4px;color:#54656f}
.actions{display:flex;gap:4px;margin-top:3px}.actions button{font-size:11px;border:0;
background:rgba(0,0,0,.06);border-radius:10px;padding:1px 6px;cursor:pointer}
img.media,video.media{max-width:100%;border-radius:6px;display:block;margin-bottom:4px}
.doc{background:#f5f6f6;border-radius:6px;padding:8px;margin-bottom:4px}
.reaction{font-size:12px;color:#54656f}
footer{background:#f0f2f5;padding:6px;display:flex;flex-direction:column;gap:4px}
footer .row{display:flex;gap:6px;align-items:center}
#message{flex:1;border:0;border-radius:18px;padding:9px 12px;font-size:15px}
footer button{border:0;border-radius:18px;background:#008069;color:#fff;padding:8px 12px;
cursor:pointer;font-size:13px}
#replying{font-size:12px;color:#54656f}
.sys{align-self:center;background:#fff5c4;font-size:12px;padding:4px 8px;border-radius:6px}
"""

_JS = r"""
const BASE = __BASE__;
const $ = (id) => document.getElementById(id);
let state = {customer: null, pnid: null, replyTo: null, lastRender: ''};

async function api(path, opts) {
  const res = await fetch(BASE + '/control/' + path, Object.assign({
    headers: {'Content-Type': 'application/json'}}, opts || {}));
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { setStatus((data.error && (data.error.message || data.error)) || res.status); }
  return data;
}
function setStatus(text) { $('status').textContent = String(text); }
function esc(s) { return String(s == null ? '' : s).replace(/[&<>"]/g,
  c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c])); }
function time(ts) { const d = new Date(ts * 1000);
  return d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'}); }
function short(s) { s = String(s || ''); return s.length > 30 ? s.slice(0, 30) + '…' : s; }

async function loadCustomers(keep) {
  const data = await api('customers');
  const sel = $('customer'), biz = $('business');
  const cur = keep || sel.value;
  sel.innerHTML = '';
  (data.customers || []).forEach(c => {
    const o = document.createElement('option');
    o.value = c.wa_id; o.textContent = c.profile_name + ' (+' + c.wa_id + ')';
    sel.appendChild(o);
  });
  if (cur) sel.value = cur;
  if (!sel.value && sel.options.length) sel.selectedIndex = 0;
  const curBiz = biz.value;
  biz.innerHTML = '';
  (data.business_numbers || []).forEach(b => {
    const o = document.createElement('option');
    o.value = b.id;
    o.textContent = b.verified_name + ' ' + b.display_phone_number +
      (b.registered ? '' : ' (not registered)');
    biz.appendChild(o);
  });
  if (curBiz) biz.value = curBiz;
  state.customer = sel.value; state.pnid = biz.value;
  await refresh(true);
}

function ticks(m) {
  if (m.direction === 'in') {
    const cls = m.read_by_business ? 'ticks read' : 'ticks';
    const label = m.read_by_business ? 'Read by business' : 'Delivered to business';
    return '<span class="' + cls + '" aria-label="' + label + '">✓✓</span>';
  }
  if (m.status === 'failed') {
    const e = (m.errors && m.errors[0]) || {};
    return '<span class="failed" aria-label="Failed">⚠ failed ' + esc(e.code || '') + '</span>';
  }
  const t = {accepted: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓'}[m.status] || '';
  return '<span class="ticks ' + (m.status === 'read' ? 'read' : '') + '" aria-label="' +
    esc(m.status) + '">' + t + '</span>';
}

function mediaHtml(m) {
  if (!m.media) return '';
  const mt = m.media.mime_type || '';
  if (mt.startsWith('image/')) return '<img class="media" alt="' + esc(m.type) +
    ' attachment" src="' + esc(m.media.url) + '">';
  if (mt.startsWith('video/')) return '<video class="media" controls aria-label="video"' +
    ' src="' + esc(m.media.url) + '"></video>';
  if (mt.startsWith('audio/')) return '<div class="doc">🎤 voice message</div>';
  return '<div class="doc">📄 <a href="' + esc(m.media.url) + '" target="_blank">' +
    esc(m.filename || 'document') + '</a></div>';
}

function templateHtml(m) {
  const t = m.template; let h = '';
  if (t.header) {
    if (t.header.format === 'TEXT') h += '<div class="tpl-header">' + esc(t.header.text) + '</div>';
    else if (!m.media) h += '<div class="doc">' + esc(t.header.format.toLowerCase()) +
      ' header' + (t.header.link ? ': ' + esc(t.header.link) : '') + '</div>';
  }
  h += mediaHtml(m);
  h += '<div class="tpl-body">' + esc(t.body) + '</div>';
  if (t.footer) h += '<div class="tpl-footer">' + esc(t.footer) + '</div>';
  if (t.buttons && t.buttons.length) {
    h += '<div class="tpl-buttons">';
    t.buttons.forEach(b => {
      if (b.type === 'QUICK_REPLY') {
        h += '<button type="button" data-qr="' + esc(b.text) + '" data-wamid="' + esc(m.wamid) +
          '">↩ ' + esc(b.text) + '</button>';
      } else if (b.type === 'URL') {
        h += '<a href="' + esc(b.url) + '" target="_blank" rel="noopener">↗ ' +
          esc(b.text) + '</a>';
      } else if (b.type === 'PHONE_NUMBER') {
        h += '<a href="tel:' + esc(b.phone_number) + '">📞 ' + esc(b.text) + '</a>';
      } else if (b.type === 'COPY_CODE' || b.type === 'OTP_COPY_CODE') {
        const code = b.coupon_code || (b.url || '').split('code=otp').pop();
        h += '<button type="button" data-copy="' + esc(code) + '">⧉ Copy code ' + esc(code) +
          '</button>';
      } else {
        h += '<button type="button" disabled>' + esc(b.text || b.type) + '</button>';
      }
    });
    h += '</div>';
  }
  return h;
}

function render(data) {
  const msgs = data.messages || [];
  const byId = {}; msgs.forEach(m => byId[m.wamid] = m);
  const reactions = {};
  msgs.filter(m => m.type === 'reaction').forEach(m => { reactions[m.reaction_to] = m; });
  let html = '';
  msgs.forEach(m => {
    if (m.type === 'reaction') return;
    if (m.type === 'system') { html += '<div class="sys">' + esc(m.text) + '</div>'; return; }
    const cls = m.direction === 'in' ? 'msg in' : 'msg out';
    const who = m.direction === 'in' ? 'You' : 'Business';
    html += '<div class="' + cls + '" role="article" aria-label="' + who + ': ' +
      esc(short(m.text || (m.template && m.template.body) || m.type)) + '">';
    if (m.reply_to && byId[m.reply_to]) {
      const q = byId[m.reply_to];
      html += '<div class="quote">' + esc(short(q.text || (q.template && q.template.body) ||
        q.type)) + '</div>';
    }
    if (m.template) html += templateHtml(m);
    else {
      html += mediaHtml(m);
      if (m.text) html += '<div>' + esc(m.text) + '</div>';
      else if (!m.media) html += '<div><i>[' + esc(m.type) + ']</i></div>';
    }
    const r = reactions[m.wamid];
    if (r && r.text) html += '<div class="reaction" aria-label="Reaction ' + esc(r.text) +
      '">' + esc(r.text) + '</div>';
    html += '<div class="meta">' + time(m.timestamp) + ' ' + ticks(m) + '</div>';
    if (m.direction === 'out') {
      html += '<div class="actions"><button type="button" data-react="' + esc(m.wamid) +
        '" aria-label="React 👍 to: ' + esc(short(m.text || (m.template && m.template.body) ||
        m.type)) + '">👍</button><button type="button" data-reply="' + esc(m.wamid) +
        '" aria-label="Reply to: ' + esc(short(m.text || (m.template && m.template.body) ||
        m.type)) + '">↩ Reply</button></div>';
    }
    html += '</div>';
  });
  if (html !== state.lastRender) {
    const log = $('log');
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.innerHTML = html; state.lastRender = html;
    if (atBottom) log.scrollTop = log.scrollHeight;
  }
  const chat = (data.chats || []).find(c => c.phone_number_id === state.pnid);
  $('window').textContent = chat && chat.window_open ?
    'Service window open until ' + new Date(chat.window_expires_at * 1000).toLocaleString() :
    'Service window closed';
  $('receipts').checked = data.read_receipts !== false;
  $('chatname').textContent = data.profile_name || '';
}

async function refresh(force) {
  if (!state.customer) return;
  const data = await api('customers/' + encodeURIComponent(state.customer) +
    '?phone_number_id=' + encodeURIComponent(state.pnid || ''));
  if (force) state.lastRender = '';
  render(data);
}

async function sendCustomer(body) {
  if (state.replyTo && !body.reply_to && body.type !== 'reaction') body.reply_to = state.replyTo;
  body.phone_number_id = state.pnid;
  const res = await api('customers/' + encodeURIComponent(state.customer) + '/messages',
    {method: 'POST', body: JSON.stringify(body)});
  if (res.wamid) setStatus('Sent ' + body.type);
  state.replyTo = null; $('replying').textContent = '';
  await refresh(true);
}

document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button');
  if (!b) return;
  if (b.dataset.qr) await sendCustomer({type: 'button', button_text: b.dataset.qr,
    reply_to: b.dataset.wamid});
  else if (b.dataset.react) await sendCustomer({type: 'reaction', emoji: '👍',
    reaction_to: b.dataset.react});
  else if (b.dataset.reply) { state.replyTo = b.dataset.reply;
    $('replying').textContent = 'Replying to a business message'; $('message').focus(); }
  else if (b.dataset.copy) { try { await navigator.clipboard.writeText(b.dataset.copy); }
    catch (e) {} setStatus('Copied ' + b.dataset.copy); }
});

$('send').addEventListener('click', async () => {
  const text = $('message').value.trim();
  if (!text) return;
  $('message').value = '';
  await sendCustomer({type: 'text', text: text});
});
$('message').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('send').click(); } });
$('customer').addEventListener('change', () => { state.customer = $('customer').value;
  refresh(true); });
$('business').addEventListener('change', () => { state.pnid = $('business').value;
  refresh(true); });
$('markread').addEventListener('click', async () => {
  const r = await api('customers/' + encodeURIComponent(state.customer) + '/read',
    {method: 'POST', body: JSON.stringify({phone_number_id: state.pnid})});
  setStatus('Marked ' + ((r.read || []).length) + ' message(s) read'); await refresh(true);
});
$('receipts').addEventListener('change', async () => {
  await api('customers/' + encodeURIComponent(state.customer), {method: 'PUT',
    body: JSON.stringify({read_receipts: $('receipts').checked})});
});
$('add').addEventListener('click', async () => {
  const num = $('newnumber').value.replace(/[^0-9]/g, '');
  if (!num) { setStatus('Type a number first'); return; }
  await api('customers/' + num, {method: 'PUT',
    body: JSON.stringify({profile_name: $('newname').value || ('Customer ' + num.slice(-4))})});
  $('newnumber').value = ''; $('newname').value = '';
  await loadCustomers(num);
});
async function sendSample(type) { await sendCustomer({type: type,
  caption: $('message').value.trim() || undefined}); $('message').value = ''; }
$('samplephoto').addEventListener('click', () => sendSample('image'));
$('samplepdf').addEventListener('click', () => sendSample('document'));
$('samplevoice').addEventListener('click', () => sendSample('voice'));
$('file').addEventListener('change', async () => {
  const f = $('file').files[0]; if (!f) return;
  const buf = await f.arrayBuffer();
  let bin = ''; const bytes = new Uint8Array(buf);
  for (let i = 0; i < bytes.length; i += 0x8000)
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  const mt = f.type || 'application/octet-stream';
  const type = mt.startsWith('image/') ? 'image' : mt.startsWith('video/') ? 'video' :
    mt.startsWith('audio/') ? 'audio' : 'document';
  await sendCustomer({type: type, media_base64: btoa(bin), mime_type: mt, filename: f.name,
    caption: $('message').value.trim() || undefined});
  $('message').value = ''; $('file').value = '';
});

loadCustomers();
setInterval(() => refresh(false).catch(() => {}), 1000);
"""

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WhatsApp simulator — customer phone</title>
<style>__CSS__</style></head>
<body>
<main class="phone" aria-label="Customer phone">
<header>
  <div class="row"><span class="title">WhatsApp</span>
    <span class="sub" id="chatname" aria-live="polite"></span></div>
  <div class="row">
    <label for="customer">Customer</label>
    <select id="customer" aria-label="Customer"></select>
  </div>
  <div class="row">
    <label for="business">Business number</label>
    <select id="business" aria-label="Business number"></select>
  </div>
  <div class="row">
    <input id="newnumber" aria-label="New customer number" placeholder="New number +1 416…">
    <input id="newname" aria-label="New customer name" placeholder="Name">
    <button type="button" id="add">Add customer</button>
  </div>
  <div class="row">
    <label><input type="checkbox" id="receipts" aria-label="Read receipts" checked>
      Read receipts</label>
    <span class="sub" id="window" aria-live="polite"></span>
  </div>
</header>
<section id="log" role="log" aria-label="Conversation" aria-live="polite"></section>
<footer>
  <div id="replying" aria-live="polite"></div>
  <div class="row">
    <input id="message" aria-label="Message" placeholder="Message" autocomplete="off">
    <button type="button" id="send">Send</button>
  </div>
  <div class="row">
    <button type="button" id="samplephoto">Sample photo</button>
    <button type="button" id="samplepdf">Sample PDF</button>
    <button type="button" id="samplevoice">Voice note</button>
  </div>
  <div class="row">
    <label for="file" style="font-size:12px">Attach file</label>
    <input type="file" id="file" aria-label="Attach file" accept="image/*,video/*,application/pdf">
    <button type="button" id="markread">Mark read</button>
  </div>
  <div class="sub" id="status" role="status" aria-live="polite"></div>
</footer>
</main>
<script>__JS__</script>
</body></html>
"""


def phone_page(base: str) -> str:
    js = _JS.replace("__BASE__", json.dumps(base))
    return _HTML.replace("__CSS__", _CSS).replace("__JS__", js)
