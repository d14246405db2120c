-- Vectors of the encoder a library is being moved to (`vidtrace reindex`). Filled video by video, so an
-- interrupted reindex resumes where it stopped; swapped into keyframes.vector in one transaction at the end.
CREATE TABLE IF NOT EXISTS keyframe_vectors_next (
  keyframe_id bigint PRIMARY KEY REFERENCES keyframes(id) ON DELETE CASCADE,
  model       text NOT NULL,
  vector      bytea NOT NULL
);
