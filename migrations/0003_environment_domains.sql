-- Custom domains (an Environment's spec.domains) are claimed installation-wide, first come first
-- served: a hostname routes to one environment only, so no tenant can take another's traffic. The API
-- makes an environment's rows match its spec in the same transaction as the spec; a claim is released
-- when the environment lists the hostname no more, or when its row is removed (after its teardown).
-- The certificate columns are the routing controller's: what it last obtained for the hostname, and why
-- it could not.
create table environment_domains (
  hostname text primary key,
  environment_id uuid not null references environments (id) on delete cascade,
  certificate text,
  certificate_message text,
  checked_at timestamptz
);
create index environment_domains_environment_id_idx on environment_domains (environment_id);

-- Environments written by an older Gilgal hold their domains already. Where several list one hostname,
-- the oldest environment keeps it (first come first served); the others keep it in their spec unclaimed,
-- and their next change is refused until they drop it.
insert into environment_domains (hostname, environment_id)
select distinct on (listed.hostname) listed.hostname, e.id
  from environments e
  cross join lateral jsonb_array_elements_text(
    case jsonb_typeof(e.spec -> 'domains') when 'array' then e.spec -> 'domains' else '[]' end
  ) as listed (hostname)
 order by listed.hostname, e.created_at, e.id
on conflict (hostname) do nothing;
