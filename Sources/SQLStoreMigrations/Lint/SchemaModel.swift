/// What the linter knows of the schema the migrations build, as far as its rules need it: the
/// indexes (for duplicate-index), column types (for column-type-change) and `CHECK (col IS NOT
/// NULL)` constraints (for set-not-null). Built from the up scripts in order; names are compared
/// without schema qualifier.
struct SchemaModel {
    struct IndexColumn: Hashable {
        var name: String
        var descending: Bool
        var nullsFirst: Bool
    }

    enum ConstraintKind: String {
        case primaryKey = "PRIMARY KEY"
        case unique = "UNIQUE"
    }

    struct Index {
        var name: String
        var table: String
        /// Key columns in order; nil for an expression or a column with a collation or operator class.
        var columns: [IndexColumn?]
        var unique: Bool
        /// Set when a PRIMARY KEY or UNIQUE constraint owns the index.
        var constraint: ConstraintKind?
        var isBTree = true
        var isPartial = false
        var hasInclude = false
        /// `003_create_orders.up.sql:12`, for messages.
        var origin: String

        /// A plain index: the kind a covering index makes redundant.
        var isPlain: Bool {
            constraint == nil && isBTree && !isPartial && !hasInclude && columns.allSatisfy { $0 != nil }
        }

        /// True when every lookup `other` serves, this index serves too.
        func covers(_ other: Index) -> Bool {
            guard table == other.table, isBTree, !isPartial, other.columns.count <= columns.count else { return false }
            for (mine, theirs) in zip(columns, other.columns) {
                guard let mine, let theirs, mine.name == theirs.name else { return false }
                // A constraint's index is scanned either way; for two plain indexes with different
                // orderings the author may have a reason, so only identical ones count.
                if constraint == nil && (mine.descending != theirs.descending || mine.nullsFirst != theirs.nullsFirst) {
                    return false
                }
            }
            if other.unique { return unique && columns.count == other.columns.count }
            return true
        }

        var columnList: String {
            let names = columns.map { column -> String in
                guard let column else { return "<expression>" }
                return column.descending ? "\(column.name) DESC" : column.name
            }
            return "(\(names.joined(separator: ", ")))"
        }

        var label: String {
            if let constraint { return "the \(constraint.rawValue) constraint \(name) on \(table) \(columnList)" }
            return "index \(name) on \(table) \(columnList) (\(origin))"
        }
    }

    struct NotNullCheck {
        var column: String
        var validated: Bool
    }

    var indexes: [Index] = []
    /// Table → column → type as written, normalized by ``SkeletonTokens/typeName(_:)``.
    var columnTypes: [String: [String: String]] = [:]
    /// Table → constraint name → the column its `CHECK (col IS NOT NULL)` covers.
    var notNullChecks: [String: [String: NotNullCheck]] = [:]
    /// Tables created with PARTITION BY.
    var partitionedTables: Set<String> = []
    /// User-defined functions by name → `IMMUTABLE`, `STABLE` or `VOLATILE` (the default), as
    /// their latest CREATE [OR REPLACE] or ALTER FUNCTION declared. LANGUAGE sql functions are
    /// left out: PostgreSQL may inline them, and then their body's volatility counts, not the
    /// declared one (a "volatile" `SELECT 7` is added as a constant).
    var functionVolatility: [String: String] = [:]
    /// User-defined LANGUAGE sql functions by name: known to exist, their effect left undecided.
    var sqlFunctions: Set<String> = []

    mutating func dropTable(_ table: String) {
        indexes.removeAll { $0.table == table }
        columnTypes[table] = nil
        notNullChecks[table] = nil
        partitionedTables.remove(table)
    }

    mutating func dropIndex(_ name: String) {
        indexes.removeAll { $0.name == name }
    }

    mutating func dropConstraint(_ name: String, on table: String) {
        indexes.removeAll { $0.table == table && $0.name == name && $0.constraint != nil }
        notNullChecks[table]?[name] = nil
    }

    mutating func dropColumn(_ column: String, on table: String) {
        indexes.removeAll { index in
            index.table == table && index.columns.contains { $0?.name == column }
        }
        columnTypes[table]?[column] = nil
        notNullChecks[table] = notNullChecks[table]?.filter { $0.value.column != column }
    }

    mutating func renameTable(_ table: String, to newName: String) {
        for position in indexes.indices where indexes[position].table == table { indexes[position].table = newName }
        columnTypes[newName] = columnTypes.removeValue(forKey: table)
        notNullChecks[newName] = notNullChecks.removeValue(forKey: table)
        if partitionedTables.remove(table) != nil { partitionedTables.insert(newName) }
    }

    mutating func renameColumn(_ column: String, on table: String, to newName: String) {
        for position in indexes.indices where indexes[position].table == table {
            for key in indexes[position].columns.indices where indexes[position].columns[key]?.name == column {
                indexes[position].columns[key]?.name = newName
            }
        }
        if let type = columnTypes[table]?.removeValue(forKey: column) { columnTypes[table]?[newName] = type }
        for (name, check) in notNullChecks[table] ?? [:] where check.column == column {
            notNullChecks[table]?[name]?.column = newName
        }
    }

    /// Index and constraint renames: a constraint's index carries the constraint's name.
    mutating func renameIndex(_ name: String, to newName: String) {
        for position in indexes.indices where indexes[position].name == name { indexes[position].name = newName }
    }

    mutating func renameConstraint(_ name: String, on table: String, to newName: String) {
        for position in indexes.indices where indexes[position].table == table && indexes[position].name == name {
            indexes[position].name = newName
        }
        if let check = notNullChecks[table]?.removeValue(forKey: name) { notNullChecks[table]?[newName] = check }
    }

    func hasValidatedNotNullCheck(on table: String, column: String) -> Bool {
        notNullChecks[table]?.values.contains { $0.column == column && $0.validated } ?? false
    }
}
