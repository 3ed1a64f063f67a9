/** What a test container writes, kept in memory (the newest part) for logs() and for failure messages. */
import type { Readable } from 'node:stream';

/** Characters kept; older output is dropped first. */
const MAX_CHARS = 1024 * 1024;

export class ContainerLog {
  #text = '';
  #ended: Promise<void> = Promise.resolve();

  /** Collects `stream` (testcontainers' demultiplexed stdout and stderr, as text) until it ends. */
  follow(stream: Readable): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.#text += chunk;
      if (this.#text.length > MAX_CHARS) this.#text = this.#text.slice(-MAX_CHARS);
    });
    this.#ended = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  }

  text(): string {
    return this.#text;
  }

  /** The last `lines` lines, once the stream ended or after `waitMs`, whichever comes first. */
  async tail(lines: number, waitMs = 1_000): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([this.#ended, timeout]);
    clearTimeout(timer);
    return this.#text.trimEnd().split('\n').slice(-lines).join('\n');
  }
}
