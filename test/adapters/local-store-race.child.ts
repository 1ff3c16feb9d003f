/**
 * One contender in the cross-process `putConditional` race (run by local-store.test.ts):
 * waits until the agreed start time, tries once, prints `won` or `lost`.
 */
import { LocalObjectStore } from '../../lib/adapters/local-store.js';

const [root, key, ifMatch, startAt, name] = process.argv.slice(2);
const store = new LocalObjectStore(root!);
while (Date.now() < Number(startAt)) {
  // Spin so every contender starts within the same millisecond or so.
}
const version = await store.putConditional(key!, new TextEncoder().encode(name!), ifMatch);
process.stdout.write(version === null ? 'lost' : 'won');
