import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Flushes a folder's entries (new, renamed or removed files) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows, a few network file systems) refuse fsync on a folder; there is nothing
    // more durable to ask for there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `target` so a crash leaves either the old file or the whole new one. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await fsyncDir(path.dirname(target));
}

/** Writes all of `data` at the handle's position; a single write may take only part of it. */
export async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  for (let written = 0; written < data.length; ) {
    written += (await handle.write(data, written, data.length - written)).bytesWritten;
  }
}
