import Foundation
import SQLStoreMigrations

/// The store's schema: the migration files shipped with this library (as SwiftPM resources).
public enum SchemaMigrations {
    /// The folder of `NNN_name.up.sql` / `.down.sql` files and the expected `schema.snapshot`.
    public static func directory() throws -> URL {
        guard let url = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationSourceError(file: "Migrations", message: "the store's migration files are missing from its resource bundle")
        }
        return url
    }

    /// Every migration of the store's schema, validated and ordered.
    public static func load() throws -> [Migration] {
        try MigrationSource.load(directory: directory())
    }
}
