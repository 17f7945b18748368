// The lab's certificates, made with the openssl command line (Debian's): one CA, a serving
// certificate for 127.0.0.1/localhost shared by the lab's apiservers, an admin client
// certificate in system:masters, and the service-account signing key pair.
import { existsSync, writeFileSync } from 'node:fs';
import type { PartContext } from './part.js';

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

export async function makePki(lab: PartContext, part: string): Promise<Pki> {
  const p = (f: string) => lab.path('pki', f);
  const pki: Pki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('serving.crt'),
    servingKey: p('serving.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
  if (existsSync(pki.saPub)) return pki;
  const openssl = (name: string, ...args: string[]) =>
    lab.run({ name: `pki-${name}`, part, command: 'openssl', args });
  await openssl(
    'ca',
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=kachiku-lab-ca',
    '-keyout',
    pki.caKey,
    '-out',
    pki.caCert,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const ext = p('serving.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await issue(openssl, pki, 'serving', '/CN=127.0.0.1', pki.servingKey, pki.servingCert, ext);
  const clientExt = p('client.ext');
  writeFileSync(clientExt, 'extendedKeyUsage=clientAuth\n');
  await issue(
    openssl,
    pki,
    'admin',
    '/O=system:masters/CN=kachiku-admin',
    pki.adminKey,
    pki.adminCert,
    clientExt,
  );
  await openssl('sa-key', 'genrsa', '-out', pki.saKey, '2048');
  await openssl('sa-pub', 'rsa', '-in', pki.saKey, '-pubout', '-out', pki.saPub);
  return pki;
}

async function issue(
  openssl: (name: string, ...args: string[]) => Promise<void>,
  pki: Pki,
  name: string,
  subject: string,
  key: string,
  cert: string,
  ext: string,
): Promise<void> {
  const csr = `${cert}.csr`;
  await openssl(
    `${name}-csr`,
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    subject,
    '-keyout',
    key,
    '-out',
    csr,
  );
  await openssl(
    `${name}-sign`,
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-days',
    '3650',
    '-out',
    cert,
    '-extfile',
    ext,
  );
}
