-- creditscore: the database roles for least privilege (docs/audit-and-security.md).
--
--   creditscore_owner  NOLOGIN: owns the schema and every table; migrations run as it
--                      (a login that may SET ROLE to it: DATABASE_OWNER_URL ...?assume_role=creditscore_owner)
--   creditscore_app    LOGIN: what the web processes and workers connect as; it owns nothing, so it
--                      cannot switch the audit triggers off, and it holds only the grants below
--
-- Run as a superuser, connected to the app's database, before the first migrate (it makes the roles)
-- and again after every migrate (it grants on the new tables). It is safe to run any number of times:
--   psql -v ON_ERROR_STOP=1 -v app_password="$APP_DB_PASSWORD" -d creditscore -f deploy/postgres-roles.sql
-- Without app_password the app role keeps the password it has (none at first: set one, or use
-- another authentication method in pg_hba.conf).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'creditscore_owner') THEN
        CREATE ROLE creditscore_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'creditscore_app') THEN
        CREATE ROLE creditscore_app LOGIN;
    END IF;
END
$$;
ALTER ROLE creditscore_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
ALTER ROLE creditscore_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
\if :{?app_password}
ALTER ROLE creditscore_app PASSWORD :'app_password';
\endif

-- The owner owns the database, the schema and every table (also tables an earlier set-up migrated
-- as another role), so only it can ALTER a table or DISABLE its triggers. Only the app role (and
-- superusers) may connect: grant CONNECT to any other reader (a metrics exporter) yourself.
DO $$
DECLARE
    t record;
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO creditscore_owner', current_database());
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO creditscore_app', current_database());
    FOR t IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
          AND c.relowner <> 'creditscore_owner'::regrole
    LOOP
        EXECUTE format('ALTER TABLE public.%I OWNER TO creditscore_owner', t.relname);
    END LOOP;
END
$$;
ALTER SCHEMA public OWNER TO creditscore_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO creditscore_app;

-- Reading and writing the app's ordinary tables; never TRUNCATE, REFERENCES or TRIGGER, never DDL.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO creditscore_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO creditscore_app;
-- Tables and sequences the owner creates later (new migrations) get the same.
ALTER DEFAULT PRIVILEGES FOR ROLE creditscore_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO creditscore_app;
ALTER DEFAULT PRIVILEGES FOR ROLE creditscore_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO creditscore_app;

-- The audit trail (scoring/append_only.py). Append-only tables: read and add, nothing else.
-- Kept tables (a model version's status, a job's counters change): no DELETE. The migration
-- history is the owner's alone. Tables not migrated yet are skipped (this runs again after migrate).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['scoring_prediction', 'scoring_review', 'scoring_modelactivation',
                             'scoring_exportlog', 'accounts_accessevent', 'scoring_batchrowerror',
                             'scoring_adverseactionnotice',
                             'scoring_referralassignment', 'scoring_overrideapproval',
                             'scoring_policyactivation', 'scoring_loanoutcome',
                             'scoring_outcomeupload', 'scoring_challengerassignment', 'scoring_shadowscore']
    LOOP
        IF to_regclass('public.' || t) IS NOT NULL THEN
            EXECUTE format('REVOKE ALL ON public.%I FROM creditscore_app', t);
            EXECUTE format('GRANT SELECT, INSERT ON public.%I TO creditscore_app', t);
        END IF;
    END LOOP;
    FOREACH t IN ARRAY ARRAY['scoring_modelversion', 'scoring_batchjob', 'scoring_policyversion',
                             'scoring_backtest']
    LOOP
        IF to_regclass('public.' || t) IS NOT NULL THEN
            EXECUTE format('REVOKE ALL ON public.%I FROM creditscore_app', t);
            EXECUTE format('GRANT SELECT, INSERT, UPDATE ON public.%I TO creditscore_app', t);
        END IF;
    END LOOP;
    IF to_regclass('public.django_migrations') IS NOT NULL THEN
        REVOKE ALL ON public.django_migrations FROM creditscore_app;
        GRANT SELECT ON public.django_migrations TO creditscore_app;
    END IF;
END
$$;
