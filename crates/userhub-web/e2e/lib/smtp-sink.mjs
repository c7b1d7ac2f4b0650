// A minimal SMTP server on 127.0.0.1 that keeps every message it receives
// (no TLS, no auth), so the suite can read the password recovery email.
import net from 'node:net';

export async function startSmtpSink() {
  const messages = [];
  const waiters = new Set();
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let data = [];
    let recipients = [];
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 userhub-e2e-sink ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            const raw = data.join('\r\n');
            messages.push({ to: recipients, raw, text: decodeMime(raw) });
            data = [];
            recipients = [];
            reply('250 OK: queued');
            for (const wake of waiters) wake();
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-userhub-e2e-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (verb === 'HELO') reply('250 userhub-e2e-sink');
        else if (verb === 'MAIL') { recipients = []; reply('250 OK'); }
        else if (verb === 'RCPT') {
          const match = /<([^>]*)>/.exec(line);
          recipients.push((match ? match[1] : line.slice(8)).trim().toLowerCase());
          reply('250 OK');
        } else if (verb === 'DATA') { inData = true; reply('354 End data with <CR><LF>.<CR><LF>'); }
        else if (verb === 'RSET') { recipients = []; data = []; reply('250 OK'); }
        else if (verb === 'NOOP') reply('250 OK');
        else if (verb === 'QUIT') { reply('221 Bye'); socket.end(); }
        else reply('502 Command not implemented');
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    messages,
    /** The first message to `to` received after index `from`, within `timeoutMs`. */
    async waitFor(to, { from = 0, timeoutMs = 20000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      const find = () => messages.slice(from).find((m) => m.to.includes(to.toLowerCase()));
      for (;;) {
        const found = find();
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`no email to ${to} within ${timeoutMs} ms (sink holds ${messages.length} message(s) for ${messages.map((m) => m.to.join(',')).join('; ') || 'nobody'})`);
        }
        await new Promise((resolve) => {
          const wake = () => { waiters.delete(wake); clearTimeout(timer); resolve(); };
          const timer = setTimeout(wake, Math.min(left, 500));
          waiters.add(wake);
        });
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function parseHeaders(head) {
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function decodeQuotedPrintable(body) {
  const bytes = [];
  const text = body.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The decoded text of every part of a MIME message, concatenated. */
export function decodeMime(raw) {
  const split = raw.indexOf('\r\n\r\n');
  const head = split >= 0 ? raw.slice(0, split) : raw;
  const body = split >= 0 ? raw.slice(split + 4) : '';
  const headers = parseHeaders(head);
  const type = headers['content-type'] || 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type);
  if (/^multipart\//i.test(type) && boundary) {
    return body
      .split(`--${boundary[1]}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .map((part) => decodeMime(part.replace(/^\r\n/, '')))
      .join('\n');
  }
  const encoding = (headers['content-transfer-encoding'] || '').toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}
