// The live connection: one Socket.IO client per tab, WebSocket first.
//
// Personal events (notifications, messages) carry a per-user event_id. The page was
// rendered at some event_id (data-last-event-id); the client asks the server to replay
// everything after the last one it saw whenever it (re)connects, and drops anything it has
// already seen, so a flaky network loses and duplicates nothing.
import { io } from "/static/vendor/socket.io.esm.min.js";

export const bus = new EventTarget();
const body = document.body;
export const me = body.dataset.userId ? Number(body.dataset.userId) : null;
let lastEventId = Number(body.dataset.lastEventId || 0);
const streams = new Map();  // what the server sends this tab: key -> { payload, onAck }
let socket = null;
let everConnected = false;

const PERSONAL = ["notification", "notifications.read", "message.created", "message.read"];
const BROADCAST = ["post.created", "post.updated", "post.deleted", "post.stats", "post.unreposted",
  "comment.created", "typing", "search.result"];

function emitLocal(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

function setState(state) {
  emitLocal("connection", state);
}

function emitSubscription(name, payload, onAck = null) {
  // a refusal (an unknown stream, a query the server cannot follow) changes nothing on
  // the page: it only misses live updates
  socket.emit(name, payload, (ack) => {
    if (!ack?.ok) console.debug(`${name} refused`, payload, ack);
    onAck?.(ack);
  });
}

// `params`: more of the stream's description, e.g. subscribe("search", { q });
// `onAck(ack)`: the server's answer, each time the subscription is made (reconnects too)
export function subscribe(stream, params = {}, onAck = null) {
  const payload = { stream, ...params };
  streams.set(JSON.stringify(payload), { payload, onAck });
  if (socket && socket.connected) emitSubscription("subscribe", payload, onAck);
}

export function unsubscribe(stream, params = {}) {
  const payload = { stream, ...params };
  if (!streams.delete(JSON.stringify(payload))) return;
  if (socket && socket.connected) emitSubscription("unsubscribe", payload);
}

export function send(name, payload, timeoutMs = 10000) {
  // resolves with the server's ack, or { ok: false, error } when it cannot be delivered
  return new Promise((resolve) => {
    if (!socket) { resolve({ ok: false, error: "offline" }); return; }
    socket.timeout(timeoutMs).emit(name, payload, (err, ack) => {
      resolve(err ? { ok: false, error: "timeout" } : ack);
    });
  });
}

export function start() {
  if (me === null || socket) return;
  socket = io({
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    auth: (cb) => cb({ last_event_id: lastEventId }),
    // exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 15 s, each ±50%
    reconnectionDelay: 500,
    reconnectionDelayMax: 15000,
    randomizationFactor: 0.5,
  });
  socket.on("connect", () => {
    setState("live");
    for (const { payload, onAck } of streams.values()) emitSubscription("subscribe", payload, onAck);
    if (everConnected) emitLocal("resync", {});  // fill what was missed while away
    everConnected = true;
  });
  socket.on("disconnect", (reason) => {
    if (reason !== "io server disconnect") { setState("reconnecting"); return; }
    // the server closed it: this browser's session may have ended (signed out elsewhere,
    // password changed); if so, the tab goes to the sign-in page, else it reconnects
    setState("offline");
    checkSignedIn().then((signedIn) => { if (signedIn) socket.connect(); });
  });
  socket.on("connect_error", (err) => {
    setState("reconnecting");
    if (err?.message === "authentication required") checkSignedIn();
  });
  socket.io.on("reconnect_attempt", () => setState("reconnecting"));
  for (const name of PERSONAL) {
    socket.on(name, (data) => {
      if (typeof data?.event_id === "number") {
        if (data.event_id <= lastEventId) return;  // seen already
        lastEventId = data.event_id;
      }
      emitLocal(name, data);
    });
  }
  for (const name of BROADCAST) socket.on(name, (data) => emitLocal(name, data));
}

// A form sent from this tab (say, a new password: it ends this session too and starts a new
// one) or a link followed: the page on its way decides, not a check racing it.
let leaving = false;
// (bubbling: forms a script handles itself, such as the chat composer, have prevented it)
document.addEventListener("submit", (event) => { if (!event.defaultPrevented) leaving = true; });
window.addEventListener("pagehide", () => { leaving = true; });

// Whether this browser is still signed in; when not, off to the sign-in page (and back here
// after it).
async function checkSignedIn() {
  if (leaving) return false;
  try {
    const response = await fetch("/api/notifications?per_page=1", { credentials: "same-origin" });
    if (response.status !== 401) return true;
  } catch {
    return true;  // offline: the reconnection goes on
  }
  if (leaving) return false;
  const next = location.pathname + location.search;
  location.assign(`/auth/login?next=${encodeURIComponent(next)}`);
  return false;
}

let strings = null;
export function t(key, values = {}) {
  strings ??= JSON.parse(document.getElementById("i18n-strings")?.textContent || "{}");
  let text = strings[key] || key;
  for (const [k, v] of Object.entries(values)) text = text.replace(`{${k}}`, String(v));
  return text;
}
