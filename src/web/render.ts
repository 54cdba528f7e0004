/**
 * Renders the report model into one self-contained HTML file: inline CSS, inline script, the
 * model and its chart layout embedded as JSON. It opens without network access and prints.
 *
 * - Findings come first; clicking one marks its lines on the memory map (zoomed to them), its
 *   CPU, its stale write-backs and its moment on the sequence chart, and shows the caches then.
 * - The sequence chart has one lane per CPU (folded by package: see layout.ts), SEAMCALLs as
 *   labelled spans, IPIs and NMIs as arrows from sender to receiver, kernel epochs as bands, the
 *   kexec jump, and a broken time axis. Clicking it picks a moment for the cache view.
 * - The cache view lists, per CPU, the dirty lines by address and KeyID at the chosen moment.
 * - With a second execution, both charts are drawn with the first divergence marked.
 *
 * Zoom: wheel around the pointer, drag to pan, double-click or "fit" to reset.
 * The page holds no clock or random value: the same model gives the same bytes.
 */
import type { ExecutionModel, ReportModel } from '../api/report.js';
import { chartLayout, fmtDuration, fmtTime, niceStep, niceStep2, tToU, uToT } from './layout.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
header{padding:16px 24px;background:#12263f;color:#fff}header h1{margin:0 0 4px;font-size:20px}
header .meta{opacity:.85;font-size:13px}
header .verdict{display:inline-block;margin-top:6px;padding:2px 8px;border-radius:4px;font-weight:600}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}
section{margin:16px 24px;padding:12px 16px;background:#fff;border:1px solid #d8dee4;border-radius:6px}
h2{font-size:16px;margin:0 0 8px}h3{font-size:14px;margin:12px 0 4px}
.controls{font-size:12px;color:#57606a;margin-bottom:4px}.controls button{margin-right:6px}
svg{display:block;width:100%;user-select:none;background:#fff}
svg.zoom{cursor:crosshair}
.lane-label{font-size:11px;fill:#24292f}
.ev-label{font-size:10px;fill:#24292f;pointer-events:none}
.span-label{font-size:10px;fill:#fff;pointer-events:none}
.epoch-label{font-size:10px;fill:#57606a;font-style:italic}
.axis text{font-size:10px;fill:#57606a}.axis line{stroke:#bbb}
.break-label{font-size:10px;fill:#8c959f}
.lane-bg.hl{fill:#fff8c5}
rect.hl-ev{stroke:#cf222e;stroke-width:2}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #d8dee4;padding:2px 8px;text-align:right;font-family:ui-monospace,monospace}
th{background:#f0f3f6}tr.hl td{background:#ffebe9}
pre{max-height:360px;overflow:auto;background:#0d1117;color:#e6edf3;padding:8px;font-size:12px}
.finding{border-left:4px solid #cf222e;padding:4px 8px;margin:6px 0;background:#fff5f5;cursor:pointer}
.finding.selected{background:#ffd8d3;outline:2px solid #cf222e}
.finding code{display:block;color:#57606a;margin-top:4px}
.none{color:#1a7f37}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:6px 0}
.legend span{display:inline-flex;align-items:center;gap:4px}
.legend i{display:inline-block;width:14px;height:10px;border-radius:2px}
.divergence-note{color:#8250df;font-weight:600}
#tooltip{position:fixed;pointer-events:none;background:#12263f;color:#fff;font-size:12px;padding:4px 6px;border-radius:4px;display:none;z-index:9}
@media print{
 body{background:#fff}header{background:#fff;color:#000;border-bottom:2px solid #000}
 .controls,#tooltip,button,select{display:none}
 section{border:none;margin:8px 0;padding:0;break-inside:avoid}
 pre{max-height:none;white-space:pre-wrap;background:#fff;color:#000;border:1px solid #999}
 .verdict.pass,.verdict.fail{color:#000;border:1px solid #000;background:#fff}
}
`;

/** Colours of the chart's event kinds and the map's lanes (the legend shows them). */
const COLORS: Record<string, string> = {
  e820: '#8fb9e0',
  node: '#d4c5f9',
  cmr: '#7dc383',
  seamrr: '#e5534b',
  private: '#c297ff',
  memlist: '#57ab5a',
  tdmr: '#f0b72f',
  reserved: '#9a6700',
  pamt: '#e16f24',
  td: '#a371f7',
  newkernel: '#0969da',
  crashkernel: '#1b7c83',
  overwritten: '#cf222e',
  seamcall: '#2f81f7',
  'seamcall-fail': '#a40e26',
  ipi: '#1f883d',
  nmi: '#bf3989',
  wbinvd: '#9a6700',
  halt: '#6e7781',
  wake: '#afb8c1',
  kexec: '#fb8f44',
  mark: '#57606a',
  poison: '#000000',
  'stale-writeback': '#cf222e',
};

const LEGEND: [string, string][] = [
  ['seamcall', 'SEAMCALL (span: a run of one leaf)'],
  ['seamcall-fail', 'failed SEAMCALL'],
  ['ipi', 'IPI, sender → receiver'],
  ['nmi', 'NMI, sender → receiver'],
  ['wbinvd', 'WBINVD'],
  ['halt', 'HLT'],
  ['wake', 'woken'],
  ['kexec', 'kexec path (kernel_kexec, stop_this_cpu, relocate_kernel, jump)'],
  ['stale-writeback', 'stale write-back'],
  ['poison', 'poison'],
];

const SCRIPT = String.raw`
const M = JSON.parse(document.getElementById('model').textContent);
const L = JSON.parse(document.getElementById('layout').textContent);
const COLORS = JSON.parse(document.getElementById('colors').textContent);
const tip = document.getElementById('tooltip');
function hex(n){return '0x'+Math.round(n).toString(16)}
function size(n){const u=['B','KiB','MiB','GiB','TiB'];let i=0;while(n>=1024&&i<4){n/=1024;i++}return (Math.round(n*100)/100)+' '+u[i]}
function el(tag,attrs,parent){const e=document.createElementNS('http://www.w3.org/2000/svg',tag);for(const k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e}
function showTip(ev,text){tip.style.display='block';tip.textContent=text;tip.style.left=(ev.clientX+12)+'px';tip.style.top=(ev.clientY+12)+'px'}
function hideTip(){tip.style.display='none'}
function hover(node,text){node.addEventListener('mousemove',e=>showTip(e,text));node.addEventListener('mouseleave',hideTip);const t=el('title',{},node);t.textContent=text}
function zoomable(svg,st,draw){
  let drag=null,moved=false;
  svg.addEventListener('wheel',e=>{e.preventDefault();const r=svg.getBoundingClientRect();const f=Math.min(1,Math.max(0,(e.clientX-r.left-st.left)/(r.width-st.left-10)));const x=st.v0+f*(st.v1-st.v0);const k=e.deltaY<0?0.8:1.25;let w=(st.v1-st.v0)*k;w=Math.min(st.hi-st.lo,Math.max(w,st.minSpan));st.v0=Math.max(st.lo,x-f*w);st.v1=Math.min(st.hi,st.v0+w);st.v0=Math.max(st.lo,st.v1-w);draw()},{passive:false});
  svg.addEventListener('mousedown',e=>{drag={x:e.clientX,v0:st.v0,v1:st.v1};moved=false});
  window.addEventListener('mouseup',()=>{drag=null});
  window.addEventListener('mousemove',e=>{if(!drag)return;if(Math.abs(e.clientX-drag.x)>3)moved=true;if(!moved)return;const r=svg.getBoundingClientRect();const dx=(e.clientX-drag.x)/(r.width-st.left-10)*(drag.v1-drag.v0);let v0=drag.v0-dx,v1=drag.v1-dx;if(v0<st.lo){v1+=st.lo-v0;v0=st.lo}if(v1>st.hi){v0-=v1-st.hi;v1=st.hi}st.v0=v0;st.v1=v1;draw()});
  svg.addEventListener('dblclick',()=>{st.v0=st.lo;st.v1=st.hi;draw()});
  return ()=>moved;
}
const state={finding:-1,moment:null};
const redraws=[];
function redrawAll(){for(const r of redraws)r()}

// Memory map.
const map=(function(){
  const ex=M.main;const svg=document.getElementById('memory-map');const lanes=ex.memory.lanes;const LH=24,left=190;const H=lanes.length*LH+34;svg.setAttribute('height',H);
  const st={lo:0,hi:ex.memory.maxAddr,v0:0,v1:ex.memory.maxAddr,left:left,minSpan:4096};
  function draw(){svg.innerHTML='';const W=svg.getBoundingClientRect().width||1000;const sx=v=>left+(v-st.v0)/(st.v1-st.v0)*(W-left-10);
    lanes.forEach((lane,i)=>{const y=i*LH+4;const t=el('text',{x:4,y:y+15,class:'lane-label'},svg);t.textContent=lane.name+' ('+lane.regions.length+')';
      el('line',{x1:left,x2:W-10,y1:y+LH-3,y2:y+LH-3,stroke:'#eee'},svg);
      for(const r of lane.regions){if(r.end<st.v0||r.base>st.v1)continue;const x0=Math.max(left,sx(r.base)),x1=Math.min(W-10,sx(r.end));const rect=el('rect',{x:x0,y:y+2,width:Math.max(1,x1-x0),height:LH-7,fill:COLORS[lane.kind]||'#999','data-lane':lane.kind},svg);
        hover(rect,lane.name+': '+r.label+'  ['+hex(r.base)+', '+hex(r.end)+')  '+size(r.end-r.base));
        if(x1-x0>60){const lt=el('text',{x:x0+3,y:y+14,'font-size':10,fill:'#111','pointer-events':'none'},svg);lt.textContent=r.label}}});
    const f=ex.findings[state.finding];
    if(f){for(const r of f.ranges){const x0=Math.max(left,sx(r.base)),x1=Math.min(W-10,sx(r.end));if(x1<left||x0>W-10)continue;const h=el('rect',{class:'hl',x:x0-1,y:0,width:Math.max(3,x1-x0+2),height:lanes.length*LH+4,fill:'rgba(207,34,46,0.18)',stroke:'#cf222e','stroke-width':1.5,'data-base':hex(r.base),'data-end':hex(r.end)},svg);hover(h,'finding '+(state.finding+1)+': ['+hex(r.base)+', '+hex(r.end)+')')}}
    const g=el('g',{class:'axis'},svg);const y=lanes.length*LH+6;const step=niceStep2(st.v1-st.v0,8);for(let v=Math.ceil(st.v0/step)*step;v<=st.v1;v+=step){const x=sx(v);el('line',{x1:x,x2:x,y1:y,y2:y+4},g);const t=el('text',{x:x,y:y+15,'text-anchor':'middle'},g);t.textContent=hex(v)}
    document.getElementById('map-window').textContent='['+hex(st.v0)+', '+hex(st.v1)+')  '+size(st.v1-st.v0)}
  zoomable(svg,st,draw);document.getElementById('map-fit').onclick=()=>{st.v0=st.lo;st.v1=st.hi;draw()};
  document.getElementById('map-in').onclick=()=>{const c=(st.v0+st.v1)/2,w=Math.max(st.minSpan,(st.v1-st.v0)/4);st.v0=Math.max(st.lo,c-w);st.v1=Math.min(st.hi,c+w);draw()};
  redraws.push(draw);
  return {focus(ranges){if(ranges.length===0){draw();return}let lo=Math.min(...ranges.map(r=>r.base)),hi=Math.max(...ranges.map(r=>r.end));const pad=Math.max((hi-lo)*4,st.minSpan);st.v0=Math.max(st.lo,lo-pad);st.v1=Math.min(st.hi,hi+pad);draw()}};
})();

// Sequence charts.
function chart(ex,lay,svgId,fitId,div,divT){
  const svg=document.getElementById(svgId);const LH=34,left=200,top=20;const H=top+lay.lanes.length*LH+30;svg.setAttribute('height',H);
  const st={lo:0,hi:lay.u,v0:0,v1:lay.u,left:left,minSpan:10};
  const U=t=>tToU(lay.pieces,lay.breakU,t);
  let sx=null;
  function draw(){svg.innerHTML='';const W=svg.getBoundingClientRect().width||1000;sx=u=>left+(u-st.v0)/(st.v1-st.v0)*(W-left-10);const X=t=>sx(U(t));const right=W-10;
    const defs=el('defs',{},svg);for(const k of ['ipi','nmi']){const mk=el('marker',{id:svgId+'-arrow-'+k,viewBox:'0 0 10 10',refX:9,refY:5,markerWidth:7,markerHeight:7,orient:'auto-start-reverse'},defs);el('path',{d:'M0,0L10,5L0,10z',fill:COLORS[k]},mk)}
    const clip=el('clipPath',{id:svgId+'-clip'},defs);el('rect',{x:left,y:0,width:Math.max(1,right-left),height:H},clip);
    const f=ex.findings[state.finding];const hlLane=f&&f.cpu!==null&&lay.laneOf[f.cpu]!==undefined?lay.laneOf[f.cpu]:-1;
    lay.lanes.forEach((l,i)=>{const y=top+i*LH;el('rect',{class:'lane-bg'+(i===hlLane?' hl':''),x:0,y:y,width:W,height:LH,fill:i%2?'#fbfcfd':'#fff','data-lane-index':i},svg);const t=el('text',{x:4,y:y+LH/2+4,class:'lane-label'},svg);t.textContent=l.label;if(i>0&&l.pkg!==lay.lanes[i-1].pkg)el('line',{x1:0,x2:W,y1:y,y2:y,stroke:'#8c959f'},svg)});
    const body=el('g',{'clip-path':'url(#'+svgId+'-clip)'},svg);
    ex.epochs.forEach((e,i)=>{const x0=Math.max(left,X(e.t0)),x1=Math.min(right,X(e.t1));if(x1<=x0)return;const r=el('rect',{class:'epoch',x:x0,y:top,width:x1-x0,height:lay.lanes.length*LH,fill:i%2?'rgba(9,105,218,0.05)':'rgba(154,103,0,0.04)','data-epoch':e.label},body);hover(r,e.label);if(x1-x0>e.label.length*5.5+6){const t=el('text',{x:x0+3,y:12,class:'epoch-label'},body);t.textContent=e.label}el('line',{x1:x0,x2:x0,y1:0,y2:top+lay.lanes.length*LH,stroke:'#d0d7de','stroke-dasharray':'2,3'},body)});
    // Axis breaks.
    for(let i=0;i+1<lay.pieces.length;i++){const p=lay.pieces[i],n=lay.pieces[i+1];const u0=p.u0+(p.t1-p.t0),u1=u0+lay.breakU;const x0=sx(u0),x1=sx(u1);if(x1<left||x0>right)continue;const xm=(x0+x1)/2;
      const g=el('g',{class:'break','data-gap':n.t0-p.t1},body);el('rect',{x:x0,y:top,width:Math.max(1,x1-x0),height:lay.lanes.length*LH,fill:'url(#'+svgId+'-hatch)',opacity:0.5},g);
      let d='M'+xm+','+(top-4);for(let y=top;y<top+lay.lanes.length*LH;y+=8)d+='L'+(xm-3)+','+(y+2)+'L'+(xm+3)+','+(y+6);el('path',{d:d,stroke:'#8c959f',fill:'none'},g);
      const t=el('text',{x:xm,y:top+lay.lanes.length*LH+26,'text-anchor':'middle',class:'break-label'},g);t.textContent='\u22ef '+fmtDuration(n.t0-p.t1)+' \u22ef';hover(g,'axis broken: '+fmtDuration(n.t0-p.t1)+' with nothing happening')}
    const hatch=el('pattern',{id:svgId+'-hatch',width:6,height:6,patternUnits:'userSpaceOnUse',patternTransform:'rotate(45)'},defs);el('line',{x1:0,y1:0,x2:0,y2:6,stroke:'#d0d7de','stroke-width':2},hatch);
    // Events, labels placed in two rows per lane without overlap.
    const rows=lay.lanes.map(()=>[-1e9,-1e9]);const CW=5.6;
    const wbs=new Set(f?f.writebacks:[]);
    for(const e of lay.events){const end=e.end===undefined?e.t:e.end;const x0=X(e.t),x1=X(end);if(x1<left-50||x0>right+50)continue;const y=top+e.lane*LH;const span=e.end!==undefined&&x1-x0>=3;
      const hl=f&&e.kind==='stale-writeback'&&wbs.has(e.t)&&e.cpu===f.cpu;
      const r=el('rect',{x:span?x0:x0-1.5,y:y+LH-14,width:span?Math.max(2,x1-x0):3,height:11,fill:COLORS[e.kind]||'#999','data-kind':e.kind,'data-t':e.t,class:hl?'hl-ev':''},body);
      const text='CPU '+e.cpu+' @ '+fmtTime(e.t,1)+(e.end!==undefined?' .. '+fmtTime(e.end,1):'')+': '+e.label;hover(r,text);
      const w=e.label.length*CW;
      if(span&&x1-x0>w+6){const t=el('text',{x:x0+3,y:y+LH-5,class:'span-label'},body);t.textContent=e.label;continue}
      for(let k=0;k<2;k++){if(x0>=rows[e.lane][k]+4){const t=el('text',{x:x0,y:y+9+k*10,class:'ev-label','data-kind':e.kind},body);t.textContent=e.label;rows[e.lane][k]=x0+w;break}}}
    // IPI and NMI arrows.
    for(const a of lay.arrows){const x0=X(a.t0),x1=X(a.t1);if(Math.max(x0,x1)<left||Math.min(x0,x1)>right)continue;const y0=top+a.fromLane*LH+LH-8,y1=top+a.toLane*LH+LH-8;const k=a.nmi?'nmi':'ipi';
      const ln=el('line',{class:'arrow',x1:x0,y1:y0,x2:x1,y2:y1,stroke:COLORS[k],'stroke-width':a.nmi?2:1.3,'marker-end':'url(#'+svgId+'-arrow-'+k+')','data-kind':k,'data-from':a.from,'data-to':a.to},body);
      hover(ln,a.vector+' from CPU '+a.from+' ('+fmtTime(a.t0,1)+') to CPU '+a.to+' ('+fmtTime(a.t1,1)+')')}
    // The kexec jump(s).
    for(const j of ex.jumps){const x=X(j);if(x<left||x>right)continue;el('line',{class:'jump',x1:x,x2:x,y1:top-6,y2:top+lay.lanes.length*LH,stroke:'#cf222e','stroke-width':2,'stroke-dasharray':'6,3'},body);const t=el('text',{x:x+3,y:top-8+10,'font-size':10,fill:'#cf222e','font-weight':600},body);t.textContent='kexec jump'}
    // Findings.
    ex.findings.forEach((fd,i)=>{const x=X(fd.t);if(x<left||x>right)return;const lane=fd.cpu!==null&&lay.laneOf[fd.cpu]!==undefined?lay.laneOf[fd.cpu]:0;const y=top+lane*LH+LH-9;const d=el('path',{class:'finding-mark'+(i===state.finding?' selected':''),d:'M'+x+','+(y-7)+'L'+(x+7)+','+y+'L'+x+','+(y+7)+'L'+(x-7)+','+y+'Z',fill:i===state.finding?'#cf222e':'#fff',stroke:'#cf222e','stroke-width':2,'data-finding':i},body);hover(d,'finding '+(i+1)+': '+fd.message);d.addEventListener('click',ev=>{ev.stopPropagation();select(i)})});
    if(f){const x=X(f.t);el('line',{class:'finding-time',x1:x,x2:x,y1:0,y2:top+lay.lanes.length*LH,stroke:'#cf222e','stroke-width':1},body)}
    if(div!==null){const x=X(divT);el('line',{class:'divergence',x1:x,x2:x,y1:0,y2:top+lay.lanes.length*LH,stroke:'#8250df','stroke-width':2},body);const t=el('text',{x:x+3,y:top+lay.lanes.length*LH-3,'font-size':10,fill:'#8250df','font-weight':600},body);t.textContent='first divergence'}
    if(state.moment!==null&&ex===M.main){const x=X(state.moment);el('line',{id:svgId+'-cursor',x1:x,x2:x,y1:0,y2:top+lay.lanes.length*LH,stroke:'#0969da','stroke-width':1.5,'stroke-dasharray':'3,2'},body)}
    // Axis: round ticks inside each unbroken piece.
    const g=el('g',{class:'axis'},svg);const y=top+lay.lanes.length*LH+2;const visT0=uToT(lay.pieces,lay.breakU,st.v0),visT1=uToT(lay.pieces,lay.breakU,st.v1);
    const pxPerU=(right-left)/(st.v1-st.v0);const step=niceStep(110/pxPerU,1);let last=-1e9;
    for(const p of lay.pieces){const a=Math.max(p.t0,visT0),b=Math.min(p.t1,visT1);if(b<a)continue;for(let v=Math.ceil(a/step)*step;v<=b;v+=step){const x=X(v);if(x-last<80)continue;last=x;el('line',{x1:x,x2:x,y1:y,y2:y+4},g);const t=el('text',{x:x,y:y+14,'text-anchor':'middle'},g);t.textContent=fmtTime(v,step)}}
  }
  const moved=zoomable(svg,st,draw);
  svg.addEventListener('click',e=>{if(moved())return;const r=svg.getBoundingClientRect();const px=e.clientX-r.left;if(px<left)return;const u=st.v0+(px-left)/(r.width-left-10)*(st.v1-st.v0);pickMoment(uToT(lay.pieces,lay.breakU,u))});
  document.getElementById(fitId).onclick=()=>{st.v0=st.lo;st.v1=st.hi;draw()};
  // "kexec": from the first mark of the kexec path (kernel_kexec, __crash_kexec) to the end.
  const kx=ex.events.find(e=>e.kind==='kexec');const kb=document.getElementById(fitId+'-kexec');
  if(kx&&kb){kb.onclick=()=>{const u0=U(kx.t);st.v0=Math.max(st.lo,u0-(st.hi-u0)*0.02);st.v1=st.hi;draw()}}else if(kb){kb.style.display='none'}
  redraws.push(draw);
}
chart(M.main,L.main,'timeline','tl-fit',M.compare&&M.compare.divergence?M.compare.divergence:null,M.compare&&M.compare.divergence?M.compare.divergence.mainT:0);
if(M.compare)chart(M.compare.other,L.other,'timeline-other','tl-other-fit',M.compare.divergence,M.compare.divergence?M.compare.divergence.otherT:0);

// Caches.
const sel=document.getElementById('cache-moment');const out=document.getElementById('cache-table');
M.main.caches.forEach((m,i)=>{const o=document.createElement('option');o.value=i;o.textContent=m.label+' ('+fmtTime(m.t,1000)+')';sel.appendChild(o)});
function showCaches(){const m=M.main.caches[sel.value];if(!m){out.innerHTML='';return}const f=M.main.findings[state.finding];
  if(m.cpus.length===0){out.innerHTML='<p class="none">No dirty lines in any cache at '+fmtTime(m.t,1000)+'.</p>';return}
  let h='';for(const c of m.cpus){h+='<h3 data-cpu="'+c.cpu+'">CPU '+c.cpu+': '+c.lines+' dirty line'+(c.lines===1?'':'s')+'</h3><table><tr><th>KeyID</th><th>lines [from, to)</th><th>lines</th><th>written by</th></tr>';
    for(const r of c.ranges){const hit=f&&f.ranges.some(x=>x.base<r.end&&x.end>r.base);h+='<tr'+(hit?' class="hl"':'')+'><td>'+r.keyId+'</td><td>['+hex(r.base)+', '+hex(r.end)+')</td><td>'+((r.end-r.base)/64)+'</td><td>'+r.writer.replace(/[<>&]/g,'')+'</td></tr>'}
    if(c.moreRanges>0)h+='<tr><td colspan="4">and '+c.moreRanges+' more ranges</td></tr>';h+='</table>'}
  out.innerHTML=h}
function pickMoment(t){let best=0;M.main.caches.forEach((m,i)=>{if(m.t<=t)best=i});sel.value=String(best);state.moment=t;showCaches();redrawAll()}
sel.onchange=()=>{state.moment=M.main.caches[sel.value].t;showCaches();redrawAll()};
(function(){const cs=M.main.caches;let i=cs.findIndex(m=>m.label.startsWith('just before the jump'));if(i<0){for(let k=cs.length-1;k>=0;k--)if(cs[k].cpus.length>0){i=k;break}}if(i<0)i=cs.length-1;sel.value=String(Math.max(0,i));showCaches()})();

// Findings.
function select(i){state.finding=i;document.querySelectorAll('#findings .finding').forEach((d,k)=>d.classList.toggle('selected',k===i));const f=M.main.findings[i];
  map.focus(f.ranges);
  // The caches at the last moment the finding's lines were still dirty (for a corruption: where the stale alias sat), else at the finding.
  let k=-1;M.main.caches.forEach((m,j)=>{if(m.t<=f.t&&m.cpus.some(c=>c.ranges.some(r=>f.ranges.some(x=>x.base<r.end&&x.end>r.base))))k=j});
  if(k<0){pickMoment(f.t);return}sel.value=String(k);state.moment=M.main.caches[k].t;showCaches();redrawAll()}
document.querySelectorAll('#findings .finding').forEach((d,i)=>d.addEventListener('click',()=>select(i)));
window.addEventListener('resize',redrawAll);
redrawAll();
`;

function renderChartSection(id: string, fitId: string, title: string, ex: ExecutionModel): string {
  return `<h3>${esc(title === ex.schedule ? title : `${title}: ${ex.schedule}`)} · ${ex.verdict === 'pass' ? 'no findings' : `${ex.findings.length} finding(s)`}</h3>
<div class="controls"><button id="${fitId}">fit</button><button id="${fitId}-kexec">from the kexec on</button> wheel to zoom, drag to pan, click to see the caches at that moment</div>
<svg id="${id}" class="zoom" role="img" aria-label="sequence chart: ${esc(title)}"></svg>`;
}

/** The whole report page. */
export function renderReport(m: ReportModel): string {
  const ex = m.main;
  const findings =
    ex.findings.length === 0
      ? '<p class="none">No findings.</p>'
      : ex.findings.map((f, i) => `<div class="finding" data-index="${i}" title="click: mark it on the map and the chart"><b>[${esc(f.class)}]</b> ${esc(f.message)}<code>${esc(f.replay)}</code></div>`).join('\n');
  const meta = [
    `platform ${m.platform.name} (${m.platform.cpuModel}, ${m.platform.packages} packages, ${m.platform.cpus} CPUs${m.platform.overridden ? '; set on the command line, not the scenario\'s' : ''})`,
    m.kernel === null ? 'bare platform' : `kernel ${m.kernel}${m.module === null ? '' : `, module ${m.module}`}`,
    `seed ${m.seed}`,
    m.variant === null ? '' : `variant ${m.variant}`,
    ex.schedule,
  ]
    .filter((x) => x !== '')
    .join(' · ');
  const layout = { main: chartLayout(ex), ...(m.compare !== undefined ? { other: chartLayout(m.compare.other) } : {}) };
  const legend = `<div class="legend">${LEGEND.map(([k, label]) => `<span><i style="background:${COLORS[k] ?? '#999'}"></i>${esc(label)}</span>`).join('')}<span><i style="background:#fff;border:2px solid #cf222e;transform:rotate(45deg);width:8px;height:8px"></i>finding</span><span><i style="background:#cf222e;width:3px"></i>kexec jump</span><span><i style="background:rgba(154,103,0,0.15)"></i>kernel epoch (old kernel, relocate_kernel, purgatory, new kernel)</span><span>⋯ 1.00 s ⋯ axis broken over a quiet stretch</span></div>`;
  const d = m.compare?.divergence;
  const compare =
    m.compare === undefined
      ? ''
      : `${renderChartSection('timeline-other', 'tl-other-fit', m.compare.other.name, m.compare.other)}
<p class="divergence-note" id="divergence">${d === null || d === undefined ? 'The two executions do the same things in the same order.' : esc(`first divergence at event ${d.index}: ${m.main.name} ${d.main} at ${fmtTime(d.mainT, 1000)}; ${m.compare.other.name} ${d.other} at ${fmtTime(d.otherT, 1000)}`)}</p>`;
  // `</` cannot appear inside the embedded JSON script elements.
  const json = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');
  const helpers = [tToU, uToT, niceStep, niceStep2, fmtTime, fmtDuration].map((f) => f.toString()).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(m.title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(m.title)}</h1><div class="meta">${esc(meta)}</div>${m.description === '' ? '' : `<div class="meta">${esc(m.description)}</div>`}<div class="verdict ${m.verdict}" id="verdict">${esc(m.verdictText)}</div></header>
<section id="findings"><h2>Findings</h2>${findings}</section>
<section id="chart"><h2>Sequence chart</h2>${legend}
${renderChartSection('timeline', 'tl-fit', ex.name, ex)}
${compare}</section>
<section id="caches"><h2>Dirty cache lines by address and KeyID</h2><label>moment <select id="cache-moment"></select></label> (or click the chart)<div id="cache-table"></div></section>
<section id="map"><h2>Physical memory map</h2><div class="controls"><button id="map-fit">fit</button><button id="map-in">zoom in</button> <span id="map-window"></span> · wheel to zoom, drag to pan</div><svg id="memory-map" class="zoom" role="img" aria-label="physical memory map"></svg></section>
<section><h2>${m.kernel === null ? 'Step log' : 'dmesg'}</h2><pre id="dmesg">${esc(ex.dmesg.join('\n'))}</pre></section>
<div id="tooltip"></div>
<script type="application/json" id="model">${json(m)}</script>
<script type="application/json" id="layout">${json(layout)}</script>
<script type="application/json" id="colors">${json(COLORS)}</script>
<script>${helpers}
${SCRIPT}</script>
</body></html>
`;
}
