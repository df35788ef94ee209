// The dashboard's map: Natural Earth's country boundaries (world-atlas countries-110m, embedded
// in the binary and served under /assets/) decoded from TopoJSON here, projected with an Albers
// equal-area conic fitted to Europe and drawn as SVG (every country but Antarctica). Nothing is
// fetched but that file: no tiles, no library. Countries are filled as the caller says; points
// (deposits) and circles (the urban mine) are drawn over them, each with a title (tooltip).
'use strict';

(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const DATA = '/assets/world-atlas-2.0.2/countries-110m.json';
  let uid = 0;
  let loading = null;

  // ISO 3166-1 numeric code → alpha-2 code, for every country of the boundaries file (the file
  // names countries by numeric code; the API by alpha-2). Three digits then two letters each.
  const ISO_NUMERIC = '004AF008AL010AQ012DZ024AO031AZ032AR036AU040AT044BS050BD051AM056BE064BT068BO' +
    '070BA072BW076BR084BZ090SB096BN100BG104MM108BI112BY116KH120CM124CA140CF144LK148TD152CL156CN' +
    '158TW170CO178CG180CD188CR191HR192CU196CY203CZ204BJ208DK214DO218EC222SV226GQ231ET232ER233EE' +
    '238FK242FJ246FI250FR260TF262DJ266GA268GE270GM275PS276DE288GH300GR304GL320GT324GN328GY332HT' +
    '340HN348HU352IS356IN360ID364IR368IQ372IE376IL380IT384CI388JM392JP398KZ400JO404KE408KP410KR' +
    '414KW417KG418LA422LB426LS428LV430LR434LY440LT442LU450MG454MW458MY466ML478MR484MX496MN498MD' +
    '499ME504MA508MZ512OM516NA524NP528NL540NC548VU554NZ558NI562NE566NG578NO586PK591PA598PG600PY' +
    '604PE608PH616PL620PT624GW626TL630PR634QA642RO643RU646RW682SA686SN688RS694SL703SK704VN705SI' +
    '706SO710ZA716ZW724ES728SS729SD732EH740SR748SZ752SE756CH760SY762TJ764TH768TG780TT784AE788TN' +
    '792TR795TM800UG804UA807MK818EG826GB834TZ840US854BF858UY860UZ862VE887YE894ZM';
  const ALPHA2 = new Map();
  for (let i = 0; i < ISO_NUMERIC.length; i += 5) ALPHA2.set(ISO_NUMERIC.slice(i, i + 3), ISO_NUMERIC.slice(i + 3, i + 5));

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // The arcs of a topology as [longitude, latitude] positions. Quantized arcs (with a
  // transform) hold each position as the difference from the one before, in grid units.
  function decodeArcs(topology) {
    const t = topology.transform;
    if (!t) return topology.arcs;
    const [sx, sy] = t.scale;
    const [tx, ty] = t.translate;
    return topology.arcs.map((arc) => {
      let x = 0;
      let y = 0;
      return arc.map(([dx, dy]) => {
        x += dx;
        y += dy;
        return [x * sx + tx, y * sy + ty];
      });
    });
  }

  // A ring from arc indexes: a negative index ~i is arc i backwards; each arc after the first
  // starts where the one before ended, so its first position is dropped.
  function ring(arcs, indexes) {
    const points = [];
    for (const i of indexes) {
      const arc = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
      for (let k = points.length ? 1 : 0; k < arc.length; k++) points.push(arc[k]);
    }
    return points;
  }

  // The countries of a topology's object: [{id, code, name, polygons: [[ring, hole...]]}].
  function countries(topology, object = 'countries') {
    const arcs = decodeArcs(topology);
    return topology.objects[object].geometries.map((g) => {
      const polygons = g.type === 'Polygon' ? [g.arcs] : g.type === 'MultiPolygon' ? g.arcs : [];
      return {
        id: g.id === undefined ? null : String(g.id),
        code: g.id === undefined ? null : ALPHA2.get(String(g.id)) || null,
        name: (g.properties && g.properties.name) || '',
        polygons: polygons.map((rings) => rings.map((r) => ring(arcs, r))),
      };
    });
  }

  // Albers equal-area conic (spherical), standard parallels 43° and 62°, centred on 10° E
  // 52° N: Europe with little distortion, areas comparable. y grows northwards.
  function albers(parallels = [43, 62], origin = [10, 52]) {
    const r = Math.PI / 180;
    const n = (Math.sin(parallels[0] * r) + Math.sin(parallels[1] * r)) / 2;
    const c = Math.cos(parallels[0] * r) ** 2 + 2 * n * Math.sin(parallels[0] * r);
    const rho0 = Math.sqrt(c - 2 * n * Math.sin(origin[1] * r)) / n;
    return ([lon, lat]) => {
      const rho = Math.sqrt(c - 2 * n * Math.sin(lat * r)) / n;
      const theta = n * (lon - origin[0]) * r;
      return [rho * Math.sin(theta), rho0 - rho * Math.cos(theta)];
    };
  }

  // The frame: the projected bounds of a longitude/latitude box (its edges sampled, since
  // parallels are arcs), fitted to `width` pixels.
  function fit(project, [west, south, east, north], width) {
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    const take = (p) => {
      const [x, y] = project(p);
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    };
    for (let lon = west; lon <= east; lon += 1) { take([lon, south]); take([lon, north]); }
    for (let lat = south; lat <= north; lat += 1) { take([west, lat]); take([east, lat]); }
    const s = width / (x1 - x0);
    return {
      width, height: Math.round((y1 - y0) * s),
      xy: (p) => { const [x, y] = project(p); return [(x - x0) * s, (y1 - y) * s]; },
    };
  }

  // Signed area and centroid of a projected ring (shoelace).
  function areaCentroid(points) {
    let a = 0; let cx = 0; let cy = 0;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [x0, y0] = points[j];
      const [x1, y1] = points[i];
      const f = x0 * y1 - x1 * y0;
      a += f; cx += (x0 + x1) * f; cy += (y0 + y1) * f;
    }
    if (a === 0) return { area: 0, at: points[0] };
    return { area: Math.abs(a / 2), at: [cx / (3 * a), cy / (3 * a)] };
  }

  // Where a geometry is marked: a point as it is, a polygon at the centroid of its largest
  // outline (GeoJSON positions, [longitude, latitude]).
  function anchor(geometry, xy) {
    if (!geometry) return null;
    if (geometry.type === 'Point') return xy(geometry.coordinates);
    const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
    let best = null;
    for (const p of polygons) {
      const c = areaCentroid(p[0].map(xy));
      if (!best || c.area > best.area) best = c;
    }
    return best && best.at;
  }

  // A ring as SVG subpaths, its long edges cut into steps of at most a degree: an edge of the
  // file is straight in longitude and latitude, and projected from its ends alone it would be
  // a chord. An edge from 180° to -180° (or back) is a step along the antimeridian, which a
  // conic cuts: the ring is split there, and each part closed along the cut.
  function ringPath(ring, xy) {
    const runs = [[]];
    ring.forEach((p, i) => {
      const q = ring[i - 1];
      if (q && Math.abs(p[0] - q[0]) > 180) {
        runs.push([]);
      } else if (q) {
        const steps = Math.ceil(Math.max(Math.abs(p[0] - q[0]), Math.abs(p[1] - q[1])));
        for (let k = 1; k < steps; k++) runs[runs.length - 1].push([q[0] + ((p[0] - q[0]) * k) / steps, q[1] + ((p[1] - q[1]) * k) / steps]);
      }
      runs[runs.length - 1].push(p);
    });
    // A closed ring split in parts: its last part runs on into its first.
    if (runs.length > 1) runs[0] = runs.pop().concat(runs[0].slice(1));
    return runs.filter((r) => r.length > 1).map((r) => 'M' + r.map((p) => xy(p).map((v) => v.toFixed(1)).join(',')).join('L') + 'Z').join('');
  }

  const pathOf = (polygons, xy) => polygons.flatMap((rings) => rings.map((r) => ringPath(r, xy))).join('');

  // The marker of a point: a circle, a square or a diamond.
  function marker(shape, [x, y], size) {
    if (shape === 'square') return svg('rect', { x: x - size, y: y - size, width: 2 * size, height: 2 * size });
    if (shape === 'diamond') {
      const s = size * 1.35;
      return svg('path', { d: `M${x},${y - s}L${x + s},${y}L${x},${y + s}L${x - s},${y}Z` });
    }
    return svg('circle', { cx: x, cy: y, r: size });
  }

  // spec: {title, description, countries: Map(code → {cls, title}), selected, circles: [{code,
  // r, cls, title, attrs}], points: [{geometry, cls, shape, title, attrs}], bounds}.
  // Returns the number of points outside the frame (still drawn, clipped).
  function draw(container, topology, spec) {
    const width = Math.round(Math.min(960, Math.max(320, container.clientWidth || 640)));
    const f = fit(albers(), spec.bounds || [-24, 34, 42, 71], width);
    const id = 'm' + (++uid);
    const root = svg('svg', {
      viewBox: '0 0 ' + f.width + ' ' + f.height, class: 'map', role: 'img',
      'aria-labelledby': id + '-t ' + id + '-d', preserveAspectRatio: 'xMidYMid meet',
    });
    root.append(svg('title', { id: id + '-t' }, spec.title), svg('desc', { id: id + '-d' }, spec.description));
    root.append(svg('rect', { class: 'sea', x: 0, y: 0, width: f.width, height: f.height }));
    const land = svg('g', { class: 'countries' });
    const labels = new Map();
    for (const c of countries(topology)) {
      // Land wholly south of 60° S (Antarctica) is left out: on a conic it wraps around the
      // apex and would show as bands across the north of the map.
      c.polygons = c.polygons.filter((rings) => rings[0].some((p) => p[1] > -60));
      if (!c.polygons.length) continue;
      const style = (c.code && spec.countries.get(c.code)) || null;
      const path = svg('path', {
        class: 'country' + (style ? ' ' + style.cls : '') + (c.code && c.code === spec.selected ? ' selected' : ''),
        d: pathOf(c.polygons, f.xy), 'data-name': c.name,
      });
      if (c.id) path.setAttribute('data-id', c.id);
      if (c.code) path.setAttribute('data-country', c.code);
      path.append(svg('title', {}, style ? style.title : c.name));
      land.append(path);
      if (c.code) {
        let best = null;
        for (const rings of c.polygons) {
          const a = areaCentroid(rings[0].map(f.xy));
          if (!best || a.area > best.area) best = a;
        }
        if (best) labels.set(c.code, best.at);
      }
    }
    root.append(land);
    for (const circle of spec.circles || []) {
      const at = labels.get(circle.code);
      if (!at) continue;
      const node = svg('circle', { class: 'urban ' + (circle.cls || ''), cx: at[0].toFixed(1), cy: at[1].toFixed(1), r: circle.r.toFixed(1), ...circle.attrs });
      node.append(svg('title', {}, circle.title));
      root.append(node);
    }
    let outside = 0;
    const size = width < 480 ? 4 : 5;
    for (const p of spec.points || []) {
      const at = anchor(p.geometry, f.xy);
      if (!at) continue;
      if (at[0] < 0 || at[1] < 0 || at[0] > f.width || at[1] > f.height) outside += 1;
      const g = svg('g', { class: 'deposit ' + (p.cls || ''), ...p.attrs });
      g.append(marker(p.shape, at.map((v) => Number(v.toFixed(1))), size), svg('title', {}, p.title));
      root.append(g);
    }
    container.replaceChildren(root);
    return outside;
  }

  // The boundaries, fetched once per page (the server lets the browser cache them).
  function load() {
    if (!loading) {
      loading = fetch(DATA).then((r) => {
        if (!r.ok) throw new Error('the country boundaries could not be loaded (HTTP ' + r.status + ')');
        return r.json();
      });
      loading.catch(() => { loading = null; });
    }
    return loading;
  }

  window.ReeMap = { load, draw, countries, albers, alpha2: (numeric) => ALPHA2.get(numeric) || null };
})();
