-- Project names are unique per installation, not per owner (as app names are on Heroku and Dokku):
-- they name Docker networks and containers and, with routing, hostnames, which one engine and one
-- domain share. A database where two owners hold the same name is refused with the names, so the
-- operator can delete (or re-create under another name) all but one of each before upgrading.
do $$
declare
  clashes text;
begin
  select string_agg(format('%s (%s owners)', name, owners), ', ' order by name)
    into clashes
    from (select name, count(*) as owners from projects group by name having count(*) > 1) as taken;
  if clashes is not null then
    raise exception using
      errcode = 'GL001',
      message = format('project names must be unique per installation, and these are held by several owners: %s', clashes),
      hint = 'delete all but one project of each name (the others can be re-created under new names), then start Gilgal again';
  end if;
end $$;

alter table projects drop constraint projects_owner_id_name_key;
alter table projects add constraint projects_name_key unique (name);
