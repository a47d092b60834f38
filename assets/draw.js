/* Draw a digit: the chapter's trained network, computed in the page.
 *
 * _ext/explorers.py puts a <div class="mnist-draw"> where the notebook shows its upload widget
 * and writes the network's weights (mnist_cnn.deploy.page_weights, from the run the chapter
 * used) into _static/draw-weights.js, which this file loads only when a reader first draws or
 * picks a digit. The drawing goes through the steps of mnist_cnn.preprocess.to_mnist:
 *   1. ink bright on black: invert if the border's median is light; stretch so that the border's
 *      median is 0 and the brightest ink 1
 *   2. crop to the pixels above 0.25
 *   3. resize (Lanczos, as Pillow does it) so that the longer side is 20 pixels
 *   4. place in 28x28 with the centre of mass at pixel (14, 14)
 * and then through BookCNN's forward pass, written with the book's formulas:
 *   conv:  y[o][i][j] = sum over c, m, q of w[o][c][m][q] * x[c][i+m-1][j+q-1]  (zero padding 1)
 *   pool:  y[c][i][j] = max of x[c][2i+m][2j+q], 0 <= m, q < 2
 *   batch norm (eval): y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
 *   ReLU, then logits = W x + b on the flattened (C, 7, 7) map.
 * Each widget keeps what it computed last on its element, el.mnistDraw.last = {grey, prepared,
 * logits, ms}, which tests/test_draw.py compares with preprocess.to_mnist and PyTorch.
 */
(function () {
  "use strict";

  var WORDS = {
    en: {
      canvas: "Drawing area: draw one digit with the mouse, a finger or a pen",
      clear: "Clear", sample: "or put a test digit here:", choose: "choose…",
      item: "test digit #{i} (a {d})", seen: "what the network sees, 28×28",
      probs: "the network's ten probabilities", start: "Draw a digit in the box.",
      loading: "Loading the network…", blank: "No ink yet: draw a digit.",
      read: "The network reads a {d} ({p} %).", failed: "The network's weights did not load.",
      layers: "What each layer sees: the feature maps of your drawing",
      block: "{name}: {c} maps of {h}×{w}", time: "Computed in {ms} ms.",
    },
    zh: {
      canvas: "绘图区：用鼠标、手指或笔写一个数字",
      clear: "清除", sample: "或放入一个测试数字：", choose: "请选择…",
      item: "测试数字 #{i}（{d}）", seen: "网络看到的 28×28 图像",
      probs: "网络给出的十个概率", start: "请在框中写一个数字。",
      loading: "正在加载网络……", blank: "还没有笔迹：请写一个数字。",
      read: "网络认为这是 {d}（{p}%）。", failed: "网络权重加载失败。",
      layers: "每一层看到了什么：你写的数字的特征图",
      block: "{name}：{c} 张 {h}×{w} 的特征图", time: "用时 {ms} 毫秒。",
    },
  };
  var SIDE = 280; // the drawing area, in canvas pixels
  var PEN = 22; // MNIST's strokes are about 2.5 px of the 20x20 box: 22 px of ~200

  function say(words, key, values) {
    return words[key].replace(/\{(\w+)\}/g, function (_, name) {
      return String(values[name]);
    });
  }

  // --- loading the weights, once, on demand ---------------------------------------------------

  var here = document.currentScript ? document.currentScript.src : "";
  var loading = null;
  function loadNetwork() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = here.replace(/draw\.js(\?.*)?$/, "draw-weights.js");
      tag.onload = function () { resolve(decode(window.MNIST_CNN_PAGE_WEIGHTS)); };
      tag.onerror = function () { loading = null; reject(new Error("weights")); };
      document.head.appendChild(tag);
    });
    return loading;
  }

  function bytes(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function decode(payload) {
    var raw = bytes(payload.data);
    var all = new Float32Array(raw.buffer, 0, raw.length / 4); // little-endian, as written
    var t = {};
    payload.tensors.forEach(function (d) {
      var n = d.shape.reduce(function (a, b) { return a * b; }, 1);
      t[d.name] = { shape: d.shape, v: Float64Array.from(all.subarray(d.offset, d.offset + n)) };
    });
    return { t: t, mean: payload.mean, std: payload.std, eps: payload.eps,
             images: bytes(payload.images), labels: payload.labels || [] };
  }

  // --- the steps of preprocess.to_mnist -------------------------------------------------------

  function median(values) {
    var a = Float64Array.from(values).sort(), n = a.length;
    return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
  }

  function border(img, h, w) { // the four edges, as preprocess._border
    var out = [];
    for (var j = 0; j < w; j++) out.push(img[j]);
    for (j = 0; j < w; j++) out.push(img[(h - 1) * w + j]);
    for (var i = 0; i < h; i++) out.push(img[i * w]);
    for (i = 0; i < h; i++) out.push(img[i * w + w - 1]);
    return out;
  }

  function roundHalfEven(x) { // Python's round()
    var r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  function brightInk(grey, h, w) { // step 1
    var invert = median(border(grey, h, w)) > 0.5, ink = new Float64Array(h * w), top = -Infinity;
    for (var k = 0; k < ink.length; k++) {
      ink[k] = invert ? 1 - grey[k] : grey[k];
      if (ink[k] > top) top = ink[k];
    }
    var bg = median(border(ink, h, w)), range = Math.max(top - bg, 1e-6);
    for (k = 0; k < ink.length; k++) ink[k] = Math.min(Math.max((ink[k] - bg) / range, 0), 1);
    return ink;
  }

  function lanczos(x) {
    if (x === 0) return 1;
    if (x < -3 || x >= 3) return 0;
    var a = Math.PI * x, b = Math.PI * (x / 3); // Pillow: sinc(x) * sinc(x / 3)
    return (Math.sin(a) / a) * (Math.sin(b) / b);
  }

  // Pillow's coefficients for one axis (Resample.c: precompute_coeffs, normalize_coeffs_8bpc)
  function coefficients(inSize, outSize) {
    var scale = inSize / outSize, filterscale = Math.max(scale, 1), support = 3 * filterscale;
    var rows = [];
    for (var xx = 0; xx < outSize; xx++) {
      var center = (xx + 0.5) * scale, ww = 0, k = [];
      var xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      var xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      for (var x = 0; x < xmax; x++) {
        k.push(lanczos((x + xmin - center + 0.5) * (1 / filterscale)));
        ww += k[x];
      }
      var fixed = k.map(function (v) {
        v = ww !== 0 ? v / ww : v;
        return v < 0 ? Math.trunc(-0.5 + v * 4194304) : Math.trunc(0.5 + v * 4194304);
      });
      rows.push({ min: xmin, k: fixed });
    }
    return rows;
  }

  function clip8(s) { // 22 fractional bits, as Pillow's 8-bit resampling
    return s <= 0 ? 0 : s >= 255 * 4194304 ? 255 : Math.floor(s / 4194304);
  }

  function pass(src, h, w, rows, along) { // one axis: "x" (each row) or "y" (each column)
    var n = rows.length, out = new Uint8Array(along === "x" ? h * n : n * w);
    for (var a = 0; a < (along === "x" ? h : w); a++) {
      for (var b = 0; b < n; b++) {
        var r = rows[b], s = 2097152; // 1 << 21: rounds to nearest
        for (var m = 0; m < r.k.length; m++) {
          s += (along === "x" ? src[a * w + r.min + m] : src[(r.min + m) * w + a]) * r.k[m];
        }
        out[along === "x" ? a * n + b : b * w + a] = clip8(s);
      }
    }
    return out;
  }

  // an 8-bit image h x w resized to nh x nw as Pillow 13 does it: one pass per axis that
  // changes, the horizontal pass first unless the height shrinks by more than twice the pixels
  // the width loses (Pillow PR 9549; the rule fits 2,000 random sizes; tests/test_draw.py checks)
  function resize(src, h, w, nh, nw) {
    var cx = coefficients(w, nw), cy = coefficients(h, nh);
    if (nw === w) return pass(src, h, w, cy, "y");
    if (nh === h) return pass(src, h, w, cx, "x");
    if (nh < h && h - nh > 2 * (w - nw)) return pass(pass(src, h, w, cy, "y"), nh, w, cx, "x");
    return pass(pass(src, h, w, cx, "x"), h, nw, cy, "y");
  }

  // grey (h x w, in [0, 1]) -> the 28x28 uint8 digit, or null where no pixel is ink
  function toMnist(grey, h, w) {
    var ink = brightInk(grey, h, w);
    var top = h, left = w, bottom = -1, right = -1;
    for (var i = 0; i < h; i++) {
      for (var j = 0; j < w; j++) {
        if (ink[i * w + j] > 0.25) {
          top = Math.min(top, i); bottom = Math.max(bottom, i);
          left = Math.min(left, j); right = Math.max(right, j);
        }
      }
    }
    if (bottom < 0) return null;
    var ch = bottom - top + 1, cw = right - left + 1, crop = new Uint8Array(ch * cw);
    for (i = 0; i < ch; i++) {
      for (j = 0; j < cw; j++) { // as NumPy's astype(uint8): truncated
        crop[i * cw + j] = Math.trunc(Math.min(Math.max(ink[(i + top) * w + j + left] * 255, 0), 255));
      }
    }
    var scale = 20 / Math.max(ch, cw); // step 3
    var nh = Math.max(1, roundHalfEven(ch * scale)), nw = Math.max(1, roundHalfEven(cw * scale));
    var small = nh === ch && nw === cw ? crop : resize(crop, ch, cw, nh, nw);
    return centre(small, nh, nw); // step 4
  }

  function centre(small, nh, nw) { // integer sums, so exactly NumPy's centre of mass
    var top = Math.floor((28 - nh) / 2), left = Math.floor((28 - nw) / 2);
    var total = 0, sy = 0, sx = 0;
    for (var i = 0; i < nh; i++) {
      for (var j = 0; j < nw; j++) {
        var v = small[i * nw + j];
        total += v; sy += (i + top) * v; sx += (j + left) * v;
      }
    }
    var dy = Math.min(Math.max(roundHalfEven(14 - sy / total), -top), 28 - nh - top);
    var dx = Math.min(Math.max(roundHalfEven(14 - sx / total), -left), 28 - nw - left);
    var out = new Uint8Array(784);
    for (i = 0; i < nh; i++) {
      for (j = 0; j < nw; j++) out[(i + top + dy) * 28 + j + left + dx] = small[i * nw + j];
    }
    return out;
  }

  // --- BookCNN's forward pass -----------------------------------------------------------------

  function conv3x3(x, c, h, w, weight, cout) { // zero padding 1, no bias (batch norm has one)
    var y = new Float64Array(cout * h * w);
    for (var o = 0; o < cout; o++) {
      for (var ci = 0; ci < c; ci++) {
        for (var m = 0; m < 3; m++) {
          for (var q = 0; q < 3; q++) {
            var wt = weight[((o * c + ci) * 3 + m) * 3 + q];
            for (var i = 0; i < h; i++) {
              var r = i + m - 1;
              if (r < 0 || r >= h) continue;
              for (var j = 0; j < w; j++) {
                var s = j + q - 1;
                if (s >= 0 && s < w) y[(o * h + i) * w + j] += wt * x[(ci * h + r) * w + s];
              }
            }
          }
        }
      }
    }
    return y;
  }

  function pool2(x, c, h, w) {
    var oh = h >> 1, ow = w >> 1, y = new Float64Array(c * oh * ow);
    for (var k = 0; k < c; k++) {
      for (var i = 0; i < oh; i++) {
        for (var j = 0; j < ow; j++) {
          var b = (k * h + 2 * i) * w + 2 * j;
          y[(k * oh + i) * ow + j] = Math.max(x[b], x[b + 1], x[b + w], x[b + w + 1]);
        }
      }
    }
    return y;
  }

  function normRelu(x, c, n, net, name) { // batch norm in eval mode, then ReLU
    var g = net.t[name + ".bn.weight"].v, b = net.t[name + ".bn.bias"].v;
    var rm = net.t[name + ".bn.running_mean"].v, rv = net.t[name + ".bn.running_var"].v;
    for (var k = 0; k < c; k++) {
      var a = g[k] / Math.sqrt(rv[k] + net.eps);
      for (var p = k * n; p < (k + 1) * n; p++) x[p] = Math.max((x[p] - rm[k]) * a + b[k], 0);
    }
    return x;
  }

  function forward(net, pixels) {
    var x = new Float64Array(784);
    for (var k = 0; k < 784; k++) x[k] = (pixels[k] / 255 - net.mean) / net.std;
    var c = 1, h = 28, maps = [];
    ["block1", "block2", "block3"].forEach(function (name, n) {
      var wt = net.t[name + ".conv.weight"], cout = wt.shape[0];
      x = conv3x3(x, c, h, h, wt.v, cout);
      if (n < 2) { x = pool2(x, cout, h, h); h >>= 1; }
      x = normRelu(x, cout, h * h, net, name);
      c = cout;
      maps.push({ name: name, c: c, h: h, v: x });
    });
    var fw = net.t["head.fc.weight"], fb = net.t["head.fc.bias"].v, logits = [];
    for (var o = 0; o < fw.shape[0]; o++) {
      var s = fb[o];
      for (k = 0; k < x.length; k++) s += fw.v[o * x.length + k] * x[k];
      logits.push(s);
    }
    return { logits: logits, maps: maps };
  }

  function softmax(z) {
    var top = Math.max.apply(null, z), e = z.map(function (v) { return Math.exp(v - top); });
    var sum = e.reduce(function (a, b) { return a + b; }, 0);
    return e.map(function (v) { return v / sum; });
  }

  // --- the widget -----------------------------------------------------------------------------

  function make(tag, cls, parent) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (parent) parent.appendChild(el);
    return el;
  }

  function paintGrey(canvas, values, h, w, top) { // a map in grey, 0 black, top white
    canvas.width = w; canvas.height = h;
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
    for (var k = 0; k < h * w; k++) {
      var v = Math.round(255 * Math.min(values[k] / top, 1));
      img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = v;
      img.data[4 * k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function build(root) {
    var words = WORDS[root.getAttribute("data-lang")] || WORDS.en, about = root.innerHTML;
    root.innerHTML = "";
    var row = make("div", "mnist-draw-row", root);
    var pad = make("canvas", "mnist-draw-canvas", row);
    pad.width = pad.height = SIDE;
    pad.setAttribute("role", "img");
    pad.setAttribute("aria-label", words.canvas);
    pad.tabIndex = 0;
    var side = make("div", "mnist-draw-side", row);
    var fig = make("figure", "", side), seen = make("canvas", "mnist-draw-seen", fig);
    seen.width = seen.height = 28;
    seen.setAttribute("role", "img");
    seen.setAttribute("aria-label", words.seen);
    make("figcaption", "", fig).textContent = words.seen;
    var probs = make("div", "mnist-draw-probs", side);
    probs.setAttribute("role", "group");
    probs.setAttribute("aria-label", words.probs);
    var bars = [];
    for (var d = 0; d < 10; d++) {
      var line = make("div", "mnist-draw-prob", probs);
      make("span", "mnist-draw-digit", line).textContent = d;
      var meter = make("meter", "", line);
      meter.min = 0; meter.max = 1; meter.value = 0;
      meter.setAttribute("aria-label", String(d));
      bars.push({ meter: meter, text: make("span", "mnist-draw-pct", line) });
    }
    var controls = make("div", "mnist-draw-controls", root);
    var clear = make("button", "", controls);
    clear.type = "button";
    clear.textContent = words.clear;
    var label = make("label", "", controls);
    label.textContent = words.sample + " ";
    var pick = make("select", "", label);
    pick.innerHTML = "<option value=''>" + words.choose + "</option>";
    var status = make("p", "mnist-draw-status", root);
    status.setAttribute("aria-live", "polite");
    status.textContent = words.start;
    var small = root.hasAttribute("data-small"); // the start of the book: no feature maps
    var layers = make("details", "mnist-draw-layers", small ? null : root);
    layers.open = window.innerWidth > 700; // 80 small maps: folded on a phone
    make("summary", "", layers).textContent = words.layers;
    var note = make("p", "mnist-draw-about", root);
    note.innerHTML = about;

    var ctx = pad.getContext("2d", { willReadFrequently: true });
    function wipe() {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, SIDE, SIDE);
    }
    wipe();
    var state = { net: null, last: null, queued: false };
    root.mnistDraw = state;

    function ready() {
      if (state.net) return Promise.resolve(state.net);
      status.textContent = words.loading;
      return loadNetwork().then(function (net) {
        state.net = net;
        for (var i = 0; i < net.images.length / 784; i++) {
          var opt = make("option", "", pick);
          opt.value = String(i);
          opt.textContent = say(words, "item", { i: i, d: net.labels[i] });
        }
        return net;
      }, function (err) { status.textContent = words.failed; throw err; });
    }

    function run(since) {
      var t0 = since || performance.now();
      var rgba = ctx.getImageData(0, 0, SIDE, SIDE).data, grey = new Float64Array(SIDE * SIDE);
      for (var k = 0; k < grey.length; k++) grey[k] = rgba[4 * k] / 255; // the pad is grey
      var prepared = toMnist(grey, SIDE, SIDE);
      if (!prepared) {
        state.last = { grey: grey, prepared: null, logits: null };
        status.textContent = words.blank;
        return;
      }
      var out = forward(state.net, prepared), p = softmax(out.logits);
      paintGrey(seen, prepared, 28, 28, 255);
      var best = p.indexOf(Math.max.apply(null, p));
      bars.forEach(function (b, i) {
        b.meter.value = p[i];
        b.text.textContent = (100 * p[i]).toFixed(1) + " %";
        b.meter.parentNode.classList.toggle("mnist-draw-best", i === best);
      });
      showLayers(out.maps);
      var ms = performance.now() - t0;
      status.textContent = say(words, "read", { d: best, p: (100 * p[best]).toFixed(0) }) +
        " " + say(words, "time", { ms: ms.toFixed(0) });
      state.last = { grey: grey, prepared: prepared, logits: out.logits, ms: ms };
    }

    function showLayers(maps) {
      while (layers.children.length > 1) layers.removeChild(layers.lastChild);
      maps.forEach(function (m) {
        var box = make("div", "mnist-draw-block", layers);
        make("p", "", box).textContent = say(words, "block", { name: m.name, c: m.c, h: m.h, w: m.h });
        var grid = make("div", "mnist-draw-maps", box), n = m.h * m.h;
        for (var k = 0; k < m.c; k++) {
          var v = m.v.subarray(k * n, (k + 1) * n), top = Math.max.apply(null, v) || 1;
          var cv = make("canvas", "", grid);
          cv.setAttribute("aria-hidden", "true");
          paintGrey(cv, v, m.h, m.h, top);
        }
      });
    }

    function predict(since) { // once per frame at most, after the weights arrive
      if (state.queued) return state.pending;
      state.queued = true;
      state.pending = ready().then(function () {
        return new Promise(function (resolve) {
          requestAnimationFrame(function () { state.queued = false; run(since); resolve(state.last); });
        });
      });
      return state.pending;
    }

    var drawing = null;
    function at(e) {
      var r = pad.getBoundingClientRect();
      return [(e.clientX - r.left) * SIDE / r.width, (e.clientY - r.top) * SIDE / r.height];
    }
    pad.addEventListener("pointerdown", function (e) {
      e.preventDefault();
      pad.setPointerCapture(e.pointerId);
      drawing = at(e);
      ctx.fillStyle = "#000";
      ctx.beginPath();
      ctx.arc(drawing[0], drawing[1], PEN / 2, 0, 2 * Math.PI);
      ctx.fill();
      ready().catch(function () {});
    });
    pad.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = at(e);
      ctx.strokeStyle = "#000";
      ctx.lineWidth = PEN;
      ctx.lineCap = ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(drawing[0], drawing[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      drawing = p;
      predict();
    });
    function end() {
      if (!drawing) return;
      drawing = null;
      predict(performance.now());
    }
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    clear.addEventListener("click", function () {
      wipe();
      pick.value = "";
      state.last = null;
      status.textContent = words.start;
    });
    pick.addEventListener("focus", function () { ready().catch(function () {}); });
    pick.addEventListener("change", function () {
      if (pick.value === "") return;
      var i = Number(pick.value), k0 = i * 784;
      put(Array.prototype.map.call(state.net.images.subarray(k0, k0 + 784), function (v) {
        return 255 - v; // dark ink on white, as drawn
      }), 28, 28);
    });

    function put(pixels, h, w) { // an image h x w of grey levels 0-255, scaled to fill the pad
      var img = ctx.createImageData(w, h), tmp = document.createElement("canvas");
      for (var k = 0; k < h * w; k++) {
        img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = pixels[k];
        img.data[4 * k + 3] = 255;
      }
      if (h === SIDE && w === SIDE) {
        ctx.putImageData(img, 0, 0);
      } else {
        tmp.width = w; tmp.height = h;
        tmp.getContext("2d").putImageData(img, 0, 0);
        wipe();
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(tmp, 0, 0, SIDE, SIDE);
      }
      return predict(performance.now());
    }
    state.put = put;
  }

  function start() {
    document.querySelectorAll(".mnist-draw").forEach(build);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
