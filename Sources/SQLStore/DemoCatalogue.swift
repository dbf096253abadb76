import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// A small catalogue for trying the API at once: filled only into an empty store, so it never
/// touches real data.
public enum DemoCatalogue {

    /// Seeds through the store itself (validations and all) while the pool runs.
    public static func seed(store: OrderStore, logger: Logger) async throws {
        let existing = try await store.products(page: 1, pageSize: 1)
        guard existing.total == 0 else { return }
        let ada = try await store.createUser(email: "ada@example.com", name: "Ada Lovelace")
        _ = try await store.createUser(email: "grace@example.com", name: "Grace Hopper")
        let catalogue: [(String, String, String, Int)] = [
            ("MUG-001", "Enamel mug", "12.50", 40), ("TEA-EARL", "Earl Grey, 100 g", "6.90", 120),
            ("PEN-FOUNTAIN", "Fountain pen", "34.00", 15), ("NOTE-A5", "A5 notebook, dotted", "9.99", 200),
            ("LAMP-DESK", "Desk lamp", "49.00", 5), ("SOLD-OUT", "Limited print", "120.00", 0),
        ]
        for (sku, name, price, stock) in catalogue {
            _ = try await store.createProduct(
                sku: sku, name: name, description: nil, price: Decimal(string: price) ?? 0, stockQuantity: stock)
        }
        let acme = try await store.createOrganization(slug: "acme", name: "Acme Stationery")
        _ = try await store.addMember(organizationId: acme.id, userId: ada.id, role: .owner)
        logger.info("seeded the demo catalogue: users 1-2, products 1-6, organization 1 (acme)")
    }
}

/// Seeds the demo catalogue once the pool runs, then waits for shutdown like any service.
public struct DemoSeeder: Service {
    let store: OrderStore
    let logger: Logger

    public init(store: OrderStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        try await DemoCatalogue.seed(store: store, logger: logger)
        try? await gracefulShutdown()
    }
}
