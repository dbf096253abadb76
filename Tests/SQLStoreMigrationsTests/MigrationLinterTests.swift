import Testing

@testable import SQLStoreMigrations

@Suite("MigrationLinter")
struct MigrationLinterTests {
    /// A base schema the other migrations alter: tables that already exist when they run.
    static let base = """
        CREATE TABLE users (
            id BIGSERIAL PRIMARY KEY,
            email VARCHAR(255) NOT NULL UNIQUE,
            name VARCHAR(50) NOT NULL,
            score NUMERIC(10, 2),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE orders (
            id BIGSERIAL PRIMARY KEY,
            user_id BIGINT NOT NULL REFERENCES users (id),
            status VARCHAR(50) NOT NULL DEFAULT 'pending',
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """

    private func migration(
        _ version: Int64, up: String, down: String? = "SELECT 1;", name: String = "change"
    ) throws -> Migration {
        try LintFixture.migration(version, up: up, down: down, name: name)
    }

    /// Lints `up` (and `down`) as migration 2, after the base schema as migration 1.
    private func lint(_ up: String, down: String? = "SELECT 1;") throws -> [LintFinding] {
        let findings = MigrationLinter().lint([
            try migration(1, up: Self.base, down: "DROP TABLE IF EXISTS orders, users;", name: "base"),
            try migration(2, up: up, down: down),
        ])
        #expect(!findings.contains { $0.file.hasPrefix("001_") }, "the base schema is clean")
        return findings
    }

    private func rules(_ up: String, down: String? = "SELECT 1;") throws -> [LintRule] {
        try lint(up, down: down).map(\.rule)
    }

    // MARK: index-without-concurrently

    @Test("index-without-concurrently: flags CREATE INDEX on an existing table, with file and line")
    func indexOnExistingTable() throws {
        let findings = try lint("SELECT 1;\nCREATE INDEX idx_orders_status ON public.orders (status);")
        #expect(findings.map(\.rule) == [.indexWithoutConcurrently])
        #expect(findings.first?.file == "002_change.up.sql")
        #expect(findings.first?.line == 2)
        #expect(findings.first?.message.contains("orders") == true)
    }

    @Test("index-without-concurrently: accepts an index on a table created earlier in the same file")
    func indexOnNewTable() throws {
        #expect(
            try rules(
                "CREATE TABLE tags (id int PRIMARY KEY, label text);\nCREATE UNIQUE INDEX idx_tags_label ON tags (label);")
                .isEmpty)
    }

    @Test("index-without-concurrently: accepts the safe alternative, a no-transaction concurrent build")
    func concurrentIndex() throws {
        let sql = """
            -- sqlstore:no-transaction
            DROP INDEX CONCURRENTLY IF EXISTS idx_orders_status;
            CREATE INDEX CONCURRENTLY idx_orders_status ON orders (status);
            """
        #expect(
            try rules(sql, down: "-- sqlstore:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS idx_orders_status;")
                .isEmpty)
    }

    @Test("index-without-concurrently: flags ADD UNIQUE and REINDEX, not ADD CONSTRAINT … USING INDEX")
    func constraintIndexes() throws {
        #expect(
            try rules("ALTER TABLE orders ADD CONSTRAINT orders_status_key UNIQUE (status);") == [
                .indexWithoutConcurrently
            ])
        #expect(try rules("ALTER TABLE users ADD COLUMN handle text UNIQUE;") == [.indexWithoutConcurrently])
        #expect(try rules("REINDEX TABLE orders;") == [.indexWithoutConcurrently])
        #expect(try rules("ALTER TABLE orders ADD CONSTRAINT orders_status_key UNIQUE USING INDEX idx_status;").isEmpty)
    }

    // MARK: concurrently-in-transaction

    @Test("concurrently-in-transaction: flags CONCURRENTLY and VACUUM in a transactional migration")
    func concurrentlyInTransaction() throws {
        #expect(try rules("CREATE INDEX CONCURRENTLY idx_a ON orders (status);") == [.concurrentlyInTransaction])
        #expect(try rules("DROP INDEX CONCURRENTLY IF EXISTS idx_a;") == [.concurrentlyInTransaction])
        #expect(try rules("REINDEX (VERBOSE) INDEX CONCURRENTLY idx_a;") == [.concurrentlyInTransaction])
        #expect(try rules("VACUUM ANALYZE orders;") == [.concurrentlyInTransaction])
        #expect(try rules("-- sqlstore:no-transaction\nREINDEX INDEX CONCURRENTLY idx_a;").isEmpty)
    }

    @Test("SQLStatement.cannotRunInTransactionBlock recognises what PostgreSQL refuses in a transaction")
    func cannotRunInTransactionBlock() throws {
        let statements = try SQLSplitter.split(
            """
            CREATE UNIQUE INDEX CONCURRENTLY a ON t (x); drop index concurrently a; VACUUM t;
            ALTER TABLE p DETACH PARTITION c CONCURRENTLY; CREATE DATABASE d; ALTER SYSTEM SET x = 1;
            CREATE INDEX b ON t (x); SELECT 'CREATE INDEX CONCURRENTLY'; CREATE TABLE concurrently (id int)
            """)
        #expect(
            statements.map(\.cannotRunInTransactionBlock) == [true, true, true, true, true, true, false, false, false])
    }

    // MARK: mixed-no-transaction

    @Test("mixed-no-transaction: flags ordinary statements beside concurrent builds")
    func mixedNoTransaction() throws {
        let sql = """
            -- sqlstore:no-transaction
            UPDATE orders SET status = 'confirmed' WHERE status = 'new';
            DROP INDEX CONCURRENTLY IF EXISTS idx_a;
            CREATE INDEX CONCURRENTLY idx_a ON orders (status);
            """
        let findings = try lint(sql)
        #expect(findings.map(\.rule) == [.mixedNoTransaction])
        #expect(findings.first?.line == 2)
    }

    @Test("mixed-no-transaction: accepts settings, comments and a single procedure call")
    func pureNoTransaction() throws {
        let sql = """
            -- sqlstore:no-transaction
            SET maintenance_work_mem = '1GB';
            DROP INDEX CONCURRENTLY IF EXISTS idx_a;
            CREATE INDEX CONCURRENTLY idx_a ON orders (status);
            COMMENT ON INDEX idx_a IS 'status filter';
            """
        #expect(try rules(sql).isEmpty)
        #expect(try rules("-- sqlstore:no-transaction\nSET lock_timeout = '1s';\nCALL backfill_in_batches();").isEmpty)
    }

    // MARK: concurrently-if-not-exists

    @Test("concurrently-if-not-exists: flags IF NOT EXISTS without dropping a leftover invalid index first")
    func concurrentlyIfNotExists() throws {
        let sql = "-- sqlstore:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON orders (status);"
        #expect(try rules(sql) == [.concurrentlyIfNotExists])
        let safe = """
            -- sqlstore:no-transaction
            DROP INDEX CONCURRENTLY IF EXISTS idx_a;
            CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON orders (status);
            """
        #expect(try rules(safe).isEmpty)
    }

    // MARK: volatile-default

    @Test("volatile-default: flags volatile defaults, serial and identity types and stored generated columns")
    func volatileDefault() throws {
        #expect(
            try rules("ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();") == [
                .volatileDefault
            ])
        #expect(try rules("ALTER TABLE orders ADD COLUMN r float8 DEFAULT public.random();") == [.volatileDefault])
        #expect(try rules("ALTER TABLE orders ADD seq BIGSERIAL;") == [.volatileDefault])
        #expect(try rules("ALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;") == [.volatileDefault])
        #expect(
            try rules("ALTER TABLE orders ADD COLUMN y int GENERATED ALWAYS AS (id * 2) STORED;") == [.volatileDefault])
        #expect(
            try rules("ALTER TABLE orders ADD COLUMN t timestamptz DEFAULT clock_timestamp(), ADD COLUMN u int;")
                == [.volatileDefault])
    }

    @Test("volatile-default: accepts constants, now(), and the safe alternative of default then backfill")
    func stableDefaults() throws {
        #expect(try rules("ALTER TABLE orders ADD COLUMN placed_at timestamptz NOT NULL DEFAULT now();").isEmpty)
        #expect(try rules("ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text DEFAULT 'random()';").isEmpty)
        let safe = """
            ALTER TABLE orders ADD COLUMN token uuid;
            ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();
            """
        #expect(try rules(safe).isEmpty)
        #expect(
            try rules("CREATE TABLE t (id int PRIMARY KEY);\nALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();")
                .isEmpty)
    }

    // MARK: set-not-null

    @Test("set-not-null: flags SET NOT NULL on an existing table")
    func setNotNull() throws {
        let findings = try lint("ALTER TABLE orders ALTER COLUMN status DROP DEFAULT, ALTER status SET NOT NULL;")
        #expect(findings.map(\.rule) == [.setNotNull])
        #expect(findings.first?.message.contains("orders.status") == true)
    }

    @Test("set-not-null: accepts the validated-check sequence across migrations")
    func setNotNullSafely() throws {
        let findings = MigrationLinter().lint([
            try migration(1, up: Self.base, down: "DROP TABLE IF EXISTS orders, users;", name: "base"),
            try migration(
                2, up: "ALTER TABLE users ADD CONSTRAINT users_score_nn CHECK (score IS NOT NULL) NOT VALID;",
                down: "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_score_nn;"),
            try migration(3, up: "ALTER TABLE users VALIDATE CONSTRAINT users_score_nn;"),
            try migration(
                4,
                up:
                    "ALTER TABLE users ALTER COLUMN score SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_score_nn;",
                down: "ALTER TABLE users ALTER COLUMN score DROP NOT NULL;"),
        ])
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test("set-not-null: a check that is not yet validated does not help")
    func setNotNullWithUnvalidatedCheck() throws {
        let findings = MigrationLinter().lint([
            try migration(1, up: Self.base, down: "DROP TABLE IF EXISTS orders, users;", name: "base"),
            try migration(2, up: "ALTER TABLE users ADD CONSTRAINT c CHECK (score IS NOT NULL) NOT VALID;"),
            try migration(3, up: "ALTER TABLE users ALTER COLUMN score SET NOT NULL;"),
        ])
        #expect(findings.map(\.rule) == [.setNotNull])
    }

    // MARK: column-type-change

    @Test("column-type-change: flags rewriting type changes")
    func columnTypeChange() throws {
        #expect(try rules("ALTER TABLE orders ALTER COLUMN user_id TYPE int;") == [.columnTypeChange])
        #expect(try rules("ALTER TABLE users ALTER COLUMN name SET DATA TYPE varchar(20);") == [.columnTypeChange])
        #expect(try rules("ALTER TABLE users ALTER COLUMN score TYPE numeric(12, 3);") == [.columnTypeChange])
        #expect(try rules("ALTER TABLE users ALTER COLUMN name TYPE text USING trim(name);") == [.columnTypeChange])
    }

    @Test("column-type-change: accepts binary-compatible widenings it can prove from the schema")
    func compatibleTypeChanges() throws {
        #expect(try rules("ALTER TABLE users ALTER COLUMN name TYPE varchar(100);").isEmpty)
        #expect(try rules("ALTER TABLE users ALTER COLUMN name TYPE CHARACTER VARYING(50);").isEmpty)
        #expect(try rules("ALTER TABLE users ALTER COLUMN name TYPE text;").isEmpty)
        #expect(try rules("ALTER TABLE users ALTER COLUMN score TYPE numeric(14, 2);").isEmpty)
        #expect(try rules("ALTER TABLE users ALTER COLUMN score TYPE decimal;").isEmpty)
    }

    // MARK: constraint-without-not-valid

    @Test("constraint-without-not-valid: flags FOREIGN KEY and CHECK added without NOT VALID")
    func constraintWithoutNotValid() throws {
        #expect(
            try rules("ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);")
                == [.constraintWithoutNotValid])
        #expect(try rules("ALTER TABLE orders ADD CHECK (id > 0);") == [.constraintWithoutNotValid])
        #expect(
            try rules("ALTER TABLE orders ADD CONSTRAINT c FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;")
                .isEmpty)
        #expect(
            try rules("ALTER TABLE orders ADD COLUMN org_id BIGINT REFERENCES users (id) ON DELETE SET NULL;").isEmpty)
    }

    @Test("constraint-without-not-valid: flags VALIDATE in the same transaction as its NOT VALID")
    func validateInSameTransaction() throws {
        let sql = """
            ALTER TABLE orders ADD CONSTRAINT c CHECK (id > 0) NOT VALID;
            ALTER TABLE orders VALIDATE CONSTRAINT c;
            """
        let findings = try lint(sql)
        #expect(findings.map(\.rule) == [.constraintWithoutNotValid])
        #expect(findings.first?.line == 2)
    }

    // MARK: missing-down

    @Test("missing-down: flags a migration without a down script, or with an empty one")
    func missingDown() throws {
        let findings = try lint("CREATE TABLE t (id int PRIMARY KEY);", down: nil)
        #expect(findings.map(\.rule) == [.missingDown])
        #expect(findings.first?.file == "002_change.up.sql")
        let empty = try lint("CREATE TABLE t (id int PRIMARY KEY);", down: "-- nothing to undo\n")
        #expect(empty.map(\.rule) == [.missingDown])
        #expect(empty.first?.file == "002_change.down.sql")
        #expect(try rules("CREATE TABLE t (id int PRIMARY KEY);", down: "DROP TABLE IF EXISTS t;").isEmpty)
    }

    @Test("missing-down: an irreversible migration acknowledges it in its up file")
    func missingDownAcknowledged() throws {
        #expect(try rules("-- sqlstore:lint-ignore=missing-down\nCREATE TABLE t (id int PRIMARY KEY);", down: nil).isEmpty)
        #expect(try rules("-- sqlstore:lint-ignore=missing-down\nCREATE TABLE t (id int PRIMARY KEY);", down: "").isEmpty)
    }

    // MARK: non-idempotent-down

    @Test("non-idempotent-down: flags drops without IF EXISTS in a down script")
    func nonIdempotentDown() throws {
        let down = """
            DROP INDEX idx_a;
            DROP TABLE t;
            DROP MATERIALIZED VIEW mv;
            DROP FUNCTION f(int);
            ALTER TABLE orders DROP COLUMN note, DROP CONSTRAINT orders_note_check;
            ALTER TABLE IF EXISTS orders DROP note;
            """
        let findings = try lint("SELECT 1;", down: down)
        #expect(findings.map(\.rule) == Array(repeating: .nonIdempotentDown, count: 7))
        #expect(findings.map(\.line) == [1, 2, 3, 4, 5, 5, 6])
        #expect(findings.allSatisfy { $0.file == "002_change.down.sql" })
    }

    @Test("non-idempotent-down: accepts IF EXISTS, CREATE OR REPLACE and drop-then-create")
    func idempotentDown() throws {
        let down = """
            DROP INDEX IF EXISTS idx_a;
            DROP TABLE IF EXISTS t, u CASCADE;
            DROP FUNCTION IF EXISTS f(int);
            ALTER TABLE orders DROP COLUMN IF EXISTS note, DROP CONSTRAINT IF EXISTS orders_note_check;
            ALTER TABLE orders ADD COLUMN IF NOT EXISTS legacy text;
            CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
            DROP VIEW IF EXISTS v;
            CREATE VIEW v AS SELECT 1;
            CREATE TABLE IF NOT EXISTS archive (id int);
            """
        #expect(try rules("SELECT 1;", down: down).isEmpty)
    }

    @Test("non-idempotent-down: flags creates that fail or duplicate on a second run")
    func nonIdempotentCreatesInDown() throws {
        let down = """
            CREATE TABLE archive (id int);
            ALTER TABLE archive ADD COLUMN note text;
            CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
            """
        #expect(try rules("SELECT 1;", down: down) == [.nonIdempotentDown, .nonIdempotentDown, .nonIdempotentDown])
    }

    // MARK: transaction-control

    @Test("transaction-control: flags what the runner refuses: a COMMIT before the end, a wrapper in a no-transaction file")
    func transactionControl() throws {
        let findings = try lint(
            "BEGIN;\nCREATE TABLE t (id int PRIMARY KEY);\nCOMMIT;\nCREATE TABLE u (id int PRIMARY KEY);",
            down: "DROP TABLE IF EXISTS u;\nDROP TABLE IF EXISTS t;")
        #expect(findings.map(\.rule) == [.transactionControl, .transactionControl])
        #expect(findings.map(\.line) == [1, 3])
        #expect(findings.first?.description.hasPrefix("002_change.up.sql:1: [transaction-control] BEGIN") == true)

        let unwrapped = try lint(
            "-- sqlstore:no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON users (email);\nCOMMIT;",
            down: "DROP INDEX CONCURRENTLY IF EXISTS i;")
        #expect(unwrapped.filter { $0.rule == .transactionControl }.map(\.line) == [2, 4])
    }

    @Test("transaction-control: a file wrapped in its own BEGIN and COMMIT is a transactional migration, not a finding")
    func transactionWrapper() throws {
        let findings = try lint(
            "BEGIN;\nCREATE TABLE t (id int PRIMARY KEY);\nCOMMIT;", down: "BEGIN;\nDROP TABLE IF EXISTS t;\nCOMMIT;")
        #expect(findings.filter { $0.rule == .transactionControl }.isEmpty, "\(findings)")
    }

    @Test("transaction-control: accepts DO blocks and BEGIN ATOMIC bodies")
    func noTransactionControl() throws {
        let sql = """
            DO $$ BEGIN IF true THEN RAISE NOTICE 'x'; END IF; END $$;
            CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;
            """
        #expect(try rules(sql, down: "DROP FUNCTION IF EXISTS one();").isEmpty)
    }

    // MARK: security-definer-search-path

    @Test("security-definer-search-path: flags a SECURITY DEFINER function without SET search_path")
    func securityDefinerWithoutSearchPath() throws {
        let sql = """
            CREATE OR REPLACE FUNCTION set_active(p_user BIGINT) RETURNS void
            LANGUAGE plpgsql SECURITY DEFINER AS $$
            BEGIN
                -- SET search_path inside the body does not count
                UPDATE users SET name = 'x' WHERE id = p_user;
            END $$;
            """
        let findings = try lint(sql)
        #expect(findings.map(\.rule) == [.securityDefinerSearchPath])
        #expect(findings.first?.message.contains("set_active") == true)
    }

    @Test("security-definer-search-path: accepts a pinned search_path, in the definition or a later ALTER")
    func securityDefinerWithSearchPath() throws {
        let pinned = """
            CREATE FUNCTION set_active(p BIGINT) RETURNS void LANGUAGE plpgsql
            SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$ BEGIN END $$;
            """
        #expect(try rules(pinned).isEmpty)
        let altered = """
            CREATE FUNCTION app.set_active(p BIGINT) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN END $$;
            ALTER FUNCTION app.set_active(BIGINT) SET search_path = '';
            """
        #expect(try rules(altered).isEmpty)
        #expect(try rules("CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY INVOKER AS 'SELECT 1';").isEmpty)
    }

    // MARK: duplicate-index

    @Test("duplicate-index: flags an index that duplicates a UNIQUE column's constraint index")
    func duplicateOfUniqueColumn() throws {
        let findings = try lint(
            "-- sqlstore:no-transaction\nCREATE INDEX CONCURRENTLY idx_users_email ON users (email DESC);")
        #expect(findings.map(\.rule) == [.duplicateIndex])
        #expect(findings.first?.message.contains("users_email_key") == true)
    }

    @Test("duplicate-index: flags the seed's indexes beside UNIQUE columns and constraints in the same file")
    func seedDuplicates() throws {
        let sql = """
            CREATE TABLE products (
                id BIGSERIAL PRIMARY KEY,
                sku VARCHAR(100) NOT NULL UNIQUE,
                stock_quantity INT NOT NULL DEFAULT 0
            );
            CREATE INDEX idx_products_sku ON products(sku);
            CREATE INDEX idx_products_stock ON products(stock_quantity) WHERE stock_quantity > 0;
            CREATE TABLE order_items (
                id BIGSERIAL PRIMARY KEY,
                order_id BIGINT NOT NULL,
                product_id BIGINT NOT NULL,
                UNIQUE(order_id, product_id)
            );
            CREATE INDEX idx_order_items_order_id ON order_items(order_id);
            CREATE INDEX idx_order_items_product_id ON order_items(product_id);
            """
        let findings = try lint(sql, down: "DROP TABLE IF EXISTS order_items, products;")
        #expect(findings.map(\.rule) == [.duplicateIndex, .duplicateIndex])
        #expect(findings.map(\.line) == [6, 14])
        #expect(findings.last?.message.contains("leading prefix") == true)
    }

    @Test("duplicate-index: flags an earlier index that a wider one makes redundant")
    func widerIndexMakesEarlierRedundant() throws {
        let findings = MigrationLinter().lint([
            try migration(1, up: Self.base, down: "DROP TABLE IF EXISTS orders, users;", name: "base"),
            try migration(
                2,
                up: "-- sqlstore:no-transaction\nCREATE INDEX CONCURRENTLY idx_orders_user ON orders (user_id);"),
            try migration(
                3,
                up: """
                    -- sqlstore:no-transaction
                    CREATE INDEX CONCURRENTLY idx_orders_user_created ON orders (user_id, created_at DESC, id DESC);
                    """),
        ])
        #expect(findings.map(\.rule) == [.duplicateIndex])
        #expect(findings.first?.file == "003_change.up.sql")
        #expect(findings.first?.message.contains("idx_orders_user on orders (user_id) (002_change.up.sql:2)") == true)
    }

    @Test("duplicate-index: ignores partial, expression, non-btree, differently ordered and dropped indexes")
    func notDuplicates() throws {
        let sql = """
            -- sqlstore:no-transaction
            CREATE INDEX CONCURRENTLY idx_a ON orders (status) WHERE status = 'pending';
            CREATE INDEX CONCURRENTLY idx_b ON users (lower(email));
            CREATE INDEX CONCURRENTLY idx_c ON users USING hash (email);
            CREATE INDEX CONCURRENTLY idx_d ON orders (created_at DESC);
            CREATE INDEX CONCURRENTLY idx_e ON orders (created_at);
            CREATE INDEX CONCURRENTLY idx_f ON users (email text_pattern_ops);
            DROP INDEX CONCURRENTLY idx_e;
            CREATE INDEX CONCURRENTLY idx_g ON orders (created_at);
            """
        #expect(try rules(sql, down: "-- sqlstore:no-transaction\nSELECT 1;").isEmpty)
    }

    @Test("duplicate-index: forgets indexes of dropped tables and columns, and follows renames")
    func schemaChangesAcrossMigrations() throws {
        // The drops and renames are breaking changes too (breaking-drop, breaking-rename); this
        // test is about the schema model duplicate-index reads.
        let findings = MigrationLinter(rules: [.duplicateIndex]).lint([
            try migration(1, up: Self.base, down: "DROP TABLE IF EXISTS orders, users;", name: "base"),
            try migration(2, up: "DROP TABLE orders;\nCREATE TABLE orders (id int, status text);"),
            try migration(3, up: "ALTER TABLE users DROP COLUMN email;\nALTER TABLE users ADD COLUMN email text;"),
            try migration(4, up: "ALTER TABLE users RENAME TO customers;"),
            try migration(
                5,
                up: """
                    -- sqlstore:no-transaction
                    CREATE INDEX CONCURRENTLY idx_orders_id ON orders (id);
                    CREATE INDEX CONCURRENTLY idx_customers_email ON customers (email);
                    CREATE INDEX CONCURRENTLY idx_customers_id ON public.customers (id);
                    """),
        ])
        #expect(findings.map(\.rule) == [.duplicateIndex])
        #expect(findings.first?.message.contains("users_pkey") == true)
    }

    @Test("duplicate-index: treats quoted identifiers as case-sensitive and unquoted ones as lower case")
    func identifierNormalization() throws {
        let sql = """
            CREATE TABLE "Accounts" (id int PRIMARY KEY, "Email" text UNIQUE, email text);
            CREATE INDEX idx_1 ON "Accounts" (email);
            CREATE INDEX idx_2 ON "Accounts" ("Email");
            """
        let findings = try lint(sql, down: "DROP TABLE IF EXISTS \"Accounts\";")
        #expect(findings.map(\.line) == [3])
    }

    // MARK: lint-ignore

    @Test("lint-ignore acknowledges the named rules for that file only")
    func lintIgnore() throws {
        let sql = """
            -- sqlstore:lint-ignore=index-without-concurrently, set-not-null
            CREATE INDEX idx_a ON orders (status);
            ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
            ALTER TABLE orders ALTER COLUMN user_id TYPE int;
            """
        #expect(try rules(sql) == [.columnTypeChange])
        #expect(
            try rules(
                "CREATE INDEX idx_a ON orders (status);",
                down: "-- sqlstore:lint-ignore=index-without-concurrently\nSELECT 1;")
                == [.indexWithoutConcurrently])
    }

    @Test("unknown-lint-ignore: flags a misspelt rule name at its line")
    func unknownLintIgnore() throws {
        let findings = try lint(
            "SELECT 1;\n-- sqlstore:lint-ignore=index-without-concurency\nCREATE INDEX i ON orders (status);")
        #expect(findings.map(\.rule) == [.unknownLintIgnore, .indexWithoutConcurrently])
        #expect(findings.first?.line == 2)
    }

    // MARK: General

    @Test("never matches inside literals, comments or function bodies")
    func literalsAndComments() throws {
        let sql = """
            COMMENT ON TABLE orders IS 'CREATE INDEX i ON orders (status); BEGIN;';
            -- ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
            /* DROP TABLE users; */
            CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                CREATE INDEX i ON orders (status);
                COMMIT;
            END $$;
            """
        #expect(try rules(sql).isEmpty)
    }

    @Test("every rule has a kebab-case identifier, a summary, an explanation and a safe alternative")
    func ruleTexts() {
        for rule in LintRule.allCases {
            #expect(rule.rawValue.allSatisfy { $0.isLowercase || $0 == "-" })
            #expect(!rule.summary.isEmpty && !rule.explanation.isEmpty && !rule.safeAlternative.isEmpty)
        }
    }

    @Test("a safely written schema history has no findings")
    func cleanHistory() throws {
        let findings = MigrationLinter().lint([
            try migration(
                1,
                up: Self.base + "\nCREATE INDEX idx_orders_user_created ON orders (user_id, created_at DESC, id DESC);",
                down: "DROP TABLE IF EXISTS orders;\nDROP TABLE IF EXISTS users;", name: "base"),
            try migration(
                2,
                up: """
                    CREATE TABLE organizations (id BIGSERIAL PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
                    ALTER TABLE users ADD COLUMN active_org_id BIGINT REFERENCES organizations (id) ON DELETE SET NULL;
                    COMMENT ON COLUMN users.active_org_id IS 'The organization requests act in';
                    CREATE OR REPLACE FUNCTION set_user_active_org(p_user BIGINT, p_org BIGINT) RETURNS void
                    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
                    BEGIN
                        UPDATE users SET active_org_id = p_org WHERE id = p_user;
                    END $fn$;
                    """,
                down: """
                    DROP FUNCTION IF EXISTS set_user_active_org(BIGINT, BIGINT);
                    ALTER TABLE users DROP COLUMN IF EXISTS active_org_id;
                    DROP TABLE IF EXISTS organizations;
                    """),
            try migration(
                3,
                up: """
                    -- sqlstore:no-transaction
                    -- sqlstore:statement-timeout=0
                    DROP INDEX CONCURRENTLY IF EXISTS idx_users_active_org;
                    CREATE INDEX CONCURRENTLY idx_users_active_org ON users (active_org_id) WHERE active_org_id IS NOT NULL;
                    """,
                down: "-- sqlstore:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS idx_users_active_org;"),
        ])
        #expect(findings.isEmpty, "\(findings)")
    }
}
