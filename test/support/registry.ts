// Pushing image tags to the lab's registry through the OCI distribution API, as `docker push`
// does: a config blob and a layer blob (POST an upload, PUT it with its digest), then a manifest
// per tag. The image is minimal but real (the layer is an empty tar, gzipped; the config names
// it); each tag's manifest carries the tag in an annotation, so every tag has its own digest.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface Credentials {
  username: string;
  password: string;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Pushes one image under every tag in `tags`; the manifest digest of each tag. */
export async function pushImageTags(
  registryUrl: string,
  repository: string,
  tags: readonly string[],
  creds: Credentials,
  concurrency = 8,
): Promise<Map<string, string>> {
  const authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  const tar = Buffer.alloc(1024); // two zero blocks: an empty tar archive
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      config: { Labels: { 'io.kachiku.test': repository } },
    }),
  );
  for (const blob of [config, layer]) await pushBlob(registryUrl, repository, blob, authorization);
  const digests = new Map<string, string>();
  const queue = [...tags];
  const worker = async () => {
    for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) {
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: sha256(config),
            size: config.length,
          },
          layers: [
            {
              mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
              digest: sha256(layer),
              size: layer.length,
            },
          ],
          annotations: { 'org.opencontainers.image.version': tag },
        }),
      );
      const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
        method: 'PUT',
        headers: { authorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: new Uint8Array(manifest),
      });
      const text = await res.text();
      if (res.status !== 201)
        throw new Error(`PUT manifest ${repository}:${tag}: ${res.status} ${text}`);
      const digest = res.headers.get('docker-content-digest');
      if (digest !== sha256(manifest))
        throw new Error(`manifest digest ${digest} is not ${sha256(manifest)}`);
      digests.set(tag, digest);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tags.length) }, worker));
  return digests;
}

async function pushBlob(
  registryUrl: string,
  repository: string,
  blob: Buffer,
  authorization: string,
) {
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    headers: { authorization },
  });
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new Error(`start upload: ${start.status}`);
  const url = new URL(location, registryUrl);
  url.searchParams.set('digest', sha256(blob));
  const put = await fetch(url, {
    method: 'PUT',
    headers: { authorization, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(blob),
  });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${text}`);
}
