import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMonitor } from "../src/sdk.js";

/** Against the PostgreSQL on 127.0.0.1:5432 (user postgres, trust); a table per run. */
const connection = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };
const table = `sdk_orders_${randomBytes(4).toString("hex")}`;
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client(connection);
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, item text NOT NULL, qty int NOT NULL)`);
});
afterAll(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.end();
});

function newMonitor(settings = {}) {
  return createMonitor({ app: "pg-test", ship: false, settings: { buffer_size: 1000, ...settings } });
}

function ops(monitor: ReturnType<typeof newMonitor>) {
  return monitor.recent().map((e) => [e.attrs.op, e.attrs.key_label, e.attrs.count, e.attrs.error]);
}

describe("instrumentPg with a Client", () => {
  it("records reads with their row count and writes with rowCount, labelled by table", async () => {
    const monitor = newMonitor();
    const client = monitor.instrumentPg(new pg.Client(connection));
    await client.connect();
    try {
      const inserted = await client.query(`INSERT INTO ${table} (item, qty) VALUES ('apple', 1), ('pear', 2), ('plum', 3) RETURNING id`);
      expect(inserted.rowCount).toBe(3);
      expect((await client.query(`SELECT * FROM ${table} WHERE qty >= $1`, [2])).rows).toHaveLength(2);
      expect((await client.query({ text: `select item from "public".${table.toUpperCase()} where qty = $1`, values: [1] })).rows).toEqual([{ item: "apple" }]);
      expect((await client.query(`UPDATE ${table} SET qty = qty + 1 WHERE qty < 3`)).rowCount).toBe(2);
      expect((await client.query(`WITH big AS (SELECT * FROM ${table} WHERE qty > 2) SELECT count(*) FROM big`)).rows[0].count).toBe("2");
      await client.query(`/* cleanup */ DELETE FROM ${table} WHERE item = 'plum'`);
      expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
      await client.query("BEGIN");
      await client.query("COMMIT");
    } finally {
      await client.end();
    }
    expect(ops(monitor)).toEqual([
      ["db_write", table, 3, undefined],
      ["db_read", table, 2, undefined],
      ["db_read", `public.${table}`, 1, undefined],
      ["db_write", table, 2, undefined],
      ["db_read", table, 1, undefined],
      ["db_write", table, 1, undefined],
      ["db_read", "query", 1, undefined],
    ]);
    for (const event of monitor.recent()) expect(event.attrs).toMatchObject({ origin: "pg", sample_rate: 1 });
    expect(monitor.totals()).toMatchObject({ db_reads: 4, db_writes: 3, ops: 7 });
  });

  it("records the callback forms and failed queries, and changes nothing the app sees", async () => {
    const monitor = newMonitor();
    const client = monitor.instrumentPg(new pg.Client(connection));
    await client.connect();
    try {
      const viaCallback = await new Promise<pg.QueryResult>((resolve, reject) => {
        const returned = client.query(`SELECT * FROM ${table}`, (err: Error | null, res: pg.QueryResult) => (err ? reject(err) : resolve(res)));
        expect(returned).toBeUndefined();
      });
      expect(viaCallback.rowCount).toBe(2);
      await new Promise<void>((resolve, reject) => client.query(`SELECT * FROM ${table} WHERE id = $1`, [-1], (err: Error | null) => (err ? reject(err) : resolve())));
      const failed = await client.query("SELECT * FROM sdk_no_such_table").catch((e: Error) => e);
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error & { code?: string }).code).toBe("42P01");
      const failedCallback = await new Promise<Error>((resolve) => client.query(`INSERT INTO ${table} (item) VALUES ('no qty')`, (err: Error) => resolve(err)));
      expect((failedCallback as Error & { code?: string }).code).toBe("23502");
    } finally {
      await client.end();
    }
    expect(ops(monitor)).toEqual([
      ["db_read", table, 2, undefined],
      ["db_read", table, 0, undefined],
      ["db_read", "sdk_no_such_table", 0, true],
      ["db_write", table, 0, true],
    ]);
  });
});

describe("instrumentPg with a Pool", () => {
  it("records pool.query and queries on clients from pool.connect(), each once, including clients connected before", async () => {
    const monitor = newMonitor();
    const pool = new pg.Pool({ ...connection, max: 3 });
    const early = await pool.connect();
    expect(monitor.instrumentPg(pool)).toBe(pool);
    monitor.instrumentPg(pool);
    try {
      await early.query(`SELECT * FROM ${table}`);
      early.release();
      await Promise.all([1, 2, 3, 4, 5].map((qty) => pool.query(`INSERT INTO ${table} (item, qty) VALUES ($1, $2)`, [`item${qty}`, qty])));
      expect((await pool.query(`SELECT * FROM ${table} WHERE item LIKE 'item%'`)).rowCount).toBe(5);
      const client = await pool.connect();
      try {
        await client.query(`DELETE FROM ${table} WHERE item LIKE 'item%'`);
      } finally {
        client.release();
      }
      const viaCallback = await new Promise<number | null>((resolve, reject) => pool.query(`SELECT * FROM ${table}`, (err: Error | undefined, res: pg.QueryResult) => (err ? reject(err) : resolve(res.rowCount))));
      expect(viaCallback).toBe(2);
    } finally {
      await pool.end();
    }
    expect(monitor.totals()).toMatchObject({ db_reads: 3, db_writes: 6, ops: 9 });
    expect(monitor.recent({ op: "db_write" }).map((e) => e.attrs.count)).toEqual([1, 1, 1, 1, 1, 5]);
  });

  it("passes every query straight through while disabled", async () => {
    const monitor = newMonitor({ enabled: false });
    const pool = monitor.instrumentPg(new pg.Pool(connection));
    try {
      expect((await pool.query(`SELECT * FROM ${table}`)).rowCount).toBe(2);
    } finally {
      await pool.end();
    }
    expect(monitor.totals().ops).toBe(0);
  });

  it("refuses what is neither a pg Client nor a Pool", () => {
    expect(() => newMonitor().instrumentPg({})).toThrow(/expects a pg Client or Pool/);
  });
});
