// An OTLP/gRPC receiver for the end-to-end tests (a fake collector, since Debian ships none):
// `node otlp_receiver.js` serves the trace, metrics and logs Export methods on an ephemeral
// loopback port with @grpc/grpc-js, prints {"port": N}, then one JSON line per request:
// {"signal", "metadata", "request"} with the request decoded by otlp.proto (64-bit numbers as
// strings, bytes as hex, enums as numbers).
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const definition = loader.loadSync(path.join(__dirname, 'otlp.proto'),
  { keepCase: false, longs: String, enums: Number, bytes: Buffer, defaults: false, oneofs: false });
const pkg = grpc.loadPackageDefinition(definition).opentelemetry.proto.collector;

function hexBytes(key, value) {
  if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data).toString('hex');
  return value;
}

function handler(signal) {
  return (call, cb) => {
    const line = { signal, metadata: call.metadata.getMap(), request: call.request };
    process.stdout.write(JSON.stringify(line, hexBytes) + '\n');
    cb(null, {});
  };
}

// The services are declared in one package; gRPC routes on /<package>.<Service>/Export, so each
// is served under the real OTLP name.
const server = new grpc.Server();
const real = {
  TraceService: 'opentelemetry.proto.collector.trace.v1.TraceService',
  MetricsService: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  LogsService: 'opentelemetry.proto.collector.logs.v1.LogsService',
};
for (const [name, signal] of [['TraceService', 'traces'], ['MetricsService', 'metrics'], ['LogsService', 'logs']]) {
  const service = {};
  for (const [method, def] of Object.entries(pkg[name].service)) {
    service[method] = { ...def, path: `/${real[name]}/${method}` };
  }
  server.addService(service, { Export: handler(signal) });
}
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) { console.error(err); process.exit(1); }
  process.stdout.write(JSON.stringify({ port }) + '\n');
});
