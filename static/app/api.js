// Client of the gateway API (same origin). Every connector/plugin name is encoded as ONE path
// segment; errors from Connect ({error_code,message}) and the gateway ({error,message}) become
// ApiError with a readable message.

export class ApiError extends Error {
  constructor(status, body, text, url) {
    const msg = (body && (body.message || body.error)) || text || `HTTP ${status}`;
    super(msg);
    this.status = status;
    this.code = body ? (body.error_code ?? body.error ?? null) : null;
    this.body = body;
    this.url = url;
  }
  /** "Connect (409): Cannot complete request …" */
  get readable() {
    if (this.status === 0) return `Network error: ${this.message}`;
    const who = this.body && 'error_code' in this.body ? 'Kafka Connect' : 'Gateway';
    const code = this.body && this.body.error && this.body.error !== this.message ? ` ${this.body.error}` : '';
    return `${who} answered ${this.status}${code}: ${this.message}`;
  }
}

export const seg = encodeURIComponent;

const DEFAULT_TIMEOUT_MS = 30000;

export async function request(method, path, body, { signal, headers, timeout = DEFAULT_TIMEOUT_MS } = {}) {
  // every call has a deadline, so a stuck upstream never leaves a page spinning forever
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; ctl.abort(); }, timeout);
  if (signal) signal.addEventListener('abort', () => ctl.abort(), { once: true });
  try {
    return await send(method, path, body, headers, ctl.signal);
  } catch (e) {
    if (timedOut) throw new ApiError(0, null, `no answer within ${Math.round(timeout / 1000)} s`, path);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// API token (KC_AUTH_TOKEN deployments without an auth proxy): asked for once on a 401,
// kept in this browser's storage, sent as a bearer token (and as access_token on the SSE
// stream, which cannot carry headers).
const TOKEN_KEY = 'kc-api-token';
export const apiToken = () => { try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; } };
export function askForToken(wrong, proxyToo = false) {
  const t = window.prompt(wrong ? 'The API token was refused. API token:'
    : proxyToo ? 'This gateway requires an API token (or sign in through your proxy):' : 'This gateway requires an API token:');
  if (!t) return false;
  try { localStorage.setItem(TOKEN_KEY, t.trim()); } catch { return false; }
  return true;
}
// How this gateway signs people in, from a 401's X-Sign-In ("token", "proxy", "token, proxy");
// the page sets onUnauthorized to show a sign-in message when no token was given.
export const signIn = { how: null, onUnauthorized: null };

async function send(method, path, body, headers, signal, retried = false) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, signal };
  const token = apiToken();
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null, e.message || 'request failed', path);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.status === 401 && data && data.error === 'unauthorized') {
    const how = res.headers.get('X-Sign-In') || 'token';
    signIn.how = how;
    // a token can help: one typed for a parallel request meanwhile is tried first, else ask
    // once per request; behind a proxy only, say where to sign in
    if (!retried && how.includes('token') && apiToken() && apiToken() !== token)
      return send(method, path, body, headers, signal, true);
    if (!retried && how.includes('token') && askForToken(!!token, how.includes('proxy')))
      return send(method, path, body, headers, signal, true);
    if (signIn.onUnauthorized) signIn.onUnauthorized(how, data.message);
  }
  if (!res.ok) throw new ApiError(res.status, data, text.slice(0, 500), path);
  return data;
}

export const get = (p, o) => request('GET', p, undefined, o);

/** Connect paths of one cluster. */
export function cluster(name) {
  const base = `/api/${seg(name)}`;
  const c = (n) => `${base}/connectors/${seg(n)}`;
  return {
    base,
    root: () => get(base),
    summary: (o) => get(`${base}/metrics`, { timeout: 15000, ...o }),
    alerts: () => get(`${base}/alerts`),
    list: () => get(`${base}/connectors?expand=status&expand=info`),
    info: (n) => get(c(n)),
    config: (n) => get(`${c(n)}/config`),
    status: (n) => get(`${c(n)}/status`),
    tasks: (n) => get(`${c(n)}/tasks`),
    topics: (n) => get(`${c(n)}/topics`),
    offsets: (n) => get(`${c(n)}/offsets`),
    alterOffsets: (n, body) => request('PATCH', `${c(n)}/offsets`, body),
    resetOffsets: (n) => request('DELETE', `${c(n)}/offsets`),
    create: (name2, config) => request('POST', `${base}/connectors`, { name: name2, config }),
    putConfig: (n, config) => request('PUT', `${c(n)}/config`, config),
    pause: (n) => request('PUT', `${c(n)}/pause`),
    resume: (n) => request('PUT', `${c(n)}/resume`),
    stop: (n) => request('PUT', `${c(n)}/stop`),
    restart: (n, includeTasks = true, onlyFailed = false) =>
      request('POST', `${c(n)}/restart?includeTasks=${includeTasks}&onlyFailed=${onlyFailed}`),
    restartTask: (n, t) => request('POST', `${c(n)}/tasks/${seg(String(t))}/restart`),
    remove: (n) => request('DELETE', c(n)),
    plugins: (all = true) => get(`${base}/connector-plugins${all ? '?connectorsOnly=false' : ''}`),
    pluginConfig: (p) => get(`${base}/connector-plugins/${seg(p)}/config`),
    validate: (p, config) => request('PUT', `${base}/connector-plugins/${seg(p)}/config/validate`, config),
    metrics: (n, o) => get(`${c(n)}/metrics`, o),
    history: (n, since) => get(`${c(n)}/metrics/history?since=${since}`),
    streamUrl: (n) => `${c(n)}/metrics/stream` + (apiToken() ? `?access_token=${seg(apiToken())}` : ''),
  };
}

export const settings = () => get('/api/settings');
export const whoami = () => get('/api/whoami');
/** The audit trail: q holds since, user, connector, limit (empty ones are left out). */
export function audit(q = {}) {
  // percent-encoded, never '+': the gateway decodes the values as path segments
  const s = Object.entries(q).filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${seg(String(v))}`).join('&');
  return get('/api/audit' + (s ? `?${s}` : ''));
}
export const clusters = () => get('/api/clusters');
export const health = () => get('/api/gateway/health');
