-- Gilgal's schema (docs/ARCHITECTURE.md, Database). Spec tables carry spec/generation/status/deletion_requested_at;
-- the API writes spec, the controller writes status. Triggers bump generation when spec changes and
-- notify `gilgal_changes` on insert, generation change and deletion request: never on status writes.

-- Needs PostgreSQL 13 or newer (built-in gen_random_uuid()).

-- A DNS label, no "--" (the double dash separates environment and project in default hostnames).
create domain resource_name as text
  check (value ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$' and position('--' in value) = 0);

create table users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  username text not null,
  password_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));
create unique index users_username_key on users (lower(username));

create table api_keys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  name text not null,
  scope text not null check (scope in ('read', 'write')),
  key_hash text not null unique,
  key_prefix text not null,
  last_used_at timestamptz,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_keys_user_idx on api_keys (user_id, created_at desc);

create table refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  family_id uuid not null,
  token_hash text not null unique,
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);

create table projects (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references users (id) on delete cascade,
  name resource_name not null,
  labels jsonb not null default '{}',
  spec jsonb not null default '{}',
  generation bigint not null default 1,
  status jsonb not null default '{}',
  phase text generated always as (status ->> 'phase') stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deletion_requested_at timestamptz,
  unique (owner_id, name)
);

create table environments (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects (id) on delete cascade,
  name resource_name not null,
  labels jsonb not null default '{}',
  spec jsonb not null default '{}',
  generation bigint not null default 1,
  status jsonb not null default '{}',
  phase text generated always as (status ->> 'phase') stored,
  -- Incremented under the row lock when a revision is created: revisions stay gap-free and unique
  -- under concurrent deploys. Not part of spec, so it neither bumps generation nor notifies.
  latest_revision integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deletion_requested_at timestamptz,
  unique (project_id, name),
  unique (id, project_id)
);
create index environments_phase_idx on environments (phase);

create table deployments (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null,
  environment_id uuid not null,
  name resource_name,
  revision integer not null check (revision > 0),
  trigger jsonb not null default '{}',
  spec jsonb not null,
  generation bigint not null default 1,
  status jsonb not null default '{}',
  phase text generated always as (status ->> 'phase') stored,
  cancel_requested_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deletion_requested_at timestamptz,
  -- The composite key keeps project_id (used for owner scoping and listing) equal to the environment's.
  foreign key (environment_id, project_id) references environments (id, project_id) on delete cascade,
  unique (environment_id, revision)
);
create unique index deployments_name_key on deployments (environment_id, name) where name is not null;
-- Listing order: newest first; revisions made in one transaction share created_at, so revision breaks ties.
create index deployments_project_idx on deployments (project_id, created_at desc, revision desc, id desc);
create index deployments_environment_phase_idx on deployments (environment_id, phase, revision desc);
-- The resync lists non-terminal revisions; they are few, so a partial index keeps that query cheap.
create index deployments_live_idx on deployments (id)
  where phase is null or phase not in ('Active', 'Superseded', 'Failed', 'Cancelled');

create table deployment_logs (
  deployment_id uuid not null references deployments (id) on delete cascade,
  seq bigint not null,
  ts timestamptz not null default now(),
  stream text not null check (stream in ('stdout', 'stderr', 'system')),
  level text not null default 'info' check (level in ('debug', 'info', 'warn', 'error')),
  message text not null,
  primary key (deployment_id, seq)
);

create table events (
  id bigint generated always as identity primary key,
  project_id uuid references projects (id) on delete cascade,
  object_kind text not null check (object_kind in ('Project', 'Environment', 'Deployment', 'User')),
  object_id uuid,
  object_name text,
  type text not null check (type in ('Normal', 'Warning')),
  reason text not null,
  message text not null,
  source text not null check (source in ('api', 'controller')),
  actor text,
  created_at timestamptz not null default now()
);
create index events_project_idx on events (project_id, id desc);

create table controller_leases (
  name text primary key,
  holder text not null,
  epoch bigint not null default 1,
  acquired_at timestamptz not null default now(),
  renewed_at timestamptz not null default now(),
  expires_at timestamptz not null
);

-- generation and updated_at: a spec change is a new generation. Status-only writes keep generation,
-- so status.observedGeneration tells what the controller has acted on.
create function gilgal_bump_generation() returns trigger language plpgsql as $$
begin
  if new.spec is distinct from old.spec then
    new.generation := old.generation + 1;
  end if;
  if new.spec is distinct from old.spec or new.labels is distinct from old.labels
    or new.deletion_requested_at is distinct from old.deletion_requested_at then
    new.updated_at := now();
  end if;
  return new;
end $$;

-- A deployment's spec is immutable; a cancel request is the one desired-state change it can get,
-- so it counts as a new generation (and therefore wakes the controller).
create function gilgal_bump_deployment_generation() returns trigger language plpgsql as $$
begin
  if new.spec is distinct from old.spec or new.cancel_requested_at is distinct from old.cancel_requested_at then
    new.generation := old.generation + 1;
    new.updated_at := now();
  end if;
  return new;
end $$;

-- Payload: ids only (far below NOTIFY's 8000-byte limit); the controller re-reads the row. `at` is
-- the trigger's clock time in epoch seconds, for gilgal_notify_lag_seconds.
create function gilgal_notify_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('gilgal_changes', json_build_object(
    'kind', tg_argv[0],
    'id', new.id,
    'at', extract(epoch from clock_timestamp())
  )::text);
  return null;
end $$;

create trigger projects_bump_generation before update on projects
  for each row execute function gilgal_bump_generation();
create trigger environments_bump_generation before update on environments
  for each row execute function gilgal_bump_generation();
create trigger deployments_bump_generation before update on deployments
  for each row execute function gilgal_bump_deployment_generation();

create trigger projects_notify_insert after insert on projects
  for each row execute function gilgal_notify_change('Project');
create trigger projects_notify_update after update on projects
  for each row when (new.generation <> old.generation
    or (old.deletion_requested_at is null and new.deletion_requested_at is not null))
  execute function gilgal_notify_change('Project');

create trigger environments_notify_insert after insert on environments
  for each row execute function gilgal_notify_change('Environment');
create trigger environments_notify_update after update on environments
  for each row when (new.generation <> old.generation
    or (old.deletion_requested_at is null and new.deletion_requested_at is not null))
  execute function gilgal_notify_change('Environment');

create trigger deployments_notify_insert after insert on deployments
  for each row execute function gilgal_notify_change('Deployment');
create trigger deployments_notify_update after update on deployments
  for each row when (new.generation <> old.generation
    or (old.deletion_requested_at is null and new.deletion_requested_at is not null))
  execute function gilgal_notify_change('Deployment');
