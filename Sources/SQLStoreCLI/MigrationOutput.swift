import Foundation
import SQLStoreMigrations

/// One line per step, as it happens.
@Sendable func printProgress(_ event: MigrationProgress) {
    switch event {
    case .waitingForLock(let holders):
        let who = holders.first.map { " held by \($0)" } ?? ""
        printError("waiting for the migration lock\(who)")
    case .lockAcquired(let waited):
        printError("took the migration lock after \(waited.humanReadable)")
    case .started:
        break
    case .retrying(let migration, let attempt, let delay, let reason):
        printError("\(migration.id): \(reason); retrying (attempt \(attempt)) in \(delay.humanReadable)")
    case .finished(let migration, let direction, let duration):
        let verb = direction == .up ? "applied " : "reverted"
        print("\(verb) \(migration.id) (\(duration.humanReadable))")
    }
}

func printSummary(runner: MigrationRunner, changed: Int) async throws {
    let status = try await runner.status()
    let version = status.currentVersion.map(String.init) ?? "0 (empty)"
    let pending = status.pending.count
    let prefix = changed == 0 ? "nothing to do: " : ""
    print("\(prefix)database at version \(version), \(pending) pending")
}

func printPlan(_ steps: [MigrationStep], runner: MigrationRunner) {
    if steps.isEmpty { print("nothing to do") }
    for step in steps {
        guard let script = step.script else { continue }
        let directives = script.directives
        let mode = !directives.transactional
            ? "statement by statement, no transaction"
            : script.wrapper.map { "in one transaction (the runner's, opened with the file's own '\($0.begin.text)' at line \($0.begin.line), replacing its BEGIN/COMMIT wrapper)" }
                ?? "in one transaction"
        let lockTimeout = (directives.lockTimeout ?? runner.configuration.lockTimeout).humanReadable
        let statementTimeout = (directives.statementTimeout ?? runner.configuration.statementTimeout).humanReadable
        print("-- would \(step.direction == .up ? "apply" : "revert") \(step.migration.id): \(script.fileName), "
            + "\(script.body.count) statements \(mode), lock_timeout \(lockTimeout), statement_timeout \(statementTimeout)")
        for statement in script.body { print("\(statement.text);") }
        if step.direction == .up, let verify = step.migration.verify {
            print("-- then \(verify.fileName), \(verify.body.count) checks, before it is recorded")
            for statement in verify.body { print("\(statement.text);") }
        }
        print()
    }
    print("dry run: nothing was changed")
}

func statusTable(_ status: MigrationStatus) -> String {
    let header = ["VERSION", "NAME", "STATE", "MODE", "APPLIED AT", "DURATION", "APPLIED BY"]
    let rows = status.entries.map { entry in
        let mode = entry.transactional.map { transactional in
            !transactional ? "no transaction" : entry.ownTransactionWrapper == true ? "transaction (own BEGIN/COMMIT)" : "transaction"
        }
        return [
            String(entry.version), entry.name, entry.state.rawValue, mode ?? "-", entry.appliedAt ?? "-",
            entry.durationMilliseconds.map { Duration.milliseconds($0).humanReadable } ?? "-",
            entry.appliedBy ?? "-",
        ]
    }
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    let lines = ([header] + rows).map { row in
        row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    let version = status.currentVersion.map(String.init) ?? "0 (empty)"
    return (lines + ["", "database at version \(version), \(status.pending.count) pending"]).joined(separator: "\n")
}

func statusJSON(_ status: MigrationStatus) throws -> String {
    struct Document: Encodable {
        let currentVersion: Int64?
        let upToDate: Bool
        let migrations: [MigrationStatus.Entry]
        enum CodingKeys: String, CodingKey {
            case currentVersion = "current_version", upToDate = "up_to_date", migrations
        }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(
        Document(currentVersion: status.currentVersion, upToDate: status.isUpToDate, migrations: status.entries))
    return String(decoding: data, as: UTF8.self)
}
