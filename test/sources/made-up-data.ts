import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

/** A made-up rating: user, item, rating, unix seconds. No row of the licensed dataset is used. */
export type Row = [user: number, item: number, rating: number, seconds: number];

/** Writes `u.data` and a Latin-1 `u.item` in the MovieLens-100K layout; returns the folder. */
export async function writeMovieLensFolder(
  dir: string,
  rows: Row[],
  titles: Map<number, string>,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'u.data'), movieLensData(rows));
  await writeFile(path.join(dir, 'u.item'), movieLensItems(titles));
  return dir;
}

export function movieLensData(rows: Row[]): Buffer {
  return Buffer.from(rows.map((r) => `${r.join('\t')}\n`).join(''), 'latin1');
}

export function movieLensItems(titles: Map<number, string>): Buffer {
  const lines = [...titles].map(
    ([id, title]) => `${id}|${title}|01-Jan-1990||http://example.invalid/${id}|0|1|0\n`,
  );
  return Buffer.from(lines.join(''), 'latin1');
}

/** Builds a zip archive; `deflate` picks the method per entry. Uses Node's own CRC-32, not the reader's. */
export function buildZip(files: { name: string; data: Buffer; deflate: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const body = file.deflate ? deflateRawSync(file.data) : file.data;
    const crc = crc32(file.data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(file.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(file.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }

  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
