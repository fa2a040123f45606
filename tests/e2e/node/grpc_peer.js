// gRPC peer for the end-to-end tests: `node grpc_peer.js server PORT` runs an Echo server
// (h2c); `node grpc_peer.js client TARGET [CA_FILE SERVERNAME]` calls it through causeway
// with every call kind and prints one JSON line of results; exit code 0 when all pass.
'use strict';
const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const definition = loader.loadSync(path.join(__dirname, 'echo.proto'), { keepCase: true });
const Echo = grpc.loadPackageDefinition(definition).causeway.test.Echo;

function server(port) {
  const s = new grpc.Server();
  s.addService(Echo.service, {
    Unary: (call, cb) => cb(null, { text: 'unary:' + call.request.text, n: call.request.n + 1 }),
    ServerStream: (call) => {
      for (let i = 0; i < call.request.n; i++) call.write({ text: call.request.text + i, n: i });
      call.end();
    },
    ClientStream: (call, cb) => {
      let sum = 0, texts = [];
      call.on('data', (m) => { sum += m.n; texts.push(m.text); });
      call.on('end', () => cb(null, { text: texts.join(','), n: sum }));
    },
    Bidi: (call) => {
      call.on('data', (m) => call.write({ text: 'echo:' + m.text, n: m.n * 2 }));
      call.on('end', () => call.end());
    },
    Fail: (call, cb) => {
      const md = new grpc.Metadata();
      md.set('detail', 'from-server');
      cb({ code: grpc.status.PERMISSION_DENIED, details: 'denied: ' + call.request.text, metadata: md });
    },
  });
  s.bindAsync('127.0.0.1:' + port, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) { console.error(err); process.exit(1); }
    console.log('listening');
  });
}

function promisify(fn) {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

async function client(target, caFile, serverName) {
  let creds = grpc.credentials.createInsecure();
  const options = {};
  if (caFile) {
    creds = grpc.credentials.createSsl(fs.readFileSync(caFile));
    options['grpc.ssl_target_name_override'] = serverName;
    options['grpc.default_authority'] = serverName;
  }
  const c = new Echo(target, creds, options);
  const results = {};
  const deadline = () => new Date(Date.now() + 10000);

  const unary = await promisify((cb) => c.Unary({ text: 'hi', n: 41 }, { deadline: deadline() }, cb));
  results.unary = unary.text === 'unary:hi' && unary.n === 42;

  results.serverStream = await new Promise((resolve) => {
    const got = [];
    const call = c.ServerStream({ text: 's', n: 50 }, { deadline: deadline() });
    call.on('data', (m) => got.push(m.n));
    call.on('error', () => resolve(false));
    call.on('end', () => resolve(got.length === 50 && got[49] === 49));
  });

  results.clientStream = await new Promise((resolve) => {
    const call = c.ClientStream({ deadline: deadline() }, (err, m) => resolve(!err && m.n === 5050 && m.text.startsWith('a1,a2')));
    for (let i = 1; i <= 100; i++) call.write({ text: 'a' + i, n: i });
    call.end();
  });

  results.bidi = await new Promise((resolve) => {
    const call = c.Bidi({ deadline: deadline() });
    let i = 0, ok = true;
    call.on('data', (m) => {
      // Each answer arrives before the next message is sent: the stream is full duplex.
      ok = ok && m.text === 'echo:b' + i && m.n === i * 2;
      i++;
      if (i < 20) call.write({ text: 'b' + i, n: i }); else call.end();
    });
    call.on('error', () => resolve(false));
    call.on('end', () => resolve(ok && i === 20));
    call.write({ text: 'b0', n: 0 });
  });

  results.status = await new Promise((resolve) => {
    c.Fail({ text: 'x' }, { deadline: deadline() }, (err) => {
      resolve(!!err && err.code === grpc.status.PERMISSION_DENIED && err.details === 'denied: x' &&
              err.metadata.get('detail')[0] === 'from-server');
    });
  });
  console.log(JSON.stringify(results));
  process.exit(Object.values(results).every(Boolean) ? 0 : 1);
}

const [mode, arg, caFile, serverName] = process.argv.slice(2);
if (mode === 'server') server(arg);
else client(arg, caFile, serverName).catch((e) => { console.error(String(e)); process.exit(2); });
