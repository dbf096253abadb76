import Logging
import PostgresNIO
import SQLStoreMigrations

/// Least privilege: a migrator role that owns the schema, and an application role with only the
/// DML the store needs — no DDL, no TRUNCATE, no superuser, and EXECUTE on the schema's
/// functions (the `SECURITY DEFINER` setter of migration 008 is revoked from PUBLIC there).
///
/// Applied by an administrator (a superuser, or a role with CREATEROLE that owns the database),
/// before the first migration; running it again only re-applies the same grants.
public struct DatabaseRoles: Sendable {
    public var migrator: String
    public var application: String
    /// Set as the role's password when given; otherwise an existing password is left alone.
    public var migratorPassword: String?
    public var applicationPassword: String?
    /// The server-side bounds set on the application role in this database (`ALTER ROLE … IN
    /// DATABASE … SET`), so that they hold on every session, also those a transaction pooler
    /// opens, where startup parameters cannot carry them (``DatabaseSettings``).
    public var applicationTimeouts = DatabaseSettings()

    public init(migrator: String = "sqlstore_migrator", application: String = "sqlstore_app") {
        self.migrator = migrator
        self.application = application
    }

    /// Checks the names before anything is sent, so a typo changes nothing.
    ///
    /// - Throws: ``ConfigurationError`` naming `--migrator` or `--app`.
    public func validate() throws(ConfigurationError) {
        for (setting, name) in [("--migrator", migrator), ("--app", application)] {
            guard !name.isEmpty, name.utf8.count <= 63,
                name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }),
                !(name.first?.isNumber ?? true), !name.hasPrefix("pg_")
            else {
                throw ConfigurationError(
                    setting: setting, reason: "'\(name)' is not a role name: use lower-case letters, digits and _ (at most 63)")
            }
        }
        guard migrator != application else {
            throw ConfigurationError(setting: "--app", reason: "the migrator and the application need different roles")
        }
    }

    /// Creates or updates both roles and grants them their rights in the connected database,
    /// in one transaction.
    public func apply(on connection: PostgresConnection, logger: Logger) async throws {
        try validate()
        try await connection.withTransaction(logger: logger) { connection in
            // Role names and passwords cannot be bound in DDL: they travel as bound values into
            // transaction-local settings, and the block below quotes them with format()'s %I / %L.
            try await connection.query(
                """
                SELECT set_config('sqlstore.migrator', \(migrator), true),
                       set_config('sqlstore.application', \(application), true),
                       set_config('sqlstore.migrator_password', \(migratorPassword ?? ""), true),
                       set_config('sqlstore.application_password', \(applicationPassword ?? ""), true),
                       set_config('sqlstore.statement_timeout', \("\(applicationTimeouts.statementTimeout.postgresMilliseconds)ms"), true),
                       set_config('sqlstore.lock_timeout', \("\(applicationTimeouts.lockTimeout.postgresMilliseconds)ms"), true),
                       set_config('sqlstore.idle_in_transaction_session_timeout',
                                  \("\(applicationTimeouts.idleInTransactionTimeout.postgresMilliseconds)ms"), true)
                """, logger: logger)
            try await connection.query(Self.grants, logger: logger)
        }
    }

    /// Takes back the application's writes on the migration tracking tables (it reads them to
    /// check that the schema is current). Run once the tables exist.
    public func restrictTrackingTables(_ tables: [String], on connection: PostgresConnection, logger: Logger) async throws {
        for table in tables {
            try await connection.query(
                """
                SELECT set_config('sqlstore.application', \(application), false),
                       set_config('sqlstore.tracking_table', \(table), false)
                """, logger: logger)
            try await connection.query(
                """
                DO $$
                BEGIN
                    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s FROM %I',
                        current_setting('sqlstore.tracking_table')::regclass, current_setting('sqlstore.application'));
                    EXECUTE format('GRANT SELECT ON %s TO %I',
                        current_setting('sqlstore.tracking_table')::regclass, current_setting('sqlstore.application'));
                END
                $$
                """, logger: logger)
        }
        try await connection.query("RESET sqlstore.tracking_table", logger: logger)
    }

    /// Tables, sequences and functions in `public` that the migrator does not own: migrations
    /// applied earlier by another role. The migrator cannot alter them until they are reassigned.
    public func objectsNotOwnedByMigrator(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let rows = try await connection.query(
            """
            SELECT c.relname || ' (owner ' || pg_get_userbyid(c.relowner) || ')'
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
              AND pg_get_userbyid(c.relowner) <> \(migrator)
            UNION ALL
            SELECT p.proname || '() (owner ' || pg_get_userbyid(p.proowner) || ')'
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> \(migrator)
            ORDER BY 1
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    private static let grants: PostgresQuery = """
        DO $$
        DECLARE
            migrator text := current_setting('sqlstore.migrator');
            app text := current_setting('sqlstore.application');
            role text;
            setting text;
        BEGIN
            FOREACH role IN ARRAY ARRAY[migrator, app] LOOP
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role) THEN
                    EXECUTE format('CREATE ROLE %I', role);
                END IF;
                EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', role);
            END LOOP;
            IF current_setting('sqlstore.migrator_password') <> '' THEN
                EXECUTE format('ALTER ROLE %I PASSWORD %L', migrator, current_setting('sqlstore.migrator_password'));
            END IF;
            IF current_setting('sqlstore.application_password') <> '' THEN
                EXECUTE format('ALTER ROLE %I PASSWORD %L', app, current_setting('sqlstore.application_password'));
            END IF;

            -- Bounds on every session of the application in this database, however it connects.
            FOREACH setting IN ARRAY ARRAY['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'] LOOP
                EXECUTE format('ALTER ROLE %I IN DATABASE %I SET %s = %L',
                    app, current_database(), setting, current_setting('sqlstore.' || setting));
            END LOOP;

            -- The migrator owns what it creates in public; the application may only use it.
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I, %I', current_database(), migrator, app);
            EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %I', migrator);
            EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app);
            EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', app);

            -- What the migrator creates from now on...
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', migrator, app);
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                'GRANT USAGE, SELECT ON SEQUENCES TO %I', migrator, app);
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                'GRANT EXECUTE ON FUNCTIONS TO %I', migrator, app);
            -- ...and what exists already.
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', app);
            EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', app);
            EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %I', app);
        END
        $$
        """
}
