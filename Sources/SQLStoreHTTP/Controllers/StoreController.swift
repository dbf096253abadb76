import Hummingbird
import SQLStore

/// A resource's routes over the store: each handler decodes, asks the ``AccessPolicy``, calls the
/// store, encodes.
protocol StoreController {
    var store: OrderStore { get }
    /// Request bodies above this many bytes are refused with 413.
    var bodyLimit: Int { get }
    func addRoutes(to router: some RouterMethods<StoreRequestContext>)
}

extension StoreController {
    var policy: AccessPolicy { AccessPolicy(store: store) }
}
