// Starting and stopping the userhub processes under test: `serve` (API and
// UI on one port) or split `api` + `web` processes, on free loopback ports,
// each with a fresh data directory.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-e2e' };

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function commonEnv(smtpPort, dataDir) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? '/root',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    RUST_BACKTRACE: '1',
    SECRET_KEY: 'e2e-secret-key-e2e-secret-key-e2e-secret-key',
    USERHUB_COOKIE_KEY: 'e2e-cookie-key-e2e-cookie-key-e2e-cookie-key',
    USERHUB_DATA_DIR: dataDir,
    DATABASE_URL: `sqlite://${path.join(dataDir, 'userhub.db')}?mode=rwc`,
    FIRST_SUPERUSER: ADMIN.email,
    FIRST_SUPERUSER_PASSWORD: ADMIN.password,
    PROJECT_NAME: 'Userhub',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    SMTP_TLS: 'false',
    SMTP_SSL: 'false',
    EMAILS_FROM_EMAIL: 'noreply@userhub.test',
    EMAILS_FROM_NAME: 'Userhub',
    // The suite logs in many times from one address.
    USERHUB_IP_BURST: '10000',
    USERHUB_IP_REFILL_PER_SECOND: '100',
    // Metrics listeners on free ports (several servers run at once).
    USERHUB_ADMIN_BIND: '127.0.0.1:0',
    // Nothing load-balances these servers: stop without the SIGTERM delay.
    USERHUB_SHUTDOWN_DELAY_SECONDS: '0',
  };
}

// Every server started, so a SIGTERM/SIGINT of the suite stops them too.
const running = new Set();
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    for (const proc of running) proc.child.kill('SIGKILL');
    process.exit(1);
  });
}

class Proc {
  constructor(name, bin, args, env, logDir) {
    this.name = name;
    this.tail = [];
    this.exited = null;
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(path.join(logDir, `${name}.log`));
    this.child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk) => {
      log.write(chunk);
      this.tail.push(...chunk.toString().split('\n'));
      if (this.tail.length > 60) this.tail.splice(0, this.tail.length - 60);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    running.add(this);
    this.child.on('exit', (code, signal) => { this.exited = { code, signal }; running.delete(this); log.end(); });
    this.child.on('error', (error) => { this.exited = { error }; });
  }

  describeExit() {
    return `${this.name} exited (${JSON.stringify(this.exited)}); last output:\n${this.tail.join('\n')}`;
  }

  async waitReady(url, timeoutMs = 90000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(this.describeExit());
      try {
        const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
        if (response.status < 500) return;
      } catch { /* not listening yet */ }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${this.name} not ready at ${url} within ${timeoutMs} ms; last output:\n${this.tail.join('\n')}`);
  }

  async stop() {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * Starts the deployment `mode` ('serve' or 'split'); resolves to
 * `{ baseUrl, stop }` once the UI answers.
 */
export async function startDeployment(mode, { bin, smtpPort, artifacts }) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `userhub-e2e-${mode}-`));
  const logDir = path.join(artifacts, 'e2e-logs');
  const procs = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    if (mode === 'serve') {
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const env = {
        ...commonEnv(smtpPort, dataDir),
        ENVIRONMENT: 'development',
        USERHUB_BIND: `127.0.0.1:${port}`,
        FRONTEND_HOST: baseUrl,
      };
      const serve = new Proc('serve', bin, ['serve'], env, logDir);
      procs.push(serve);
      await serve.waitReady(`${baseUrl}/login`);
      return { baseUrl, stop };
    }
    if (mode === 'split') {
      const apiPort = await freePort();
      const webPort = await freePort();
      const apiUrl = `http://127.0.0.1:${apiPort}`;
      const baseUrl = `http://127.0.0.1:${webPort}`;
      // A deployed (non-development) environment: every secret explicit.
      const env = { ...commonEnv(smtpPort, dataDir), ENVIRONMENT: 'staging', FRONTEND_HOST: baseUrl };
      const api = new Proc('api', bin, ['api'], { ...env, USERHUB_BIND: `127.0.0.1:${apiPort}` }, logDir);
      procs.push(api);
      await api.waitReady(`${apiUrl}/api/v1/utils/health-check/`);
      const web = new Proc('web', bin, ['web'], {
        ...env,
        USERHUB_BIND: `127.0.0.1:${webPort}`,
        USERHUB_API_URL: apiUrl,
      }, logDir);
      procs.push(web);
      await web.waitReady(`${baseUrl}/login`);
      return { baseUrl, apiUrl, stop };
    }
    throw new Error(`unknown deployment mode ${mode}`);
  } catch (error) {
    await stop();
    throw error;
  }
}
