import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitStatements } from '../../src/store/migrate.js';

test('splits a migration script into statements, dropping comments', () => {
  const sql = `-- a table\nCREATE TABLE a (x int);\n\nCREATE INDEX i ON a (x); -- trailing\nINSERT INTO a VALUES (1);\n`;
  assert.deepEqual(splitStatements(sql), ['CREATE TABLE a (x int)', 'CREATE INDEX i ON a (x)', 'INSERT INTO a VALUES (1)']);
});
