// Node-compatible modules for require(): querystring, url, util, crypto, buffer.
// Evaluated once per isolate after polyfills.js and before prelude.js, which takes the factory
// below off the global object, builds the modules once and hands them out through require().
// Everything returned is deep-frozen; nothing here keeps per-run or per-tenant state.
// Hashes are computed here in plain JS (no host calls): SHA-1, SHA-256, SHA-512, MD5 and HMAC.
globalThis.__gpNodeModules = function makeNodeModules(deps) {
  "use strict";
  const { freeze, getOwnPropertyNames, getOwnPropertyDescriptor } = Object;
  const ErrorCtor = Error, TypeErrorCtor = TypeError, RangeErrorCtor = RangeError;
  const StringFn = String;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  function typeError(message, code) {
    const e = new TypeErrorCtor(message);
    e.code = code || "ERR_INVALID_ARG_TYPE";
    return e;
  }

  // ---------------------------------------------------------------- Buffer
  const HEX = "0123456789abcdef";
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const B64_INDEX = new Map();
  for (let i = 0; i < 64; i++) B64_INDEX.set(B64[i], i);
  B64_INDEX.set("-", 62);
  B64_INDEX.set("_", 63);
  const ENCODINGS = ["utf8", "hex", "base64", "base64url", "latin1", "binary", "ascii"];

  function normEncoding(enc) {
    const e = enc === undefined ? "utf8" : StringFn(enc).toLowerCase();
    if (e === "utf-8") return "utf8";
    if (!ENCODINGS.includes(e)) throw typeError(`Unknown encoding: ${enc}`, "ERR_UNKNOWN_ENCODING");
    return e;
  }
  function decodeString(str, enc) {
    const s = StringFn(str);
    switch (normEncoding(enc)) {
      case "utf8": return encoder.encode(s);
      case "hex": {
        const n = s.length >> 1;
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const b = parseInt(s.substr(i * 2, 2), 16);
          if (Number.isNaN(b)) return out.slice(0, i); // Node stops at the first bad pair
          out[i] = b;
        }
        return out;
      }
      case "base64": case "base64url": {
        const bytes = [];
        let acc = 0, bits = 0;
        for (const ch of s) {
          if (ch === "=") break;
          const v = B64_INDEX.get(ch);
          if (v === undefined) continue; // Node skips characters outside the alphabet
          acc = (acc << 6) | v;
          bits += 6;
          if (bits >= 8) { bits -= 8; bytes.push((acc >> bits) & 255); }
        }
        return Uint8Array.from(bytes);
      }
      default: { // latin1, binary, ascii
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 255;
        return out;
      }
    }
  }
  function encodeBytes(bytes, enc) {
    switch (normEncoding(enc)) {
      case "utf8": return decoder.decode(bytes);
      case "hex": {
        let s = "";
        for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
        return s;
      }
      case "base64": case "base64url": {
        const url = normEncoding(enc) === "base64url";
        let s = "";
        for (let i = 0; i < bytes.length; i += 3) {
          const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
          s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
          s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : (url ? "" : "=");
          s += i + 2 < bytes.length ? B64[n & 63] : (url ? "" : "=");
        }
        return url ? s.replace(/\+/g, "-").replace(/\//g, "_") : s;
      }
      case "ascii": {
        let s = "";
        for (let i = 0; i < bytes.length; i++) s += StringFn.fromCharCode(bytes[i] & 127);
        return s;
      }
      default: {
        let s = "";
        for (let i = 0; i < bytes.length; i++) s += StringFn.fromCharCode(bytes[i]);
        return s;
      }
    }
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === "string") return toBuffer(decodeString(value, encodingOrOffset));
      if (value instanceof ArrayBuffer) {
        return new Buffer(value, encodingOrOffset || 0, length === undefined ? value.byteLength - (encodingOrOffset || 0) : length);
      }
      if (ArrayBuffer.isView(value)) {
        return toBuffer(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
      }
      if (Array.isArray(value)) return toBuffer(Uint8Array.from(value, (x) => Number(x) & 255));
      if (value && typeof value === "object" && value.type === "Buffer" && Array.isArray(value.data)) {
        return Buffer.from(value.data);
      }
      throw typeError("The first argument must be of type string, Buffer, ArrayBuffer, Array, or Array-like Object.");
    }
    static alloc(size, fill) {
      checkSize(size);
      const b = new Buffer(size);
      if (fill !== undefined) b.fill(typeof fill === "string" ? decodeString(fill)[0] || 0 : fill);
      return b;
    }
    static isBuffer(value) { return value instanceof Buffer; }
    static isEncoding(enc) {
      try { normEncoding(enc); return typeof enc === "string"; } catch { return false; }
    }
    static byteLength(value, enc) {
      if (typeof value === "string") return decodeString(value, enc).length;
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
      throw typeError("The \"string\" argument must be of type string or an instance of Buffer or ArrayBuffer.");
    }
    static concat(list, totalLength) {
      if (!Array.isArray(list)) throw typeError("The \"list\" argument must be an instance of Array.");
      const parts = list.map((b) => {
        if (!(b instanceof Uint8Array)) throw typeError("The \"list\" argument must contain only Buffer or Uint8Array.");
        return b;
      });
      const total = totalLength === undefined ? parts.reduce((n, b) => n + b.length, 0) : totalLength;
      checkSize(total);
      const out = new Buffer(total);
      let at = 0;
      for (const b of parts) {
        if (at >= total) break;
        out.set(b.subarray(0, total - at), at);
        at += Math.min(b.length, total - at);
      }
      return out;
    }
    static compare(a, b) { return compareBytes(a, b); }
    toString(enc, start, end) {
      const s = start === undefined ? 0 : Math.max(0, start | 0);
      const e = end === undefined ? this.length : Math.min(this.length, end | 0);
      return encodeBytes(this.subarray(s, Math.max(s, e)), enc);
    }
    toJSON() { return { type: "Buffer", data: Array.from(this) }; }
    equals(other) { return compareBytes(this, other) === 0; }
    compare(other) { return compareBytes(this, other); }
    write(string, offset, enc) {
      const bytes = decodeString(string, enc);
      const at = offset === undefined ? 0 : offset | 0;
      const n = Math.min(bytes.length, this.length - at);
      this.set(bytes.subarray(0, Math.max(0, n)), at);
      return Math.max(0, n);
    }
    slice(start, end) { return this.subarray(start, end); }
    subarray(start, end) {
      const view = Uint8Array.prototype.subarray.call(this, start, end);
      return new Buffer(view.buffer, view.byteOffset, view.length);
    }
    readUInt8(offset) { return this[offset | 0]; }
  }
  // Subclass results (map, filter...) should be Buffers too, as in Node.
  function toBuffer(u8) { return new Buffer(u8.buffer, u8.byteOffset, u8.length); }
  function checkSize(size) {
    if (typeof size !== "number" || !(size >= 0) || size > 64 * 1024 * 1024) {
      throw new RangeErrorCtor(`The value of "size" is out of range. It must be >= 0 && <= ${64 * 1024 * 1024}. Received ${size}`);
    }
  }
  function compareBytes(a, b) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) throw typeError("The arguments must be Buffers or Uint8Arrays.");
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length === b.length ? 0 : (a.length < b.length ? -1 : 1);
  }
  function bytesOf(data, enc) {
    if (typeof data === "string") return decodeString(data, enc);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    throw typeError("The \"data\" argument must be of type string or an instance of Buffer, TypedArray, or DataView.");
  }

  // ---------------------------------------------------------------- hashes
  // Each takes a byte array and returns the digest bytes. Inputs are bounded by the run's
  // memory accounting; the loops are plain integer arithmetic the watchdog can interrupt.
  function pad(bytes, littleEndian, lengthBytes) {
    const blockSize = lengthBytes === 16 ? 128 : 64;
    const bitLen = bytes.length * 8;
    const total = Math.ceil((bytes.length + 1 + lengthBytes) / blockSize) * blockSize;
    const out = new Uint8Array(total);
    out.set(bytes);
    out[bytes.length] = 0x80;
    const hi = Math.floor(bitLen / 0x100000000), lo = bitLen >>> 0;
    if (littleEndian) {
      for (let i = 0; i < 4; i++) { out[total - 8 + i] = (lo >>> (8 * i)) & 255; out[total - 4 + i] = (hi >>> (8 * i)) & 255; }
    } else {
      for (let i = 0; i < 4; i++) { out[total - 1 - i] = (lo >>> (8 * i)) & 255; out[total - 5 - i] = (hi >>> (8 * i)) & 255; }
    }
    return out;
  }
  function wordsBE(h) {
    const out = new Uint8Array(h.length * 4);
    h.forEach((w, i) => { out[i * 4] = w >>> 24; out[i * 4 + 1] = (w >>> 16) & 255; out[i * 4 + 2] = (w >>> 8) & 255; out[i * 4 + 3] = w & 255; });
    return out;
  }
  const rotl = (x, n) => (x << n) | (x >>> (32 - n));
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));

  function sha1(bytes) {
    const m = pad(bytes, false, 8);
    const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    const w = new Int32Array(80);
    for (let off = 0; off < m.length; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = (m[off + i * 4] << 24) | (m[off + i * 4 + 1] << 16) | (m[off + i * 4 + 2] << 8) | m[off + i * 4 + 3];
      for (let i = 16; i < 80; i++) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
      let [a, b, c, d, e] = h;
      for (let i = 0; i < 80; i++) {
        let f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        const t = (rotl(a, 5) + f + e + k + w[i]) | 0;
        e = d; d = c; c = rotl(b, 30); b = a; a = t;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0; h[4] = (h[4] + e) | 0;
    }
    return wordsBE(h);
  }

  const K256 = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];
  function sha256(bytes) {
    const m = pad(bytes, false, 8);
    const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    const w = new Int32Array(64);
    for (let off = 0; off < m.length; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = (m[off + i * 4] << 24) | (m[off + i * 4 + 1] << 16) | (m[off + i * 4 + 2] << 8) | m[off + i * 4 + 3];
      for (let i = 16; i < 64; i++) {
        const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
        const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let [a, b, c, d, e, f, g, hh] = h;
      for (let i = 0; i < 64; i++) {
        const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i]) | 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      const v = [a, b, c, d, e, f, g, hh];
      for (let i = 0; i < 8; i++) h[i] = (h[i] + v[i]) | 0;
    }
    return wordsBE(h);
  }

  // SHA-512 on BigInt words: simple and exact; fast enough for the small inputs functions hash.
  let K512 = null;
  const H512 = [
    "6a09e667f3bcc908", "bb67ae8584caa73b", "3c6ef372fe94f82b", "a54ff53a5f1d36f1",
    "510e527fade682d1", "9b05688c2b3e6c1f", "1f83d9abfb41bd6b", "5be0cd19137e2179",
  ];
  const K512_HEX = (
    "428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc 3956c25bf348b538 59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118 " +
    "d807aa98a3030242 12835b0145706fbe 243185be4ee4b28c 550c7dc3d5ffb4e2 72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235 c19bf174cf692694 " +
    "e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65 2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5 " +
    "983e5152ee66dfab a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4 c6e00bf33da88fc2 d5a79147930aa725 06ca6351e003826f 142929670a0e6e70 " +
    "27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed 53380d139d95b3df 650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b " +
    "a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30 d192e819d6ef5218 d69906245565a910 f40e35855771202a 106aa07032bbd1b8 " +
    "19a4c116b8d2d0c8 1e376c085141ab53 2748774cdf8eeb99 34b0bcb5e19b48a8 391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373 682e6ff3d6b2b8a3 " +
    "748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec 90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b " +
    "ca273eceea26619c d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178 06f067aa72176fba 0a637dc5a2c898a6 113f9804bef90dae 1b710b35131c471b " +
    "28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc 431d67c49c100d4c 4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817"
  );
  function sha512(bytes) {
    const M = (1n << 64n) - 1n;
    if (!K512) K512 = K512_HEX.split(" ").map((x) => BigInt(`0x${x}`));
    const rot = (x, n) => ((x >> n) | (x << (64n - n))) & M;
    const m = pad(bytes, false, 16);
    const h = H512.map((x) => BigInt(`0x${x}`));
    const w = new Array(80);
    for (let off = 0; off < m.length; off += 128) {
      for (let i = 0; i < 16; i++) {
        let v = 0n;
        for (let j = 0; j < 8; j++) v = (v << 8n) | BigInt(m[off + i * 8 + j]);
        w[i] = v;
      }
      for (let i = 16; i < 80; i++) {
        const s0 = rot(w[i - 15], 1n) ^ rot(w[i - 15], 8n) ^ (w[i - 15] >> 7n);
        const s1 = rot(w[i - 2], 19n) ^ rot(w[i - 2], 61n) ^ (w[i - 2] >> 6n);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) & M;
      }
      let [a, b, c, d, e, f, g, hh] = h;
      for (let i = 0; i < 80; i++) {
        const t1 = (hh + (rot(e, 14n) ^ rot(e, 18n) ^ rot(e, 41n)) + ((e & f) ^ (~e & M & g)) + K512[i] + w[i]) & M;
        const t2 = ((rot(a, 28n) ^ rot(a, 34n) ^ rot(a, 39n)) + ((a & b) ^ (a & c) ^ (b & c))) & M;
        hh = g; g = f; f = e; e = (d + t1) & M; d = c; c = b; b = a; a = (t1 + t2) & M;
      }
      const v = [a, b, c, d, e, f, g, hh];
      for (let i = 0; i < 8; i++) h[i] = (h[i] + v[i]) & M;
    }
    const out = new Uint8Array(64);
    h.forEach((x, i) => { for (let j = 0; j < 8; j++) out[i * 8 + j] = Number((x >> BigInt(56 - 8 * j)) & 255n); });
    return out;
  }

  const MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const MD5_K = [];
  for (let i = 0; i < 64; i++) MD5_K.push((Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000)) | 0);
  function md5(bytes) {
    const m = pad(bytes, true, 8);
    const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    const x = new Int32Array(16);
    for (let off = 0; off < m.length; off += 64) {
      for (let i = 0; i < 16; i++) x[i] = m[off + i * 4] | (m[off + i * 4 + 1] << 8) | (m[off + i * 4 + 2] << 16) | (m[off + i * 4 + 3] << 24);
      let [a, b, c, d] = h;
      for (let i = 0; i < 64; i++) {
        let f, g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
        else { f = c ^ (b | ~d); g = (7 * i) % 16; }
        const t = d;
        d = c; c = b;
        b = (b + rotl((a + f + MD5_K[i] + x[g]) | 0, MD5_S[(i >> 4) * 4 + (i & 3)])) | 0;
        a = t;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    }
    const out = new Uint8Array(16);
    h.forEach((w, i) => { for (let j = 0; j < 4; j++) out[i * 4 + j] = (w >>> (8 * j)) & 255; });
    return out;
  }

  const HASHES = new Map([
    ["sha1", [sha1, 64]], ["sha256", [sha256, 64]], ["sha512", [sha512, 128]], ["md5", [md5, 64]],
  ]);
  function hashSpec(algorithm) {
    const spec = HASHES.get(StringFn(algorithm).toLowerCase().replace("-", ""));
    if (!spec) {
      const e = new ErrorCtor(`Digest method not supported: ${algorithm} (supported: ${[...HASHES.keys()].join(", ")})`);
      e.code = "ERR_CRYPTO_INVALID_DIGEST";
      throw e;
    }
    return spec;
  }
  function joinChunks(chunks) {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  }
  // createHash and createHmac share one object shape: update() collects, digest() finishes once.
  function digester(finish) {
    const chunks = [];
    let done = false;
    const self = {
      update(data, enc) {
        if (done) { const e = new ErrorCtor("Digest already called"); e.code = "ERR_CRYPTO_HASH_FINALIZED"; throw e; }
        chunks.push(bytesOf(data, enc).slice());
        return self;
      },
      digest(enc) {
        if (done) { const e = new ErrorCtor("Digest already called"); e.code = "ERR_CRYPTO_HASH_FINALIZED"; throw e; }
        done = true;
        const out = toBuffer(finish(joinChunks(chunks)));
        return enc === undefined || enc === "buffer" ? out : out.toString(enc);
      },
    };
    return freeze(self);
  }
  function createHash(algorithm) {
    const [fn] = hashSpec(algorithm);
    return digester(fn);
  }
  function createHmac(algorithm, key) {
    const [fn, blockSize] = hashSpec(algorithm);
    let k = bytesOf(key);
    if (k.length > blockSize) k = fn(k);
    const ipad = new Uint8Array(blockSize), opad = new Uint8Array(blockSize);
    for (let i = 0; i < blockSize; i++) { ipad[i] = (k[i] || 0) ^ 0x36; opad[i] = (k[i] || 0) ^ 0x5c; }
    return digester((msg) => fn(joinChunks([opad, fn(joinChunks([ipad, msg]))])));
  }
  function randomBytes(size, cb) {
    checkSize(size);
    if (size > 65536) throw new RangeErrorCtor("randomBytes: at most 65536 bytes at a time");
    const b = deps.getRandomValues(new Buffer(size));
    if (typeof cb === "function") { cb(null, b); return undefined; }
    return b;
  }
  function timingSafeEqual(a, b) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) throw typeError("The \"buf1\" and \"buf2\" arguments must be Buffers, TypedArrays or DataViews.");
    const x = bytesOf(a), y = bytesOf(b);
    if (x.length !== y.length) {
      const e = new RangeErrorCtor("Input buffers must have the same byte length");
      e.code = "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH";
      throw e;
    }
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  }
  const cryptoModule = {
    createHash, createHmac, randomBytes, timingSafeEqual,
    randomUUID: () => deps.randomUUID(),
    getRandomValues: (arr) => deps.getRandomValues(arr),
    getHashes: () => [...HASHES.keys()],
  };

  // ---------------------------------------------------------------- querystring
  // Node's querystring.escape leaves the same characters as encodeURIComponent unescaped.
  const qsEscape = (s) => encodeURIComponent(s);
  function qsUnescape(s) {
    try { return decodeURIComponent(s); } catch { return s.replace(/%([0-9a-fA-F]{2})/g, (_, h) => StringFn.fromCharCode(parseInt(h, 16))); }
  }
  function qsPrimitive(v) {
    if (typeof v === "string") return v;
    if (typeof v === "number" && Number.isFinite(v)) return `${v}`;
    if (typeof v === "bigint" || typeof v === "boolean") return `${v}`;
    return "";
  }
  function stringify(obj, sep = "&", eq = "=", options) {
    if (obj === null || typeof obj !== "object") return "";
    const esc = options && typeof options.encodeURIComponent === "function" ? options.encodeURIComponent : qsEscape;
    const parts = [];
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      const key = esc(qsPrimitive(k));
      if (Array.isArray(v)) for (const item of v) parts.push(key + eq + esc(qsPrimitive(item)));
      else parts.push(key + eq + esc(qsPrimitive(v)));
    }
    return parts.join(sep);
  }
  function parse(str, sep = "&", eq = "=", options) {
    const out = Object.create(null);
    if (typeof str !== "string" || str.length === 0) return out;
    const max = options && typeof options.maxKeys === "number" ? options.maxKeys : 1000;
    const unesc = options && typeof options.decodeURIComponent === "function" ? options.decodeURIComponent : qsUnescape;
    let pairs = str.split(sep);
    if (max > 0) pairs = pairs.slice(0, max);
    for (const pair of pairs) {
      if (pair === "") continue;
      const at = pair.indexOf(eq);
      const rawK = at >= 0 ? pair.slice(0, at) : pair;
      const rawV = at >= 0 ? pair.slice(at + eq.length) : "";
      const k = unesc(rawK.replace(/\+/g, " ")), v = unesc(rawV.replace(/\+/g, " "));
      if (Object.prototype.hasOwnProperty.call(out, k)) {
        if (Array.isArray(out[k])) out[k].push(v); else out[k] = [out[k], v];
      } else out[k] = v;
    }
    return out;
  }
  const querystring = { stringify, parse, encode: stringify, decode: parse, escape: qsEscape, unescape: qsUnescape };

  // ---------------------------------------------------------------- util
  function inspect(value, opts) {
    const depth = opts && typeof opts.depth === "number" ? opts.depth : 2;
    const seen = new Set();
    function show(v, d) {
      if (typeof v === "string") return d === 0 ? v : `'${v.replace(/'/g, "\\'")}'`;
      if (typeof v === "bigint") return `${v}n`;
      if (typeof v === "symbol") return v.toString();
      if (typeof v === "function") return `[Function: ${v.name || "(anonymous)"}]`;
      if (v === null || typeof v !== "object") return StringFn(v);
      if (seen.has(v)) return "[Circular *1]";
      if (v instanceof Error) return v.stack || `${v.name}: ${v.message}`;
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
      if (v instanceof RegExp) return v.toString();
      if (d > depth) return Array.isArray(v) ? "[Array]" : "[Object]";
      seen.add(v);
      try {
        if (Array.isArray(v)) return v.length ? `[ ${v.map((x) => show(x, d + 1)).join(", ")} ]` : "[]";
        const ks = Object.keys(v);
        if (!ks.length) return "{}";
        const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`);
        return `{ ${ks.map((k) => `${key(k)}: ${show(v[k], d + 1)}`).join(", ")} }`;
      } finally { seen.delete(v); }
    }
    return show(value, 1);
  }
  function format(f, ...args) {
    if (typeof f === "string" && args.length === 0) return f;
    if (typeof f !== "string") return [f, ...args].map((a) => (typeof a === "string" ? a : inspect(a))).join(" ");
    let i = 0;
    let out = f.replace(/%[sdifjoO%]/g, (m) => {
      if (m === "%%") return "%";
      if (i >= args.length) return m;
      const a = args[i++];
      switch (m) {
        case "%s": return typeof a === "string" ? a : (typeof a === "object" && a !== null ? inspect(a, { depth: 1 }) : StringFn(a));
        case "%d": case "%i": {
          if (typeof a === "object" && a !== null) return "NaN";
          const n = Number(a);
          return m === "%i" ? StringFn(Math.trunc(n)) : StringFn(n);
        }
        case "%f": return StringFn(parseFloat(a));
        case "%j": try { return JSON.stringify(a); } catch { return "[Circular]"; }
        default: return inspect(a);
      }
    });
    for (; i < args.length; i++) out += ` ${typeof args[i] === "string" ? args[i] : inspect(args[i])}`;
    return out;
  }
  function promisify(fn) {
    if (typeof fn !== "function") throw typeError("The \"original\" argument must be of type function.");
    return (...args) => new Promise((resolve, reject) => {
      fn(...args, (err, value) => (err ? reject(err) : resolve(value)));
    });
  }
  const util = {
    format, inspect, promisify,
    isDeepStrictEqual: (a, b) => JSON.stringify(a) === JSON.stringify(b),
    types: { isDate: (v) => v instanceof Date, isRegExp: (v) => v instanceof RegExp },
    TextEncoder, TextDecoder,
  };

  // ---------------------------------------------------------------- url
  function urlParse(input, parseQuery) {
    if (typeof input !== "string") throw typeError("The \"url\" argument must be of type string.");
    let u;
    try { u = new URL(input); } catch { u = null; }
    if (!u) {
      const [pathAndQuery, hash] = input.split("#");
      const [pathname, search] = pathAndQuery.split("?");
      return {
        protocol: null, slashes: null, auth: null, host: null, port: null, hostname: null,
        hash: hash === undefined ? null : `#${hash}`, search: search === undefined ? null : `?${search}`,
        query: parseQuery ? parse(search || "") : (search === undefined ? null : search),
        pathname: pathname || null, path: pathAndQuery || null, href: input,
      };
    }
    const auth = u.username ? (u.password ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : decodeURIComponent(u.username)) : null;
    const search = u.search || null;
    return {
      protocol: u.protocol, slashes: true, auth, host: u.host || null, port: u.port || null,
      hostname: u.hostname || null, hash: u.hash || null, search,
      query: parseQuery ? parse(search ? search.slice(1) : "") : (search ? search.slice(1) : null),
      pathname: u.pathname || null, path: `${u.pathname}${u.search}` || null, href: u.href,
    };
  }
  function urlFormat(obj) {
    if (typeof obj === "string") return obj;
    if (obj instanceof URL) return obj.href;
    if (obj === null || typeof obj !== "object") throw typeError("The \"urlObject\" argument must be one of type object or string.");
    const protocol = obj.protocol ? (obj.protocol.endsWith(":") ? obj.protocol : `${obj.protocol}:`) : "";
    const auth = obj.auth ? `${qsEscape(obj.auth).replace(/%3A/i, ":")}@` : "";
    const host = obj.host || (obj.hostname ? obj.hostname + (obj.port ? `:${obj.port}` : "") : "");
    const slashes = obj.slashes || /^(https?|ftp|file|wss?):$/.test(protocol) ? "//" : "";
    let search = obj.search || "";
    if (!search && obj.query && typeof obj.query === "object") {
      const q = stringify(obj.query);
      search = q ? `?${q}` : "";
    } else if (search && !search.startsWith("?")) search = `?${search}`;
    const hash = obj.hash ? (obj.hash.startsWith("#") ? obj.hash : `#${obj.hash}`) : "";
    return `${protocol}${host ? slashes + auth + host : ""}${obj.pathname || ""}${search}${hash}`;
  }
  function urlResolve(from, to) { return new URL(to, new URL(from, "resolve://")).href.replace(/^resolve:\/\//, ""); }
  const url = { URL, URLSearchParams, parse: urlParse, format: urlFormat, resolve: urlResolve };

  // ---------------------------------------------------------------- freezing
  function harden(root) {
    const stack = [root], seen = new Set();
    while (stack.length) {
      const o = stack.pop();
      if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) continue;
      seen.add(o);
      freeze(o);
      // Not the prototypes: the shared intrinsics (Object.prototype, Uint8Array...) are the
      // prelude's to harden, after it has prepared them; our own prototypes are reached
      // through each class's own `prototype` property.
      for (const k of getOwnPropertyNames(o)) {
        const d = getOwnPropertyDescriptor(o, k);
        if (d && "value" in d) stack.push(d.value); else if (d) { stack.push(d.get); stack.push(d.set); }
      }
    }
    return root;
  }
  const buffer = { Buffer, constants: { MAX_LENGTH: 64 * 1024 * 1024 } };
  return harden({ querystring, url, util, crypto: cryptoModule, buffer });
};
