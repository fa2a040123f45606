// Preloaded into Portkey's gateway (node --import): its server calls listen(port) without a
// host, which would listen on every interface. The benchmark listens on loopback only, so a
// listen() without a host gets 127.0.0.1.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (args.length === 1 || typeof args[1] === 'function') args.splice(1, 0, '127.0.0.1');
    else if (args[1] === undefined || args[1] === null) args[1] = '127.0.0.1';
  } else if (args[0] && typeof args[0] === 'object' && !(args[0] instanceof net.Server) &&
             args[0].path === undefined && args[0].host === undefined && args[0].handle === undefined &&
             args[0].fd === undefined) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
