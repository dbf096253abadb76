import Testing

@testable import SQLStoreMigrations

/// The linter reads whatever a team's folder holds, half-written scripts included: it must
/// report what it recognises and never trap on what it does not (a trap would end `migrate lint`
/// and any application linting through the library). Every statement below, whole and mangled
/// token by token, is linted as an up and as a down script.
@Suite("Lint robustness")
struct LintRobustnessTests {
    static let statements = [
        "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, total NUMERIC(10,2) NOT NULL DEFAULT 0, CONSTRAINT orders_total CHECK (total >= 0), note TEXT UNIQUE)",
        "CREATE TABLE IF NOT EXISTS lines (order_id BIGINT REFERENCES orders (id), sku VARCHAR(100), LIKE accounts INCLUDING ALL, FOREIGN KEY (order_id) REFERENCES orders (id))",
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS score NUMERIC(10,2) NOT NULL DEFAULT random(), ADD COLUMN code TEXT UNIQUE",
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email), ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES accounts (id) NOT VALID",
        "ALTER TABLE accounts ALTER COLUMN balance TYPE BIGINT USING balance::bigint, ALTER COLUMN nickname SET NOT NULL",
        "ALTER TABLE accounts DROP COLUMN IF EXISTS nickname CASCADE, RENAME COLUMN email TO mail",
        "ALTER TABLE accounts RENAME TO users",
        "ALTER TABLE accounts VALIDATE CONSTRAINT fk",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx ON accounts USING btree (lower(email), (balance + 1)) INCLUDE (id) WHERE balance > 0",
        "CREATE INDEX idx_b ON accounts (balance DESC NULLS LAST)",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_accounts_email",
        "REINDEX TABLE accounts",
        "VACUUM (FULL, ANALYZE) accounts",
        "CLUSTER accounts USING idx_accounts_email",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY account_totals",
        "UPDATE accounts SET balance = balance + 1",
        "DELETE FROM accounts WHERE id IN (SELECT id FROM accounts LIMIT 10)",
        "INSERT INTO accounts (id, email, nickname) SELECT g, g::text, 'n' FROM generate_series(1, 10) g",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'sad'",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.balance := 0; RETURN NEW; END $$",
        "CREATE TRIGGER t BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION f()",
        "DROP TABLE IF EXISTS accounts, lines CASCADE",
        "TRUNCATE accounts RESTART IDENTITY",
        "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE",
        "COMMENT ON COLUMN accounts.email IS 'the login'",
        "GRANT SELECT, INSERT ON accounts TO app",
        "CREATE VIEW v AS SELECT a.id, count(*) FROM accounts a GROUP BY 1",
    ]

    /// Words and single symbols; a dollar-quoted body and a string literal stay whole.
    static func tokens(_ statement: String) -> [String] {
        statement.matches(of: /\$\$.*?\$\$|'[^']*'|::|\w+|[^\s\w]/).map { String($0.output) }
    }

    /// The statement cut after each token, without each token, with each doubled, swapped with
    /// the next, and with a stray symbol, quote or keyword before each.
    static func mangled(_ statement: String) -> [String] {
        let words = tokens(statement)
        var variants: [String] = []
        for index in words.indices {
            variants.append(words[...index].joined(separator: " "))
            variants.append((words[..<index] + words[(index + 1)...]).joined(separator: " "))
            variants.append((words[...index] + words[index...]).joined(separator: " "))
            if index + 1 < words.count {
                var swapped = words
                swapped.swapAt(index, index + 1)
                variants.append(swapped.joined(separator: " "))
            }
            for stray in [
                "(", ")", ",", "'", "CONSTRAINT", "IF NOT EXISTS", "ADD", "COLUMN", "ON", "USING", "WHERE", "DEFAULT", "NOT NULL",
                "PRIMARY KEY", "CONCURRENTLY",
            ] {
                variants.append((words[..<index] + [stray] + words[index...]).joined(separator: " "))
            }
        }
        return variants
    }

    @Test("every statement, whole and mangled token by token, is linted without a trap", arguments: statements)
    func mangledStatementsNeverTrap(statement: String) throws {
        _ = try LintFixture.lint(statement + ";", down: statement + ";")
        var linted = 0
        for variant in Self.mangled(statement) {
            // A script the splitter refuses (an unterminated quote) is an error, not a lint.
            guard let findings = try? LintFixture.lint(variant + ";", down: variant + ";") else { continue }
            linted += 1
            #expect(findings.allSatisfy { $0.line >= 1 }, "\(variant)")
        }
        #expect(linted > Self.tokens(statement).count, "most variants reached the linter")
    }

    @Test("the whole statements still draw their findings")
    func wholeStatementsStillDrawFindings() throws {
        #expect(try LintFixture.rules("UPDATE accounts SET balance = balance + 1;").contains(.wholeTableUpdate))
        #expect(try LintFixture.rules("CREATE INDEX idx_b ON accounts (balance DESC NULLS LAST);").contains(.indexWithoutConcurrently))
    }
}
