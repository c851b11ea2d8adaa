-- lab-b's schema: UUID ids everywhere, names unlike the lab's (and unlike the real platform's).
CREATE TABLE IF NOT EXISTS accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  login text NOT NULL UNIQUE,
  pw_hash text NOT NULL,
  kind text NOT NULL DEFAULT 'candidate' CHECK (kind IN ('candidate', 'operator')),
  enabled boolean NOT NULL DEFAULT true,
  origin text,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS renew_tokens (
  hash text PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  expires timestamptz NOT NULL,
  revoked boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS bank_items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  paper text NOT NULL,
  skill text NOT NULL,
  prompt text NOT NULL,
  right_choice int NOT NULL
);
CREATE INDEX IF NOT EXISTS bank_items_paper ON bank_items (paper);
CREATE TABLE IF NOT EXISTS attempts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  candidate uuid NOT NULL REFERENCES accounts(id),
  paper text NOT NULL,
  state text NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'DONE', 'TIMEOUT')),
  opened timestamptz NOT NULL DEFAULT now(),
  deadline timestamptz NOT NULL,
  closed timestamptz,
  points int,
  max_points int NOT NULL,
  item_count int NOT NULL,
  finish_token text
);
CREATE INDEX IF NOT EXISTS attempts_candidate ON attempts (candidate);
CREATE TABLE IF NOT EXISTS attempt_items (
  attempt_id uuid NOT NULL REFERENCES attempts(id),
  item_id uuid NOT NULL REFERENCES bank_items(id),
  ord int NOT NULL,
  PRIMARY KEY (attempt_id, item_id)
);
CREATE TABLE IF NOT EXISTS responses (
  attempt_id uuid NOT NULL REFERENCES attempts(id),
  item_id uuid NOT NULL,
  choice int NOT NULL,
  scored boolean NOT NULL,
  edits int NOT NULL DEFAULT 0,
  seq bigint NOT NULL DEFAULT 0,
  first_at timestamptz NOT NULL DEFAULT now(),
  last_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (attempt_id, item_id)
);
CREATE TABLE IF NOT EXISTS attempt_log (
  id bigserial PRIMARY KEY,
  attempt_id uuid NOT NULL,
  actor uuid,
  kind text NOT NULL,
  rid text,
  at timestamptz NOT NULL DEFAULT now(),
  detail jsonb
);
CREATE INDEX IF NOT EXISTS attempt_log_attempt ON attempt_log (attempt_id);
CREATE TABLE IF NOT EXISTS feature_switches (
  name text PRIMARY KEY,
  enabled boolean NOT NULL DEFAULT false,
  changed_by uuid REFERENCES accounts(id),
  changed_at timestamptz,
  note text
);
CREATE TABLE IF NOT EXISTS skill_scores (
  candidate uuid NOT NULL,
  skill text NOT NULL,
  score numeric NOT NULL,
  PRIMARY KEY (candidate, skill)
);
INSERT INTO feature_switches (name, enabled) VALUES ('exam_lock', false), ('intake_closed', false)
  ON CONFLICT (name) DO NOTHING;
