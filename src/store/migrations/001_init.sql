-- Library metadata: the encoder fingerprint and sampling rate every vector of the library was made with.
CREATE TABLE IF NOT EXISTS library_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE IF NOT EXISTS videos (
  id             text PRIMARY KEY,
  path           text NOT NULL,
  content_hash   text NOT NULL UNIQUE,
  bytes          bigint NOT NULL,
  duration       double precision NOT NULL,
  width          integer NOT NULL,
  height         integer NOT NULL,
  fps            double precision,
  codec          text NOT NULL,
  keyframe_count integer NOT NULL DEFAULT 0,
  model          text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per keyframe; the vector is the source of truth the Faiss index is rebuilt from.
CREATE TABLE IF NOT EXISTS keyframes (
  id        bigserial PRIMARY KEY,
  video_id  text NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  t         double precision NOT NULL,
  vector    bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS keyframes_video_idx ON keyframes (video_id, t);

-- Work the queue runs (ingest, match); kept for the API and for resuming after a crash.
CREATE TABLE IF NOT EXISTS jobs (
  id          text PRIMARY KEY,
  kind        text NOT NULL,
  payload     jsonb NOT NULL,
  status      text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

-- Match reports, as returned by `match --json`.
CREATE TABLE IF NOT EXISTS results (
  id          text PRIMARY KEY,
  query_path  text NOT NULL,
  report      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
