// Runs after `npm run bench:setup` installs the peers: makes sure the system tools the harness
// starts are there (installing Debian's packages when missing and allowed), and that every native
// part loads under npm 11, which skips dependencies' install scripts.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const problems = [];
const say = (s) => console.log(`bench:setup: ${s}`);

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    if (dir && existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  return null;
}

// tool -> Debian package
const tools = { 'nats-server': 'nats-server', 'redis-server': 'redis-server', 'redis-benchmark': 'redis-tools' };
const missing = Object.entries(tools).filter(([cmd]) => !which(cmd));
const fontsMissing = !existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf');
const packages = [...new Set(missing.map(([, pkg]) => pkg).concat(fontsMissing ? ['fonts-dejavu-core'] : []))];
if (packages.length) {
  const root = process.getuid?.() === 0;
  if (root && which('apt-get') && process.env.BENCH_SETUP_NO_APT !== '1') {
    say(`installing Debian packages: ${packages.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
    } catch {
      execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
    }
  } else {
    problems.push(`missing Debian packages: ${packages.join(' ')} (apt-get install them)`);
  }
}
for (const [cmd] of Object.entries(tools)) if (!which(cmd)) problems.push(`${cmd} still not found`);
const nats = which('nats-server');
if (nats) say(`nats-server ${execFileSync(nats, ['--version'], { encoding: 'utf8' }).trim()}`);

// Soketi's uWebSockets.js comes from the override alias; its package falls back to a slow JS
// implementation when the binary does not load, which would make Soketi's figures meaningless.
try {
  const uwsDir = path.dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = path.join(uwsDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  const native = require(binary);
  const exported = require('uWebSockets.js');
  if (native.App !== exported.App) problems.push('uWebSockets.js (for Soketi) exports its JS fallback, not the native binary');
  else say(`uWebSockets.js native binary loads (${path.basename(binary)})`);
  const soketiUws = createRequire(require.resolve('@soketi/soketi/package.json'))('uWebSockets.js');
  if (soketiUws.App !== native.App) problems.push('Soketi resolves a different uWebSockets.js than the override');
} catch (e) {
  problems.push(`uWebSockets.js for Soketi does not load: ${e.message}`);
}

if (!existsSync(require.resolve('@soketi/soketi/bin/server.js'))) problems.push('Soketi is not installed');
for (const name of ['socket.io', '@socket.io/redis-adapter', 'nats', 'ioredis']) {
  try {
    require(name);
  } catch (e) {
    problems.push(`${name} does not load: ${e.message}`);
  }
}
try {
  const { createCanvas } = require('@napi-rs/canvas');
  createCanvas(4, 4).toBuffer('image/png');
  say('@napi-rs/canvas renders PNG');
} catch (e) {
  problems.push(`@napi-rs/canvas does not load (charts will be skipped): ${e.message}`);
}

if (problems.length) {
  for (const p of problems) console.error(`bench:setup: PROBLEM: ${p}`);
  process.exit(1);
}
say('peers ready');
