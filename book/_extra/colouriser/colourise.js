/* Colour This: the default colouring model, in the reader's browser.
 *
 * The page's photo never leaves the browser. Every step is the one `colourise` takes (colourlib/whole_photo.py),
 * written again in JavaScript because the browser cannot run Python:
 *   1. the photo squashed to the network's square input (Pillow's BOX filter when it shrinks, BILINEAR when it
 *      grows, reproduced coefficient for coefficient), its L computed, and the sRGB grey of that L fed to the
 *      exported network (onnxruntime-web, WebAssembly, one thread);
 *   2. the network's ab upsampled to the photo's size (Pillow's BILINEAR) and joined with the photo's own
 *      full-resolution L, converted to sRGB with the same closed forms and constants as colourlib.colour.
 * The constants, the input size and the model come from the generated scripts (window.CT_CONFIG, written by
 * study/report/web.py from the exported model), so the two implementations share one source of numbers.
 * `make book-check` colours a photo through this page and compares the canvas with `colourise`'s output.
 */
(function () {
  "use strict";

  const MAX_SIDE = 4096; // larger photos are refused with a message, never frozen on
  const MAX_PIXELS = 16e6;

  // --- the size a photo file declares, read from its header before anything is decoded ------------------------
  // A 30000 x 30000 PNG is a few kilobytes that decode to 3.6 GB: the browser would fail with a message that
  // blames the file. Read its declared size first and refuse it by name, as `colourise` (Pillow's guard) does.
  function declaredSize(bytes) {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const be16 = (i) => (u8[i] << 8) | u8[i + 1];
    const be32 = (i) => ((u8[i] << 24) >>> 0) + (u8[i + 1] << 16) + (u8[i + 2] << 8) + u8[i + 3];
    const le16 = (i) => u8[i] | (u8[i + 1] << 8);
    const le24 = (i) => u8[i] | (u8[i + 1] << 8) | (u8[i + 2] << 16);
    const ascii = (i, n) => String.fromCharCode(...u8.subarray(i, i + n));
    if (u8.length >= 24 && u8[0] === 0x89 && ascii(1, 3) === "PNG" && ascii(12, 4) === "IHDR") {
      return { width: be32(16), height: be32(20) };
    }
    if (u8.length >= 10 && ascii(0, 3) === "GIF") return { width: le16(6), height: le16(8) };
    if (u8.length >= 30 && ascii(0, 4) === "RIFF" && ascii(8, 4) === "WEBP") {
      const kind = ascii(12, 4);
      if (kind === "VP8X") return { width: 1 + le24(24), height: 1 + le24(27) };
      if (kind === "VP8L") {
        const bits = u8[21] | (u8[22] << 8) | (u8[23] << 16) | (u8[24] << 24);
        return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
      }
      if (kind === "VP8 ") return { width: le16(26) & 0x3fff, height: le16(28) & 0x3fff };
    }
    if (u8.length >= 4 && u8[0] === 0xff && u8[1] === 0xd8) {
      for (let i = 2; i + 9 < u8.length; ) {
        if (u8[i] !== 0xff) return null;
        const marker = u8[i + 1];
        if (marker === 0xff) { i += 1; continue; }
        const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
        if (sof) return { width: be16(i + 7), height: be16(i + 5) };
        i += 2 + be16(i + 2);
      }
    }
    return null; // not a format read here, or the size lies beyond the bytes read: the decoder decides
  }

  const tooLarge = (width, height) => Math.max(width, height) > MAX_SIDE || width * height > MAX_PIXELS;
  const limits = `photos up to ${MAX_SIDE} px on a side and ${MAX_PIXELS / 1e6} megapixels are coloured here`;

  // --- Pillow's resampling (ImagingResample, float images), for one float32 plane -----------------------------
  const FILTERS = {
    box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) },
    bilinear: { support: 1.0, f: (x) => { x = Math.abs(x); return x < 1.0 ? 1.0 - x : 0.0; } },
  };

  function coefficients(inSize, outSize, filter) {
    const scale = inSize / outSize;
    const filterscale = Math.max(scale, 1.0);
    const support = filter.support * filterscale;
    const out = [];
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const ss = 1.0 / filterscale;
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      const k = new Float64Array(Math.max(xmax, 0));
      let ww = 0.0;
      for (let x = 0; x < xmax; x++) {
        k[x] = filter.f((x + xmin - center + 0.5) * ss);
        ww += k[x];
      }
      if (ww !== 0.0) for (let x = 0; x < xmax; x++) k[x] /= ww;
      out.push([xmin, k]);
    }
    return out;
  }

  /* A float32 plane (h x w, row-major) resized to (outH x outW): horizontal pass, then vertical, as Pillow. */
  function resample(plane, h, w, outH, outW, filter) {
    let src = plane;
    let width = w;
    if (outW !== w) {
      const cx = coefficients(w, outW, filter);
      const tmp = new Float32Array(h * outW);
      for (let y = 0; y < h; y++) {
        const row = y * w;
        for (let xx = 0; xx < outW; xx++) {
          const [xmin, k] = cx[xx];
          let s = 0.0;
          for (let x = 0; x < k.length; x++) s += src[row + xmin + x] * k[x];
          tmp[y * outW + xx] = s;
        }
      }
      src = tmp;
      width = outW;
    }
    if (outH !== h) {
      const cy = coefficients(h, outH, filter);
      const tmp = new Float32Array(outH * width);
      for (let yy = 0; yy < outH; yy++) {
        const [ymin, k] = cy[yy];
        for (let x = 0; x < width; x++) {
          let s = 0.0;
          for (let y = 0; y < k.length; y++) s += src[(ymin + y) * width + x] * k[y];
          tmp[yy * width + x] = s;
        }
      }
      src = tmp;
    }
    return src;
  }

  // --- colour (colourlib/colour/__init__.py, the same closed forms) -------------------------------------------
  function colour(config) {
    const c = config.colour;
    const linearOf = (v) => (v > 0.04045 ? Math.pow((v + 0.055) / 1.055, 2.4) : v / 12.92);
    const LINEAR = new Float64Array(256);
    for (let i = 0; i < 256; i++) LINEAR[i] = linearOf(i / 255);
    const yRow = c.xyz_from_rgb[1];
    const lightnessOfY = (y) => (y > c.epsilon ? 116 * Math.cbrt(y) - 16 : 116 * c.kappa * y);
    return {
      linearOf,
      /* L* of sRGB bytes (rgba, alpha ignored) at full resolution */
      lightnessBytes(rgba, n) {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const y = LINEAR[rgba[4 * i]] * yRow[0] + LINEAR[rgba[4 * i + 1]] * yRow[1] + LINEAR[rgba[4 * i + 2]] * yRow[2];
          out[i] = lightnessOfY(Math.fround(y));
        }
        return out;
      },
      /* L* of float sRGB planes */
      lightnessPlanes(r, g, b) {
        const out = new Float32Array(r.length);
        for (let i = 0; i < r.length; i++) {
          const y = linearOf(r[i]) * yRow[0] + linearOf(g[i]) * yRow[1] + linearOf(b[i]) * yRow[2];
          out[i] = lightnessOfY(Math.fround(y));
        }
        return out;
      },
      /* sRGB grey (0..1) of a lightness: lab2rgb(L, 0, 0) (colour.l_to_grey_rgb) */
      greyOf(lightness) {
        const fy = (lightness + 16.0) / 116.0;
        const y = fy * fy * fy > 216.0 / 24389.0 ? fy * fy * fy : (lightness * 27.0) / 24389.0;
        const s = y <= 0.0031308 ? 12.92 * y : 1.055 * Math.pow(Math.max(y, 0.0031308), 1 / 2.4) - 0.055;
        return Math.min(Math.max(s, 0.0), 1.0);
      },
      /* L, a, b (CIE) -> sRGB bytes into rgba at i (colour.lab_to_rgb, clipped as it clips) */
      labToBytes(L, a, b, rgba, i) {
        const fy = (L + 16) / 116;
        const f = [fy + a / 500, fy, Math.max(fy - b / 200, 0)];
        const xyz = f.map((v) => (v > 0.2068966 ? v * v * v : (v - 16 / 116) / c.kappa));
        for (let ch = 0; ch < 3; ch++) {
          const m = c.rgb_from_xyz[ch];
          let lin = xyz[0] * c.white[0] * m[0] + xyz[1] * c.white[1] * m[1] + xyz[2] * c.white[2] * m[2];
          lin = Math.min(Math.max(lin, 0), 1);
          const s = lin > 0.0031308 ? 1.055 * Math.pow(lin, 1 / 2.4) - 0.055 : 12.92 * lin;
          rgba[i + ch] = Math.round(Math.min(Math.max(s, 0), 1) * 255);
        }
      },
    };
  }

  // --- loading the runtime and the model (embedded scripts: works from file:// and from any server) ----------
  async function gunzipBase64(text) {
    const bytes = Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // The generated scripts sit beside this file (the built book's colouriser/ folder), whatever page loads it.
  const GENERATED = typeof document === "undefined" ? "" : new URL("./", document.currentScript.src).href;

  function loadScript(name) {
    return new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = GENERATED + name;
      tag.onload = resolve;
      tag.onerror = () => reject(new Error(`${name} is missing from this build of the book`));
      document.head.appendChild(tag);
    });
  }

  let sessionPromise = null;
  function session(config) {
    if (!sessionPromise) {
      sessionPromise = (async () => {
        for (const name of config.scripts) await loadScript(name); // in order: the runtime, then the model
        const ort = window.ort;
        ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a file:// page never has
        ort.env.wasm.wasmBinary = await gunzipBase64(window.CT_ORT_WASM);
        ort.env.wasm.wasmPaths = {
          mjs: URL.createObjectURL(new Blob([window.CT_ORT_GLUE], { type: "text/javascript" })),
        };
        return ort.InferenceSession.create(await gunzipBase64(window.CT_MODEL));
      })();
    }
    return sessionPromise;
  }

  // --- colouring one photo ---------------------------------------------------------------------------------------
  async function colourPhoto(bitmap, config) {
    const W = bitmap.width, H = bitmap.height, S = config.image_size;
    const work = document.createElement("canvas");
    work.width = W;
    work.height = H;
    const ctx = work.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, W, H);
    const px = rgba.data, n = W * H;
    const col = colour(config);
    // 1. the squashed photo's L, its grey, the network
    const planes = [0, 1, 2].map((ch) => {
      const p = new Float32Array(n);
      for (let i = 0; i < n; i++) p[i] = px[4 * i + ch] / 255;
      return p;
    });
    const filter = Math.min(H, W) > S ? FILTERS.box : FILTERS.bilinear;
    const small = planes.map((p) => resample(p, H, W, S, S, filter));
    const lSmall = col.lightnessPlanes(small[0], small[1], small[2]);
    const grey = new Float32Array(S * S);
    for (let i = 0; i < S * S; i++) grey[i] = Math.fround(col.greyOf(lSmall[i])) * 255;
    const sess = await session(config);
    const result = await sess.run({ grey: new window.ort.Tensor("float32", grey, [1, S, S, 1]) });
    const ab = result.ab;
    const [, h, w] = ab.dims;
    // 2. ab upsampled, joined with the photo's own L
    const aPlane = new Float32Array(h * w), bPlane = new Float32Array(h * w);
    for (let i = 0; i < h * w; i++) {
      aPlane[i] = ab.data[2 * i];
      bPlane[i] = ab.data[2 * i + 1];
    }
    const aFull = resample(aPlane, h, w, H, W, FILTERS.bilinear);
    const bFull = resample(bPlane, h, w, H, W, FILTERS.bilinear);
    const lightness = col.lightnessBytes(px, n);
    const scale = config.ab_scale;
    for (let i = 0; i < n; i++) {
      col.labToBytes(lightness[i], Math.fround(aFull[i] * scale), Math.fround(bFull[i] * scale), px, 4 * i);
    }
    return rgba;
  }

  // --- the page ----------------------------------------------------------------------------------------------------
  function mount(root) {
    const config = window.CT_CONFIG;
    const status = root.querySelector(".ct-status");
    const input = root.querySelector("input[type=file]");
    const out = root.querySelector("canvas.ct-out");
    const download = root.querySelector(".ct-download");
    const say = (text, state) => {
      status.textContent = text;
      root.dataset.state = state;
    };
    if (!config) {
      say("The model is not in this build of the book: run `make study` (it exports the default model), then build the book again.", "missing");
      input.disabled = true;
      return;
    }
    root.querySelector(".ct-model").textContent =
      `${config.model}, exported from commit ${config.commit} (${config.date}); ${config.image_size} px input; ` +
      `${(config.download_bytes / 1e6).toFixed(0)} MB to download once.`;
    const colourFile = async (file) => {
      if (!file) return;
      const started = performance.now();
      say(`Colouring ${file.name}…`, "working");
      try {
        const declared = declaredSize(await file.slice(0, 1 << 18).arrayBuffer());
        if (declared && tooLarge(declared.width, declared.height)) {
          const gigabytes = (declared.width * declared.height * 4) / 1e9;
          const bomb = gigabytes >= 1 ? ` (decoded, it would take ${gigabytes.toFixed(1)} GB of memory)` : "";
          say(`${file.name} declares ${declared.width} x ${declared.height} px in its header, so it was not decoded${bomb}: ${limits}. Make it smaller, or use the colourise command, which takes larger photos.`, "refused");
          return;
        }
        const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
        if (tooLarge(bitmap.width, bitmap.height)) {
          say(`${file.name} is ${bitmap.width} x ${bitmap.height} px: ${limits}. Make it smaller, or use the colourise command, which takes any size.`, "refused");
          return;
        }
        const coloured = await colourPhoto(bitmap, config);
        out.width = coloured.width;
        out.height = coloured.height;
        out.getContext("2d").putImageData(coloured, 0, 0);
        out.hidden = false;
        const seconds = (performance.now() - started) / 1000;
        root.dataset.seconds = seconds.toFixed(3);
        say(`${file.name} (${bitmap.width} x ${bitmap.height} px) coloured in ${seconds.toFixed(2)} s, in this browser.`, "done");
        download.hidden = false;
        download.onclick = () => out.toBlob((blob) => {
          const link = document.createElement("a");
          link.href = URL.createObjectURL(blob);
          link.download = file.name.replace(/\.[^.]+$/, "") + "-coloured.png";
          link.click();
        }, "image/png");
      } catch (err) {
        say(`${file.name} could not be coloured: ${err.message || err}. Is it a photo (JPEG, PNG, WebP)?`, "failed");
      }
    };
    input.addEventListener("change", () => colourFile(input.files[0]));
    root.addEventListener("dragover", (e) => e.preventDefault());
    root.addEventListener("drop", (e) => {
      e.preventDefault();
      colourFile(e.dataTransfer.files[0]);
    });
    if (root.dataset.lazy !== undefined) {
      say("Choose or drop a photo: the model loads on first use and colours it here; nothing is sent anywhere.", "ready");
      return;
    }
    say("Loading the model…", "loading");
    session(config).then(
      () => say("Ready: choose or drop a photo. It is coloured here, and sent nowhere.", "ready"),
      (err) => say(`The model could not be loaded: ${err.message || err}`, "failed"),
    );
  }

  if (typeof document !== "undefined") {
    document.addEventListener("DOMContentLoaded", () => {
      document.querySelectorAll(".ct-colourise").forEach(mount);
    });
  }
  if (typeof module !== "undefined") module.exports = { declaredSize }; // node, for the project's tests
})();
