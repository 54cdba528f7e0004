/**
 * Renders the report model into one self-contained HTML file: inline CSS, inline script, the
 * model embedded as JSON. It opens without network access. The memory map and the timeline are
 * SVG drawn to scale on zoomable axes (wheel to zoom around the pointer, drag to pan,
 * double-click or "fit" to reset).
 */
import type { ReportModel } from '../api/report.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
header{padding:16px 24px;background:#12263f;color:#fff}header h1{margin:0 0 4px;font-size:20px}
header .meta{opacity:.85;font-size:13px}
section{margin:16px 24px;padding:12px 16px;background:#fff;border:1px solid #d8dee4;border-radius:6px}
h2{font-size:16px;margin:0 0 8px}
.controls button{margin-right:6px}
svg{display:block;width:100%;user-select:none;cursor:grab;background:#fff}
.lane-label{font-size:11px;fill:#444}
.axis text{font-size:10px;fill:#555}.axis line{stroke:#bbb}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #d8dee4;padding:2px 8px;text-align:right}
th{background:#f0f3f6}
pre{max-height:360px;overflow:auto;background:#0d1117;color:#e6edf3;padding:8px;font-size:12px}
.finding{border-left:4px solid #cf222e;padding:4px 8px;margin:6px 0;background:#fff5f5}
.finding code{display:block;color:#57606a;margin-top:4px}
.none{color:#1a7f37}
#tooltip{position:fixed;pointer-events:none;background:#12263f;color:#fff;font-size:12px;padding:4px 6px;border-radius:4px;display:none;z-index:9}
`;

const SCRIPT = String.raw`
const M = JSON.parse(document.getElementById('model').textContent);
const COLORS = {e820:'#8fb9e0',node:'#d4c5f9',cmr:'#7dc383',seamrr:'#e5534b',private:'#c297ff',memlist:'#57ab5a',tdmr:'#f0b72f',reserved:'#9a6700',pamt:'#e16f24',td:'#a371f7',
  seamcall:'#2f81f7','seamcall-fail':'#cf222e',ipi:'#1f883d',nmi:'#bf3989',wbinvd:'#9a6700',halt:'#6e7781',wake:'#6e7781',kexec:'#e5534b',mark:'#57606a',poison:'#cf222e','stale-writeback':'#cf222e'};
const tip = document.getElementById('tooltip');
function hex(n){return '0x'+Math.round(n).toString(16)}
function size(n){const u=['B','KiB','MiB','GiB','TiB'];let i=0;while(n>=1024&&i<4){n/=1024;i++}return (Math.round(n*100)/100)+' '+u[i]}
function ns(n){return n>=1e9?(n/1e9).toFixed(6)+' s':n>=1e6?(n/1e6).toFixed(3)+' ms':n>=1e3?(n/1e3).toFixed(1)+' us':n+' ns'}
function el(tag,attrs,parent){const e=document.createElementNS('http://www.w3.org/2000/svg',tag);for(const k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e}
function showTip(ev,text){tip.style.display='block';tip.textContent=text;tip.style.left=(ev.clientX+12)+'px';tip.style.top=(ev.clientY+12)+'px'}
function hideTip(){tip.style.display='none'}
function zoomable(svg,state,draw){
  let drag=null;
  svg.addEventListener('wheel',e=>{e.preventDefault();const r=svg.getBoundingClientRect();const f=(e.clientX-r.left-state.left)/(r.width-state.left-10);const x=state.v0+f*(state.v1-state.v0);const k=e.deltaY<0?0.8:1.25;let w=(state.v1-state.v0)*k;w=Math.max(w,state.minSpan);state.v0=Math.max(state.lo,x-f*w);state.v1=Math.min(state.hi,state.v0+w);draw()},{passive:false});
  svg.addEventListener('mousedown',e=>{drag={x:e.clientX,v0:state.v0,v1:state.v1}});
  window.addEventListener('mouseup',()=>{drag=null});
  window.addEventListener('mousemove',e=>{if(!drag)return;const r=svg.getBoundingClientRect();const dx=(e.clientX-drag.x)/(r.width-state.left-10)*(drag.v1-drag.v0);let v0=drag.v0-dx,v1=drag.v1-dx;if(v0<state.lo){v1+=state.lo-v0;v0=state.lo}if(v1>state.hi){v0-=v1-state.hi;v1=state.hi}state.v0=v0;state.v1=v1;draw()});
  svg.addEventListener('dblclick',()=>{state.v0=state.lo;state.v1=state.hi;draw()});
}
function axis(svg,state,y,W,fmt){const g=el('g',{class:'axis'},svg);const n=8;for(let i=0;i<=n;i++){const v=state.v0+(state.v1-state.v0)*i/n;const x=state.left+(W-state.left-10)*i/n;el('line',{x1:x,x2:x,y1:y,y2:y+4},g);const t=el('text',{x:x,y:y+15,'text-anchor':i===0?'start':i===n?'end':'middle'},g);t.textContent=fmt(v)}}
// Memory map.
(function(){
  const svg=document.getElementById('memory-map');const lanes=M.memory.lanes;const LH=26,left=130;const H=lanes.length*LH+30;svg.setAttribute('height',H);
  const st={lo:0,hi:M.memory.maxAddr,v0:0,v1:M.memory.maxAddr,left:left,minSpan:4096};
  function draw(){svg.innerHTML='';const W=svg.getBoundingClientRect().width||1000;const sx=v=>left+(v-st.v0)/(st.v1-st.v0)*(W-left-10);
    lanes.forEach((lane,i)=>{const y=i*LH+4;const t=el('text',{x:4,y:y+15,class:'lane-label'},svg);t.textContent=lane.name+' ('+lane.regions.length+')';
      el('line',{x1:left,x2:W-10,y1:y+LH-4,y2:y+LH-4,stroke:'#eee'},svg);
      for(const r of lane.regions){if(r.end<st.v0||r.base>st.v1)continue;const x0=Math.max(left,sx(r.base)),x1=Math.min(W-10,sx(r.end));const rect=el('rect',{x:x0,y:y+2,width:Math.max(1,x1-x0),height:LH-8,fill:COLORS[lane.kind]||'#999','data-lane':lane.kind},svg);
        const text=lane.name+': '+r.label+'  ['+hex(r.base)+', '+hex(r.end)+')  '+size(r.end-r.base);rect.addEventListener('mousemove',e=>showTip(e,text));rect.addEventListener('mouseleave',hideTip);
        if(x1-x0>60){const lt=el('text',{x:x0+3,y:y+15,'font-size':10,fill:'#111','pointer-events':'none'},svg);lt.textContent=r.label}}});
    axis(svg,st,lanes.length*LH+4,W,v=>hex(v));document.getElementById('map-window').textContent='['+hex(st.v0)+', '+hex(st.v1)+')  '+size(st.v1-st.v0)}
  zoomable(svg,st,draw);document.getElementById('map-fit').onclick=()=>{st.v0=st.lo;st.v1=st.hi;draw()};
  document.getElementById('map-in').onclick=()=>{const c=(st.v0+st.v1)/2,w=Math.max(st.minSpan,(st.v1-st.v0)/4);st.v0=Math.max(st.lo,c-w);st.v1=Math.min(st.hi,c+w);draw()};
  window.addEventListener('resize',draw);draw();
})();
// Timeline.
(function(){
  const svg=document.getElementById('timeline');const cpus=M.timeline.cpus;const LH=24,left=70;svg.setAttribute('height',Math.max(1,cpus.length)*LH+30);
  const hi=Math.max(1,M.timeline.tEnd);const st={lo:0,hi:hi,v0:0,v1:hi,left:left,minSpan:10};
  function draw(){svg.innerHTML='';const W=svg.getBoundingClientRect().width||1000;const sx=v=>left+(v-st.v0)/(st.v1-st.v0)*(W-left-10);
    cpus.forEach((c,i)=>{const y=i*LH+4;const t=el('text',{x:4,y:y+15,class:'lane-label'},svg);t.textContent='CPU '+c;el('line',{x1:left,x2:W-10,y1:y+LH/2,y2:y+LH/2,stroke:'#eee'},svg)});
    for(const e of M.timeline.events){const i=cpus.indexOf(e.cpu);if(i<0)continue;const end=e.end===undefined?e.t:e.end;if(end<st.v0||e.t>st.v1)continue;const y=i*LH+4;const x0=Math.max(left,sx(e.t)),x1=Math.min(W-10,sx(end));
      const r=el('rect',{x:x0-(e.end===undefined?1:0),y:y+3,width:Math.max(2,x1-x0),height:LH-8,fill:COLORS[e.kind]||'#999','data-kind':e.kind},svg);const text='CPU '+e.cpu+' @ '+ns(e.t)+(e.end!==undefined?' .. '+ns(e.end):'')+': '+e.label;r.addEventListener('mousemove',ev=>showTip(ev,text));r.addEventListener('mouseleave',hideTip)}
    axis(svg,st,cpus.length*LH+4,W,v=>ns(v))}
  zoomable(svg,st,draw);document.getElementById('tl-fit').onclick=()=>{st.v0=st.lo;st.v1=st.hi;draw()};window.addEventListener('resize',draw);draw();
})();
// Caches.
(function(){
  const sel=document.getElementById('cache-moment');const out=document.getElementById('cache-table');
  M.caches.forEach((m,i)=>{const o=document.createElement('option');o.value=i;o.textContent=m.label+' ('+ns(m.t)+')';sel.appendChild(o)});
  function show(){const m=M.caches[sel.value];const keys=[...new Set(m.cpus.flatMap(c=>c.dirty.map(d=>d.keyId)))].sort((a,b)=>a-b);
    if(m.cpus.length===0){out.innerHTML='<p class="none">No dirty lines in any cache.</p>';return}
    let h='<table><tr><th>CPU</th>'+keys.map(k=>'<th>KeyID '+k+'</th>').join('')+'</tr>';for(const c of m.cpus){h+='<tr><th>'+c.cpu+'</th>'+keys.map(k=>{const d=c.dirty.find(x=>x.keyId===k);return '<td>'+(d?d.lines:'')+'</td>'}).join('')+'</tr>'}out.innerHTML=h+'</table>'}
  sel.onchange=show;sel.value=String(M.caches.length-1);show();
})();
`;

/** The whole report page. */
export function renderReport(m: ReportModel): string {
  const findings =
    m.findings.length === 0
      ? '<p class="none">No findings.</p>'
      : m.findings.map((f) => `<div class="finding"><b>[${esc(f.class)}]</b> ${esc(f.message)}<code>${esc(f.replay)}</code></div>`).join('\n');
  const meta = [
    `platform ${m.platform.name} (${m.platform.cpuModel}, ${m.platform.packages} packages, ${m.platform.cpus} CPUs)`,
    m.kernel === null ? 'bare platform' : `kernel ${m.kernel}${m.module === null ? '' : `, module ${m.module}`}`,
    `seed ${m.seed}`,
    m.variant === null ? '' : `variant ${m.variant}`,
    m.verdict,
  ]
    .filter((x) => x !== '')
    .join(' · ');
  // `</` cannot appear inside the embedded JSON script element.
  const json = JSON.stringify(m).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(m.title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(m.title)}</h1><div class="meta">${esc(meta)}</div>${m.description === '' ? '' : `<div class="meta">${esc(m.description)}</div>`}</header>
<section id="findings"><h2>Findings</h2>${findings}</section>
<section><h2>Physical memory map</h2><div class="controls"><button id="map-fit">fit</button><button id="map-in">zoom in</button> <span id="map-window"></span> · wheel to zoom, drag to pan</div><svg id="memory-map" role="img" aria-label="physical memory map"></svg></section>
<section><h2>Per-CPU timeline</h2><div class="controls"><button id="tl-fit">fit</button> SEAMCALLs, IPIs, NMIs, WBINVDs, halts, kexec</div><svg id="timeline" role="img" aria-label="per-CPU timeline"></svg></section>
<section id="caches"><h2>Dirty cache lines by KeyID</h2><label>moment <select id="cache-moment"></select></label><div id="cache-table"></div></section>
<section><h2>dmesg</h2><pre id="dmesg">${esc(m.dmesg.join('\n'))}</pre></section>
<div id="tooltip"></div>
<script type="application/json" id="model">${json}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
