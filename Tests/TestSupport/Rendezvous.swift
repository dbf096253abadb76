/// Holds the first `parties` tasks that arrive until all of them have; later arrivals pass at once.
///
/// Tests use it to force an interleaving instead of hoping the scheduler produces one.
public actor Rendezvous {
    private let parties: Int
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(parties: Int) {
        self.parties = parties
    }

    public func arrive() async {
        arrived += 1
        if arrived > parties { return }
        if arrived == parties {
            waiting.forEach { $0.resume() }
            waiting.removeAll()
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}
