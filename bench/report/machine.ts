/** The machine a run measured, recorded with every result (figures mean little without it). */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { openFileLimit } from '../lib/proc.js';
import type { Machine } from '../lib/results.js';

function version(cmd: string, args: string[], re: RegExp): string {
  for (const dir of ['', '/usr/sbin/', '/usr/bin/']) {
    try {
      const out = execFileSync(`${dir}${cmd}`, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return re.exec(out)?.[1] ?? out.trim();
    } catch {
      // try the next location
    }
  }
  return 'not installed';
}

function osName(): string {
  if (existsSync('/etc/os-release')) {
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m?.[1]) return `${m[1]}, ${os.type()} ${os.release()}`;
  }
  return `${os.type()} ${os.release()}`;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    node: process.version,
    redis: version('redis-server', ['--version'], /v=(\S+)/),
    natsServer: version('nats-server', ['--version'], /v(\d\S*)/),
    openFileLimit: openFileLimit(),
  };
}
