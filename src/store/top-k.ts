/** Cosine similarity and best-k selection for stores that search by brute force. */

/** Euclidean norm, accumulated in double precision. */
export function norm(vector: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i += 1) {
    const value = vector[i] as number;
    sum += value * value;
  }
  return Math.sqrt(sum);
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** Keeps the `k` items with the highest scores seen so far, in a min-heap on score. */
export class TopK<T> {
  readonly #items: { item: T; score: number }[] = [];

  constructor(readonly k: number) {}

  offer(item: T, score: number): void {
    const heap = this.#items;
    if (heap.length < this.k) {
      heap.push({ item, score });
      this.#siftUp(heap.length - 1);
    } else if (score > (heap[0] as { score: number }).score) {
      heap[0] = { item, score };
      this.#siftDown(0);
    }
  }

  /** The kept items, best first; ties keep no particular order. */
  sorted(): { item: T; score: number }[] {
    return [...this.#items].sort((a, b) => b.score - a.score);
  }

  #siftUp(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (this.#score(parent) <= this.#score(child)) return;
      this.#swap(parent, child);
      child = parent;
    }
  }

  #siftDown(index: number): void {
    const size = this.#items.length;
    let parent = index;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < size && this.#score(left) < this.#score(smallest)) smallest = left;
      if (right < size && this.#score(right) < this.#score(smallest)) smallest = right;
      if (smallest === parent) return;
      this.#swap(parent, smallest);
      parent = smallest;
    }
  }

  #score(index: number): number {
    return (this.#items[index] as { score: number }).score;
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    [items[a], items[b]] = [items[b] as { item: T; score: number }, items[a] as { item: T; score: number }];
  }
}
