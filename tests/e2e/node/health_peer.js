// Upstreams for the HTTP/2 health check tests (test_health.py):
//   node health_peer.js grpc PORT NAME STATUS_FILE [CERT KEY]
//     a gRPC server (@grpc/grpc-js) implementing grpc.health.v1.Health. Check answers the
//     status written in STATUS_FILE (SERVING when the file is missing), sends the metadata
//     `x-served-by: NAME`, and prints one JSON line per call (metadata and :authority).
//     With CERT and KEY it listens with TLS (ALPN h2).
//   node health_peer.js h2c PORT NAME
//     a cleartext HTTP/2 server (prior knowledge only): every path answers 200 "Name: NAME".
'use strict';
const path = require('path');
const fs = require('fs');

function grpcServer(port, name, statusFile, cert, key) {
  const grpc = require('@grpc/grpc-js');
  const loader = require('@grpc/proto-loader');
  const definition = loader.loadSync(path.join(__dirname, 'health.proto'), { keepCase: true });
  const Health = grpc.loadPackageDefinition(definition).grpc.health.v1.Health;
  const s = new grpc.Server();
  s.addService(Health.service, {
    Check: (call, cb) => {
      let status = 'SERVING';
      try { status = fs.readFileSync(statusFile, 'utf8').trim() || status; } catch (e) { /* missing */ }
      const md = new grpc.Metadata();
      md.set('x-served-by', name);
      call.sendMetadata(md);
      const host = typeof call.getHost === 'function' ? call.getHost() : '';
      console.log(JSON.stringify({ check: status, authority: host, metadata: call.metadata.getMap() }));
      if (status === 'UNIMPLEMENTED') return cb({ code: grpc.status.UNIMPLEMENTED, details: 'no health here' });
      cb(null, { status });
    },
    Watch: (call) => call.end(),
  });
  const creds = cert
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: fs.readFileSync(cert), private_key: fs.readFileSync(key) }])
    : grpc.ServerCredentials.createInsecure();
  s.bindAsync('127.0.0.1:' + port, creds, (err) => {
    if (err) { console.error(err); process.exit(1); }
    console.log('listening');
  });
}

function h2cServer(port, name) {
  const http2 = require('http2');
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    console.log(JSON.stringify({ method: headers[':method'], path: headers[':path'] }));
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('Name: ' + name + '\n');
  });
  server.listen(port, '127.0.0.1', () => console.log('listening'));
}

const [mode, port, name, ...rest] = process.argv.slice(2);
if (mode === 'grpc') grpcServer(Number(port), name, ...rest);
else if (mode === 'h2c') h2cServer(Number(port), name);
else { console.error('usage: health_peer.js grpc|h2c PORT NAME ...'); process.exit(2); }
