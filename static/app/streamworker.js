// SharedWorker of the console: every tab of this browser (same origin) talks to this one worker,
// which holds the browser's ONE live connection to the gateway (streamhub.js). Tabs send their
// whole set ({type:'want', id, keys, token, lock}) on every change and every 10 s, and 'bye'
// when they go. A tab that goes without a word (closed before its 'bye' arrived, crashed) is
// dropped when the browser releases its Web Lock (StreamHub.watchLock); without Web Locks,
// after 35 s of silence.
import { StreamHub } from './streamhub.js';

const hub = new StreamHub({ base: self.location.origin });

self.onconnect = (e) => {
  const port = e.ports[0];
  port.onmessage = (m) => {
    const msg = m.data || {};
    if (msg.type === 'want') hub.want(msg.id, msg.keys || [], msg.token, (x) => port.postMessage(x), msg.lock);
    else if (msg.type === 'bye') hub.bye(msg.id);
  };
  port.start();
};
