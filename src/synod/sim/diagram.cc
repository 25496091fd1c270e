#include "synod/sim/diagram.h"

#include <fstream>
#include <sstream>

namespace synod::sim {
namespace {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '<') {
      out += "\\u003c";  // never close the script element early
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The page's script: draws the data in an SVG, wheel to zoom, drag to pan.
constexpr const char* kPage = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>TITLE</title>
<style>
body{font:12px sans-serif;margin:0;background:#fff}
#bar{padding:6px 10px;border-bottom:1px solid #ccc;position:sticky;top:0;background:#f7f7f7}
#bar b{margin-right:12px} #info{color:#444;margin-left:12px}
svg{display:block;cursor:grab} .lane{stroke:#999} .lab{fill:#222;font-weight:bold}
.msg{stroke:#1f6fd1;stroke-width:1;fill:none} .lost{stroke:#d11f1f;stroke-dasharray:3 2}
.cli{stroke:#2a9d3f} .down{fill:#d11f1f;opacity:.18} .paused{fill:#e0a000;opacity:.25}
.part{fill:#7a3fd1;opacity:.08} .note{fill:#000} .byz{fill:#000;opacity:.15}
</style></head><body>
<div id="bar"><b>TITLE</b> wheel: zoom, drag: pan, click an arrow: details
<span id="info"></span></div>
<svg id="svg"></svg>
<script>
(function () {
const D = DATA;
const svg = document.getElementById('svg'), info = document.getElementById('info');
const laneH = 34, left = 90, top0 = 24;
const lanes = D.lanes.length, H = top0 + lanes * laneH + 20;
let W = window.innerWidth, t0 = 0, t1 = D.end;
function x(t){ return left + (t - t0) / (t1 - t0) * (W - left - 20); }
function y(l){ return top0 + l * laneH + laneH / 2; }
function ms(t){ return (t / 1e6).toFixed(3) + 'ms'; }
function el(n, a, txt){ const e = document.createElementNS('http://www.w3.org/2000/svg', n);
  for (const k in a) e.setAttribute(k, a[k]); if (txt) e.textContent = txt; return e; }
function draw(){
  W = window.innerWidth; svg.setAttribute('width', W); svg.setAttribute('height', H);
  svg.innerHTML = '<defs><marker id="h" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L6,3L0,6z" fill="#555"/></marker></defs>';
  for (const s of D.spans) { if (s.b < t0 || s.a > t1) continue;
    const x0 = Math.max(x(s.a), left), x1 = Math.min(x(s.b), W);
    if (s.lane < 0) svg.appendChild(el('rect', {x:x0, y:top0, width:Math.max(1,x1-x0), height:lanes*laneH, class:s.k}));
    else svg.appendChild(el('rect', {x:x0, y:y(s.lane)-laneH/2+2, width:Math.max(1,x1-x0), height:laneH-4, class:s.k}));
    if (s.k === 'part' && x1 - x0 > 60) svg.appendChild(el('text', {x:x0+3, y:top0-4}, s.t)); }
  for (let l = 0; l < lanes; ++l) {
    svg.appendChild(el('line', {x1:left, x2:W-20, y1:y(l), y2:y(l), class:'lane'}));
    svg.appendChild(el('text', {x:8, y:y(l)+4, class:'lab'}, D.lanes[l])); }
  let drawn = 0;
  for (const m of D.msgs) { const end = m[3] >= 0 ? m[3] : m[2] + (t1 - t0) / 200;
    if (end < t0 || m[2] > t1) continue; if (++drawn > 20000) break;
    const cls = 'msg' + (m[3] < 0 ? ' lost' : '') + (m[0] >= D.nodes || m[1] >= D.nodes ? ' cli' : '');
    const yy = m[3] < 0 ? (y(m[0]) + y(m[1])) / 2 : y(m[1]);
    const ln = el('line', {x1:x(m[2]), y1:y(m[0]), x2:x(end), y2:yy, class:cls});
    if (m[3] >= 0) ln.setAttribute('marker-end', 'url(#h)');
    ln.onclick = () => { info.textContent = D.lanes[m[0]] + ' -> ' + D.lanes[m[1]] + ': ' + m[4] +
      ' sent ' + ms(m[2]) + (m[3] >= 0 ? ', delivered ' + ms(m[3]) : ', lost'); };
    const t = el('title', {}, m[4]); ln.appendChild(t); svg.appendChild(ln); }
  if (drawn > 20000) info.textContent = 'zoom in to see every message';
  for (const n of D.marks) { if (n.at < t0 || n.at > t1) continue;
    const c = el('circle', {cx:x(n.at), cy:y(n.lane), r:3, class:'note'});
    c.appendChild(el('title', {}, ms(n.at) + ' ' + n.t)); c.onclick = () => { info.textContent = ms(n.at) + ' ' + D.lanes[n.lane] + ': ' + n.t; };
    svg.appendChild(c); }
  for (let i = 0; i <= 10; ++i) { const t = t0 + (t1 - t0) * i / 10;
    svg.appendChild(el('line', {x1:x(t), x2:x(t), y1:top0-6, y2:top0, class:'lane'}));
    svg.appendChild(el('text', {x:x(t)-20, y:top0-9, 'font-size':10}, ms(t))); }
}
svg.addEventListener('wheel', e => { e.preventDefault(); const f = e.deltaY > 0 ? 1.25 : 0.8;
  const tm = t0 + (e.offsetX - left) / (W - left - 20) * (t1 - t0);
  t0 = Math.max(0, tm - (tm - t0) * f); t1 = Math.min(D.end, tm + (t1 - tm) * f); if (t1 - t0 < 1000) t1 = t0 + 1000; draw(); });
let drag = null;
svg.addEventListener('mousedown', e => drag = {x:e.clientX, t0, t1});
window.addEventListener('mouseup', () => drag = null);
window.addEventListener('mousemove', e => { if (!drag) return; const dt = (e.clientX - drag.x) / (W - left - 20) * (drag.t1 - drag.t0);
  t0 = Math.max(0, drag.t0 - dt); t1 = t0 + (drag.t1 - drag.t0); draw(); });
window.addEventListener('resize', draw);
if (D.leftOut) info.textContent = D.leftOut + ' later messages not drawn (limit reached)';
t1 = Math.min(D.end, D.firstView); draw();
})();
</script></body></html>
)HTML";

}  // namespace

// The page opens on the first few dozen messages, where arrows are readable.
int64_t Diagram::first_view(int64_t end_ns) const {
  constexpr size_t kMessagesInFirstView = 60;
  if (messages_.size() <= kMessagesInFirstView) return end_ns;
  auto it = messages_.begin();
  std::advance(it, kMessagesInFirstView);
  return std::max<int64_t>(it->second.sent, 1'000'000);
}

int Diagram::lane(ProcessId p) const {
  return is_client(p) ? nodes_ + static_cast<int>(p - kFirstClientId) : static_cast<int>(p);
}

void Diagram::add(const TraceEvent& e) {
  using T = TraceEvent::Type;
  switch (e.type) {
    case T::kSend:
      if (messages_.size() >= kMaxDiagramMessages) {
        ++messages_left_out_;
        return;
      }
      messages_[e.message] = Message{e.process, e.peer, e.at, -1, false, std::string(e.text)};
      return;
    case T::kDeliver: {
      auto it = messages_.find(e.message);
      if (it != messages_.end()) it->second.arrived = e.at;
      return;
    }
    case T::kDrop: {
      auto it = messages_.find(e.message);
      if (it != messages_.end()) it->second.dropped = true;
      return;
    }
    case T::kTimer:
    case T::kSynced:
    case T::kCallFailed:
    case T::kClientCall:
    case T::kClientReturn:
      return;  // too many to draw usefully; the JSON trace has them
    default:
      marks_.push_back(
          {e.at, e.process, std::string(trace_type_name(e.type)), std::string(e.text)});
  }
}

bool Diagram::write(const std::string& path, const std::string& title, int64_t end_ns) const {
  std::ostringstream data;
  data << "{\"nodes\":" << nodes_ << ",\"end\":" << end_ns << ",\"leftOut\":" << messages_left_out_
       << ",\"firstView\":" << first_view(end_ns) << ",\"lanes\":[";
  for (int i = 0; i < nodes_ + clients_; ++i)
    data << (i ? "," : "") << "\""
         << (i < nodes_ ? "node " + std::to_string(i) : "client " + std::to_string(i - nodes_))
         << "\"";
  data << "],\"msgs\":[";
  bool first = true;
  for (const auto& [id, m] : messages_) {
    data << (first ? "" : ",") << "[" << lane(m.from) << "," << lane(m.to) << "," << m.sent << ","
         << (m.dropped ? -1 : m.arrived) << "," << json_string(m.label) << "]";
    first = false;
  }
  // Spans: down (crash/stop to restart), paused, partitions, byzantine.
  data << "],\"spans\":[";
  first = true;
  auto span = [&](int64_t a, int64_t b, int lane_index, const char* kind, const std::string& text) {
    data << (first ? "" : ",") << "{\"a\":" << a << ",\"b\":" << b << ",\"lane\":" << lane_index
         << ",\"k\":\"" << kind << "\",\"t\":" << json_string(text) << "}";
    first = false;
  };
  std::map<int, int64_t> down_since, paused_since, byzantine_since;
  int64_t partition_since = -1;
  std::string partition_text;
  for (const Mark& m : marks_) {
    int l = lane(m.process);
    if (m.kind == "crash" || m.kind == "stop") down_since[l] = m.at;
    if (m.kind == "restart" && down_since.count(l)) {
      span(down_since[l], m.at, l, "down", "down");
      down_since.erase(l);
    }
    if (m.kind == "pause") paused_since[l] = m.at;
    if (m.kind == "resume" && paused_since.count(l)) {
      span(paused_since[l], m.at, l, "paused", "paused");
      paused_since.erase(l);
    }
    if (m.kind == "byzantine") {
      if (m.text.rfind("honest", 0) == 0 && byzantine_since.count(l)) {
        span(byzantine_since[l], m.at, l, "byz", "byzantine");
        byzantine_since.erase(l);
      } else if (m.text.rfind("honest", 0) != 0) {
        byzantine_since[l] = m.at;
      }
    }
    if (m.kind == "partition") {
      partition_since = m.at;
      partition_text = m.text;
    }
    if (m.kind == "heal" && partition_since >= 0) {
      span(partition_since, m.at, -1, "part", partition_text);
      partition_since = -1;
    }
  }
  for (const auto& [l, since] : down_since)
    span(since, end_ns, l, "down", "down");
  for (const auto& [l, since] : paused_since)
    span(since, end_ns, l, "paused", "paused");
  for (const auto& [l, since] : byzantine_since)
    span(since, end_ns, l, "byz", "byzantine");
  if (partition_since >= 0) span(partition_since, end_ns, -1, "part", partition_text);
  data << "],\"marks\":[";
  first = true;
  for (const Mark& m : marks_) {
    data << (first ? "" : ",") << "{\"at\":" << m.at << ",\"lane\":" << lane(m.process)
         << ",\"t\":" << json_string(m.kind + (m.text.empty() ? "" : ": " + m.text)) << "}";
    first = false;
  }
  data << "]}";

  std::string page = kPage;
  auto replace_all = [&page](std::string_view from, const std::string& to) {
    for (size_t at = page.find(from); at != std::string::npos; at = page.find(from, at + to.size()))
      page.replace(at, from.size(), to);
  };
  std::string safe_title = title;
  for (char& c : safe_title)
    if (c == '<' || c == '>' || c == '&') c = ' ';
  replace_all("TITLE", safe_title);
  replace_all("DATA", data.str());

  std::ofstream out(path);
  out << page;
  return static_cast<bool>(out);
}

}  // namespace synod::sim
