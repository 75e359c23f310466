import mysql from 'mysql2/promise'
import { closedLoop } from './lib.js'

const ADMIN = process.env.JM_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306'

export const MYSQL_BENCH_AGENT_URL = `${ADMIN}/jm_bench_agent`

export async function ensureMySqlBenchDatabase(): Promise<void> {
  const conn = await mysql.createConnection(ADMIN)
  await conn.query('CREATE DATABASE IF NOT EXISTS jm_bench_agent CHARACTER SET utf8mb4 COLLATE utf8mb4_bin')
  await conn.end()
}

/** The transport's own limit on this machine: single-row INSERT commits from 16 connections. */
export async function mysqlCommitFloor(durationMs: number): Promise<number> {
  const pool = mysql.createPool({ uri: MYSQL_BENCH_AGENT_URL, connectionLimit: 16 })
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS jm_bench_floor (id BIGINT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL, at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB')
    const body = JSON.stringify({ definition: 'noop', payload: null, padding: 'x'.repeat(200) })
    const n = await closedLoop(16, durationMs, () => pool.execute('INSERT INTO jm_bench_floor (body) VALUES (?)', [body]))
    await pool.query('DROP TABLE jm_bench_floor')
    return (n * 1000) / durationMs
  } finally {
    await pool.end()
  }
}

export async function dropMySqlBenchTables(prefix: string): Promise<void> {
  const conn = await mysql.createConnection(MYSQL_BENCH_AGENT_URL)
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${prefix}%`])
  for (const r of rows) await conn.query(`DROP TABLE \`${r.t}\``)
  await conn.end()
}
