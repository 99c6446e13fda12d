// A small notes app to upload to the app host. It is plain Cloudflare Durable Object code:
// the host runs it as a facet of the tenant, with its own SQLite database.
import { DurableObject } from 'cloudflare:workers';

export class App extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS notes (
      id INTEGER PRIMARY KEY,
      text TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`);
  }

  add(text) {
    if (typeof text !== 'string' || text === '') throw new TypeError('A note needs some text.');
    return this.ctx.storage.sql
      .exec('INSERT INTO notes (text, created_at) VALUES (?, ?) RETURNING id, text', text, new Date().toISOString())
      .one();
  }

  list() {
    return this.ctx.storage.sql.exec('SELECT id, text FROM notes ORDER BY id').toArray();
  }

  remove(id) {
    return this.ctx.storage.sql.exec('DELETE FROM notes WHERE id = ?', id).rowsWritten;
  }

  count() {
    return this.ctx.storage.sql.exec('SELECT count(*) AS n FROM notes').one().n;
  }

  info() {
    return { props: this.ctx.props, env: this.env, databaseSize: this.ctx.storage.sql.databaseSize };
  }

  // Waits `ms` milliseconds (to show `abort`: a call in flight is rejected with the reason).
  async wait(ms) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return 'done';
  }

  fail(message) {
    throw new RangeError(message);
  }
}
