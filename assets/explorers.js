/* The explorers of the chapters "Convolution" and "Pooling", computed in the page.
 *
 * _ext/explorers.py puts a <div class="mnist-explorer" data-kind="conv|pool"> where the notebook
 * shows its ipywidgets explorer, with the digits and preset kernels inside it as JSON. This file
 * builds the controls and computes what mnist_cnn.ops computes:
 *   conv: out[i][j] = sum over m, q of w[m][q] * x_pad[i*s + m*d][j*s + q*d]   (zero padding p)
 *   pool: out[i][j] = max (or mean) of x[i*s + m][j*s + q], 0 <= m, q < k
 * Each explorer keeps its last result on its element, el.explorer.last = {rows, cols, values},
 * which tests/test_explorers.py compares with mnist_cnn.ops in Chromium.
 */
(function () {
  "use strict";

  var WORDS = {
    en: {
      digit: "digit", kernel: "kernel", custom: "custom",
      weights: "3×3 kernel: edit a number to make your own",
      weight: "kernel weight, row {r}, column {c}",
      stride: "stride", padding: "padding", dilation: "dilation",
      window: "window", mode: "pooling", max: "max", average: "average",
      item: "#{i}: a {d}", input: "digit, {n}×{n}", map: "feature map, {h}×{w}",
      pooled: "{mode} pooling, {h}×{w}", none: "no output: the kernel does not fit",
      size: "output size: ", note: "Computed in this page, with the formula of mnist_cnn.ops.",
    },
    zh: {
      digit: "数字", kernel: "卷积核", custom: "自定义",
      weights: "3×3 卷积核：改动任一数字即可自定义",
      weight: "卷积核权重，第 {r} 行第 {c} 列",
      stride: "步幅", padding: "填充", dilation: "膨胀",
      window: "窗口", mode: "池化", max: "最大", average: "平均",
      item: "#{i}：数字 {d}", input: "数字，{n}×{n}", map: "特征图，{h}×{w}",
      pooled: "{mode}池化，{h}×{w}", none: "没有输出：卷积核放不下",
      size: "输出尺寸：", note: "在本页中计算，公式与 mnist_cnn.ops 相同。",
      kernels: {  // the names of ops.CLASSIC_KERNELS (the code's, in brackets)
        "identity": "恒等", "box blur": "均值模糊", "gaussian blur": "高斯模糊",
        "sharpen": "锐化", "sobel x": "Sobel x", "sobel y": "Sobel y", "laplacian": "拉普拉斯",
      },
    },
  };

  function say(words, key, values) {
    return words[key].replace(/\{(\w+)\}/g, function (_, name) {
      return String(values[name]);
    });
  }

  var counter = 0;
  function control(box, name, label, input) {
    var id = "mnist-explorer-" + (++counter);
    input.setAttribute("data-name", name);
    var wrap = document.createElement("label");
    wrap.className = "mnist-explorer-control";
    wrap.htmlFor = id;
    wrap.textContent = label + " ";
    input.id = id;
    wrap.appendChild(input);
    box.appendChild(wrap);
    return input;
  }

  function select(options, value) {
    var el = document.createElement("select");
    options.forEach(function (o) {
      var opt = document.createElement("option");
      opt.value = o[0];
      opt.textContent = o[1];
      el.appendChild(opt);
    });
    el.value = value;
    return el;
  }

  function number(value, min, max, step) {
    var el = document.createElement("input");
    el.type = "number";
    el.value = value;
    if (min !== null) el.min = min;
    if (max !== null) el.max = max;
    el.step = step;
    return el;
  }

  function integer(el, fallback, min, max) {
    var v = parseInt(el.value, 10);
    if (isNaN(v)) return fallback;
    return Math.min(max, Math.max(min, v));
  }

  function decode(b64, n) {  // uint8 pixels, row by row -> values in [0, 1]
    var bytes = atob(b64), x = [];
    for (var i = 0; i < n; i++) {
      var row = [];
      for (var j = 0; j < n; j++) row.push(bytes.charCodeAt(i * n + j) / 255);
      x.push(row);
    }
    return x;
  }

  // the formulas of mnist_cnn.ops.conv2d and max_pool2d / avg_pool2d
  function conv2d(x, w, s, p, d) {
    var n = x.length, k = w.length;
    var size = Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
    var out = [];
    for (var i = 0; i < size; i++) {
      var row = [];
      for (var j = 0; j < size; j++) {
        var sum = 0;
        for (var m = 0; m < k; m++) {
          for (var q = 0; q < k; q++) {
            var r = i * s + m * d - p, c = j * s + q * d - p;
            if (r >= 0 && r < n && c >= 0 && c < n) sum += w[m][q] * x[r][c];
          }
        }
        row.push(sum);
      }
      out.push(row);
    }
    return out;
  }

  function pool(x, k, s, mode) {
    var n = x.length, size = Math.floor((n - k) / s) + 1, out = [];
    for (var i = 0; i < size; i++) {
      var row = [];
      for (var j = 0; j < size; j++) {
        var best = -Infinity, sum = 0;
        for (var m = 0; m < k; m++) {
          for (var q = 0; q < k; q++) {
            var v = x[i * s + m][j * s + q];
            best = Math.max(best, v);
            sum += v;
          }
        }
        row.push(mode === "max" ? best : sum / (k * k));
      }
      out.push(row);
    }
    return out;
  }

  // matplotlib's gray_r (0 white, 1 black) and RdBu_r around 0 (blue < 0 < red), as the figures
  var BLUE = [33, 102, 172], WHITE = [247, 247, 247], RED = [178, 24, 43];
  function colour(v, signed, lim) {
    if (!signed) {
      var g = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
      return [g, g, g];
    }
    var t = lim > 0 ? Math.max(-1, Math.min(1, v / lim)) : 0;
    var end = t < 0 ? BLUE : RED, a = Math.abs(t);
    return WHITE.map(function (w, i) { return Math.round(w + a * (end[i] - w)); });
  }

  function draw(canvas, values, signed) {
    var h = values.length, w = h ? values[0].length : 0, lim = 0;
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!h || !w) return;
    values.forEach(function (row) {
      row.forEach(function (v) { lim = Math.max(lim, Math.abs(v)); });
    });
    var cell = canvas.width / Math.max(h, w);
    for (var i = 0; i < h; i++) {
      for (var j = 0; j < w; j++) {
        var c = colour(values[i][j], signed, lim);
        ctx.fillStyle = "rgb(" + c.join(",") + ")";
        ctx.fillRect(j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
      }
    }
  }

  function picture(box, label) {
    var figure = document.createElement("figure");
    var canvas = document.createElement("canvas");
    canvas.width = canvas.height = 168;
    canvas.setAttribute("role", "img");
    var caption = document.createElement("figcaption");
    figure.appendChild(canvas);
    figure.appendChild(caption);
    box.appendChild(figure);
    return {canvas: canvas, caption: caption, label: label};
  }

  function show(pic, values, signed, text) {
    draw(pic.canvas, values, signed);
    pic.caption.textContent = text;
    pic.canvas.setAttribute("aria-label", text);
  }

  function build(el) {
    var data = JSON.parse(el.querySelector(".mnist-explorer-data").textContent);
    var words = WORDS[el.getAttribute("data-lang")] || WORDS.en;
    var kind = el.getAttribute("data-kind"), n = data.size;
    var digits = data.digits.map(function (b) { return decode(b, n); });
    var controls = document.createElement("div");
    controls.className = "mnist-explorer-controls";
    el.appendChild(controls);
    var digit = control(controls, "digit", words.digit, select(
      data.labels.map(function (d, i) { return [String(i), say(words, "item", {i: i, d: d})]; }),
      "0"));
    var state = {last: null};
    var pictures = document.createElement("div");
    pictures.className = "mnist-explorer-pictures";
    var formula = document.createElement("p");
    formula.className = "mnist-explorer-formula";
    formula.setAttribute("aria-live", "polite");
    var note = document.createElement("p");
    note.className = "mnist-explorer-note";
    note.textContent = words.note;

    if (kind === "conv") {
      var names = Object.keys(data.kernels);
      var kernel = control(controls, "kernel", words.kernel, select(
        names.map(function (k) {
          var local = (words.kernels || {})[k];
          return [k, local && local !== k ? local + "（" + k + "）" : k];
        }).concat([["custom", words.custom]]),
        names.indexOf("sobel x") >= 0 ? "sobel x" : names[0]));
      var stride = control(controls, "stride", words.stride, number(1, 1, 4, 1));
      var padding = control(controls, "padding", words.padding, number(1, 0, 3, 1));
      var dilation = control(controls, "dilation", words.dilation, number(1, 1, 3, 1));
      var legend = document.createElement("p");
      legend.className = "mnist-explorer-legend";
      legend.id = "mnist-explorer-" + (++counter);
      legend.textContent = words.weights;
      el.appendChild(legend);
      var grid = document.createElement("div");
      grid.className = "mnist-explorer-kernel";
      grid.setAttribute("role", "group");
      grid.setAttribute("aria-labelledby", legend.id);
      var cells = [];
      for (var r = 0; r < 3; r++) {
        for (var c = 0; c < 3; c++) {
          var cellInput = number(0, null, null, "any");
          cellInput.setAttribute("aria-label", say(words, "weight", {r: r + 1, c: c + 1}));
          cellInput.setAttribute("data-name", "w" + r + c);
          grid.appendChild(cellInput);
          cells.push(cellInput);
        }
      }
      el.appendChild(grid);
      var fill = function () {
        var w = data.kernels[kernel.value];
        if (!w) return;
        cells.forEach(function (input, i) { input.value = String(Math.round(w[i] * 1e4) / 1e4); });
      };
      var update = function () {
        var x = digits[integer(digit, 0, 0, digits.length - 1)];
        var w = [0, 1, 2].map(function (r) {
          return [0, 1, 2].map(function (c) {
            var v = parseFloat(cells[3 * r + c].value);
            return isNaN(v) ? 0 : v;
          });
        });
        var s = integer(stride, 1, 1, 4), p = integer(padding, 0, 0, 3), d = integer(dilation, 1, 1, 3);
        var out = conv2d(x, w, s, p, d), size = out.length;
        state.last = {rows: size, cols: size, values: out};
        show(inPic, x, false, say(words, "input", {n: n}));
        show(outPic, out, true, size > 0 ? say(words, "map", {h: size, w: size}) : words.none);
        formula.textContent = words.size + "⌊(" + n + " + 2·" + p + " − " + d + "·(3 − 1) − 1) / " +
          s + "⌋ + 1 = " + size;
      };
      kernel.addEventListener("change", function () { fill(); update(); });
      cells.forEach(function (input) {
        input.addEventListener("input", function () { kernel.value = "custom"; update(); });
      });
      [digit, stride, padding, dilation].forEach(function (input) {
        input.addEventListener("input", update);
        input.addEventListener("change", update);
      });
      fill();
    } else {
      var mode = control(controls, "mode", words.mode,
        select([["max", words.max], ["average", words.average]], "max"));
      var windowSize = control(controls, "window", words.window, number(2, 1, 7, 1));
      var poolStride = control(controls, "stride", words.stride, number(2, 1, 7, 1));
      var update = function () {
        var x = digits[integer(digit, 0, 0, digits.length - 1)];
        var k = integer(windowSize, 2, 1, 7), s = integer(poolStride, 2, 1, 7);
        var out = pool(x, k, s, mode.value), size = out.length;
        state.last = {rows: size, cols: size, values: out};
        show(inPic, x, false, say(words, "input", {n: n}));
        show(outPic, out, false, say(words, "pooled", {
          mode: mode.value === "max" ? words.max : words.average, h: size, w: size}));
        formula.textContent = words.size + "⌊(" + n + " − " + k + ") / " + s + "⌋ + 1 = " + size;
      };
      [digit, mode, windowSize, poolStride].forEach(function (input) {
        input.addEventListener("input", update);
        input.addEventListener("change", update);
      });
    }
    el.appendChild(pictures);
    var inPic = picture(pictures, "input"), outPic = picture(pictures, "output");
    el.appendChild(formula);
    el.appendChild(note);
    state.update = update;
    el.explorer = state;
    update();
  }

  function start() {
    document.querySelectorAll(".mnist-explorer").forEach(build);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
