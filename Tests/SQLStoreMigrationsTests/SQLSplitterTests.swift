import Testing

@testable import SQLStoreMigrations

@Suite("SQLSplitter")
struct SQLSplitterTests {
    private func texts(_ sql: String) throws -> [String] {
        try SQLSplitter.split(sql).map(\.text)
    }

    private func error(_ sql: String) -> SQLSyntaxError? {
        do {
            _ = try SQLSplitter.split(sql)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Statements and lines

    @Test("splits on semicolons and reports each statement's first line")
    func basicSplit() throws {
        let statements = try SQLSplitter.split("CREATE TABLE a (id int);\n\nCREATE TABLE b (id int);\n")
        #expect(statements.map(\.text) == ["CREATE TABLE a (id int)", "CREATE TABLE b (id int)"])
        #expect(statements.map(\.line) == [1, 3])
    }

    @Test("keeps a final statement that has no semicolon")
    func finalStatementWithoutSemicolon() throws {
        #expect(try texts("SELECT 1;\nSELECT 2\n") == ["SELECT 1", "SELECT 2"])
    }

    @Test("drops empty statements and files of only comments")
    func emptyStatements() throws {
        #expect(try texts(";;\n ; SELECT 1;;; ;") == ["SELECT 1"])
        #expect(try texts("-- nothing here\n/* nor here */\n").isEmpty)
        #expect(try texts("").isEmpty)
    }

    @Test("excludes leading comments and whitespace from the text and keeps comments inside")
    func commentsAroundAndInside() throws {
        let sql = """
            -- sqlstore:no-transaction
            /* header */

              SELECT 1 -- one
                + /* two */ 2 -- trailing
            ;
            """
        let statements = try SQLSplitter.split(sql)
        #expect(statements.count == 1)
        #expect(statements[0].text == "SELECT 1 -- one\n    + /* two */ 2")
        #expect(statements[0].line == 4)
        #expect(statements[0].skeleton == "SELECT 1 + 2")
    }

    @Test("handles CRLF line endings")
    func crlf() throws {
        let statements = try SQLSplitter.split("SELECT 1;\r\n-- c\r\nSELECT\r\n  2;\r\n")
        #expect(statements.map(\.text) == ["SELECT 1", "SELECT\r\n  2"])
        #expect(statements.map(\.line) == [1, 3])
        #expect(statements[1].skeleton == "SELECT 2")
    }

    @Test("skips a UTF-8 byte order mark")
    func byteOrderMark() throws {
        #expect(try texts("\u{FEFF}SELECT 1;") == ["SELECT 1"])
    }

    // MARK: Literals

    @Test("does not split inside a standard string with '' escapes, where backslash is literal")
    func standardStrings() throws {
        let statements = try SQLSplitter.split("SELECT 'a;b''c;', 'back\\';\nSELECT 2;")
        #expect(statements.map(\.text) == ["SELECT 'a;b''c;', 'back\\'", "SELECT 2"])
        #expect(statements[0].skeleton == "SELECT '?', '?'")
        #expect(statements[1].line == 2)
    }

    @Test("honours backslash escapes in E'…' strings")
    func escapeStrings() throws {
        let statements = try SQLSplitter.split("SELECT E'it\\'s;', e'\\\\';\nSELECT E'x''y;';\nSELECT 3;")
        #expect(statements.map(\.text) == ["SELECT E'it\\'s;', e'\\\\'", "SELECT E'x''y;'", "SELECT 3"])
        #expect(statements[0].skeleton == "SELECT '?', '?'")
        #expect(statements.map(\.line) == [1, 2, 3])
    }

    @Test("reads U&, B, X and N prefixed strings as literals")
    func prefixedStrings() throws {
        let statements = try SQLSplitter.split("SELECT U&'d\\0061t;a', B'1;0', X'1F;', N'x;';SELECT 2")
        #expect(statements.count == 2)
        #expect(statements[0].skeleton == "SELECT '?', '?', '?', '?'")
    }

    @Test("an identifier ending in e is not an escape-string prefix")
    func identifierBeforeString() throws {
        // `type'…'` is a typed literal, not E'…': the backslash must stay literal.
        let statements = try SQLSplitter.split("SELECT date'2020-01-01\\';SELECT 2")
        #expect(statements.map(\.text) == ["SELECT date'2020-01-01\\'", "SELECT 2"])
        #expect(statements[0].skeleton == "SELECT DATE'?'")
    }

    @Test("keeps quoted identifiers as written, with \"\" escapes and semicolons")
    func quotedIdentifiers() throws {
        let statements = try SQLSplitter.split("CREATE TABLE \"a\"\"b;\" (\"Id\" int); select 1")
        #expect(statements.map(\.text) == ["CREATE TABLE \"a\"\"b;\" (\"Id\" int)", "select 1"])
        #expect(statements[0].skeleton == "CREATE TABLE \"a\"\"b;\" (\"Id\" INT)")
        #expect(statements[1].skeleton == "SELECT 1")
    }

    @Test("does not split inside dollar quotes holding semicolons, quotes and other tags")
    func dollarQuotes() throws {
        let sql = """
            DO $$ BEGIN RAISE NOTICE 'it''s; "x'; END $$;
            CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;' $body$;
            SELECT $a$ outer $b$ ;inner $a $b$ still outer; $a$;
            SELECT 4;
            """
        let statements = try SQLSplitter.split(sql)
        #expect(statements.count == 4)
        #expect(statements.map(\.line) == [1, 2, 3, 4])
        #expect(statements[0].skeleton == "DO '?'")
        #expect(statements[1].skeleton == "CREATE FUNCTION F() RETURNS TEXT LANGUAGE SQL AS '?'")
        #expect(statements[2].text == "SELECT $a$ outer $b$ ;inner $a $b$ still outer; $a$")
        #expect(statements[2].skeleton == "SELECT '?'")
    }

    @Test("closes a dollar quote at a tag that starts inside a failed candidate")
    func dollarQuoteRescan() throws {
        // `$x$a$` is not `$a$`, but its last `$` starts the real closing tag.
        #expect(try texts("SELECT $a$ $x$a$;SELECT 2") == ["SELECT $a$ $x$a$", "SELECT 2"])
    }

    @Test("treats $1 as a parameter and foo$bar as one identifier, not dollar quotes")
    func dollarsThatAreNotQuotes() throws {
        let statements = try SQLSplitter.split("PREPARE p AS SELECT $1 + foo$bar$ FROM t$1;SELECT 2")
        #expect(statements.map(\.text) == ["PREPARE p AS SELECT $1 + foo$bar$ FROM t$1", "SELECT 2"])
        #expect(statements[0].skeleton == "PREPARE P AS SELECT $1 + FOO$BAR$ FROM T$1")
    }

    // MARK: Comments

    @Test("ignores semicolons and quotes in -- comments")
    func lineComments() throws {
        let statements = try SQLSplitter.split("SELECT 1 -- it's; $$ \"\nFROM t;\nSELECT 2;")
        #expect(statements.map(\.text) == ["SELECT 1 -- it's; $$ \"\nFROM t", "SELECT 2"])
        #expect(statements[0].skeleton == "SELECT 1 FROM T")
        #expect(statements[1].line == 3)
    }

    @Test("nests block comments")
    func nestedBlockComments() throws {
        let statements = try SQLSplitter.split("/* a /* b; */ 'c; */\nSELECT/**/1;\n/* x */ SELECT 2;")
        #expect(statements.map(\.text) == ["SELECT/**/1", "SELECT 2"])
        #expect(statements[0].skeleton == "SELECT 1")
        #expect(statements.map(\.line) == [2, 3])
    }

    // MARK: Nesting

    @Test("does not split inside parentheses, as psql does not")
    func parentheses() throws {
        #expect(try texts("SELECT (1;2);SELECT 3") == ["SELECT (1;2)", "SELECT 3"])
    }

    @Test("keeps a SQL-standard BEGIN ATOMIC body in one statement, CASE … END included")
    func beginAtomic() throws {
        let sql = """
            CREATE OR REPLACE FUNCTION grade(score int) RETURNS text
            LANGUAGE sql
            BEGIN ATOMIC
                SELECT CASE WHEN score > 50 THEN 'pass' ELSE 'fail' END;
                SELECT 'done';
            END;
            CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END;
            SELECT 3;
            """
        let statements = try SQLSplitter.split(sql)
        #expect(statements.count == 3)
        #expect(statements[0].text.hasPrefix("CREATE OR REPLACE FUNCTION grade"))
        #expect(statements[0].text.hasSuffix("SELECT 'done';\nEND"))
        #expect(statements[1].text == "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END")
        #expect(statements[2].line == 8)
        #expect(statements.allSatisfy { !$0.isTransactionControl })
    }

    @Test("tracks BEGIN only in CREATE FUNCTION or PROCEDURE, so CASE … END elsewhere splits normally")
    func caseOutsideFunctions() throws {
        #expect(
            try texts("SELECT CASE WHEN true THEN 1 END;SELECT 2") == ["SELECT CASE WHEN true THEN 1 END", "SELECT 2"])
    }

    @Test("splits after a RETURN-form SQL function body, whose CASE … END opens no block")
    func returnFormFunction() throws {
        let sql = """
            CREATE FUNCTION clamp(a int) RETURNS int LANGUAGE sql RETURN CASE WHEN a > 0 THEN a ELSE 0 END;
            CREATE FUNCTION f(begin_at int) RETURNS int LANGUAGE sql RETURN begin_at;
            SELECT 3;
            """
        #expect(try SQLSplitter.split(sql).map(\.line) == [1, 2, 3])
    }

    @Test("accepts dollar-quote tags with non-ASCII letters and string continuation across lines")
    func unusualLiterals() throws {
        let statements = try SQLSplitter.split("SELECT $_$;$_$, $ä$;$ä$;\nSELECT 'a'\n  'continued;';SELECT 3")
        #expect(statements.map(\.skeleton) == ["SELECT '?', '?'", "SELECT '?' '?'", "SELECT 3"])
    }

    // MARK: Transaction control

    @Test("marks top-level transaction control statements")
    func transactionControl() throws {
        let sql = """
            BEGIN; begin transaction isolation level serializable; START TRANSACTION; COMMIT; END;
            ROLLBACK; ABORT; SAVEPOINT s; RELEASE SAVEPOINT s; ROLLBACK TO s;
            PREPARE TRANSACTION 'x'; COMMIT PREPARED 'x'; ROLLBACK PREPARED 'x'; commit and chain
            """
        let statements = try SQLSplitter.split(sql)
        #expect(statements.count == 14)
        #expect(statements.allSatisfy { $0.isTransactionControl })
    }

    @Test("does not mark DO blocks, BEGIN ATOMIC bodies, PREPARE or SET TRANSACTION")
    func notTransactionControl() throws {
        let sql = """
            DO $$ BEGIN PERFORM 1; COMMIT; END $$;
            CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;
            PREPARE q AS SELECT 1;
            SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
            "begin";
            SELECT 'COMMIT';
            """
        let statements = try SQLSplitter.split(sql)
        #expect(statements.count == 6)
        #expect(statements.allSatisfy { !$0.isTransactionControl })
    }

    // MARK: Errors

    @Test("reports an unterminated string at the line it began")
    func unterminatedString() {
        let failure = error("SELECT 1;\nSELECT 'abc;\nmore\n")
        #expect(failure == SQLSyntaxError(line: 2, message: "unterminated quoted string starting here"))
    }

    @Test("reports an unterminated E'…' string whose quote was escaped")
    func unterminatedEscapeString() {
        let failure = error("\n\nSELECT E'it\\';")
        #expect(failure?.line == 3)
        #expect(failure?.message.contains("unterminated escape string") == true)
    }

    @Test("reports an unterminated quoted identifier")
    func unterminatedIdentifier() {
        let failure = error("SELECT 1;\r\n\r\nSELECT \"abc;")
        #expect(failure == SQLSyntaxError(line: 3, message: "unterminated quoted identifier starting here"))
    }

    @Test("reports an unterminated dollar quote by its tag")
    func unterminatedDollarQuote() {
        let failure = error("SELECT 1;\nCREATE FUNCTION f() RETURNS int AS $body$\nSELECT 1;\n$bod$;\n")
        #expect(
            failure == SQLSyntaxError(line: 2, message: "unterminated dollar-quoted string $body$ starting here"))
        #expect(error("DO $$ BEGIN END;")?.message == "unterminated dollar-quoted string $$ starting here")
    }

    @Test("reports an unterminated block comment, counting nesting")
    func unterminatedComment() {
        let failure = error("SELECT 1;\n/* outer\n/* inner */\nSELECT 2;")
        #expect(failure == SQLSyntaxError(line: 2, message: "unterminated /* comment starting here"))
    }

    @Test("reports an unclosed parenthesis, which would swallow the rest of the file")
    func unclosedParenthesis() {
        let failure = error("CREATE TABLE t (\n  id int;\nCREATE TABLE u (id int);")
        #expect(failure?.line == 1)
        #expect(failure?.message.contains("'(' is never closed") == true)
    }

    @Test("reports a BEGIN ATOMIC body without its END")
    func unclosedAtomicBody() {
        let failure = error("SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\nSELECT 1;\n")
        #expect(failure?.line == 3)
        #expect(failure?.message.contains("never closed by END") == true)
    }

    @Test("rejects psql meta-commands, naming them")
    func metaCommands() {
        let failure = error("SELECT 1;\n\\set ON_ERROR_STOP on\nSELECT 2;")
        #expect(failure?.line == 2)
        #expect(failure?.message.contains("psql meta-command '\\set'") == true)
        #expect(error("SELECT 1 \\gset\n")?.message.contains("'\\gset'") == true)
        #expect(error("\\i other.sql")?.line == 1)
    }

    @Test("does not mistake backslashes inside literals and comments for meta-commands")
    func backslashesInsideLiterals() throws {
        let sql = "SELECT '\\n', E'\\t', $$\\x$$, \"a\\b\"; -- \\set\n/* \\i x */ SELECT 2"
        #expect(try texts(sql).count == 2)
    }

    @Test("MigrationScript turns a syntax error into a source error naming file and line")
    func migrationScriptError() {
        #expect(throws: MigrationSourceError.self) {
            try MigrationScript(fileName: "001_x.up.sql", sql: "SELECT 1;\nSELECT $q$")
        }
        do {
            _ = try MigrationScript(fileName: "001_x.up.sql", sql: "SELECT 1;\nSELECT $q$")
        } catch let error as MigrationSourceError {
            #expect(error.description == "001_x.up.sql:2: unterminated dollar-quoted string $q$ starting here")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    // MARK: Realistic files

    @Test("splits a realistic PL/pgSQL migration into its statements")
    func realisticFile() throws {
        let sql = """
            -- 008: active organization tracking
            ALTER TABLE users
                ADD COLUMN IF NOT EXISTS active_org_id BIGINT
                REFERENCES organizations (id) ON DELETE SET NULL;

            COMMENT ON COLUMN users.active_org_id IS 'The organization the user''s requests act in; NULL: none';

            CREATE OR REPLACE FUNCTION set_user_active_org(p_user_id BIGINT, p_org_id BIGINT)
            RETURNS BOOLEAN
            LANGUAGE plpgsql
            SECURITY DEFINER
            SET search_path = public, pg_temp
            AS $function$
            DECLARE
                v_is_member BOOLEAN;
            BEGIN
                SELECT EXISTS (
                    SELECT 1 FROM organization_members
                    WHERE user_id = p_user_id AND organization_id = p_org_id
                ) INTO v_is_member;
                IF NOT v_is_member THEN
                    RAISE EXCEPTION 'User % is not a member of organization %', p_user_id, p_org_id
                        USING ERRCODE = '42501', HINT = $$Add the membership first; then retry.$$;
                END IF;
                UPDATE users SET active_org_id = p_org_id, updated_at = now() WHERE id = p_user_id;
                RETURN FOUND;
            END;
            $function$;

            /* Backfill: each user's first-joined organization. */
            UPDATE users AS u
            SET active_org_id = first_org.organization_id
            FROM (
                SELECT DISTINCT ON (user_id) user_id, organization_id
                FROM organization_members
                ORDER BY user_id, joined_at ASC
            ) AS first_org
            WHERE u.id = first_org.user_id
              AND u.active_org_id IS NULL
            """
        let statements = try SQLSplitter.split(sql)
        #expect(statements.count == 4)
        #expect(statements.map(\.line) == [2, 6, 8, 31])
        #expect(statements[2].text.hasSuffix("END;\n$function$"))
        #expect(
            statements[2].skeleton
                == "CREATE OR REPLACE FUNCTION SET_USER_ACTIVE_ORG(P_USER_ID BIGINT, P_ORG_ID BIGINT) RETURNS BOOLEAN "
                + "LANGUAGE PLPGSQL SECURITY DEFINER SET SEARCH_PATH = PUBLIC, PG_TEMP AS '?'")
        #expect(statements[3].text.hasSuffix("AND u.active_org_id IS NULL"))
        #expect(statements.allSatisfy { !$0.isTransactionControl })
    }

    @Test("keeps non-ASCII text intact in text and skeleton")
    func nonASCII() throws {
        let statements = try SQLSplitter.split("COMMENT ON TABLE café IS 'crème; brûlée';SELECT \"naïve\"")
        #expect(statements.map(\.text) == ["COMMENT ON TABLE café IS 'crème; brûlée'", "SELECT \"naïve\""])
        #expect(statements[0].skeleton == "COMMENT ON TABLE CAFé IS '?'")
    }

    @Test("splits a large file of 20,000 statements, each at its own line")
    func largeFile() throws {
        let one = "INSERT INTO t (a, b) VALUES (1, 'x;y'), ($$z$$, E'\\''); -- note; /* c */\n"
        let statements = try SQLSplitter.split(String(repeating: one, count: 20_000))
        #expect(statements.count == 20_000)
        #expect(statements.last?.line == 20_000)
    }
}
