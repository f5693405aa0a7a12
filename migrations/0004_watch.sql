-- Watches (`?watch=true`) follow an object as it changes, spec or status. Every change of a row takes
-- the next resource version, and one notification on `gilgal_watch` (ids only, as on gilgal_changes)
-- tells the API processes, which read the row once for all their watchers of it. A write that changes
-- nothing takes no version and sends nothing, so the controller's repeated status writes stay quiet.
create sequence resource_versions;

alter table projects add column resource_version bigint not null default 0;
alter table environments add column resource_version bigint not null default 0;
alter table deployments add column resource_version bigint not null default 0;
-- Rows written before this migration take a version too: a watch sends what is newer than version 0.
update projects set resource_version = nextval('resource_versions');
update environments set resource_version = nextval('resource_versions');
update deployments set resource_version = nextval('resource_versions');

create function gilgal_next_resource_version() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' or new is distinct from old then
    new.resource_version := nextval('resource_versions');
  end if;
  return new;
end $$;

-- On delete the row is gone: its watchers read nothing and are told so.
create function gilgal_notify_watch() returns trigger language plpgsql as $$
begin
  perform pg_notify('gilgal_watch', json_build_object(
    'kind', tg_argv[0], 'id', case when tg_op = 'DELETE' then old.id else new.id end)::text);
  return null;
end $$;

create trigger projects_resource_version before insert or update on projects
  for each row execute function gilgal_next_resource_version();
create trigger environments_resource_version before insert or update on environments
  for each row execute function gilgal_next_resource_version();
create trigger deployments_resource_version before insert or update on deployments
  for each row execute function gilgal_next_resource_version();

create trigger projects_notify_watch after update on projects
  for each row when (new.resource_version <> old.resource_version)
  execute function gilgal_notify_watch('Project');
create trigger environments_notify_watch after update on environments
  for each row when (new.resource_version <> old.resource_version)
  execute function gilgal_notify_watch('Environment');
create trigger deployments_notify_watch after update on deployments
  for each row when (new.resource_version <> old.resource_version)
  execute function gilgal_notify_watch('Deployment');

create trigger projects_notify_watch_delete after delete on projects
  for each row execute function gilgal_notify_watch('Project');
create trigger environments_notify_watch_delete after delete on environments
  for each row execute function gilgal_notify_watch('Environment');
create trigger deployments_notify_watch_delete after delete on deployments
  for each row execute function gilgal_notify_watch('Deployment');

-- A project's events are watched by project: the notification names it, the reader reads what is new.
create function gilgal_notify_event() returns trigger language plpgsql as $$
begin
  if new.project_id is not null then
    perform pg_notify('gilgal_watch', json_build_object('kind', 'Event', 'id', new.project_id)::text);
  end if;
  return null;
end $$;

create trigger events_notify_watch after insert on events
  for each row execute function gilgal_notify_event();
