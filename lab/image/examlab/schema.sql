-- Schema of the lab, shaped like the real platform's (PLATFORM.md). Idempotent.
CREATE TABLE IF NOT EXISTS users (
  id            bigserial PRIMARY KEY,
  email         text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'student' CHECK (role IN ('student', 'admin')),
  is_verified   boolean NOT NULL DEFAULT true,
  is_active     boolean NOT NULL DEFAULT true,
  cohort        text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS users_cohort_idx ON users (cohort) WHERE cohort IS NOT NULL;

CREATE TABLE IF NOT EXISTS questions (
  id            bigserial PRIMARY KEY,
  year          int NOT NULL,
  block         text NOT NULL,
  theme_id      int NOT NULL,
  stem          text NOT NULL,
  options       jsonb NOT NULL,
  correct_index int NOT NULL CHECK (correct_index BETWEEN 0 AND 4)
);
CREATE INDEX IF NOT EXISTS questions_year_block_idx ON questions (year, block);

CREATE TABLE IF NOT EXISTS test_sessions (
  id                 uuid PRIMARY KEY,
  user_id            bigint NOT NULL REFERENCES users (id),
  status             text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUBMITTED', 'EXPIRED')),
  mode               text NOT NULL CHECK (mode IN ('TUTOR', 'EXAM')),
  year               int NOT NULL,
  blocks             text[] NOT NULL,
  total_questions    int NOT NULL,
  current_position   int NOT NULL DEFAULT 1,
  score_correct      int,
  score_total        int,
  started_at         timestamptz NOT NULL DEFAULT now(),
  submitted_at       timestamptz,
  expires_at         timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  exam_mode_at_start boolean NOT NULL DEFAULT false,
  idempotency_key    text,
  CONSTRAINT submitted_has_time CHECK (status <> 'SUBMITTED' OR submitted_at IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS test_sessions_user_idx ON test_sessions (user_id);
CREATE INDEX IF NOT EXISTS test_sessions_status_idx ON test_sessions (status);

CREATE TABLE IF NOT EXISTS session_questions (
  session_id  uuid NOT NULL REFERENCES test_sessions (id),
  position    int NOT NULL,
  question_id bigint NOT NULL REFERENCES questions (id),
  PRIMARY KEY (session_id, position),
  UNIQUE (session_id, question_id)
);

CREATE TABLE IF NOT EXISTS session_answers (
  id                bigserial PRIMARY KEY,
  session_id        uuid NOT NULL REFERENCES test_sessions (id),
  question_id       bigint NOT NULL REFERENCES questions (id),
  selected_index    int CHECK (selected_index BETWEEN 0 AND 4),
  is_correct        boolean,
  changed_count     int NOT NULL DEFAULT 0,
  marked_for_review boolean NOT NULL DEFAULT false,
  answered_at       timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (session_id, question_id)
);
-- Writes are ordered: the client sends a version that grows with each of its writes, and an
-- older one than the stored version is refused (409 STALE_WRITE) instead of overwriting it.
ALTER TABLE session_answers ADD COLUMN IF NOT EXISTS client_version bigint;

-- Append-only: a trigger forbids UPDATE and DELETE (reset needs TRUNCATE).
CREATE TABLE IF NOT EXISTS attempt_events (
  id          bigserial PRIMARY KEY,
  session_id  uuid NOT NULL,
  user_id     bigint NOT NULL,
  event_type  text NOT NULL,
  event_ts    timestamptz NOT NULL DEFAULT now(),
  request_id  text,
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS attempt_events_session_idx ON attempt_events (session_id, event_type);
CREATE OR REPLACE FUNCTION attempt_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'attempt_events is append-only (% refused)', TG_OP;
END $$;
DROP TRIGGER IF EXISTS attempt_events_append_only ON attempt_events;
CREATE TRIGGER attempt_events_append_only BEFORE UPDATE OR DELETE ON attempt_events
  FOR EACH ROW EXECUTE FUNCTION attempt_events_append_only();

CREATE TABLE IF NOT EXISTS user_theme_mastery (
  user_id     bigint NOT NULL REFERENCES users (id),
  theme_id    int NOT NULL,
  answered    int NOT NULL DEFAULT 0,
  correct     int NOT NULL DEFAULT 0,
  computed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, theme_id)
);

CREATE TABLE IF NOT EXISTS system_flags (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text,
  reason     text
);

CREATE TABLE IF NOT EXISTS refresh_tokens (
  id         bigserial PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users (id),
  family_id  uuid NOT NULL,
  token_hash text NOT NULL UNIQUE,
  issued_at  timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE IF NOT EXISTS background_jobs (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL,
  status       text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')),
  requested_by text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  result       jsonb
);
