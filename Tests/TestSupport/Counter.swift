/// A count shared by concurrent test tasks.
public actor Counter {
    public private(set) var count = 0

    public init() {}

    public func increment() { count += 1 }
}
