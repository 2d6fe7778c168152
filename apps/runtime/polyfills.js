// Web-platform globals that V8 (as embedded by mini-racer) does not provide:
// TextEncoder/TextDecoder, atob/btoa, URL/URLSearchParams, structuredClone.
// Evaluated once per isolate, before prelude.js freezes every built-in.
(function installPolyfills(G) {
  "use strict";

  // Writes the UTF-8 of str[from..] into dest from byte `at`, stopping before a code point
  // that does not fit (lone surrogates become U+FFFD). Returns [units read, bytes written].
  function utf8Write(str, from, dest, at) {
    const n = str.length, size = dest.length;
    let i = from, j = at;
    while (i < n) {
      let c = str.charCodeAt(i);
      if (c < 0x80) {
        if (j >= size) break;
        dest[j++] = c; i++;
        continue;
      }
      let units = 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = str.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); units = 2; }
        else c = 0xfffd;
      } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x800) {
        if (j + 2 > size) break;
        dest[j++] = 0xc0 | (c >> 6); dest[j++] = 0x80 | (c & 63);
      } else if (c < 0x10000) {
        if (j + 3 > size) break;
        dest[j++] = 0xe0 | (c >> 12); dest[j++] = 0x80 | ((c >> 6) & 63); dest[j++] = 0x80 | (c & 63);
      } else {
        if (j + 4 > size) break;
        dest[j++] = 0xf0 | (c >> 18); dest[j++] = 0x80 | ((c >> 12) & 63);
        dest[j++] = 0x80 | ((c >> 6) & 63); dest[j++] = 0x80 | (c & 63);
      }
      i += units;
    }
    return [i - from, j - at];
  }

  function utf8Length(str) {
    const n = str.length;
    let len = n;
    for (let i = 0; i < n; i++) {
      const c = str.charCodeAt(i);
      if (c < 0x80) continue;
      if (c < 0x800) len += 1;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { len += 2; i++; }
      else len += 2;  // 3 bytes, U+FFFD for a lone surrogate included
    }
    return len;
  }

  const NON_ASCII = /[^\x00-\x7f]/;

  // Typed-array stores into one allocation of the exact size (a run's binary data is
  // accounted per allocation), ASCII in a loop of its own: the driver encodes every
  // checkpoint of a run, and an ASCII state of ~2.6 KB took ~80 us through an array of
  // numbers, ~25-35 us this way.
  function utf8Encode(str) {
    str = String(str);
    if (!NON_ASCII.test(str)) {
      const n = str.length, out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = str.charCodeAt(i);
      return out;
    }
    const out = new Uint8Array(utf8Length(str));
    utf8Write(str, 0, out, 0);
    return out;
  }

  function utf8Decode(bytes, fatal) {
    let s = "";
    const parts = [];
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      let cp = 0xfffd, n = 1;
      if (b < 0x80) { cp = b; }
      else if (b >= 0xc2 && b < 0xe0 && i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80) {
        cp = ((b & 31) << 6) | (bytes[i + 1] & 63); n = 2;
      } else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
        cp = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63); n = 3;
        if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) { cp = 0xfffd; n = 1; }
      } else if (b >= 0xf0 && b < 0xf5 && i + 3 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80 && (bytes[i + 3] & 0xc0) === 0x80) {
        cp = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) | (bytes[i + 3] & 63); n = 4;
        if (cp < 0x10000 || cp > 0x10ffff) { cp = 0xfffd; n = 1; }
      }
      if (cp === 0xfffd && fatal && b !== 0xef) throw new TypeError("The encoded data was not valid UTF-8");
      parts.push(cp);
      i += n;
      if (parts.length >= 4096) { s += String.fromCodePoint.apply(null, parts); parts.length = 0; }
    }
    return s + String.fromCodePoint.apply(null, parts);
  }

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(input = "") { return utf8Encode(input); }
    encodeInto(input, dest) {
      if (!(dest instanceof Uint8Array)) throw new TypeError("encodeInto: the destination must be a Uint8Array");
      const [read, written] = utf8Write(String(input), 0, dest, 0);
      return { read, written };
    }
  }

  class TextDecoder {
    constructor(label = "utf-8", options = {}) {
      const l = String(label).toLowerCase();
      if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8") {
        throw new RangeError(`TextDecoder: only utf-8 is supported, not '${label}'`);
      }
      this._fatal = Boolean(options && options.fatal);
    }
    get encoding() { return "utf-8"; }
    get fatal() { return this._fatal; }
    decode(input) {
      if (input === undefined) return "";
      let bytes;
      if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
      else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      else throw new TypeError("TextDecoder.decode expects an ArrayBuffer or a typed array");
      let start = 0;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
      return utf8Decode(bytes.subarray(start), this._fatal);
    }
  }

  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function btoa(input) {
    const s = String(input);
    let out = "";
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) {
        throw new Error("InvalidCharacterError: btoa() accepts only Latin-1 characters");
      }
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[n >> 18] + B64[(n >> 12) & 63] +
        (i + 1 < s.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < s.length ? B64[n & 63] : "=");
    }
    return out;
  }
  function atob(input) {
    let s = String(input).replace(/[\t\n\f\r ]+/g, "");
    if (s.length % 4 === 0) s = s.replace(/==?$/, "");
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
      throw new Error("InvalidCharacterError: atob() received a string that is not valid base64");
    }
    let out = "", buf = 0, bits = 0;
    for (let i = 0; i < s.length; i++) {
      buf = (buf << 6) | B64.indexOf(s[i]);
      bits += 6;
      if (bits >= 8) { bits -= 8; out += String.fromCharCode((buf >> bits) & 255); }
    }
    return out;
  }

  // ---- URL / URLSearchParams (WHATWG-style, covering what auth code uses) ----
  const SPECIAL = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21", "file:": "" };

  function formEncode(s) {
    return encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g,
      (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  }
  function formDecode(s) {
    try { return decodeURIComponent(s.replace(/\+/g, " ")); } catch { return s; }
  }

  class URLSearchParams {
    constructor(init = "") {
      this._list = [];
      this._url = null;
      if (init instanceof URLSearchParams) this._list = init._list.map((p) => [p[0], p[1]]);
      else if (typeof init === "object" && init !== null) {
        const it = typeof init[Symbol.iterator] === "function" ? Array.from(init) : Object.entries(init);
        for (const pair of it) this._list.push([String(pair[0]), String(pair[1])]);
      } else this._parse(String(init));
    }
    _parse(s) {
      this._list = [];
      if (s.startsWith("?")) s = s.slice(1);
      for (const part of s.split("&")) {
        if (!part) continue;
        const eq = part.indexOf("=");
        const k = eq < 0 ? part : part.slice(0, eq);
        const v = eq < 0 ? "" : part.slice(eq + 1);
        this._list.push([formDecode(k), formDecode(v)]);
      }
    }
    _changed() { if (this._url) this._url._search = this._list.length ? "?" + this.toString() : ""; }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([String(k), String(v)]); this._changed(); }
    delete(k) { k = String(k); this._list = this._list.filter((p) => p[0] !== k); this._changed(); }
    get(k) { const p = this._list.find((x) => x[0] === String(k)); return p ? p[1] : null; }
    getAll(k) { return this._list.filter((x) => x[0] === String(k)).map((x) => x[1]); }
    has(k) { return this._list.some((x) => x[0] === String(k)); }
    set(k, v) {
      k = String(k); v = String(v);
      const i = this._list.findIndex((x) => x[0] === k);
      if (i < 0) this._list.push([k, v]);
      else { this._list[i][1] = v; this._list = this._list.filter((x, j) => j <= i || x[0] !== k); }
      this._changed();
    }
    sort() { this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._changed(); }
    forEach(fn, thisArg) { for (const [k, v] of this._list) fn.call(thisArg, v, k, this); }
    *entries() { for (const p of this._list) yield [p[0], p[1]]; }
    *keys() { for (const p of this._list) yield p[0]; }
    *values() { for (const p of this._list) yield p[1]; }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map((p) => formEncode(p[0]) + "=" + formEncode(p[1])).join("&"); }
  }

  function removeDotSegments(path) {
    const out = [];
    const segs = path.split("/");
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (s === "..") { if (out.length > 1) out.pop(); if (i === segs.length - 1) out.push(""); }
      else if (s === ".") { if (i === segs.length - 1) out.push(""); }
      else out.push(s);
    }
    return out.join("/");
  }
  function encodeSet(s, re) {
    return s.replace(re, (c) => encodeURIComponent(c));
  }

  function parseURL(input, base) {
    input = String(input).trim().replace(/[\t\n\r]/g, "");
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/.exec(input);
    const r = { protocol: "", username: "", password: "", hostname: "", port: "", pathname: "", search: "", hash: "" };
    let rest;
    if (m) {
      r.protocol = m[1].toLowerCase() + ":";
      rest = m[2];
      if (SPECIAL[r.protocol] !== undefined) rest = rest.replace(/\\/g, "/");
      if (SPECIAL[r.protocol] !== undefined && base && base.protocol === r.protocol && !rest.startsWith("/")) {
        return parseURL(rest, base);
      }
    } else {
      if (!base) throw new TypeError(`Invalid URL: '${input}'`);
      r.protocol = base.protocol;
      rest = SPECIAL[r.protocol] !== undefined ? input.replace(/\\/g, "/") : input;
      if (!rest.startsWith("//")) {
        Object.assign(r, { username: base.username, password: base.password, hostname: base.hostname, port: base.port });
        const hi = rest.indexOf("#");
        if (hi >= 0) { r.hash = rest.slice(hi); rest = rest.slice(0, hi); }
        const qi = rest.indexOf("?");
        if (qi >= 0) { r.search = rest.slice(qi); rest = rest.slice(0, qi); }
        if (rest === "") {
          r.pathname = base.pathname;
          if (qi < 0) r.search = base.search;
        } else if (rest.startsWith("/")) r.pathname = removeDotSegments(rest);
        else r.pathname = removeDotSegments(base.pathname.replace(/[^/]*$/, "") + rest);
        return finishURL(r);
      }
    }
    const hi = rest.indexOf("#");
    if (hi >= 0) { r.hash = rest.slice(hi); rest = rest.slice(0, hi); }
    const qi = rest.indexOf("?");
    if (qi >= 0) { r.search = rest.slice(qi); rest = rest.slice(0, qi); }
    if (rest.startsWith("//")) {
      rest = rest.slice(2);
      const si = rest.indexOf("/");
      let auth = si < 0 ? rest : rest.slice(0, si);
      rest = si < 0 ? "" : rest.slice(si);
      const at = auth.lastIndexOf("@");
      if (at >= 0) {
        const cred = auth.slice(0, at);
        auth = auth.slice(at + 1);
        const ci = cred.indexOf(":");
        r.username = ci < 0 ? cred : cred.slice(0, ci);
        r.password = ci < 0 ? "" : cred.slice(ci + 1);
      }
      const pm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(auth);
      if (!pm) throw new TypeError(`Invalid URL: '${input}'`);
      r.hostname = pm[1].toLowerCase();
      r.port = pm[2] || "";
      if (r.port !== "" && Number(r.port) > 65535) throw new TypeError(`Invalid URL: '${input}'`);
      if (r.port !== "") r.port = String(Number(r.port));
      if (SPECIAL[r.protocol] !== undefined && r.protocol !== "file:" && !r.hostname) {
        throw new TypeError(`Invalid URL: '${input}'`);
      }
      if (/[\s<>^|%]/.test(r.hostname) && !r.hostname.startsWith("[")) throw new TypeError(`Invalid URL: '${input}'`);
      r.pathname = removeDotSegments(rest || (SPECIAL[r.protocol] !== undefined ? "/" : ""));
    } else {
      r.pathname = SPECIAL[r.protocol] !== undefined ? removeDotSegments("/" + rest.replace(/^\/+/, "")) : rest;
      r.opaque = SPECIAL[r.protocol] === undefined;
    }
    return finishURL(r);
  }
  function finishURL(r) {
    if (SPECIAL[r.protocol] === r.port) r.port = "";
    if (r.search === "?") r.search = "";
    if (r.hash === "#") r.hash = "";
    r.pathname = encodeSet(r.pathname, /[ "<>`{}]/g);
    r.search = encodeSet(r.search, /[ "<>`]/g);
    r.hash = encodeSet(r.hash, /[ "<>`]/g);
    return r;
  }

  class URL {
    constructor(url, base) {
      const b = base === undefined ? null : (base instanceof URL ? base._r : parseURL(base, null));
      this._r = parseURL(url, b);
      this._search = this._r.search;
      this._params = null;
    }
    static canParse(url, base) { try { new URL(url, base); return true; } catch { return false; } }
    get protocol() { return this._r.protocol; }
    get username() { return this._r.username; }
    get password() { return this._r.password; }
    get hostname() { return this._r.hostname; }
    set hostname(v) { this._r.hostname = String(v).toLowerCase(); }
    get port() { return this._r.port; }
    set port(v) { this._r.port = String(v); finishURL(this._r); }
    get host() { return this._r.hostname + (this._r.port ? ":" + this._r.port : ""); }
    get origin() {
      const p = this._r.protocol;
      return SPECIAL[p] !== undefined && p !== "file:" ? p + "//" + this.host : "null";
    }
    get pathname() { return this._r.pathname; }
    set pathname(v) { v = String(v); this._r.pathname = removeDotSegments(v.startsWith("/") ? v : "/" + v); finishURL(this._r); }
    get search() { return this._search; }
    set search(v) {
      v = String(v);
      this._search = v === "" || v === "?" ? "" : (v.startsWith("?") ? v : "?" + v);
      if (this._params) this._params._parse(this._search);
    }
    get searchParams() {
      if (!this._params) { this._params = new URLSearchParams(this._search); this._params._url = this; }
      return this._params;
    }
    get hash() { return this._r.hash; }
    set hash(v) { v = String(v); this._r.hash = v === "" ? "" : (v.startsWith("#") ? v : "#" + v); }
    get href() {
      const r = this._r;
      let auth = "";
      if (r.username || r.password) auth = r.username + (r.password ? ":" + r.password : "") + "@";
      const authority = r.opaque ? "" : "//" + auth + this.host;
      return r.protocol + authority + r.pathname + this._search + r.hash;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }

  // ---- structuredClone: the HTML algorithm's common cases ----
  function structuredClone(value) {
    const seen = new Map();
    const dataCloneError = (what) => {
      const e = new Error(`${what} could not be cloned.`);
      e.name = "DataCloneError";
      return e;
    };
    function clone(v) {
      if (v === null || (typeof v !== "object" && typeof v !== "function" && typeof v !== "symbol")) return v;
      if (typeof v === "function") throw dataCloneError("A function");
      if (typeof v === "symbol") throw dataCloneError("A symbol");
      if (seen.has(v)) return seen.get(v);
      let out;
      if (Array.isArray(v)) { out = []; seen.set(v, out); for (let i = 0; i < v.length; i++) out[i] = clone(v[i]); return out; }
      if (v instanceof Date) out = new Date(v.getTime());
      else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
      else if (v instanceof Map) { out = new Map(); seen.set(v, out); for (const [k, x] of v) out.set(clone(k), clone(x)); return out; }
      else if (v instanceof Set) { out = new Set(); seen.set(v, out); for (const x of v) out.add(clone(x)); return out; }
      else if (v instanceof ArrayBuffer) out = v.slice(0);
      else if (ArrayBuffer.isView(v)) out = new v.constructor(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
      else if (v instanceof Error) { out = new Error(v.message); out.name = v.name; if (v.stack) out.stack = v.stack; }
      else if (v instanceof Boolean || v instanceof Number || v instanceof String) out = Object(v.valueOf());
      else if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) throw dataCloneError(Object.prototype.toString.call(v));
      else {
        out = {};
        seen.set(v, out);
        for (const k of Object.keys(v)) out[k] = clone(v[k]);
        return out;
      }
      seen.set(v, out);
      return out;
    }
    return clone(value);
  }

  const define = (name, value) => Object.defineProperty(G, name, { value, writable: false, enumerable: false, configurable: false });
  define("TextEncoder", TextEncoder);
  define("TextDecoder", TextDecoder);
  define("atob", atob);
  define("btoa", btoa);
  define("URL", URL);
  define("URLSearchParams", URLSearchParams);
  define("structuredClone", structuredClone);
})(globalThis);
