import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReportText, roundReport, type MatchReport } from './match-report.js';

const report: MatchReport = {
  query: { path: 'suspect.mp4', duration: 31.2 },
  matches: [
    {
      reference: { id: 'r1', path: '/lib/takeB.mp4', duration: 25 },
      score: 0.81234,
      segments: [
        {
          query: [4.00049, 15.5],
          reference: [20, 31.5],
          score: 0.81234,
          evidence: {
            pairs: [[4.5, 20.5, 0.9]],
            meanSimilarity: 0.9,
            queryRegion: { x: 0.5, y: 0.05, w: 0.4, h: 0.4 },
            preferredOver: [
              { id: 'r2', path: '/lib/takeA.mp4', by: 'motion', motion: { kept: 0.4312, dropped: 0.0731 } },
              { id: 'r4', path: '/lib/loop.mp4', by: 'frames' },
            ],
          },
        },
        {
          query: [20, 23],
          reference: [2, 5],
          score: 0.152,
          evidence: {
            pairs: [[20.5, 2.5, 0.6]],
            meanSimilarity: 0.6,
            corroboratedBy: { aligner: 'tn', score: 0.5432, query: [20, 23.5], reference: [2, 5.5] },
          },
        },
      ],
    },
    {
      reference: { id: 'r3', path: '/lib/degraded.mp4', duration: 25 },
      score: 0.5,
      segments: [{ query: [4, 15.5], reference: [20, 31.5], score: 0.5, evidence: { pairs: [], meanSimilarity: 0.6, duplicateOf: { id: 'r1', path: '/lib/takeB.mp4' } } }],
    },
  ],
};

test('the text report says why each segment stands: inset, look-alikes weighed, duplicate, witness below the threshold', () => {
  const lines = formatReportText(report).split('\n');
  assert.equal(lines[0], 'query suspect.mp4 (31.2 s)');
  assert.match(lines[2], /query 4\.0–15\.5 s {2}↔ {2}reference 20\.0–31\.5 s {2}\(score 0\.812, inset at 50%,5% size 40%×40% of the query frame, rather than look-alike \/lib\/takeA\.mp4 \(moves as the query does: 0\.43 vs 0\.07\), rather than look-alike \/lib\/loop\.mp4\)$/);
  assert.match(lines[3], /\(score 0\.152, below the threshold but confirmed by tn \(0\.543\)\)$/);
  assert.match(lines[5], /\(score 0\.500, duplicate of \/lib\/takeB\.mp4\)$/);
  assert.equal(formatReportText({ query: report.query, matches: [] }).split('\n')[1], '  no copied segments found in the library');
});

test('rounding keeps the evidence as it is', () => {
  const rounded = roundReport(report);
  assert.deepEqual(rounded.matches[0].segments[0].query, [4, 15.5]);
  assert.equal(rounded.matches[0].score, 0.8123);
  assert.deepEqual(rounded.matches[0].segments[1].evidence, report.matches[0].segments[1].evidence);
});
