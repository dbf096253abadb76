/// What `sqlstore migrate lint` flags. The raw value is the identifier a file acknowledges a
/// finding with: `-- sqlstore:lint-ignore=index-without-concurrently,set-not-null`.
public enum LintRule: String, CaseIterable, Sendable {
    case indexWithoutConcurrently = "index-without-concurrently"
    case concurrentlyInTransaction = "concurrently-in-transaction"
    case mixedNoTransaction = "mixed-no-transaction"
    case concurrentlyIfNotExists = "concurrently-if-not-exists"
    case volatileDefault = "volatile-default"
    case setNotNull = "set-not-null"
    case columnTypeChange = "column-type-change"
    case constraintWithoutNotValid = "constraint-without-not-valid"
    case missingDown = "missing-down"
    case nonIdempotentDown = "non-idempotent-down"
    case transactionControl = "transaction-control"
    case securityDefinerSearchPath = "security-definer-search-path"
    case duplicateIndex = "duplicate-index"
    case unknownLintIgnore = "unknown-lint-ignore"
    case dropIndexWithoutConcurrently = "drop-index-without-concurrently"
    case notNullWithoutDefault = "not-null-without-default"
    case breakingDrop = "breaking-drop"
    case breakingRename = "breaking-rename"
    case dropNotNull = "drop-not-null"
    case truncate = "truncate"
    case setUnlogged = "set-unlogged"
    case tableRewrite = "vacuum-full-or-cluster"
    case lockTable = "lock-table"
    case refreshWithoutConcurrently = "refresh-without-concurrently"
    case concurrentlyOnPartitionedTable = "concurrently-on-partitioned-table"
    case detachPartitionWithoutConcurrently = "detach-partition-without-concurrently"
    case exclusionConstraint = "exclusion-constraint"
    case updateAssignsTwice = "update-assigns-twice"
    case wholeTableUpdate = "whole-table-update"
    case newEnumValueInTransaction = "new-enum-value-in-transaction"
    case domainConstraint = "domain-constraint"
    case tableWithoutPrimaryKey = "table-without-primary-key"
    case ddlInDoBlock = "ddl-in-do-block"
    case styleChar = "style-char"
    case styleSerial = "style-serial"
    case styleIntPrimaryKey = "style-int-primary-key"
    case styleTimestamp = "style-timestamp"
    case styleVarchar = "style-varchar"
    case identifierTooLong = "identifier-too-long"
}

extension LintRule {
    /// One line: what the rule flags.
    public var summary: String {
        switch self {
        case .indexWithoutConcurrently:
            return "an index built without CONCURRENTLY on a table that already exists"
        case .concurrentlyInTransaction:
            return "CONCURRENTLY (or another statement PostgreSQL refuses in a transaction block) "
                + "in a transactional migration"
        case .mixedNoTransaction:
            return "a no-transaction migration that also holds ordinary statements"
        case .concurrentlyIfNotExists:
            return "CREATE INDEX CONCURRENTLY IF NOT EXISTS without dropping a leftover invalid index first"
        case .volatileDefault:
            return "ADD COLUMN with a volatile default, a serial or identity type, or a stored generated column, "
                + "on an existing table"
        case .setNotNull:
            return "ALTER COLUMN … SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL)"
        case .columnTypeChange:
            return "ALTER COLUMN … TYPE on an existing table"
        case .constraintWithoutNotValid:
            return "ADD CONSTRAINT … FOREIGN KEY or CHECK without NOT VALID on an existing table"
        case .missingDown:
            return "a migration without a down script, or with an empty one"
        case .nonIdempotentDown:
            return "a down statement that fails when it runs a second time"
        case .transactionControl:
            return "BEGIN, COMMIT, ROLLBACK or another transaction-control statement in a migration file"
        case .securityDefinerSearchPath:
            return "a SECURITY DEFINER function or procedure without a pinned search_path"
        case .duplicateIndex:
            return "an index that an earlier index or a PRIMARY KEY/UNIQUE constraint already provides"
        case .unknownLintIgnore:
            return "a lint-ignore directive naming a rule that does not exist"
        case .dropIndexWithoutConcurrently:
            return "DROP INDEX without CONCURRENTLY on an index of a table that already exists"
        case .notNullWithoutDefault:
            return "ADD COLUMN … NOT NULL without a default on a table that already exists"
        case .breakingDrop:
            return "DROP TABLE, DROP COLUMN, DROP SCHEMA or DROP DATABASE of something the running code may use"
        case .breakingRename:
            return "RENAME of a table, column, schema or enum value the running code may use"
        case .dropNotNull:
            return "ALTER COLUMN … DROP NOT NULL on a table that already exists"
        case .truncate:
            return "TRUNCATE of a table that already exists"
        case .setUnlogged:
            return "ALTER TABLE … SET UNLOGGED or SET LOGGED on a table that already exists"
        case .tableRewrite:
            return "VACUUM FULL or CLUSTER"
        case .lockTable:
            return "LOCK TABLE in a mode that blocks writes or reads"
        case .refreshWithoutConcurrently:
            return "REFRESH MATERIALIZED VIEW without CONCURRENTLY on a view that already exists"
        case .concurrentlyOnPartitionedTable:
            return "CREATE INDEX CONCURRENTLY on a partitioned table"
        case .detachPartitionWithoutConcurrently:
            return "ALTER TABLE … DETACH PARTITION without CONCURRENTLY on a table that already exists"
        case .exclusionConstraint:
            return "ADD CONSTRAINT … EXCLUDE on a table that already exists"
        case .updateAssignsTwice:
            return "UPDATE … SET assigning the same column twice"
        case .wholeTableUpdate:
            return "UPDATE without WHERE of a table that already exists, in a transactional migration"
        case .newEnumValueInTransaction:
            return "an enum value added with ALTER TYPE … ADD VALUE and used later in the same transaction"
        case .domainConstraint:
            return "ALTER DOMAIN … ADD CONSTRAINT without NOT VALID, VALIDATE CONSTRAINT or SET NOT NULL on a domain "
                + "that existing tables use"
        case .tableWithoutPrimaryKey:
            return "CREATE TABLE without a primary key"
        case .ddlInDoBlock:
            return "a DO block whose body holds schema changes, which lint cannot check"
        case .styleChar:
            return "a char(n) column"
        case .styleSerial:
            return "a serial, bigserial or smallserial column"
        case .styleIntPrimaryKey:
            return "a primary key of type int, smallint or serial"
        case .styleTimestamp:
            return "a timestamp column without time zone"
        case .styleVarchar:
            return "a varchar(n) column"
        case .identifierTooLong:
            return "an identifier longer than 63 bytes"
        }
    }

    /// Why it is dangerous on a live database.
    public var explanation: String {
        switch self {
        case .indexWithoutConcurrently:
            return
                "CREATE INDEX holds a SHARE lock on the table for the whole build, blocking every INSERT, UPDATE and "
                + "DELETE until it ends (minutes on a large table); ADD CONSTRAINT … UNIQUE/PRIMARY KEY builds its index "
                + "under ACCESS EXCLUSIVE, blocking reads too; REINDEX blocks writes and the index's readers."
        case .concurrentlyInTransaction:
            return "PostgreSQL refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION "
                + "CONCURRENTLY, VACUUM, CREATE/DROP DATABASE and ALTER SYSTEM inside a transaction block (SQLSTATE 25001), "
                + "and the runner wraps every migration without the no-transaction directive in one: it would fail."
        case .mixedNoTransaction:
            return "In a no-transaction migration each statement commits on its own: a failure midway leaves the "
                + "statements before it applied and the migration recorded as failed, to be repaired by hand."
        case .concurrentlyIfNotExists:
            return
                "A CREATE INDEX CONCURRENTLY that fails or is cancelled leaves an INVALID index behind; IF NOT EXISTS "
                + "then skips it on the retry, and the migration succeeds with an index the planner never uses and a "
                + "unique index that does not enforce uniqueness on existing rows."
        case .volatileDefault:
            return "Adding a column whose default must be computed row by row (random(), gen_random_uuid(), "
                + "clock_timestamp(), nextval(), a non-SQL function an earlier migration declared VOLATILE or left at "
                + "the default, serial, identity, GENERATED … STORED) rewrites the whole table under ACCESS EXCLUSIVE: "
                + "no reads or writes until it ends. A constant, now() or a STABLE function's default is instant."
        case .setNotNull:
            return "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE, blocking reads and writes, unless a "
                + "validated CHECK (col IS NOT NULL) already proves it (PostgreSQL 12+)."
        case .columnTypeChange:
            return "Changing a column's type rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE, "
                + "blocking reads and writes, except for binary-compatible changes such as widening a varchar."
        case .constraintWithoutNotValid:
            return "Adding a FOREIGN KEY or CHECK constraint checks every existing row while holding its lock: ACCESS "
                + "EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE on both tables for a foreign key, blocking writes."
        case .missingDown:
            return "Without a down script a bad deploy cannot be rolled back by the runner; an empty one lets `down` "
                + "forget the migration while its changes stay, so the next `up` fails."
        case .nonIdempotentDown:
            return "A down script runs against a schema that may already be partly reverted (after a failed "
                + "no-transaction step or a manual fix); a statement that insists the object exists fails it again."
        case .transactionControl:
            return "The runner wraps a transactional migration and its tracking row in one transaction; a COMMIT or "
                + "BEGIN inside the file would split them, so a failure could leave the schema changed but unrecorded. "
                + "The runner refuses such files; a leading BEGIN with a trailing COMMIT only (a wrapper) it replaces "
                + "with its own transaction, and lint accepts it."
        case .securityDefinerSearchPath:
            return "A SECURITY DEFINER function runs with its owner's rights but resolves names through the caller's "
                + "search_path: a caller who can create objects in any schema on that path can make it run their code "
                + "as the owner."
        case .duplicateIndex:
            return "A redundant index costs disk, memory and write amplification on every INSERT and UPDATE, and "
                + "serves no query the other index does not."
        case .unknownLintIgnore:
            return "A misspelt rule in lint-ignore acknowledges nothing, so the finding it meant to acknowledge still "
                + "fails lint, or a later one is silently expected to be covered."
        case .dropIndexWithoutConcurrently:
            return "DROP INDEX takes ACCESS EXCLUSIVE on the index's table, so every read and write of the table "
                + "waits behind it, and behind whatever transaction it waits for."
        case .notNullWithoutDefault:
            return "Rows that already exist have no value for the new column, so PostgreSQL refuses the statement "
                + "(SQLSTATE 23502) as soon as the table holds a row: it passes on an empty development database and "
                + "fails in production. Code still deployed that inserts without the column fails the same way."
        case .breakingDrop:
            return "During a deploy the old version of the application keeps running beside the new one; its queries "
                + "name what this statement drops, and fail (SQLSTATE 42P01, 42703) from the moment it commits. The drop "
                + "also takes ACCESS EXCLUSIVE on the table."
        case .breakingRename:
            return "The old version of the application, still running during the deploy, uses the old name; every "
                + "query of it fails (SQLSTATE 42P01, 42703, 22P02) from the moment the rename commits."
        case .dropNotNull:
            return "Once the column accepts NULL, new code or manual writes can store one, and the version still "
                + "running, which reads the column as never NULL, fails on that row or misbehaves."
        case .truncate:
            return "TRUNCATE takes ACCESS EXCLUSIVE on the table (and with CASCADE on every table referencing it), "
                + "blocking reads and writes until the migration commits, and removes every row for good."
        case .setUnlogged:
            return "SET UNLOGGED and SET LOGGED rewrite the whole table (a new relfilenode) under ACCESS EXCLUSIVE; an "
                + "unlogged table is also emptied after a crash and is not replicated to standbys."
        case .tableRewrite:
            return "VACUUM FULL and CLUSTER write a new copy of the table and its indexes (a new relfilenode) while "
                + "holding ACCESS EXCLUSIVE: no reads or writes until they finish, and twice the disk meanwhile."
        case .lockTable:
            return "An explicit LOCK TABLE (ACCESS EXCLUSIVE unless a mode is given) in SHARE mode or stronger blocks "
                + "writes, or reads too, until the migration commits, and queues all later traffic behind it."
        case .refreshWithoutConcurrently:
            return "REFRESH MATERIALIZED VIEW without CONCURRENTLY takes ACCESS EXCLUSIVE on the view: every query of "
                + "it waits until the refresh and the migration end."
        case .concurrentlyOnPartitionedTable:
            return "PostgreSQL 15 refuses CREATE INDEX CONCURRENTLY on a partitioned table (SQLSTATE 0A000): the "
                + "migration fails on every attempt."
        case .detachPartitionWithoutConcurrently:
            return "DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table: every query of it, on any "
                + "partition, waits until the migration commits."
        case .exclusionConstraint:
            return "ADD … EXCLUDE builds its index and checks every row under ACCESS EXCLUSIVE: no reads or writes "
                + "of the table until it ends, and there is no concurrent way to add one."
        case .updateAssignsTwice:
            return "PostgreSQL refuses an UPDATE that assigns one column twice (SQLSTATE 42601, multiple assignments "
                + "to same column): the migration fails."
        case .wholeTableUpdate:
            return "An UPDATE of every row locks every row until the migration commits, so the application's writes "
                + "to any of them wait, and it writes a new version of every row (bloat, WAL, replica lag) at once."
        case .newEnumValueInTransaction:
            return "A value added by ALTER TYPE … ADD VALUE cannot be used until the transaction that added it "
                + "commits (SQLSTATE 55P04, unsafe use of new value): the migration fails."
        case .domainConstraint:
            return "Adding or validating a domain constraint, or SET NOT NULL on a domain, checks every value in every "
                + "table that uses the domain while holding a SHARE lock on each: their INSERT, UPDATE and DELETE wait "
                + "until the migration commits. Unlike a table's CHECK, there is no lock-light way to validate it."
        case .tableWithoutPrimaryKey:
            return "A table without a primary key (or other replica identity) cannot have its UPDATEs and DELETEs "
                + "published by logical replication (SQLSTATE 55000), which upgrades, CDC and blue/green switchovers "
                + "rely on; its rows also have no stable address for the application or for batched backfills."
        case .ddlInDoBlock:
            return "Lint reads top-level statements only: the statements a DO block runs (often built with EXECUTE) "
                + "take the same locks and rewrites, but no rule sees them."
        case .styleChar:
            return "char(n) pads every value with spaces to n characters, stores the padding, and drops it again in "
                + "comparisons and casts: more space and surprising equality, for no check text with a length CHECK lacks."
        case .styleSerial:
            return "serial is a sequence, a default and an ownership link made by hand: its sequence needs separate "
                + "grants and is easy to desynchronise; identity columns are the standard, self-contained form."
        case .styleIntPrimaryKey:
            return "An int key runs out at 2147483647 (SQLSTATE 22003 on the next insert), and widening a key later "
                + "rewrites the table and every table referencing it."
        case .styleTimestamp:
            return "timestamp without time zone stores the wall-clock reading and ignores the session's TimeZone: "
                + "the same instant written by sessions in two zones is stored as two different values."
        case .styleVarchar:
            return "varchar(n) is text with a length check that only a rewrite-free widening can change, and whose "
                + "narrowing rewrites; text with a named CHECK constraint can be changed NOT VALID and validated later."
        case .identifierTooLong:
            return "PostgreSQL truncates identifiers to 63 bytes (with only a NOTICE): two long names sharing their "
                + "first 63 bytes collide, and code using the full name does not find the object's real name."
        }
    }

    /// What to write instead.
    public var safeAlternative: String {
        switch self {
        case .indexWithoutConcurrently:
            return "Build the index in its own migration marked `-- sqlstore:no-transaction`: "
                + "`DROP INDEX CONCURRENTLY IF EXISTS name; CREATE INDEX CONCURRENTLY name ON …`. For a constraint, build "
                + "a unique index that way, then `ALTER TABLE … ADD CONSTRAINT c UNIQUE USING INDEX name`."
        case .concurrentlyInTransaction:
            return "Move the statement to its own migration whose file starts with `-- sqlstore:no-transaction`."
        case .mixedNoTransaction:
            return "Keep no-transaction migrations to the concurrent index builds (with DROP INDEX CONCURRENTLY IF "
                + "EXISTS before each); put other changes in a transactional migration before or after."
        case .concurrentlyIfNotExists:
            return "Drop first, then build: `DROP INDEX CONCURRENTLY IF EXISTS name; CREATE INDEX CONCURRENTLY name …`."
        case .volatileDefault:
            return "Add the column without a default (or with a constant), `ALTER COLUMN … SET DEFAULT` the volatile "
                + "expression for new rows, then backfill existing rows in batches."
        case .setNotNull:
            return "`ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID`; in a later migration `VALIDATE CONSTRAINT c` "
                + "(no write lock); then `SET NOT NULL`, which uses the check instead of scanning, and `DROP CONSTRAINT c`."
        case .columnTypeChange:
            return "Add a new column of the new type, write to both, backfill in batches, switch readers, then drop "
                + "the old column in a later migration."
        case .constraintWithoutNotValid:
            return "`ADD CONSTRAINT … NOT VALID` (brief lock, checks only new rows), then `VALIDATE CONSTRAINT` in a "
                + "later migration, which scans under a lock that lets reads and writes go on."
        case .missingDown:
            return "Write NNN_name.down.sql reversing the up script with IF EXISTS; if the change truly cannot be "
                + "reversed, say so in the up file with `-- sqlstore:lint-ignore=missing-down`."
        case .nonIdempotentDown:
            return "Use DROP … IF EXISTS, ALTER TABLE … DROP COLUMN/CONSTRAINT IF EXISTS, CREATE … IF NOT EXISTS and "
                + "CREATE OR REPLACE."
        case .transactionControl:
            return "Remove BEGIN/COMMIT: the runner provides the transaction. A migration that must not run in one "
                + "is marked `-- sqlstore:no-transaction`."
        case .securityDefinerSearchPath:
            return "Pin the path in the definition: `SET search_path = pg_catalog, public, pg_temp` (or `= ''` with "
                + "schema-qualified names), and keep pg_temp last."
        case .duplicateIndex:
            return "Drop the redundant index, or do not create it: the constraint's or the wider index serves the "
                + "same lookups."
        case .unknownLintIgnore:
            return "Use one of the identifiers `sqlstore migrate lint --rules` lists."
        case .dropIndexWithoutConcurrently:
            return "Drop it in a migration marked `-- sqlstore:no-transaction`: `DROP INDEX CONCURRENTLY IF EXISTS name`."
        case .notNullWithoutDefault:
            return "Add the column with a constant default (`ADD COLUMN c int NOT NULL DEFAULT 0`, instant since "
                + "PostgreSQL 11), or add it nullable, backfill in batches, then add a validated CHECK (c IS NOT NULL) "
                + "and SET NOT NULL in later migrations."
        case .breakingDrop:
            return "Expand and contract: first deploy code that no longer uses it (for a column, also drop its NOT NULL "
                + "or give it a default so old inserts keep working); drop it in a later migration, once no running "
                + "version needs it. Acknowledge that migration with `-- sqlstore:lint-ignore=breaking-drop`."
        case .breakingRename:
            return "Expand and contract: add the new table or column (or a view or generated column under the new "
                + "name), write to both, backfill, move readers to the new name, and drop the old one in a later "
                + "release."
        case .dropNotNull:
            return "First deploy code that reads the column as nullable; drop the constraint in a later migration, and "
                + "acknowledge it with `-- sqlstore:lint-ignore=drop-not-null`."
        case .truncate:
            return "Delete in batches (`DELETE … WHERE id IN (SELECT id … LIMIT 1000)`) from a no-transaction "
                + "migration or a job; if the data is truly disposable and the table unused, acknowledge it."
        case .setUnlogged:
            return "Create a new table with the wanted persistence, copy the rows in batches and switch over; or "
                + "accept the rewrite in a maintenance window and acknowledge it."
        case .tableRewrite:
            return "Use pg_repack (or pg_squeeze), which rebuilds a table with only brief locks, outside migrations; "
                + "plain VACUUM needs no exclusive lock."
        case .lockTable:
            return "Let each statement take the lock it needs, with lock_timeout set; to keep writers out of a "
                + "backfill, lock rows (`SELECT … FOR UPDATE`) in small batches instead of the table."
        case .refreshWithoutConcurrently:
            return "Give the view a unique index and `REFRESH MATERIALIZED VIEW CONCURRENTLY` it, from a job or a "
                + "migration marked `-- sqlstore:no-transaction` (a concurrent refresh still locks out other refreshes)."
        case .concurrentlyOnPartitionedTable:
            return "`CREATE INDEX name ON ONLY parent (…)` (instant, invalid until complete), then for each partition "
                + "`CREATE INDEX CONCURRENTLY … ON partition (…)` and `ALTER INDEX name ATTACH PARTITION partition_index`, "
                + "in no-transaction migrations."
        case .detachPartitionWithoutConcurrently:
            return "`ALTER TABLE parent DETACH PARTITION child CONCURRENTLY` (PostgreSQL 14+) in a migration marked "
                + "`-- sqlstore:no-transaction`."
        case .exclusionConstraint:
            return "Declare exclusion constraints when the table is created; on a live table, add it in a maintenance "
                + "window and acknowledge it. If the operator is only `=`, a unique index built CONCURRENTLY serves."
        case .updateAssignsTwice:
            return "Assign each column once; combine the expressions (`SET a = coalesce(x, y)`)."
        case .wholeTableUpdate:
            return "Backfill in batches from a migration marked `-- sqlstore:no-transaction` (each statement commits "
                + "on its own): `UPDATE t SET … WHERE id IN (SELECT id FROM t WHERE … LIMIT 1000)`, repeated, or from a job."
        case .newEnumValueInTransaction:
            return "Add the value in one migration and use it in a later one (or mark the adding migration "
                + "`-- sqlstore:no-transaction`, so that the ADD VALUE commits first)."
        case .domainConstraint:
            return "Put the rule on the tables instead: `ALTER TABLE t ADD CONSTRAINT c CHECK (…) NOT VALID`, then "
                + "`VALIDATE CONSTRAINT c` in a later migration (reads and writes go on). Constrain domains when "
                + "creating them, before any table uses them."
        case .tableWithoutPrimaryKey:
            return "Give every table a primary key (`id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY`, or the "
                + "natural key); a log table that truly needs none can acknowledge the finding."
        case .ddlInDoBlock:
            return "Write the schema changes as top-level statements, where lint and reviewers see them; if the block "
                + "must stay, review its statements against docs/lint.md and acknowledge the finding."
        case .styleChar:
            return "Use text (with `CHECK (length(col) = n)` if the length matters)."
        case .styleSerial:
            return "Use `BIGINT GENERATED ALWAYS AS IDENTITY` (or BY DEFAULT)."
        case .styleIntPrimaryKey:
            return "Use BIGINT keys (`id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY`) from the start."
        case .styleTimestamp:
            return "Use timestamptz (timestamp with time zone), which stores an instant."
        case .styleVarchar:
            return "Use text with a named CHECK constraint (`CONSTRAINT name_length CHECK (length(name) <= 255)`)."
        case .identifierTooLong:
            return "Keep identifiers within 63 bytes (ASCII characters are one byte each)."
        }
    }
}

extension LintRule {
    /// Errors block or rewrite a busy table, fail when they run, or open a security hole;
    /// warnings cost something or make a rollback harder. Both fail lint.
    public var severity: LintSeverity {
        switch self {
        case .mixedNoTransaction, .concurrentlyIfNotExists, .missingDown, .nonIdempotentDown, .duplicateIndex,
            .dropNotNull, .tableWithoutPrimaryKey, .ddlInDoBlock, .styleChar, .styleSerial, .styleIntPrimaryKey,
            .styleTimestamp, .styleVarchar, .identifierTooLong:
            return .warning
        default:
            return .error
        }
    }

    /// The rule's section of `docs/lint.md`, relative to the repository's root.
    public var documentationPath: String { "docs/lint.md#\(rawValue)" }

    /// Style rules: off unless asked for (`--rule`, `--enable-rule`, ``MigrationLinter/init(rules:)``).
    public var isOptIn: Bool {
        switch self {
        case .styleChar, .styleSerial, .styleIntPrimaryKey, .styleTimestamp, .styleVarchar, .identifierTooLong:
            return true
        default:
            return false
        }
    }

    /// The rules a plain `sqlstore migrate lint` applies: every rule that is not opt-in.
    public static var defaultRules: Set<LintRule> { Set(allCases.filter { !$0.isOptIn }) }
}

extension LintRule {
    /// The words of a statement this rule is about, most specific first, for marking them in
    /// text output when the finding names none of its own (``LintFinding/clauses``). They match
    /// whole tokens (``ClauseMarker``). Empty for rules about a whole file.
    var clauses: [String] {
        switch self {
        case .indexWithoutConcurrently: return ["CREATE UNIQUE INDEX", "CREATE INDEX", "UNIQUE", "PRIMARY KEY", "REINDEX"]
        case .concurrentlyInTransaction: return ["CONCURRENTLY", "VACUUM", "DATABASE", "TABLESPACE", "ALTER SYSTEM"]
        case .mixedNoTransaction: return ["CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "CALL"]
        case .concurrentlyIfNotExists: return ["IF NOT EXISTS"]
        case .volatileDefault: return ["DEFAULT", "SERIAL", "BIGSERIAL", "SMALLSERIAL", "IDENTITY", "STORED"]
        case .setNotNull: return ["SET NOT NULL"]
        case .columnTypeChange: return ["SET DATA TYPE", "TYPE"]
        case .constraintWithoutNotValid: return ["VALIDATE CONSTRAINT", "FOREIGN KEY", "REFERENCES", "CHECK"]
        case .nonIdempotentDown: return ["ADD COLUMN", "DROP COLUMN", "DROP CONSTRAINT", "CREATE", "DROP"]
        case .transactionControl:
            return ["START TRANSACTION", "PREPARE TRANSACTION", "BEGIN", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT",
                "RELEASE"]
        case .securityDefinerSearchPath: return ["SECURITY DEFINER", "CREATE"]
        case .duplicateIndex: return ["CREATE UNIQUE INDEX", "CREATE INDEX", "PRIMARY KEY", "UNIQUE"]
        case .dropIndexWithoutConcurrently: return ["DROP INDEX"]
        case .notNullWithoutDefault: return ["NOT NULL"]
        case .breakingDrop: return ["DROP COLUMN", "DROP TABLE", "DROP SCHEMA", "DROP DATABASE", "DROP"]
        case .breakingRename: return ["RENAME VALUE", "RENAME COLUMN", "RENAME"]
        case .dropNotNull: return ["DROP NOT NULL"]
        case .truncate: return ["TRUNCATE"]
        case .setUnlogged: return ["SET UNLOGGED", "SET LOGGED"]
        case .tableRewrite: return ["VACUUM", "CLUSTER"]
        case .lockTable: return ["LOCK TABLE", "LOCK"]
        case .refreshWithoutConcurrently: return ["REFRESH MATERIALIZED VIEW"]
        case .concurrentlyOnPartitionedTable: return ["CONCURRENTLY"]
        case .detachPartitionWithoutConcurrently: return ["DETACH PARTITION"]
        case .exclusionConstraint: return ["EXCLUDE"]
        case .updateAssignsTwice: return ["SET"]
        case .wholeTableUpdate: return ["UPDATE"]
        case .newEnumValueInTransaction: return ["INSERT", "UPDATE", "SELECT"]
        case .domainConstraint: return ["ADD CONSTRAINT", "VALIDATE CONSTRAINT", "SET NOT NULL"]
        case .tableWithoutPrimaryKey: return ["CREATE TABLE"]
        case .ddlInDoBlock: return ["DO"]
        case .styleChar: return ["CHARACTER", "CHAR", "BPCHAR", "NCHAR"]
        case .styleSerial: return ["SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8"]
        case .styleIntPrimaryKey: return ["PRIMARY KEY"]
        case .styleTimestamp: return ["TIMESTAMP"]
        case .styleVarchar: return ["VARCHAR", "CHARACTER VARYING"]
        case .missingDown, .unknownLintIgnore, .identifierTooLong: return []
        }
    }
}
