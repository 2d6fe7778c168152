// The sandbox prelude: evaluated once per isolate after polyfills.js, before any tenant code.
// It installs the globals of SPEC section 4, the pipeline driver (globalThis.__gp) and then
// freezes every built-in so that no run can change what a later run sees.
//
// Host protocol (see engine.py); every call but seal() takes the sealed token first:
//   __gp.seal(token)                   once, before any tenant code
//   __gp.define(t, key, factory)       registers a compiled function body (factory returns `pipe`)
//   __gp.start(t, payloadJson)         starts a chain; returns a state JSON string (without
//                                      payloadJson: the payload is in the shared buffer)
//   __gp.pump(t, resultsJson, chained) runs due timers, delivers host-call results; returns state JSON
//   __gp.finish(t)                     queued behind start/next/pump: the state, and the idle proof
//   __gp.buffer(t)                     ArrayBuffer shared with the worker: progress marks + checkpoint
// Everything here may run while tenant code holds references to our objects, so the driver
// keeps its state in closures and only hands out frozen or per-run objects.
(function installPrelude(G, HEAP_LIMIT_BYTES) {
  "use strict";

  const { stringify: jsonStringify, parse: jsonParse } = JSON;
  const { fromCharCode } = String;
  const { apply: reflectApply, ownKeys } = Reflect;
  const Uint16ArrayCtor = Uint16Array;  // a tenant's warm isolate may have rebound the global
  const { now: dateNow } = Date;
  const { freeze, defineProperty, getOwnPropertyNames,
    getOwnPropertyDescriptor, getPrototypeOf, keys: objectKeys, hasOwn } = Object;
  const ArrayIsArray = Array.isArray;
  const NativePromise = Promise;
  const promiseThen = Promise.prototype.then;
  const promiseResolve = Promise.resolve.bind(Promise);
  const MathMax = Math.max;
  const mathRandom = Math.random;
  const StringFn = String;
  const ErrorCtor = Error;
  const FunctionCtor = Function;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const textEncoder = new G.TextEncoder();

  const PROTECTED_CLAIMS = freeze(["iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "jti", "azp"]);
  const ID_TOKEN_TRIGGER = "PRE_OIDC_ID_TOKEN_ISSUED";
  const ACCESS_TOKEN_TRIGGER = "PRE_OIDC_ACCESS_TOKEN_ISSUED";
  const GENERIC_ALLOWED_MODULES = "'./utils' (also available as 'utils'), 'querystring', 'url', 'util', 'crypto', 'buffer', 'axios' and 'lodash'";

  // Shared with the worker process: it reads the marks while this isolate is busy, without
  // entering V8, and reads the checkpoint when the isolate cannot answer any more.
  const HEADER_DOUBLES = 8;
  const CHECKPOINT_BYTES = 2 * 1024 * 1024;
  const buffer = new ArrayBuffer(HEADER_DOUBLES * 8 + CHECKPOINT_BYTES);
  const marks = new Float64Array(buffer, 0, HEADER_DOUBLES);
  const checkpoint = new Uint8Array(buffer, HEADER_DOUBLES * 8);
  // marks[0] run seq, [1] running step index, [2] its start (epoch ms),
  // [3] checkpoint length, [4] checkpoint seq (== run seq when valid),
  // [5] run seq once the checkpoint holds the finished run with nothing left to hand over,
  // [6] 1 from the start of a host entry until it returns normally, and while the worker has
  // cut the run: a chained entry (next, finish) that finds it set does nothing.
  // [7] the length in UTF-16 code units of start()'s payload when the worker put it in the
  // checkpoint area rather than in the script (see payloadFromBuffer).
  // [2] is 0 while a step is starting and -(epoch ms) once a step has ended and none runs:
  // an eval that finds the isolate in that state for long is running a finished step's
  // leftover code (see engine.py), never a step of its own.

  const fns = new Map();           // key -> factory; compiled once per isolate
  const metas = new Map();         // key -> what the host read in the code (flavour.code_meta)
  let R = null;                    // the current run
  let S = null;                    // the current step
  let inHostCall = false;          // true while __gp.start/pump runs synchronously
  let arrayBytes = 0;              // ArrayBuffer bytes allocated by this run (outside V8's heap limit)

  // ---------------------------------------------------------------- logging
  // Values a function hands us may be proxies or carry getters: tenant code that can throw
  // wherever we look. These never let that escape into the driver.
  function inspect(v, depth) {
    try { return inspectUnsafe(v, depth); } catch { return "[a value that cannot be shown]"; }
  }
  function read(v, key) {
    try { return v[key]; } catch { return undefined; }
  }
  function isError(v) {
    try { return v instanceof ErrorCtor; } catch { return false; }
  }
  // What a thrown value says: its message if it has one, else the value itself.
  function errorText(e) {
    const message = e !== null && typeof e === "object" ? read(e, "message") : undefined;
    return inspect(message !== undefined ? message : e, 0);
  }
  function inspectUnsafe(v, depth) {
    if (typeof v === "string") return v;
    if (v instanceof ErrorCtor) return v.stack || `${v.name}: ${v.message}`;
    if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "symbol" || v === undefined || v === null || typeof v !== "object") return StringFn(v);
    try {
      const s = jsonStringify(v, (k, x) => (typeof x === "bigint" ? `${x}n` : typeof x === "function" ? "[Function]" : x));
      return s === undefined ? StringFn(v) : s;
    } catch (e) {
      const circular = isError(e) && /circular/i.test(StringFn(read(e, "message")));
      return circular ? (depth ? "[Object]" : "[Circular]") : "[an object that cannot be shown]";
    }
  }

  function addLog(level, args) {
    const st = S;
    if (!st) return;
    if (st.logDropped) { st.logDropped++; return; }
    let message = "";
    for (let i = 0; i < args.length; i++) message += (i ? " " : "") + inspect(args[i], 0);
    const limits = R.limits;
    if (st.logs.length >= limits.max_log_entries || st.logBytes + message.length > limits.max_log_bytes) {
      st.logDropped = 1;
      return;
    }
    st.logBytes += message.length;
    st.logs.push({ level, message, t_ms: dateNow() - st.t0 });
  }

  function finishLogs(st) {
    if (st.logDropped) {
      st.logs.push({
        level: "warn",
        message: `Log output truncated: ${st.logDropped} more entr${st.logDropped === 1 ? "y was" : "ies were"} dropped (limit ${R.limits.max_log_entries} entries / ${R.limits.max_log_bytes} bytes per step).`,
        t_ms: dateNow() - st.t0,
      });
      st.logDropped = 0;
    }
  }

  const consoleObj = {};
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    consoleObj[level] = function (...args) { addLog(level, args); };
  }
  consoleObj.trace = function (...args) { addLog("debug", args); };
  const logFn = function log(...args) { addLog("log", args); };

  // ---------------------------------------------------------------- timers
  let timerSeq = 0;
  function setTimeoutImpl(fn, delay, ...args) {
    if (typeof fn !== "function") throw new TypeErrorCtor("setTimeout expects a function");
    if (!R || !S) return 0;
    const id = ++timerSeq;
    const ms = Math.max(0, Number(delay) || 0);
    R.timers.set(id, { fn, args, due: dateNow() + ms, order: id, step: S });
    return id;
  }
  function clearTimeoutImpl(id) { if (R) R.timers.delete(id); }
  function queueMicrotaskImpl(fn) {
    if (typeof fn !== "function") throw new TypeErrorCtor("queueMicrotask expects a function");
    promiseThen.call(promiseResolve(), () => fn());
  }

  // Runs timers that are due now, earliest first. Called only from pump(), i.e. inside a
  // cancellable eval, so a loop inside a timer callback is cut by the watchdog.
  function runDueTimers() {
    const now = dateNow();
    const due = [];
    for (const [id, t] of R.timers) if (t.due <= now) due.push([id, t]);
    due.sort((a, b) => a[1].due - b[1].due || a[1].order - b[1].order);
    for (const [id, t] of due) {
      if (!R.timers.has(id) || t.step !== S) continue;
      R.timers.delete(id);
      try { t.fn(...t.args); } catch (e) { stepFailed(t.step, e); }
    }
  }

  // ---------------------------------------------------------------- host calls (seam)
  // A host call is an asynchronous request to the worker's Python (see hostcalls.py). JS
  // queues it here and gets a promise; when the chain stalls, pump()'s caller sees the
  // queue in the returned state, performs the calls and passes the results to pump().
  let hostSeq = 0;
  function hostCall(op, payload) {
    if (!R) return NativePromise.reject(new ErrorCtor("host calls are only available during a run"));
    const id = ++hostSeq;
    return new NativePromise((resolve, reject) => {
      R.hostCalls.push({ id, op, payload });
      R.hostWaiters.set(id, { resolve, reject, step: S });
    });
  }
  // The calls to send now. A call made by a function that has already finished (it called
  // callback() without awaiting the request) is never sent: it would run on the next
  // function's time. Its promise stays pending, so nothing of it runs in a later step.
  function takeHostCalls() {
    const calls = [];
    for (const c of R.hostCalls) {
      const w = R.hostWaiters.get(c.id);
      if (w && w.step && w.step.done) {
        R.hostWaiters.delete(c.id);
        w.step.logs.push({
          level: "warn",
          message: "An HTTP request was not sent: the function finished before it went out (await fetch()/axios before calling callback())",
          t_ms: dateNow() - w.step.t0,
        });
      } else calls.push(c);
    }
    R.hostCalls = [];
    return calls;
  }
  function deliverHostResults(results) {
    for (const r of results) {
      const w = R.hostWaiters.get(r.id);
      if (!w) continue;
      R.hostWaiters.delete(r.id);
      // The host's own log lines (one per HTTP hop) belong to the step that made the call.
      if (r.log && w.step === S && S && !S.done) for (const entry of r.log) addLog(entry.level, [entry.message]);
      if (r.error) {
        const e = new ErrorCtor(r.error.message);
        if (r.error.code) e.code = r.error.code;
        w.reject(e);
      } else w.resolve(r.value);
    }
  }

  // ---------------------------------------------------------------- fetch and axios
  // The request goes to the host as {url, method, headers, body, redirect, timeout_ms};
  // every rule about where it may go and how long it may take is enforced there (http.py).
  function headersToObject(h) {
    const out = {};
    if (h === undefined || h === null) return out;
    if (typeof h !== "object") throw new TypeErrorCtor("headers must be an object, an array of [name, value] pairs or a Headers-like object");
    let entries;
    if (ArrayIsArray(h)) entries = h;
    else if (typeof h.entries === "function") entries = Array.from(h.entries());
    else entries = Object.entries(h);
    for (const pair of entries) {
      if (!ArrayIsArray(pair) || pair.length !== 2) throw new TypeErrorCtor("header pairs must be [name, value]");
      const [k, v] = pair;
      if (v === undefined || v === null) continue;
      const name = StringFn(k).toLowerCase();
      const value = ArrayIsArray(v) ? v.map(StringFn).join(", ") : StringFn(v);
      out[name] = hasOwn(out, name) ? `${out[name]}, ${value}` : value;
    }
    return out;
  }
  function isBinary(body) {
    return body instanceof ArrayBuffer || ArrayBuffer.isView(body);
  }
  // fetch's body rules: strings as they are, URLSearchParams as a form, anything else as
  // its string form (as browsers do); binary data is refused rather than mangled.
  function requestBody(body, headers) {
    if (body === undefined || body === null) return null;
    if (typeof body === "string") return body;
    if (isBinary(body)) throw new TypeErrorCtor("binary request bodies are not supported: send a string");
    if (body instanceof G.URLSearchParams) {
      if (!headers["content-type"]) headers["content-type"] = "application/x-www-form-urlencoded;charset=UTF-8";
      return StringFn(body);
    }
    return StringFn(body);
  }
  function makeHeaders(map) {
    const names = objectKeys(map).sort();
    const entries = () => names.map((k) => [k, map[k]])[Symbol.iterator]();
    return freeze({
      get: (k) => { const v = map[StringFn(k).toLowerCase()]; return v === undefined ? null : v; },
      has: (k) => hasOwn(map, StringFn(k).toLowerCase()),
      forEach: (fn, thisArg) => { for (const k of names) fn.call(thisArg, map[k], k); },
      entries,
      keys: () => names.slice()[Symbol.iterator](),
      values: () => names.map((k) => map[k])[Symbol.iterator](),
      [Symbol.iterator]: entries,
    });
  }
  function makeResponse(r) {
    const body = r.body === undefined || r.body === null ? "" : StringFn(r.body);
    let used = false;
    const consume = () => {
      if (used) return NativePromise.reject(new TypeErrorCtor("Body is unusable: the response body has already been read"));
      used = true;
      return promiseResolve(body);
    };
    return freeze({
      status: r.status, ok: r.status >= 200 && r.status < 300, statusText: r.status_text || "",
      url: r.url || "", redirected: Boolean(r.redirected), type: "basic",
      headers: makeHeaders(r.headers || {}),
      get bodyUsed() { return used; },
      text: () => consume(),
      json: () => promiseThen.call(consume(), (t) => jsonParse(t)),
      arrayBuffer: () => promiseThen.call(consume(), (t) => textEncoder.encode(t).buffer),
    });
  }
  function fetchImpl(input, init) {
    let request;
    try {
      init = init || {};
      const headers = headersToObject(init.headers);
      const method = StringFn(init.method || "GET").toUpperCase();
      const body = requestBody(init.body, headers);
      if (body !== null && (method === "GET" || method === "HEAD")) throw new TypeErrorCtor(`a ${method} request cannot have a body`);
      request = { url: StringFn(input), method, headers, body, redirect: init.redirect ? StringFn(init.redirect) : "follow" };
    } catch (e) {
      return NativePromise.reject(e);
    }
    return promiseThen.call(hostCall("http", request), makeResponse);
  }

  // axios: a subset of its request config (url, baseURL, method, headers, params, data, auth,
  // timeout, responseType, validateStatus, maxRedirects) and of its response and error shapes.
  function axiosError(message, code, config, response) {
    const e = new ErrorCtor(message);
    e.name = "AxiosError";
    e.code = code;
    e.isAxiosError = true;
    e.config = config;
    if (response) e.response = response;
    return e;
  }
  function axiosUrl(config) {
    let url = StringFn(config.url || "");
    if (config.baseURL && !/^[a-z][a-z0-9+.-]*:/i.test(url)) {
      url = `${StringFn(config.baseURL).replace(/\/+$/, "")}/${url.replace(/^\/+/, "")}`;
    }
    if (config.params && typeof config.params === "object") {
      const u = new G.URL(url);
      for (const k of objectKeys(config.params)) {
        const v = config.params[k];
        if (v === undefined || v === null) continue;
        if (ArrayIsArray(v)) for (const item of v) u.searchParams.append(`${k}[]`, StringFn(item));
        else u.searchParams.append(k, v instanceof Date ? v.toISOString() : typeof v === "object" ? jsonStringify(v) : StringFn(v));
      }
      url = u.href;
    }
    return url;
  }
  function axiosBody(data, headers) {
    if (data === undefined || data === null) return null;
    if (typeof data === "string") return data;
    if (isBinary(data)) throw new TypeErrorCtor("binary request bodies are not supported: send a string");
    if (data instanceof G.URLSearchParams) {
      if (!headers["content-type"]) headers["content-type"] = "application/x-www-form-urlencoded;charset=utf-8";
      return StringFn(data);
    }
    if (!headers["content-type"]) headers["content-type"] = "application/json";
    return jsonStringify(data);
  }
  function axiosData(r, config) {
    const type = StringFn((r.headers || {})["content-type"] || "");
    const wantsText = config.responseType === "text";
    if (!wantsText && (/[/+]json\b/i.test(type) || config.responseType === "json") && r.body !== "") {
      try { return jsonParse(r.body); } catch (e) {
        if (config.responseType === "json") throw axiosError(`The response is not valid JSON: ${e.message}`, "ERR_BAD_RESPONSE", config);
      }
    }
    return r.body;
  }
  function axiosRequest(config) {
    let request;
    try {
      config = { ...(config || {}) };
      const headers = headersToObject(config.headers);
      headers.accept = headers.accept || "application/json, text/plain, */*";
      if (config.auth) headers.authorization = `Basic ${G.btoa(`${config.auth.username || ""}:${config.auth.password || ""}`)}`;
      const method = StringFn(config.method || "GET").toUpperCase();
      const body = method === "GET" || method === "HEAD" ? null : axiosBody(config.data, headers);
      request = { url: axiosUrl(config), method, headers, body, redirect: config.maxRedirects === 0 ? "manual" : "follow" };
      if (Number(config.timeout) > 0) request.timeout_ms = Number(config.timeout);
    } catch (e) {
      return NativePromise.reject(e);
    }
    const onError = (e) => { throw axiosError(e.message, e.code || "ERR_NETWORK", config); };
    return promiseThen.call(hostCall("http", request), (r) => {
      const res = { status: r.status, statusText: r.status_text || "", headers: r.headers || {}, config, data: undefined };
      res.data = axiosData(r, config);
      const valid = typeof config.validateStatus === "function" ? config.validateStatus(r.status) : r.status >= 200 && r.status < 300;
      if (!valid) {
        throw axiosError(`Request failed with status code ${r.status}`, r.status >= 500 ? "ERR_BAD_RESPONSE" : "ERR_BAD_REQUEST", config, res);
      }
      return res;
    }, onError);
  }
  function makeAxios(defaults) {
    const merge = (config) => ({ ...defaults, ...config, headers: { ...headersToObject(defaults.headers), ...headersToObject(config && config.headers) } });
    const instance = function axios(configOrUrl, config) {
      return typeof configOrUrl === "string" ? axiosRequest(merge({ ...config, url: configOrUrl })) : axiosRequest(merge(configOrUrl));
    };
    instance.request = (config) => axiosRequest(merge(config));
    for (const m of ["get", "delete", "head", "options"]) {
      instance[m] = (url, config) => axiosRequest(merge({ ...config, url, method: m }));
    }
    for (const m of ["post", "put", "patch"]) {
      instance[m] = (url, data, config) => axiosRequest(merge({ ...config, url, data, method: m }));
    }
    instance.create = (more) => freeze(makeAxios(merge(more || {})));
    instance.isAxiosError = (e) => Boolean(e && e.isAxiosError === true);
    return instance;
  }
  const axiosObj = makeAxios({});

  // ---------------------------------------------------------------- utils
  function parseIPv4(s) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m) return null;
    const parts = [m[1], m[2], m[3], m[4]].map(Number);
    if (parts.some((p) => p > 255)) return null;
    return parts;
  }
  function parseIPv6(s) {
    if (s.includes("%")) s = s.slice(0, s.indexOf("%"));
    let tail = [];
    const v4 = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
    if (v4) {
      const p = parseIPv4(v4[1]);
      if (!p) return null;
      tail = [(p[0] << 8) | p[1], (p[2] << 8) | p[3]];
      s = s.slice(0, s.length - v4[1].length);
      if (s.endsWith("::")) s += "";
      else if (s.endsWith(":")) s = s.slice(0, -1);
      else return null;
    }
    const halves = s.split("::");
    if (halves.length > 2) return null;
    const parse = (h) => (h === "" ? [] : h.split(":").map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
    const head = parse(halves[0]);
    const rest = halves.length === 2 ? parse(halves[1]) : [];
    if ([...head, ...rest].some(Number.isNaN)) return null;
    const total = head.length + rest.length + tail.length;
    if (halves.length === 1 ? total !== 8 : total > 7) return null;
    const groups = [...head, ...new Array(8 - total).fill(0), ...rest, ...tail];
    return groups;
  }
  // Both families as arrays of bits' carriers: IPv4 -> 4 bytes, IPv6 -> 16 bytes.
  function ipBytes(ip) {
    const s = StringFn(ip).trim();
    const v4 = parseIPv4(s);
    if (v4) return { family: 4, bytes: v4 };
    const v6 = s.includes(":") ? parseIPv6(s) : null;
    if (!v6) return null;
    const bytes = [];
    for (const g of v6) bytes.push(g >> 8, g & 255);
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) matches IPv4 ranges as well.
    const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
    return { family: 6, bytes, v4: mapped ? bytes.slice(12) : null };
  }
  function inRange(addr, range) {
    const str = StringFn(range).trim();
    const slash = str.indexOf("/");
    const net = ipBytes(slash < 0 ? str : str.slice(0, slash));
    if (!net) return false;
    const width = net.bytes.length * 8;
    const prefix = slash < 0 ? width : Number(str.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > width || (slash >= 0 && !/^\d+$/.test(str.slice(slash + 1)))) return false;
    let bytes = addr.bytes;
    if (net.family !== addr.family) {
      if (net.family === 4 && addr.v4) bytes = addr.v4;
      else return false;
    }
    for (let bit = 0; bit < prefix; bit++) {
      const i = bit >> 3, mask = 0x80 >> (bit & 7);
      if ((bytes[i] & mask) !== (net.bytes[i] & mask)) return false;
    }
    return true;
  }
  // Authing documents [start, end] as an inclusive range: two plain addresses of one family
  // with start <= end. Anything else (CIDRs, single addresses, longer lists) is a list of ranges.
  function compareBytes(a, b) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  }
  function asSpan(ranges) {
    if (!ArrayIsArray(ranges) || ranges.length !== 2) return null;
    if (typeof ranges[0] !== "string" || typeof ranges[1] !== "string") return null;
    if (ranges[0].includes("/") || ranges[1].includes("/")) return null;
    const start = ipBytes(ranges[0]), end = ipBytes(ranges[1]);
    if (!start || !end || start.family !== end.family) return null;
    return compareBytes(start.bytes, end.bytes) <= 0 ? { start, end } : null;
  }
  function inSpan(addr, span) {
    let bytes = addr.bytes;
    if (span.start.family !== addr.family) {
      if (span.start.family === 4 && addr.v4) bytes = addr.v4;
      else return false;
    }
    return compareBytes(span.start.bytes, bytes) <= 0 && compareBytes(bytes, span.end.bytes) <= 0;
  }
  function ipRangeCheck(ip, ranges) {
    const addr = ipBytes(ip);
    if (!addr) return false;
    const span = asSpan(ranges);
    if (span) return inSpan(addr, span);
    const list = ArrayIsArray(ranges) ? ranges : [ranges];
    return list.some((r) => inRange(addr, r));
  }
  const utilsObj = freeze({ ipRangeCheck });

  // modules.js left its factory on the global object; take it off before any tenant code runs.
  const makeNodeModules = G.__gpNodeModules;
  delete G.__gpNodeModules;
  let nodeModules = null;
  function nodeModule(name) {
    if (!nodeModules) nodeModules = makeNodeModules({ getRandomValues, randomUUID });
    return nodeModules[name];
  }
  const NODE_MODULES = freeze(["querystring", "url", "util", "crypto", "buffer"]);
  let lodash = null;
  // What lodash reads of its global object (its runInContext's contextProps and what its
  // wrapper tests), captured at the end of this prelude, before any tenant code runs.
  const LODASH_GLOBALS = freeze(["Array", "Buffer", "DataView", "Date", "Error", "Float32Array", "Float64Array",
    "Function", "Int8Array", "Int16Array", "Int32Array", "Map", "Math", "Object", "Promise", "RegExp", "Set", "String",
    "Symbol", "TypeError", "Uint8Array", "Uint8ClampedArray", "Uint16Array", "Uint32Array", "WeakMap", "clearTimeout",
    "isFinite", "parseInt", "setTimeout", "JSON", "Number", "Reflect", "WeakSet", "ArrayBuffer"]);
  let lodashRoot = null;
  // 'lodash', or one of its functions as its per-method packages name it ('lodash/get',
  // 'lodash.get', 'lodash.clonedeep'). Available to functions whose code names lodash: the
  // host loads it into the isolate when it compiles the first such function.
  function lodashModule(n) {
    if (!lodash || !S || !metas.get(S.key) || !metas.get(S.key).lodash) {
      const e = new ErrorCtor(`Cannot load '${n}': write require('lodash') with the module's name in the function's code (the sandbox loads lodash for functions whose code names it)`);
      e.code = "MODULE_NOT_FOUND";
      throw e;
    }
    if (n === "lodash") return lodash;
    const wanted = n.slice(7).toLowerCase();
    for (const k of objectKeys(lodash)) if (k.toLowerCase() === wanted && typeof lodash[k] === "function") return lodash[k];
    return undefined;
  }
  function requireImpl(name) {
    const n = StringFn(name);
    if (n === "./utils" || n === "utils" || n === "./utils.js") return utilsObj;
    const bare = n.startsWith("node:") ? n.slice(5) : n;
    if (NODE_MODULES.includes(bare)) return nodeModule(bare);
    if (bare === "axios") return axiosObj; // frozen when it became the global
    if (/^lodash(?:$|[/.][A-Za-z]+$)/.test(n)) {
      const m = lodashModule(n);
      if (m !== undefined) return m;
    }
    const e = new ErrorCtor(`Cannot find module '${n}': pipeline functions can only require ${GENERIC_ALLOWED_MODULES}. Use the globals fetch, axios, env and utils instead.`);
    e.code = "MODULE_NOT_FOUND";
    throw e;
  }

  // ---------------------------------------------------------------- crypto
  // Host-supplied entropy (os.urandom, sent with each run) backs randomUUID/getRandomValues;
  // after it is used up the generator falls back to Math.random (V8 seeds it per isolate).
  let entropy = [];
  function randomByte() {
    return entropy.length ? entropy.pop() : Math.floor(mathRandom() * 256);
  }
  function getRandomValues(arr) {
    if (!ArrayBuffer.isView(arr)) throw new TypeErrorCtor("getRandomValues expects an integer typed array");
    if (arr.byteLength > 65536) throw new RangeErrorCtor("getRandomValues: at most 65536 bytes at a time");
    const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = randomByte();
    return arr;
  }
  function randomUUID() {
    const b = [];
    for (let i = 0; i < 16; i++) b.push(randomByte());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  const cryptoObj = freeze({ randomUUID, getRandomValues });

  // ---------------------------------------------------------------- memory accounting
  // ArrayBuffers live outside the V8 heap, so the isolate's heap limit does not see them:
  // count what each run allocates through the constructors and refuse beyond the limit.
  function account(bytes) {
    if (!(bytes > 0)) return;
    arrayBytes += bytes;
    if (arrayBytes > HEAP_LIMIT_BYTES) {
      arrayBytes -= bytes;
      throw new RangeErrorCtor(`Array buffer allocation failed: this run may allocate at most ${HEAP_LIMIT_BYTES / 1048576} MiB of binary data`);
    }
  }
  function guardConstructor(name, sizeOf) {
    const Target = G[name];
    const guarded = new Proxy(Target, {
      construct(target, args, newTarget) {
        account(sizeOf(args, Target));
        return Reflect.construct(target, args, newTarget === guarded ? target : newTarget);
      },
      apply(target, thisArg, args) { return Reflect.apply(target, thisArg, args); },
    });
    defineProperty(G, name, { value: guarded, writable: false, enumerable: false, configurable: false });
  }
  // A resizable buffer may grow to its maxByteLength without another constructor call.
  guardConstructor("ArrayBuffer", (args) => {
    const max = args[1] !== null && typeof args[1] === "object" ? read(args[1], "maxByteLength") : undefined;
    return MathMax(Number(args[0]) || 0, Number(max) || 0);
  });
  for (const name of ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
    "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Float16Array"]) {
    if (typeof G[name] !== "function") continue;
    guardConstructor(name, (args, T) => {
      const a = args[0];
      if (typeof a === "number") return a * T.BYTES_PER_ELEMENT;
      if (a && typeof a === "object" && !(a instanceof ArrayBuffer) && typeof a.length === "number") return a.length * T.BYTES_PER_ELEMENT;
      return 0;
    });
  }

  // ---------------------------------------------------------------- JSON boundary
  function jsonReplacer(key, value) {
    if (typeof value === "function") {
      throw new TypeErrorCtor(`a function${key ? ` (at key '${key}')` : ""} is not JSON data`);
    }
    if (typeof value === "symbol") throw new TypeErrorCtor(`a symbol${key ? ` (at key '${key}')` : ""} is not JSON data`);
    return value;
  }
  const ObjectProto = Object.prototype;
  const ArrayProto = Array.prototype;
  // Data leaving the isolate nests at most this deep (the host refuses deeper input alike).
  const MAX_JSON_DEPTH = __MAX_JSON_DEPTH__;
  // True when `v` is plain JSON data: primitives, plain objects and arrays (own toJSON nowhere),
  // with no function or symbol anywhere. Then JSON.stringify without a replacer (V8's fast
  // path, ~5x faster) says exactly what jsonReplacer would; anything else (Dates, class
  // instances, great depth) is left to the replacer, which has the final word.
  function plainJsonData(v, depth) {
    const t = typeof v;
    if (t !== "object") return t === "string" || t === "number" || t === "boolean" || t === "undefined";
    if (v === null) return true;
    if (depth > MAX_JSON_DEPTH || hasOwn(v, "toJSON")) return false;
    if (ArrayIsArray(v)) {
      if (getPrototypeOf(v) !== ArrayProto) return false;
      for (let i = 0; i < v.length; i++) if (!plainJsonData(v[i], depth + 1)) return false;
      return true;
    }
    const proto = getPrototypeOf(v);
    if (proto !== ObjectProto && proto !== null) return false;
    for (const k in v) if (!plainJsonData(v[k], depth + 1)) return false;
    return true;
  }
  // JSON text for the host, storable anywhere: PostgreSQL refuses U+0000 and no UTF-8 encoder
  // takes an unpaired surrogate. JSON.stringify writes exactly these as \u escapes (a paired
  // surrogate stays raw), so they are found in the text and become U+FFFD, as TextEncoder does.
  const UNSTORABLE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;
  function storable(json) {
    return json.indexOf("\\u") === -1 ? json : json.replace(UNSTORABLE, "$1\\ufffd");
  }
  // A string for the host, storable anywhere (see storable).
  function storableText(s) {
    return s.toWellFormed().replaceAll("\0", "\ufffd");
  }

  // The deepest nesting of brackets in JSON text (outside strings).
  function jsonDepth(s) {
    let depth = 0, max = 0, inString = false;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (inString) { if (c === 92) i++; else if (c === 34) inString = false; }
      else if (c === 34) inString = true;
      else if (c === 123 || c === 91) { if (++depth > max) max = depth; }
      else if (c === 125 || c === 93) depth--;
    }
    return max;
  }
  function stringifyData(value) {
    // Stringified first: it throws at once on a cycle, which the walk would otherwise follow
    // down every branch to its depth limit.
    const s = jsonStringify(value);
    if (plainJsonData(value, 1)) return s;
    const checked = jsonStringify(value, jsonReplacer);
    if (checked !== undefined && jsonDepth(checked) > MAX_JSON_DEPTH) {
      throw new RangeErrorCtor(`it nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    return checked;
  }
  // Returns [json, null] or [null, message].
  function toJson(value, what) {
    let s;
    try {
      if (value === null || typeof value !== "object" || ArrayIsArray(value)) {
        return [null, `${what} must be a plain object, got ${value === null ? "null" : ArrayIsArray(value) ? "an array" : typeof value}`];
      }
      s = stringifyData(value);
    } catch (e) {
      return [null, `${what} cannot be converted to JSON: ${errorText(e)}`];
    }
    const max = R.limits.max_output_bytes;
    if (s.length > max || (s.length * 3 > max && textEncoder.encode(s).length > max)) {
      return [null, `${what} is larger than the limit of ${max} bytes once converted to JSON`];
    }
    return [s, null];
  }

  // ---------------------------------------------------------------- user helpers
  // Keys are tenant data: "__proto__" must not set a prototype, and "constructor" or
  // "toString" must not hit the frozen Object.prototype's read-only properties.
  function setOwn(target, key, value) {
    defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  }
  function assignOwn(target, source) {
    for (const key of objectKeys(source)) setOwn(target, key, source[key]);
  }
  function checkClaimKey(st, helper, trigger, key) {
    let msg = null;
    if (R.trigger !== trigger) msg = `user.${helper}() is only available on the ${trigger} trigger, not on ${R.trigger}`;
    else if (typeof key !== "string" || key === "") msg = `user.${helper}() needs a non-empty string claim name`;
    else if (PROTECTED_CLAIMS.includes(key)) msg = `user.${helper}('${key}'): '${key}' is a protected claim and cannot be changed (protected: ${PROTECTED_CLAIMS.join(" ")})`;
    if (msg) {
      const e = new ErrorCtor(msg);
      // The step fails even if the function catches this error.
      if (!st.helperError) st.helperError = e;
      throw e;
    }
  }
  function attachHelpers(user, st) {
    const def = (name, fn) => defineProperty(user, name, { value: fn, enumerable: false, configurable: true, writable: true });
    def("addCustomData", (key, value) => {
      if (typeof key !== "string" || key === "") {
        const e = new ErrorCtor("user.addCustomData() needs a non-empty string key");
        if (!st.helperError) st.helperError = e;
        throw e;
      }
      setOwn(st.custom, key, value);
    });
    def("addIdToken", (key, value) => { checkClaimKey(st, "addIdToken", ID_TOKEN_TRIGGER, key); setOwn(st.idSet, key, value); st.idRemove.delete(key); });
    def("removeIdToken", (key) => { checkClaimKey(st, "removeIdToken", ID_TOKEN_TRIGGER, key); st.idRemove.add(key); delete st.idSet[key]; });
    def("addAccessToken", (key, value) => { checkClaimKey(st, "addAccessToken", ACCESS_TOKEN_TRIGGER, key); setOwn(st.atSet, key, value); st.atRemove.delete(key); });
    def("removeAccessToken", (key) => { checkClaimKey(st, "removeAccessToken", ACCESS_TOKEN_TRIGGER, key); st.atRemove.add(key); delete st.atSet[key]; });
    return user;
  }

  // ---------------------------------------------------------------- errors
  // Auth0 Rules deny with `callback(new UnauthorizedError(message))`: code `unauthorized`.
  class UnauthorizedError extends ErrorCtor {
    constructor(message) {
      super(message);
      this.name = "UnauthorizedError";
      this.code = "unauthorized";
    }
  }
  const SANDBOX_FRAME = /^\s+at (?:.* \()?<anonymous>:\d+:\d+\)?$/;
  // A stack a function reads itself (e.stack logged or put in a message) is written without
  // the sandbox's frames: our scripts are the ones named `<anonymous>` that have line numbers;
  // built-ins (`Array.map (<anonymous>)`) have none. The driver reading a thrown error's stack
  // gets V8's own text, filtered with SANDBOX_FRAME: that error may be an allocation failure,
  // and calling into JS to format it could need the memory that just ran out.
  const errorToString = ErrorCtor.prototype.toString;
  let driverReadsStack = false;
  function prepareStackTrace(error, frames) {
    let head;
    try { head = StringFn(errorToString.call(error)); } catch (e) { head = "Error"; }
    const lines = [head];
    for (const f of frames) {
      if (f.getScriptNameOrSourceURL() === "<anonymous>" && f.getLineNumber() !== null && !f.isEval()) continue;
      lines.push(`    at ${f}`);
    }
    return lines.join("\n");
  }
  defineProperty(ErrorCtor, "prepareStackTrace", { get() { return driverReadsStack ? undefined : prepareStackTrace; } });
  // Error text is shown on login pages and kept in every run: long enough to say anything
  // useful, never megabytes.
  const MAX_MESSAGE_CHARS = 2000;
  const MAX_STACK_CHARS = 8000;
  const MAX_NAME_CHARS = 200;
  function clip(s, max) {
    return s.length <= max ? s : `${s.slice(0, max)}\u2026 [${s.length - max} more characters]`;
  }

  function describeError(e, st) {
    const isObject = e !== null && typeof e === "object";
    const error = isError(e);
    const rawName = isObject ? read(e, "name") : undefined;
    const name = typeof rawName === "string" ? rawName : "Error";
    const rawMessage = isObject ? read(e, "message") : undefined;
    let message;
    if (error) message = rawMessage === undefined ? "" : inspect(rawMessage, 0);
    else if (typeof e === "string") message = e;
    else if (typeof rawMessage === "string") message = rawMessage;
    else message = `Non-Error value thrown: ${inspect(e, 0)}`;
    driverReadsStack = true;
    const rawStack = error ? read(e, "stack") : undefined;
    driverReadsStack = false;
    let stack = typeof rawStack === "string" ? rawStack : null;
    let line = null, column = null;
    if (stack) {
      const src = `gp-${st.key}.js`;
      // Keys are hex digests, so the source name needs no escaping.
      const re = new RegExp(`${src}:(\\d+):(\\d+)`, "g");
      let first = true;
      stack = stack.replace(re, (m, l, c) => {
        const ln = Number(l) - 1;
        if (first) { line = ln; column = Number(c); first = false; }
        return `${st.name}.js:${ln}:${c}`;
      });
      // Frames in our own scripts (driver, polyfills, the worker's call) say nothing to the
      // function's author; built-ins such as `Array.map (<anonymous>)` stay.
      stack = stack.split("\n").filter((l) => !SANDBOX_FRAME.test(l)).join("\n");
    }
    const out = {
      message: clip(message, MAX_MESSAGE_CHARS), name: clip(name, MAX_NAME_CHARS), line, column,
      stack: stack === null ? null : clip(stack, MAX_STACK_CHARS),
    };
    const code = isObject ? read(e, "code") : undefined;
    if (typeof code === "string") out.code = clip(code, MAX_NAME_CHARS);
    return out;
  }

  // ---------------------------------------------------------------- other platforms' globals
  // Code written for Authing's or Auth0's hosted runtimes may use their SDK clients, which do
  // not exist here: say so on the step, so that code which catches the ReferenceError does
  // not pass silently (the host found the names in the code, see flavour.code_meta).
  function warnUnavailable(st) {
    const meta = metas.get(st.key);
    const names = (meta && meta.unavailable) || [];
    const authing = names.filter((n) => n === "authing" || n.startsWith("authing."));
    const auth0 = names.filter((n) => n.startsWith("auth0."));
    if (authing.length) {
      addLog("warn", [`This function uses ${authing.join(", ")}: Authing's SDK client (the \`authing\` global) is not available in this sandbox, ` +
        "so code that needs it fails (ReferenceError: authing is not defined). Call Authing's management API with fetch or axios instead."]);
    }
    if (auth0.length) {
      addLog("warn", [`This function uses ${auth0.join(", ")}: of Auth0's \`auth0\` management object only ` +
        "auth0.users.updateAppMetadata and auth0.users.updateUserMetadata (in Auth0 Rules) are available here; code that needs the rest fails. " +
        "Call Auth0's Management API with fetch or axios instead."]);
    }
  }

  // What each function body sees in its own scope besides the globals (_SCOPE_NAMES in
  // engine.py): module/exports (Auth0 Actions), configuration (Auth0 Rules: the tenant's env),
  // auth0 and UnauthorizedError (Auth0 Rules). Built per step, so nothing in it is shared.
  function stepScope(st) {
    const module = { exports: {} };
    const env = R ? R.env : freeze({});
    return [module, module.exports, env, auth0Management(st), UnauthorizedError];
  }

  // ---------------------------------------------------------------- Auth0 Rules and Actions
  // A function is an Authing pipe (it defines `pipe`), an Auth0 Action (it exports
  // onExecute<Trigger> handlers) or an Auth0 Rule (the script is one function of (user,
  // context, callback)). Rules and Actions run as a pipe that translates what they change in
  // Auth0's terms into custom data, token claims and a decision. They get no more than a pipe:
  // every object here is built per step, from the step's own user and context.
  const HANDLERS = freeze(["onExecutePostLogin", "onExecutePreUserRegistration", "onExecutePostUserRegistration", "onExecuteCredentialsExchange"]);
  const HANDLER_TRIGGERS = freeze({
    onExecutePostLogin: "POST_AUTHENTICATION, PRE_AUTHENTICATION, PRE_OIDC_ID_TOKEN_ISSUED or PRE_OIDC_ACCESS_TOKEN_ISSUED",
    onExecutePreUserRegistration: "PRE_REGISTER",
    onExecutePostUserRegistration: "POST_REGISTER",
    onExecuteCredentialsExchange: "PRE_OIDC_ACCESS_TOKEN_ISSUED for machine-to-machine tokens",
  });
  const TRIGGER_HANDLERS = freeze({
    PRE_REGISTER: "onExecutePreUserRegistration",
    POST_REGISTER: "onExecutePostUserRegistration",
    PRE_AUTHENTICATION: "onExecutePostLogin",
    POST_AUTHENTICATION: "onExecutePostLogin",
    PRE_OIDC_ID_TOKEN_ISSUED: "onExecutePostLogin",
    PRE_OIDC_ACCESS_TOKEN_ISSUED: "onExecutePostLogin",
  });
  const UNSUPPORTED_API = freeze(["authentication", "multifactor", "prompt", "redirect", "refreshToken", "samlResponse", "session", "transaction"]);

  function isMachineToMachine(context) {
    return context !== null && typeof context === "object" && context.accessTokenTarget === "programmaticAccount";
  }
  function handlerFor(context) {
    if (R.trigger === ACCESS_TOKEN_TRIGGER && isMachineToMachine(context)) return "onExecuteCredentialsExchange";
    return hasOwn(TRIGGER_HANDLERS, R.trigger) ? TRIGGER_HANDLERS[R.trigger] : null;
  }
  function exportedHandlers(exported) {
    if (exported === null || (typeof exported !== "object" && typeof exported !== "function")) return [];
    return HANDLERS.filter((name) => typeof exported[name] === "function");
  }
  // "pipe", "action", "rule" or null: what the code defined, in that order of precedence.
  function entryKind(made, module) {
    if (typeof made.pipe === "function") return "pipe";
    if (exportedHandlers(module.exports).length) return "action";
    if (typeof made.rule === "function") return "rule";
    return null;
  }
  function entryPipe(st, made, module) {
    const kind = entryKind(made, module);
    if (kind === "pipe") return made.pipe;
    if (kind === "action") return actionPipe(st, module.exports);
    if (kind === "rule") return rulePipe(st, made.rule);
    throw new TypeErrorCtor("The function does not define `pipe(user, context, callback)`, export an Auth0 Action handler " +
      "(exports.onExecutePostLogin = async (event, api) => {...}) or consist of an Auth0 Rule (function (user, context, callback) {...})");
  }

  // The first of the values that is neither undefined nor null.
  function first(...values) {
    for (const v of values) if (v !== undefined && v !== null) return v;
    return undefined;
  }
  function objectOr(v, fallback) {
    return v !== null && typeof v === "object" && !ArrayIsArray(v) ? v : fallback;
  }
  function copy(v) {
    return v === undefined ? undefined : jsonParse(jsonStringify(v));
  }
  function scopesOf(context) {
    const s = first(context.scope, context.scopes);
    if (ArrayIsArray(s)) return s.map(StringFn);
    return typeof s === "string" ? s.split(/\s+/).filter(Boolean) : [];
  }
  function roleNames(roles) {
    if (!ArrayIsArray(roles)) return [];
    return roles.map((r) => (typeof r === "string" ? r : objectOr(r, {}).code || objectOr(r, {}).name)).filter((r) => typeof r === "string");
  }
  const LOGIN_METHODS = freeze({ password: "pwd", sms: "sms", email: "email", social: "federated", passwordless: "passwordless" });

  // Auth0's names for what the identity provider sends under Authing's (the IdP's own Auth0
  // names win when it sends those). README "Migrating from Authing / Auth0" has the table.
  function auth0User(u) {
    return {
      user_id: first(u.user_id, u.id, u.userId), email: u.email, email_verified: first(u.email_verified, u.emailVerified),
      username: u.username, name: u.name, nickname: first(u.nickname, u.username),
      given_name: first(u.given_name, u.givenName), family_name: first(u.family_name, u.familyName),
      picture: first(u.picture, u.photo), phone_number: first(u.phone_number, u.phone),
      phone_verified: first(u.phone_verified, u.phoneVerified), created_at: first(u.created_at, u.signedUp, u.createdAt),
      updated_at: first(u.updated_at, u.updatedAt), last_login: first(u.last_login, u.lastLogin),
      logins_count: first(u.logins_count, u.loginsCount), blocked: u.blocked,
      identities: first(u.identities, []), multifactor: u.multifactor,
    };
  }
  function auth0Request(c) {
    const r = objectOr(c.request, {});
    return {
      ip: first(r.ip, c.ip), hostname: r.hostname, method: r.method, user_agent: first(r.user_agent, r.userAgent, c.userAgent),
      language: first(r.language, c.language, c.lang), query: objectOr(r.query, {}), body: objectOr(r.body, {}),
      geoip: objectOr(first(r.geoip, c.geoip), {}),
    };
  }
  function auth0Client(c) {
    const app = objectOr(first(c.application, c.client), {});
    return { client_id: first(c.clientID, c.clientId, app.client_id, app.id), name: first(c.clientName, app.name), metadata: objectOr(app.metadata, {}) };
  }
  function auth0Event(handler, user, context) {
    const u = copy(user), c = copy(context);
    const connection = typeof c.connection === "object" ? objectOr(c.connection, {}) : { name: c.connection };
    const event = {
      request: auth0Request(c),
      client: auth0Client(c),
      tenant: { id: first(c.tenantId, c.userPoolId) },
      transaction: { protocol: c.protocol, requested_scopes: scopesOf(c), redirect_uri: first(c.redirectUri, c.redirect_uri), locale: c.locale },
      resource_server: { identifier: first(c.audience, c.resourceServer) },
      secrets: R.env,
    };
    if (handler === "onExecuteCredentialsExchange") {
      event.accessToken = { scope: scopesOf(c), customClaims: {} };
      return event;
    }
    event.user = { ...auth0User(u), app_metadata: objectOr(u.app_metadata, {}), user_metadata: objectOr(u.user_metadata, {}) };
    event.connection = { id: first(connection.id, c.connectionId), name: connection.name, strategy: first(connection.strategy, c.connectionStrategy, connection.name) };
    if (handler === "onExecutePostLogin") {
      event.authorization = { roles: roleNames(first(objectOr(c.authorization, {}).roles, u.roles)) };
      event.stats = { logins_count: event.user.logins_count };
      event.organization = c.organization;
      const method = first(c.loginMethod, c.authenticationMethod);
      event.authentication = { methods: method ? [{ name: LOGIN_METHODS[method] || StringFn(method), timestamp: new Date(dateNow()).toISOString() }] : [] };
    }
    return event;
  }

  // A claim set in Auth0's terms: applied on its token's trigger; elsewhere left out (said once).
  function stepError(st, message) {
    const e = new ErrorCtor(message);
    if (!st.helperError) st.helperError = e; // the step fails even if the function catches it
    return e;
  }
  function setClaim(st, which, key, value, via) {
    if (typeof key !== "string" || key === "") throw stepError(st, `${via} needs a non-empty string claim name`);
    if (PROTECTED_CLAIMS.includes(key)) {
      throw stepError(st, `${via}: '${key}' is a protected claim and cannot be changed (protected: ${PROTECTED_CLAIMS.join(" ")})`);
    }
    const trigger = which === "id" ? ID_TOKEN_TRIGGER : ACCESS_TOKEN_TRIGGER;
    if (R.trigger !== trigger) {
      st.ignoredClaims = st.ignoredClaims || {};
      if (!st.ignoredClaims[which]) {
        st.ignoredClaims[which] = true;
        addLog("info", [`${via}: ${which === "id" ? "ID" : "access"} token claims are applied at ${trigger}; on ${R.trigger} they are left out`]);
      }
      return;
    }
    setOwn(which === "id" ? st.idSet : st.atSet, key, value);
    (which === "id" ? st.idRemove : st.atRemove).delete(key);
  }
  // Auth0's user metadata, saved through custom data: the whole object as it should be stored.
  function saveMetadata(st, user, field, value) {
    setOwn(user, field, value);
    setOwn(st.custom, field, value);
  }

  // ---- Rules: function (user, context, callback), Auth0's own names added alongside the
  // IdP's (not enumerable, so they are not passed on), context.idToken / context.accessToken
  // as claim bags, app_metadata / user_metadata changes as custom data, configuration = env.
  function alias(target, key, value) {
    if (value === undefined || hasOwn(target, key)) return;
    defineProperty(target, key, { value, writable: true, enumerable: false, configurable: true });
  }
  function addRuleAliases(user, context) {
    const au = auth0User(user);
    for (const k of objectKeys(au)) if (k !== "identities" || au[k].length) alias(user, k, au[k]);
    const client = auth0Client(context);
    alias(context, "clientID", client.client_id);
    alias(context, "clientName", client.name);
    alias(context, "clientMetadata", client.metadata);
    alias(context, "connectionStrategy", typeof context.connection === "string" ? context.connection : undefined);
    alias(context, "tenant", first(context.tenantId, context.userPoolId));
    alias(context, "stats", { loginsCount: au.logins_count });
    if (objectOr(context.request, null) === null) alias(context, "request", {});
    const request = objectOr(context.request, null);
    if (request) {
      const r = auth0Request(context);
      alias(request, "ip", r.ip);
      alias(request, "userAgent", r.user_agent);
      alias(request, "geoip", r.geoip);
    }
  }
  function safeJson(v) {
    try { return jsonStringify(v); } catch { return null; }
  }
  function rulePipe(st, rule) {
    st.rule = true;
    return function (user, context, callback) {
      if (R.trigger === ACCESS_TOKEN_TRIGGER && isMachineToMachine(context)) {
        // Auth0 runs rules for users' logins only, never for client-credentials tokens.
        addLog("info", ["Auth0 Rules do not run for machine-to-machine tokens; user and context are passed on unchanged"]);
        callback(null, user, context);
        return undefined;
      }
      const added = [];
      for (const k of ["idToken", "accessToken"]) {
        if (context[k] === undefined || context[k] === null) { context[k] = {}; added.push(k); }
      }
      const before = { idToken: objectOr(copy(context.idToken), {}), accessToken: objectOr(copy(context.accessToken), {}),
        app_metadata: safeJson(user.app_metadata), user_metadata: safeJson(user.user_metadata) };
      addRuleAliases(user, context);
      return rule(user, context, function callbackFromRule(err, u, c) {
        if (!err && !st.called && !st.done) {
          const outUser = arguments.length >= 2 && u !== undefined ? u : user;
          const outContext = arguments.length >= 3 && c !== undefined ? c : context;
          ruleResult(st, outUser, outContext, before, added);
        }
        return callback(...arguments);
      });
    };
  }
  function ruleResult(st, user, context, before, added) {
    if (user === null || typeof user !== "object" || context === null || typeof context !== "object") return;
    for (const [bag, which] of [["idToken", "id"], ["accessToken", "access"]]) {
      const claims = objectOr(context[bag], {});
      for (const key of objectKeys(claims)) {
        if (safeJson(claims[key]) !== safeJson(before[bag][key])) setClaim(st, which, key, claims[key], `context.${bag}['${key}']`);
      }
      if (added.includes(bag)) delete context[bag];
    }
    for (const field of ["app_metadata", "user_metadata"]) {
      const value = user[field];
      if (value !== undefined && safeJson(value) !== before[field]) setOwn(st.custom, field, value);
    }
  }
  // Auth0 Rules' `auth0` object: only what a rule uses to save the current user's metadata.
  function auth0Management(st) {
    const update = (method, field) => function (userId, metadata) {
      if (!st || !st.rule) return NativePromise.reject(new ErrorCtor(`auth0.users.${method}() is only available in Auth0 Rules`));
      const current = auth0User(st.user).user_id;
      if (StringFn(userId) !== StringFn(current)) {
        return NativePromise.reject(new ErrorCtor(`auth0.users.${method}() can only update the user of this login (${current})`));
      }
      if (objectOr(metadata, null) === null) return NativePromise.reject(new TypeErrorCtor(`auth0.users.${method}() needs an object`));
      setOwn(st.user, field, metadata);
      return promiseResolve();
    };
    return freeze({ users: freeze({
      updateAppMetadata: update("updateAppMetadata", "app_metadata"),
      updateUserMetadata: update("updateUserMetadata", "user_metadata"),
    }) });
  }

  // ---- Actions: exports.onExecute<Trigger> = async (event, api) => {...}, run at the
  // trigger that maps to it; `api` records what the handler asks for and the step applies it
  // when the handler's promise settles (a deny then ends the run, as in Auth0).
  function actionPipe(st, exported) {
    return function (user, context, callback) {
      const name = handlerFor(context);
      const handler = name ? exported[name] : undefined;
      if (typeof handler !== "function") {
        const have = exportedHandlers(exported);
        if (name && R.trigger === ACCESS_TOKEN_TRIGGER && have.some((h) => h === "onExecutePostLogin" || h === "onExecuteCredentialsExchange")) {
          addLog("info", [`This Auth0 Action exports no ${name}, so it does not act on ${isMachineToMachine(context) ? "machine-to-machine" : "users'"} access tokens; user and context are passed on unchanged`]);
          callback(null, user, context);
          return undefined;
        }
        const runs = have.map((h) => `${h} runs at ${HANDLER_TRIGGERS[h]}`).join("; ");
        throw new TypeErrorCtor(`This Auth0 Action cannot run at ${R.trigger}: ${runs}${name ? "" : ` (Auth0 has no trigger like ${R.trigger})`}`);
      }
      const action = makeAction(st, name, user, context);
      return promiseThen.call(promiseResolve(handler(action.event, action.api)), () => action.finish(callback));
    };
  }

  function unsupportedApi(path) {
    const fail = () => { throw new ErrorCtor(`${path} is not available in this sandbox (only access, idToken, accessToken, user, validation and cache of Auth0's api)`); };
    return new Proxy(function () {}, { get: (_t, k) => (typeof k === "string" ? unsupportedApi(`${path}.${k}`) : undefined), apply: fail, construct: fail });
  }

  function makeAction(st, handler, user, context) {
    const event = auth0Event(handler, user, context);
    let denial = null;
    const metadata = {};
    let scopes = null;
    const api = {};
    const deny = (code, message) => {
      const e = new ErrorCtor(StringFn(message === undefined ? code : message));
      e.code = StringFn(code);
      if (!denial) denial = e;
      return api;
    };
    const setMetadata = (field) => (key, value) => {
      if (typeof key !== "string" || key === "") throw stepError(st, `api.user.set${field === "app_metadata" ? "App" : "User"}Metadata() needs a non-empty string key`);
      metadata[field] = metadata[field] || { ...objectOr(user[field], {}) };
      if (value === undefined || value === null) delete metadata[field][key];
      else setOwn(metadata[field], key, value);
      return api;
    };
    const scopeChange = (add) => (scope) => {
      scopes = scopes || scopesOf(context);
      const s = StringFn(scope);
      scopes = scopes.filter((x) => x !== s);
      if (add) scopes.push(s);
      return api;
    };
    if (handler === "onExecuteCredentialsExchange") {
      api.access = { deny: (code, reason) => deny(code, reason === undefined ? code : reason) };
    } else if (handler === "onExecutePreUserRegistration") {
      api.access = { deny: (reason, userMessage) => deny("access_denied", userMessage === undefined ? reason : userMessage) };
    } else if (handler === "onExecutePostLogin") {
      api.access = { deny: (reason) => deny("access_denied", reason) };
    }
    if (handler === "onExecutePostLogin") {
      api.idToken = { setCustomClaim: (key, value) => { setClaim(st, "id", key, value, `api.idToken.setCustomClaim('${key}')`); return api; } };
    }
    if (handler === "onExecutePostLogin" || handler === "onExecuteCredentialsExchange") {
      api.accessToken = { setCustomClaim: (key, value) => { setClaim(st, "access", key, value, `api.accessToken.setCustomClaim('${key}')`); return api; } };
    }
    if (handler === "onExecutePostLogin") {
      api.accessToken.addScope = scopeChange(true);
      api.accessToken.removeScope = scopeChange(false);
    }
    if (handler === "onExecutePostLogin" || handler === "onExecutePreUserRegistration") {
      api.user = { setAppMetadata: setMetadata("app_metadata"), setUserMetadata: setMetadata("user_metadata") };
      api.validation = { error: (code, message) => deny(code, message) };
    }
    api.cache = actionCache(R.trigger);
    if (handler === "onExecutePostLogin") for (const name of UNSUPPORTED_API) api[name] = unsupportedApi(`api.${name}`);
    freeze(api);
    for (const k of objectKeys(api)) if (typeof api[k] === "object") freeze(api[k]);
    return {
      event,
      api,
      finish(callback) {
        if (denial) { callback(denial); return; }
        for (const field of objectKeys(metadata)) saveMetadata(st, user, field, metadata[field]);
        if (scopes) setClaim(st, "access", "scope", scopes.join(" "), "api.accessToken.addScope/removeScope");
        callback(null, user, context);
      },
    };
  }

  // api.cache: Auth0 documents it as best-effort and scoped to the trigger. Here it lives in
  // the isolate, which only ever serves one tenant: shared by that tenant's warm runs on one
  // worker, lost when the isolate is retired, one run long in fresh-isolate mode. Auth0's
  // limits: 20 entries per trigger, keys up to 64 bytes, values (strings) up to 4 KB, 8 KB in
  // all, lifetimes up to 24 h (15 min by default).
  const CACHE_MAX_ENTRIES = 20, CACHE_MAX_KEY = 64, CACHE_MAX_VALUE = 4096, CACHE_MAX_TOTAL = 8192;
  const CACHE_DEFAULT_TTL_MS = 15 * 60 * 1000, CACHE_MAX_TTL_MS = 24 * 3600 * 1000;
  const caches = new Map();
  function actionCache(trigger) {
    if (!caches.has(trigger)) caches.set(trigger, new Map());
    const store = caches.get(trigger);
    const live = () => {
      const now = dateNow();
      for (const [k, r] of store) if (r.expires_at <= now) store.delete(k);
      return store;
    };
    const size = () => { let n = 0; for (const [k, r] of store) n += textEncoder.encode(k).length + textEncoder.encode(r.value).length; return n; };
    return {
      get(key) {
        const r = live().get(StringFn(key));
        return r ? freeze({ value: r.value, expires_at: r.expires_at }) : undefined;
      },
      set(key, value, options) {
        const k = StringFn(key);
        if (typeof value !== "string") return freeze({ type: "error", code: "invalid_value", message: "cached values must be strings" });
        if (textEncoder.encode(k).length > CACHE_MAX_KEY) return freeze({ type: "error", code: "key_too_long" });
        if (textEncoder.encode(value).length > CACHE_MAX_VALUE) return freeze({ type: "error", code: "value_too_large" });
        const o = objectOr(options, {});
        const now = dateNow();
        let expires = Number(o.expires_at) > 0 ? Number(o.expires_at) : now + (Number(o.ttl) > 0 ? Number(o.ttl) : CACHE_DEFAULT_TTL_MS);
        expires = Math.min(expires, now + CACHE_MAX_TTL_MS);
        live();
        const old = store.get(k);
        store.delete(k);
        store.set(k, { value, expires_at: expires });
        while (store.size > CACHE_MAX_ENTRIES || size() > CACHE_MAX_TOTAL) {
          if (store.size === 1) { store.delete(k); if (old) store.set(k, old); return freeze({ type: "error", code: "quota_exceeded" }); }
          store.delete(store.keys().next().value); // the oldest first
        }
        return freeze({ type: "success", record: freeze({ value, expires_at: expires }) });
      },
      delete(key) {
        store.delete(StringFn(key));
        return freeze({ type: "success" });
      },
    };
  }

  // ---------------------------------------------------------------- the chain
  function newStep(index) {
    const spec = R.steps[index];
    return {
      index, key: spec.key, name: spec.name, t0: dateNow(), done: false, called: false,
      logs: [], logBytes: 0, logDropped: 0,
      custom: {}, idSet: {}, idRemove: new Set(), atSet: {}, atRemove: new Set(), helperError: null,
      user: null, context: null, asyncFn: false, promiseSettled: false,
    };
  }

  function record(st, status, error) {
    finishLogs(st);
    R.records.push({ index: st.index, status, duration_ms: dateNow() - st.t0, logs: st.logs, error });
  }

  function endStep(st) {
    st.done = true;
    if (S === st) { S = null; marks[2] = -dateNow(); }
    for (const [id, t] of R.timers) if (t.step === st) R.timers.delete(id);
  }

  // Each settle function reads what it needs from the function's values before the step
  // ends: once ended, the step must be recorded and the chain moved on, whatever happens.
  function stepFailed(st, e) {
    if (st.done) return;
    const error = describeError(e, st);
    endStep(st);
    record(st, "error", error);
    R.outcome = { kind: "error" };
    R.done = true;
    afterStep(st);
  }

  function stepDenied(st, err) {
    const message = errorText(err);
    const rawCode = err !== null && typeof err === "object" ? read(err, "code") : undefined;
    const code = typeof rawCode === "string" && rawCode ? rawCode : "access_denied";
    endStep(st);
    record(st, "denied", null);
    R.outcome = { kind: "deny", code: clip(code, MAX_NAME_CHARS), message: clip(message, MAX_MESSAGE_CHARS) };
    R.done = true;
    afterStep(st);
  }

  function stepSucceeded(st, user, context) {
    if (st.helperError) { stepFailed(st, st.helperError); return; }
    const [u, ue] = toJson(user, "The user passed on by callback()");
    if (ue) { stepFailed(st, new TypeErrorCtor(ue)); return; }
    const [c, ce] = toJson(context, "The context passed on by callback()");
    if (ce) { stepFailed(st, new TypeErrorCtor(ce)); return; }
    const changes = { custom: st.custom, idSet: st.idSet, atSet: st.atSet };
    let cj;
    try { cj = stringifyData(changes); } catch (e) {
      stepFailed(st, new TypeErrorCtor(`custom data or token claims cannot be converted to JSON: ${errorText(e)}`));
      return;
    }
    const parsed = jsonParse(cj);
    endStep(st);
    R.user = u;
    R.context = c;
    assignOwn(R.custom, parsed.custom);
    assignOwn(R.idSet, parsed.idSet);
    assignOwn(R.atSet, parsed.atSet);
    for (const k of st.idRemove) { delete R.idSet[k]; if (!R.idRemove.includes(k)) R.idRemove.push(k); }
    for (const k of objectKeys(parsed.idSet)) R.idRemove = R.idRemove.filter((x) => x !== k);
    for (const k of st.atRemove) { delete R.atSet[k]; if (!R.atRemove.includes(k)) R.atRemove.push(k); }
    for (const k of objectKeys(parsed.atSet)) R.atRemove = R.atRemove.filter((x) => x !== k);
    record(st, "ok", null);
    R.next = st.index + 1;
    afterStep(st);
  }

  // After a step settles outside start()/pump() (in a microtask), leave a checkpoint the
  // worker can read even if this isolate later wedges. The next step is started by the
  // worker's next eval, which V8 begins only once every queued microtask has run: code the
  // finished function left behind (a loop after callback()) can never run inside the next
  // function's step, and the worker sees it as what it is.
  function afterStep(st) {
    if (!inHostCall && R) {
      if (R.next >= R.steps.length && !R.done) { R.done = true; R.outcome = R.outcome || { kind: "ok" }; }
      writeCheckpoint();
    }
  }

  function makeCallback(st) {
    return function callback(err, user, context) {
      if (st.called || st.done) {
        // The step's record holds this same logs array, so the warning lands in it while the
        // run is still being collected (a second call right after the first, or in a timer).
        if (st.called && !st.secondCallWarned && st.logs.length < R.limits.max_log_entries) {
          st.secondCallWarned = true;
          st.logs.push({ level: "warn", message: "callback() was called more than once; later calls are ignored", t_ms: dateNow() - st.t0 });
        }
        return;
      }
      st.called = true;
      if (err) { stepDenied(st, err); return; }
      stepSucceeded(st, arguments.length >= 2 && user !== undefined ? user : st.user,
        arguments.length >= 3 && context !== undefined ? context : st.context);
    };
  }

  function startStep(index) {
    const st = newStep(index);
    const spec = R.steps[index];
    S = st;
    // A watchdog reading between these writes sees no start (0) and looks again shortly.
    marks[2] = 0;
    marks[1] = index;
    marks[2] = st.t0;
    if (spec.compile_error) {
      endStep(st);
      finishLogs(st);
      R.records.push({ index, status: "error", duration_ms: 0, logs: [], error: { ...spec.compile_error, name: "SyntaxError", stack: null } });
      R.outcome = { kind: "error" };
      R.done = true;
      return;
    }
    st.user = attachHelpers(jsonParse(R.user), st);
    st.context = jsonParse(R.context);
    warnUnavailable(st);
    let ret;
    try {
      const scope = stepScope(st);
      const pipe = entryPipe(st, fns.get(spec.key)(...scope)(), scope[0]);
      ret = pipe(st.user, st.context, makeCallback(st));
    } catch (e) {
      stepFailed(st, e);
      return;
    }
    // Not an object: a synchronous pipe; if it has not called back, settleStalled decides.
    if (ret === null || (typeof ret !== "object" && typeof ret !== "function")) return;
    // A promise, any thenable (its `then` is the function's code, run in a microtask) or an
    // object: adopted as a native promise, so its getters and traps cannot reach the driver.
    let settled;
    try { settled = promiseResolve(ret); } catch (e) { stepFailed(st, e); return; }
    if (st.done) {
      promiseThen.call(settled, undefined, () => {});
      return;
    }
    st.asyncFn = true;
    promiseThen.call(settled, () => {
      if (st.done) return;
      // callback() is how a function answers: while a timer or a request it started can
      // still call it (a deny in a setTimeout or an un-awaited .then), the step waits for it.
      st.promiseSettled = true;
      if (pendingFor(st)) return;
      addLog("warn", ["pipe() finished without calling callback(); passing user and context on as they are"]);
      stepSucceeded(st, st.user, st.context);
    }, (e) => stepFailed(st, e));
  }

  // Runs steps until one is pending (waits on a promise, timer or host call) or the run ends.
  // Starts at most one step per entry from the host: a step that ended synchronously may
  // have queued microtasks (code after an await, after callback()), and V8 runs them only
  // once this entry returns. The next step starts in the host's next entry, which V8 begins
  // only when they are all done, so a function's leftover code never runs inside the next
  // function's step (its logs, timers and CPU time would be taken for that step's).
  function runChain() {
    if (R.done || (S !== null && !S.done)) return;
    if (R.next < R.steps.length) {
      // R.next moves on only when the step has settled (stepSucceeded), so a cut anywhere in
      // here leaves it naming the step that was starting.
      startStep(R.next);
      if (S && !S.done) return;
    }
    if (R.next >= R.steps.length) { R.done = true; R.outcome = R.outcome || { kind: "ok" }; }
  }

  // Timers and host calls started by the step that can still wake it up.
  function pendingFor(st) {
    for (const t of R.timers.values()) if (t.step === st) return true;
    for (const w of R.hostWaiters.values()) if (w.step === st) return true;
    return false;
  }

  // A step that is not done while nothing can wake it up: settle it now instead of hanging.
  function settleStalled() {
    const st = S;
    if (!st || st.done || pendingFor(st)) return;
    if (st.asyncFn && !st.promiseSettled) {
      stepFailed(st, new ErrorCtor("pipe() is waiting for a promise that can never settle and did not call callback()"));
    } else if (st.asyncFn) {
      addLog("warn", ["pipe() finished without calling callback(); passing user and context on as they are"]);
      stepSucceeded(st, st.user, st.context);
    } else {
      addLog("warn", ["pipe() returned without calling callback(); passing user and context on as they are"]);
      stepSucceeded(st, st.user, st.context);
    }
  }

  // Only start() and pump() hand the queued host calls to the worker (drain); a checkpoint or
  // snapshot taken in between must leave them queued for the next pump().
  function stateJson(drain) {
    let nextTimer = null;
    for (const t of R.timers.values()) if (nextTimer === null || t.due < nextTimer) nextTimer = t.due;
    const calls = drain ? takeHostCalls() : [];
    const head = jsonStringify({
      seq: R.seq, done: R.done, outcome: R.outcome, next: R.next, records: R.records,
      custom_data: R.custom, id_set: R.idSet, id_remove: R.idRemove, at_set: R.atSet, at_remove: R.atRemove,
      next_timer_in_ms: nextTimer === null ? null : Math.max(0, nextTimer - dateNow()),
      host_calls: calls, waiting_host_calls: R.hostWaiters.size,
      running: S && !S.done ? S.index : null,
    });
    return storable(`${head.slice(0, -1)},"user":${R.user},"context":${R.context}}`);
  }

  function writeCheckpoint() {
    const bytes = textEncoder.encode(stateJson());
    if (bytes.length > checkpoint.length) { marks[3] = -1; return; }
    checkpoint.set(bytes);
    marks[3] = bytes.length;
    marks[4] = R.seq;
    // Written last: the worker may take the checkpoint as the answer as soon as it sees this.
    marks[5] = R.done && R.hostCalls.length === 0 ? R.seq : 0;
  }

  function hostEntry(fn) {
    inHostCall = true;
    marks[6] = 1;
    try {
      const out = fn();
      // Not reached when the entry throws or is terminated: the chained entries queued
      // behind it then leave the run as it is for the worker to look at.
      marks[6] = 0;
      return out;
    } finally { inHostCall = false; }
  }

  // start()'s payload as the worker wrote it into the checkpoint area (UTF-16): the script
  // that calls start() is then the same text every run, compiled once, where a payload in a
  // string literal made it a new script to scan and compile each time.
  function payloadFromBuffer() {
    const units = new Uint16ArrayCtor(buffer, HEADER_DOUBLES * 8, marks[7]);
    marks[7] = 0;
    let text = "";
    for (let i = 0; i < units.length; i += 8192) {
      text += reflectApply(fromCharCode, null, units.subarray(i, i + 8192));
    }
    return text;
  }

  // payload.chained: the worker has queued `next` entries and a `finish` behind this one,
  // and the host calls are handed over by `finish`.
  function start(payloadJson) {
    return hostEntry(() => {
      const p = jsonParse(payloadJson === undefined ? payloadFromBuffer() : payloadJson);
      R = {
        seq: p.seq, trigger: p.trigger, steps: p.steps, limits: p.limits, next: p.start_index,
        user: jsonStringify(p.state.user), context: jsonStringify(p.state.context),
        custom: p.state.custom_data, idSet: p.state.id_set, idRemove: p.state.id_remove,
        atSet: p.state.at_set, atRemove: p.state.at_remove,
        records: [], done: false, outcome: null, timers: new Map(), hostCalls: [], hostWaiters: new Map(),
        env: freeze(p.env || {}),
      };
      S = null;
      arrayBytes = 0;
      entropy = p.entropy || [];
      // The previous run's step start must be gone before this run's seq makes it current.
      marks[2] = 0;
      marks[0] = p.seq;
      marks[3] = 0;
      marks[5] = 0;
      runChain();
      // Chained, the state handed over comes from finish; this one is what the worker reads
      // if code a step left running keeps the entries behind it from ever starting (it
      // reaches the worker before V8 runs the microtasks this entry queued).
      return stateJson(!p.chained);
    });
  }

  // One turn with nothing to deliver: a stalled step is settled, due timers run, and the
  // next step starts if the last one has ended. Everything queued by earlier entries has
  // run by now, so "nothing pending" is final. Returns how many steps this entry ended or
  // left running: nonzero when code of the run ran here (and may have queued microtasks).
  function advance() {
    if (S && !S.done) {
      settleStalled();
      if (S && !S.done) runDueTimers();
    }
    const before = R.next;
    runChain();
    return R.next - before + (S && !S.done ? 1 : 0);
  }

  // chained: the worker has queued a `finish` behind this entry, which hands the host calls
  // over (and sees what the microtasks this entry queues did).
  function pump(resultsJson, chained) {
    return hostEntry(() => {
      if (!R) return "null";
      if (resultsJson) {
        // Resolving promises queues microtasks that run after this call: look again next turn.
        deliverHostResults(jsonParse(resultsJson));
        runChain();
      } else {
        advance();
      }
      return stateJson(chained !== true);
    });
  }

  // Chained behind start(): each `next` is a separate entry, so V8 runs every microtask the
  // previous one queued before it begins (a step's leftover code never runs in the next).
  function next() {
    if (marks[6] || !R) return "";
    return hostEntry(() => {
      advance();
      return stateJson(false);  // as start's, for a chain stopped behind this entry
    });
  }

  // The last chained entry: the state, like pump(). When the run is done and no code of it
  // ran in this entry, nothing of the run can still execute (every microtask queued before
  // it has run, and its timers and host calls are dropped with it): it is also the idle proof.
  function finish() {
    if (marks[6] || !R) return "null";
    return hostEntry(() => {
      const ranSteps = advance();
      const state = stateJson(true);
      if (!R.done || ranSteps) return state;
      R = null; S = null; marks[2] = 0;
      return `${state.slice(0, -1)},"idle":true}`;
    });
  }

  // The driver is a global, so tenant code can reach it too. Every entry point takes the
  // token the worker seals in right after this prelude (before any tenant code), so a function
  // can neither start runs, redefine other functions, forge the checkpoint nor move the marks
  // the watchdog reads. The token only ever appears in the worker's own eval scripts.
  let token = null;
  function host(method) {
    return function (t, a, b, c) {
      if (token === null || t !== token) throw new ErrorCtor("__gp is reserved for the sandbox host");
      return method(a, b, c);
    };
  }

  // Microtasks queued by start()/pump() run after those calls return; pump again to see them.
  const gp = freeze({
    seal(t) {
      if (token !== null || typeof t !== "string" || t.length < 32) throw new ErrorCtor("__gp is already sealed");
      token = t;
    },
    define: host((key, factory, meta) => { fns.set(key, factory); metas.set(key, meta || {}); }),
    // lodash, evaluated once per isolate when a function that names it is first compiled. A
    // tenant's warm isolate may have rebound globals (globalThis.Array = null): lodash gets the
    // built-ins as this prelude saw them, as parameters that shadow the global names.
    lodash: host((source) => {
      if (lodash) return;
      const module = { exports: {} };
      const factory = new FunctionCtor("module", "exports", "global", "self", "define", ...LODASH_GLOBALS, source);
      factory.call(undefined, module, module.exports, lodashRoot, undefined, undefined, ...LODASH_GLOBALS.map((n) => lodashRoot[n]));
      harden(module.exports);
      lodash = module.exports;
    }),
    // Validation: run a function's top level and say what `pipe` is ("function" when valid).
    check: host((key) => {
      try {
        const scope = stepScope(null);
        return entryKind(fns.get(key)(...scope)(), scope[0]) ? "function" : "none";
      } catch (e) { return storableText(`error:${errorText(e)}`); }
    }),
    // Whether a function's code parses on its own as a function body: code that closes the
    // wrapper it is compiled in (`}); ...; (function(){`) does not, and is never compiled.
    parses: host((code) => {
      try { new FunctionCtor(code); return null; } catch (e) { return storableText(errorText(e)); }
    }),
    start: host(start),
    pump: host(pump),
    next: host(next),
    finish: host(finish),
    // After a run: answering at all proves that nothing of it is still running; drop it.
    idle: host(() => { R = null; S = null; marks[2] = 0; return true; }),
    buffer: host(() => buffer),
    // After the watchdog cut an eval: what the run had committed (records, state) until then.
    snapshot: host(() => (R ? stateJson() : "null")),
  });

  // ---------------------------------------------------------------- globals
  const def = (name, value) => defineProperty(G, name, { value, writable: false, enumerable: false, configurable: false });
  def("__gp", gp);
  def("console", freeze(consoleObj));
  def("log", logFn);
  def("utils", utilsObj);
  def("require", requireImpl);
  def("crypto", cryptoObj);
  def("fetch", fetchImpl);
  def("axios", freeze(axiosObj));
  def("Buffer", nodeModule("buffer").Buffer);
  def("queueMicrotask", queueMicrotaskImpl);
  // Node's name for the global object (Authing runs functions on Node; Auth0 Rules keep
  // caches on it). It is this isolate's, i.e. one tenant's: never another tenant's.
  def("global", G);
  defineProperty(G, "env", { get() { return R ? R.env : freeze({}); }, enumerable: false, configurable: false });
  // Enumerable, as Node's and browsers' are (mini-racer's own timer shim, which used
  // SharedArrayBuffer and Atomics, is not installed).
  for (const [name, value] of [["setTimeout", setTimeoutImpl], ["clearTimeout", clearTimeoutImpl]]) {
    defineProperty(G, name, { value, writable: false, enumerable: true, configurable: false });
  }
  for (const name of ["WebAssembly", "SharedArrayBuffer", "Atomics"]) delete G[name];

  // ---------------------------------------------------------------- freezing
  // Properties that ordinary code assigns on its own objects (e.name = ..., obj.toString = ...)
  // would hit read-only prototype properties once frozen (the "override mistake"); turn them
  // into accessors that define an own property on the receiver instead.
  function enableOverride(proto, prop) {
    const desc = getOwnPropertyDescriptor(proto, prop);
    if (!desc || !("value" in desc) || !desc.configurable) return;
    const value = desc.value;
    defineProperty(proto, prop, {
      get() { return value; },
      set(v) {
        if (this === proto) throw new TypeErrorCtor(`Cannot assign to read only property '${StringFn(prop)}' of a frozen built-in`);
        defineProperty(this, prop, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: desc.enumerable, configurable: false,
    });
  }
  // Only where user code commonly assigns: accessors on Array/Promise prototypes (notably
  // `constructor`) would switch off V8's fast paths for every array operation and await.
  for (const C of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
    for (const prop of ["name", "message", "toString", "constructor"]) enableOverride(C.prototype, prop);
  }
  for (const prop of ["toString", "valueOf", "toLocaleString", "toJSON"]) enableOverride(Object.prototype, prop);

  const seen = new Set();
  function harden(root) {
    const stack = [root];
    while (stack.length) {
      const o = stack.pop();
      if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) continue;
      seen.add(o);
      freeze(o);
      stack.push(getPrototypeOf(o));
      // One list of names and symbols, walked by index: spreading two lists into a third
      // cost 9% of an isolate's build (benchmarks/isolate_build.py --instructions).
      const keys = ownKeys(o);
      for (let i = 0; i < keys.length; i++) {
        const d = getOwnPropertyDescriptor(o, keys[i]);
        if (!d) continue;
        if ("value" in d) stack.push(d.value); else { stack.push(d.get); stack.push(d.set); }
      }
    }
  }
  // Intrinsics reachable only through syntax.
  const hidden = [
    async function () {}, function* () {}, async function* () {}, [][Symbol.iterator](),
    new Map()[Symbol.iterator](), new Set()[Symbol.iterator](), ""[Symbol.iterator](), /x/[Symbol.matchAll](""),
    (function* () {})(), (async function* () {})(),
  ];
  const rootEntries = {};
  for (const name of LODASH_GLOBALS) rootEntries[name] = G[name];
  lodashRoot = freeze(rootEntries);
  seen.add(G);
  seen.add(buffer);
  for (const k of getOwnPropertyNames(G)) {
    if (k === "globalThis") continue;
    const d = getOwnPropertyDescriptor(G, k);
    // An accessor's functions too (`env`'s getter: its value is each run's own, frozen then).
    if (d && "value" in d) harden(d.value); else if (d) { harden(d.get); harden(d.set); }
  }
  for (const h of hidden) harden(h);
  harden(UnauthorizedError);
})(globalThis, __HEAP_LIMIT_BYTES__);
